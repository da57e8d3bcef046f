"""PCK of the torso keypoints (5, 6, 11, 12) on an annotated split: the share of labelled torso
keypoints within 0.1 x the person box's longer side of the ground truth (a missed person misses all)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress

from jnr.runtime import decode as dec
from jnr.runtime import preprocess
from jnr.runtime.data import decode, open_split
from jnr.runtime.specs import StageSpec
from jnr.runtime.torso import BASELINE, TORSO
from jnr.synth.write import load_annotations

PCK_ALPHA = 0.1


def pck(module: torch.nn.Module, spec: StageSpec, split_dir: Path, stride: int = 5, batch: int = 64) -> dict:
    hits, total, frames, found, torsos = 0, 0, 0, 0, 0
    items: list[tuple[np.ndarray, dict]] = []

    def flush() -> None:
        nonlocal hits, total, frames, found, torsos
        if not items:
            return
        x, places = preprocess.batch(spec, [im for im, _ in items])
        with torch.inference_mode():
            out = module(torch.from_numpy(x)).numpy()
        for o, p, (im, ann) in zip(out, places, items, strict=True):
            gt = np.asarray(ann["keypoints"], np.float32)[list(TORSO)]
            x0, y0, x1, y1 = ann["person_box"]
            labelled = gt[:, 2] > 0
            people = dec.yolo_pose(spec, o, p)
            frames += 1
            total += int(labelled.sum())
            torsos += int(BASELINE.box(people, im.shape[:2]) is not None)
            if len(people):
                found += 1
                d = np.linalg.norm(people[0][list(TORSO), :2] - gt[:, :2], axis=1)
                hits += int(((d <= PCK_ALPHA * max(x1 - x0, y1 - y0)) & labelled).sum())
        items.clear()

    split = open_split(split_dir)
    with Progress(transient=True) as bar:
        task = bar.add_task("PCK", total=len(split.tracklets))
        for t in split.tracklets:
            anns = load_annotations(split_dir, t.id)["frames"]
            for path in t.frames[::stride]:
                img, ann = decode(path), anns[path.name]
                if img is not None and ann["person_box"] is not None:
                    items.append((img, ann))
                if len(items) >= batch:
                    flush()
            bar.advance(task)
        flush()
    return {
        "pck@0.1_torso": hits / max(total, 1),
        "frames": frames,
        "person_found": found / max(frames, 1),
        "torso_crop": torsos / max(frames, 1),  # the baseline rule's crop: all four keypoints >= 0.4
        "keypoints": total,
    }
