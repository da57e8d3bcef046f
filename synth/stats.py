"""How a synthetic split compares with real SoccerNet crops (shared/REFERENCE.md, 13,284 legible frames of
the jersey-2023 train split): thumbnail sizes and the number's position and size, as percentiles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from jnr.runtime.data import open_split
from jnr.synth.write import load_annotations

# name -> (percentiles, real values at them)
REAL: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
    "thumbnail width px": ((5, 25, 50, 75, 95), (36, 47, 57, 68, 90)),
    "thumbnail height px": ((5, 25, 50, 75, 95), (89, 110, 127, 149, 181)),
    "height / width": ((5, 50, 95), (1.46, 2.33, 3.06)),
    "number centre x / width": ((5, 50, 95), (0.33, 0.52, 0.71)),
    "number centre y / height": ((5, 50, 95), (0.26, 0.31, 0.36)),
    "number height / height": ((5, 50, 95), (0.17, 0.20, 0.25)),
}


def measure(split_dir: Path, stride: int = 3) -> dict[str, list[float]]:
    """Per readable frame (every ``stride``-th), the quantities of :data:`REAL`."""
    vals: dict[str, list[float]] = {k: [] for k in REAL}
    split = open_split(split_dir)
    for t in split.tracklets:
        frames = load_annotations(split_dir, t.id)["frames"]
        for p in t.frames[::stride]:
            a = frames[p.name]
            if not a["readable"]:
                continue
            w, h = Image.open(p).size
            x0, y0, x1, y1 = a["number_box"]
            for k, v in zip(
                REAL,
                (w, h, h / w, (x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (y1 - y0) / h),
                strict=True,
            ):
                vals[k].append(float(v))
    return vals


def compare(split_dir: Path) -> list[dict]:
    """Rows: quantity, percentiles, real values, synthetic values (readable frames)."""
    vals = measure(split_dir)
    rows = []
    for k, (pcts, real) in REAL.items():
        synth = [round(float(np.percentile(vals[k], q)), 2) for q in pcts] if vals[k] else []
        rows.append({"quantity": k, "percentiles": list(pcts), "real": list(real), "synthetic": synth})
    return rows
