"""The TrackLab side-by-side: the same TrackLab pipeline (its video dataset, pose and ByteTrack wrappers) on
generated clips, with jnr's two modules and with the reference (EasyOCR on every detection as sn-gamestate's
module, TrackLab's majority vote): numbers found, wrong numbers, seconds in the jersey step per frame.

    python -m jnr.benchmarks.tracklab --engines engines/ [--clips 4] [--out benchmarks/results/tracklab.json]

Runs in TrackLab's environment (README "TrackLab"). A clip's truth is its players' numbers (synth.clip); a
track's number counts as found when it is one of them, wrong when it is not (tracks do not cross there).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from jnr.integrations.tracklab.__main__ import JERSEY, run
from jnr.runtime import options as opt
from jnr.runtime.cli import guarded
from jnr.runtime.manifest import atomic_write_json
from jnr.synth.clip import write_clip

# (seed, width, height, styles side): two frame sizes, the training styles and the held-out ones
CLIPS = [(1, 640, 360, "train"), (2, 960, 540, "unseen"), (3, 640, 360, "unseen"), (4, 960, 540, "train")]
app = typer.Typer(add_completion=False, help=__doc__)


def score(numbers: dict[str, int], truth: list[int]) -> dict:
    answered = [n for n in numbers.values() if n != -1]
    return {
        "players": len(truth),
        "found": len(set(answered) & set(truth)),
        "wrong": sum(n not in truth for n in answered),
        "tracks": len(numbers),
    }


@app.command()
def main(
    engines: opt.Engines = Path("engines"),
    clips: Annotated[int, typer.Option(help="How many of the clips (CLIPS) to run")] = len(CLIPS),
    frames: Annotated[int, typer.Option(help="Frames per clip")] = 150,
    backend: opt.Backend = "auto",
    out: Annotated[Path, typer.Option(help="Results JSON")] = Path("benchmarks/results/tracklab.json"),
) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed, w, h, side in CLIPS[:clips]:
            path = Path(tmp) / f"clip{seed}.mp4"
            truth = write_clip(path, players=3, frames=frames, size=(w, h), seed=seed, side=side)["numbers"]
            for jersey in JERSEY:
                o = run(path, engines, jersey, backend=backend)
                per_frame = round(1000 * o.jersey_seconds / o.frames, 1)
                rows.append({
                    "clip": f"seed {seed}, {w}x{h}, {side} styles", "jersey": jersey, "truth": truth,
                    "numbers": o.numbers, **score(o.numbers, truth), "frames": o.frames,
                    "jersey_s": round(o.jersey_seconds, 3), "jersey_ms_per_frame": per_frame,
                    "seconds": o.seconds, "inference": o.inference,
                })  # fmt: skip
    atomic_write_json(out, {"command": "python -m jnr.benchmarks.tracklab", "rows": rows})
    t = Table(title="TrackLab pipeline, jersey step: jnr against the EasyOCR reference")
    for c in ("clip", "jersey", "found", "wrong", "tracks", "ms / frame", "pipeline ms / frame"):
        t.add_column(c)
    for r in rows:
        wall = 1000 * r["seconds"]["wall"] / r["frames"]
        found = f"{r['found']} of {r['players']}"
        t.add_row(r["clip"], r["jersey"], found, str(r["wrong"]), str(r["tracks"]),
                  f"{r['jersey_ms_per_frame']:.1f}", f"{wall:.1f}")  # fmt: skip
    Console(width=150).print(t)
    for jersey in JERSEY:
        mine = [r for r in rows if r["jersey"] == jersey]
        ms = sum(r["jersey_s"] for r in mine) * 1000 / sum(r["frames"] for r in mine)
        print(f"{jersey}: {sum(r['found'] for r in mine)} of {sum(r['players'] for r in mine)} found, "
              f"{sum(r['wrong'] for r in mine)} wrong, jersey step {ms:.1f} ms/frame")  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    guarded(app)
