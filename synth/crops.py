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
