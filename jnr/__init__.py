"""jnr: fast football jersey number recognition (SoccerNet jersey-2023).

import jnr
with jnr.load("engines/") as reader:          # what jnr-export wrote; options as jnr-run's
    print(reader.read(frames).number)         # one tracklet: a list of RGB uint8 arrays
    for r in reader.run("data/test"):         # a split: results as they finish
        print(r.tracklet, r.number, r.funnel)
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Reader", "Result", "RunConfig", "load"]


def __getattr__(name: str):
    """The API lives in jnr.runtime.reader; imported on first use, so ``import jnr`` stays cheap."""
    if name in ("Reader", "RunConfig", "load"):
        from jnr.runtime import reader

        return getattr(reader, name)
    if name == "Result":
        from jnr.runtime.tracks import Result

        return Result
    raise AttributeError(f"module 'jnr' has no attribute {name!r}")
