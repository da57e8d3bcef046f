"""Torso crops at the ground-truth keypoints of a jnr-synth split's annotations: for training, parity
checks and recognizer comparisons, where the pose stage should play no part."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from rich.progress import Progress

from jnr.runtime.data import decode, open_split
from jnr.runtime.torso import TorsoRule
from jnr.synth.write import load_annotations


def gt_people(ann: dict) -> np.ndarray:
    """Annotation keypoints as a (1, 17, 3) pose result with score 1 for labelled points."""
    kp = np.asarray(ann["keypoints"], np.float32).copy()
    kp[:, 2] = (kp[:, 2] > 0).astype(np.float32)
    return kp[None]


def gt_torso_crops(
    split_dir: Path,
    rule: TorsoRule,
    stride: int,
    seed: int,
    jitter: float = 0.04,
    readable_only: bool = False,
) -> Iterator[tuple[np.ndarray, dict, int, int]]:
    """Torso crops from ground-truth keypoints jittered like a pose model's:
    yields (RGB crop, frame annotation, tracklet number, tracklet index)."""
    rng = np.random.default_rng(seed)
    split = open_split(split_dir)
    with Progress(transient=True) as bar:
        task = bar.add_task("crops", total=len(split.tracklets))
        for gi, t in enumerate(split.tracklets):
            doc = load_annotations(split_dir, t.id)
            for p in t.frames[::stride]:
                ann = doc["frames"][p.name]
                if readable_only and not ann["readable"]:
                    continue
                img = decode(p)
                if img is None:
                    continue
                people = gt_people(ann)
                people[..., :2] += rng.normal(0, jitter * max(img.shape[:2]) * 0.25, people[..., :2].shape)
                crop = rule.crop(people, img)
                if crop is not None:
                    yield crop, ann, doc["number"], gi
            bar.advance(task)


def gt_number_crops(
    split_dir: Path, stride: int, margin: float = 0.08
) -> Iterator[tuple[np.ndarray, int, int]]:
    """Tight crops of the number (its annotated box, ``margin`` of its size around it) of readable frames,
    like the real SoccerNet digit crops: yields (RGB crop, tracklet number, tracklet index)."""
    split = open_split(split_dir)
    for gi, t in enumerate(split.tracklets):
        doc = load_annotations(split_dir, t.id)
        for p in t.frames[::stride]:
            ann = doc["frames"][p.name]
            img = decode(p) if ann["readable"] else None
            if img is None:
                continue
            x0, y0, x1, y1 = ann["number_box"]
            mx, my = margin * (x1 - x0), margin * (y1 - y0)
            h, w = img.shape[:2]
            box = [
                max(0, int(x0 - mx)),
                max(0, int(y0 - my)),
                min(w, int(x1 + mx + 1)),
                min(h, int(y1 + my + 1)),
            ]
            if box[2] - box[0] >= 2 and box[3] - box[1] >= 2:
                yield img[box[1] : box[3], box[0] : box[2]], doc["number"], gi
