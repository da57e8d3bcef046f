"""Write synthetic tracklets in the SoccerNet layout, plus per-frame annotations for training."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from multiprocessing import get_context
from pathlib import Path

from jnr.synth import shaded, tracklet
from jnr.synth.styles import SIDES

# ways to draw a player: synth.tracklet's flat figures (with the train / unseen style table) and
# synth.shaded's ray-cast, lit figures with their own glyphs; defaults are checked across the two
DRAWINGS = {"flat": tracklet.render_tracklet, "shaded": shaded.render_tracklet}


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _one(args: tuple[Path, int, int, int, int, str, str]) -> tuple[str, int, int]:
    split_dir, seed, index, lo, hi, side, drawing = args
    tid = str(index)
    number, frames, style = DRAWINGS[drawing](seed, index, lo, hi, side)
    d = split_dir / "images" / tid
    d.mkdir(parents=True, exist_ok=True)
    anns = {}
    for k, jpeg, ann in frames:
        name = f"{tid}_{k}.jpg"
        (d / name).write_bytes(jpeg)
        anns[name] = ann
    atomic_write_text(
        split_dir / "annotations" / f"{tid}.json",
        json.dumps({"number": number, "style": style, "frames": anns}, separators=(",", ":")),
    )
    return tid, number, len(frames)


def write_split(
    out: Path,
    split: str,
    tracklets: int,
    frames: tuple[int, int],
    seed: int,
    workers: int = 2,
    on_done: Callable[[str, int, int], None] | None = None,
    styles: str = "all",
    drawing: str = "flat",
) -> Path:
    """Render ``tracklets`` tracklets into ``out/split``; returns the split folder. Deterministic per seed
    and installed fonts. ``styles``: train, unseen or all sides of synth.styles (the flat drawing's);
    ``drawing``: flat or shaded (DRAWINGS)."""
    lo, hi = frames
    if not 1 <= lo <= hi:
        raise ValueError(f"--frames needs 1 <= LO <= HI, got {lo} {hi}")
    split_dir = Path(out) / split
    (split_dir / "annotations").mkdir(parents=True, exist_ok=True)
    if styles not in SIDES:
        raise ValueError(f"unknown --styles {styles!r}; known: {', '.join(SIDES)}")
    if drawing not in DRAWINGS:
        raise ValueError(f"unknown --drawing {drawing!r}; known: {', '.join(DRAWINGS)}")
    jobs = [(split_dir, seed, i, lo, hi, styles, drawing) for i in range(tracklets)]
    gt: dict[str, int] = {}
    if workers > 1 and tracklets > 1:
        # spawn, not fork: callers (jnr-export, jnr-bench, tests) hold ONNX Runtime and torch threads, and a
        # forked child can deadlock on a lock one of them held
        with get_context("spawn").Pool(workers) as pool:
            results = pool.imap(_one, jobs)
            for tid, number, n in results:
                gt[tid] = number
                if on_done:
                    on_done(tid, number, n)
    else:
        for job in jobs:
            tid, number, n = _one(job)
            gt[tid] = number
            if on_done:
                on_done(tid, number, n)
    atomic_write_text(split_dir / f"{split}_gt.json", json.dumps(gt, indent=0))
    return split_dir


def load_annotations(split_dir: Path, tid: str) -> dict:
    """One tracklet's sidecar.

    ``{"number": n, "style": {family, font, pattern, number_style, side, front_number},
    "frames": {file: {facing, keypoints, number_box, readable, person_box}}}``
    """
    return json.loads((Path(split_dir) / "annotations" / f"{tid}.json").read_text())
