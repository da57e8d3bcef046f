"""Write synthetic tracklets in the SoccerNet layout, plus per-frame annotations for training."""

from __future__ import annotations

import json
import os
import random
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


RARE_WINDOW = 12  # a thinned tracklet's number shows in runs of at most this many frames


def thin_readable(frames: list, share: float, rng: random.Random) -> list:
    """A numbered tracklet whose number shows in few frames: its readable frames cut to runs of at most
    RARE_WINDOW frames totalling ``share`` of the tracklet; every other readable frame replaced by one of
    the tracklet's own unreadable frames (image and annotation), so the length, the player and the label
    stay. Tracklets with no readable or no unreadable frame are returned as they are.
    ``frames``: [(k, jpeg, annotation)] in order."""
    readable = [i for i, (_, _, ann) in enumerate(frames) if ann["readable"]]
    unread = [(jpeg, ann) for _, jpeg, ann in frames if not ann["readable"]]
    if not readable or not unread:
        return frames
    target, shown, keep = max(1, round(share * len(frames))), set(readable), set()
    for _ in range(1000):  # runs may overlap or fall short at the tracklet's end: draw again
        if len(keep) >= target:
            break
        start = rng.choice(readable)
        keep.update(i for i in range(start, start + min(RARE_WINDOW, target - len(keep))) if i in shown)
    return [
        (k, *rng.choice(unread)) if ann["readable"] and i not in keep else (k, jpeg, ann)
        for i, (k, jpeg, ann) in enumerate(frames)
    ]


def _one(args: tuple[Path, int, int, int, int, str, str, float | None]) -> tuple[str, int, int]:
    split_dir, seed, index, lo, hi, side, drawing, readable_share = args
    tid = str(index)
    number, frames, style = DRAWINGS[drawing](seed, index, lo, hi, side)
    if readable_share is not None:  # a numberless tracklet has no readable frame: thin_readable keeps it
        frames = thin_readable(frames, readable_share, random.Random(f"rare-{seed}-{index}"))
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
    readable_share: float | None = None,
) -> Path:
    """Render ``tracklets`` tracklets into ``out/split``; returns the split folder. Deterministic per seed
    and installed fonts. ``styles``: train, unseen or all sides of synth.styles (the flat drawing's);
    ``drawing``: flat or shaded (DRAWINGS); ``readable_share``: numbers shown in only this share of each
    numbered tracklet's frames (thin_readable), as on footage where the number is rarely in view."""
    lo, hi = frames
    if not 1 <= lo <= hi:
        raise ValueError(f"--frames needs 1 <= LO <= HI, got {lo} {hi}")
    split_dir = Path(out) / split
    (split_dir / "annotations").mkdir(parents=True, exist_ok=True)
    if styles not in SIDES:
        raise ValueError(f"unknown --styles {styles!r}; known: {', '.join(SIDES)}")
    if drawing not in DRAWINGS:
        raise ValueError(f"unknown --drawing {drawing!r}; known: {', '.join(DRAWINGS)}")
    if readable_share is not None and not 0 < readable_share <= 1:
        raise ValueError(f"--readable-share needs 0 < SHARE <= 1, got {readable_share}")
    jobs = [(split_dir, seed, i, lo, hi, styles, drawing, readable_share) for i in range(tracklets)]
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
