"""Train the legibility classifier on torso crops of synthetic tracklets, labelled from the annotations.

The train/held-out split is by tracklet and happens before any class balancing, so no crop of a
held-out player is ever seen in training (the seed's 98% came from oversampling before splitting).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress
from torch import nn

from jnr.runtime import preprocess
from jnr.runtime.data import decode, open_split
from jnr.runtime.specs import StageSpec
from jnr.runtime.torso import TorsoRule


@dataclass
class CropSet:
    x: np.ndarray  # N, C, H, W float32, preprocessed for the spec
    y: np.ndarray  # N float32 in {0, 1}
    group: np.ndarray  # tracklet index per crop


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
            doc = json.loads((Path(split_dir) / "annotations" / f"{t.id}.json").read_text())
            for p in t.frames[::stride]:
                ann = doc["frames"][p.name]
                if readable_only and not ann["readable"]:
                    continue
                img = decode(p)
                if img is None:
                    continue
                people = gt_people(ann)
                people[..., :2] += rng.normal(0, jitter * max(img.shape[:2]) * 0.25, people[..., :2].shape)
                box = rule.box(people, img.shape[:2])
                if box is not None:
                    x0, y0, x1, y1 = box
                    yield img[y0:y1, x0:x1], ann, doc["number"], gi
            bar.advance(task)


def torso_crops(split_dir: Path, spec: StageSpec, rule: TorsoRule, stride: int = 1, seed: int = 0) -> CropSet:
    """Torso crops preprocessed for ``spec``, labelled with the annotations' readable flag."""
    xs, ys, gs = [], [], []
    for crop, ann, _, gi in gt_torso_crops(split_dir, rule, stride, seed):
        xs.append(preprocess.prepare(spec, crop)[0])
        ys.append(float(ann["readable"]))
        gs.append(gi)
    return CropSet(np.stack(xs), np.asarray(ys, np.float32), np.asarray(gs))


def held_out_mask(groups: np.ndarray, held_out: float, seed: int) -> np.ndarray:
    """True for items whose tracklet is held out; the split is by tracklet, before any balancing."""
    uniq = np.unique(groups)
    rng = np.random.default_rng(seed)
    test = rng.choice(uniq, size=max(1, int(len(uniq) * held_out)), replace=False)
    return np.isin(groups, test)


def split_by_group(data: CropSet, held_out: float, seed: int) -> tuple[CropSet, CropSet]:
    m = held_out_mask(data.group, held_out, seed)
    return (CropSet(data.x[~m], data.y[~m], data.group[~m]), CropSet(data.x[m], data.y[m], data.group[m]))


def accuracy(model: nn.Module, data: CropSet, batch: int = 512) -> float:
    model.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(data.y), batch):
            logit = model(torch.from_numpy(data.x[i : i + batch]))[:, 0]
            correct += int(((logit >= 0) == torch.from_numpy(data.y[i : i + batch]).bool()).sum())
    return correct / max(1, len(data.y))


def train(
    model: nn.Module,
    train_set: CropSet,
    test_set: CropSet,
    epochs: int,
    seed: int,
    batch: int = 128,
    lr: float = 1e-3,
) -> dict:
    """Adam + BCE with class-balanced sampling of the training part only; returns held-out metrics."""
    torch.manual_seed(seed)
    pos = train_set.y.mean()
    weights = np.where(train_set.y > 0.5, 0.5 / max(pos, 1e-6), 0.5 / max(1 - pos, 1e-6))
    sampler = torch.utils.data.WeightedRandomSampler(
        torch.from_numpy(weights), len(weights), replacement=True
    )
    ds = torch.utils.data.TensorDataset(torch.from_numpy(train_set.x), torch.from_numpy(train_set.y))
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, sampler=sampler)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * len(loader))
    loss_fn = nn.BCEWithLogitsLoss()
    history = []
    with Progress() as bar:
        task = bar.add_task("legibility", total=epochs * len(loader))
        for _ in range(epochs):
            model.train()
            for xb, yb in loader:
                opt.zero_grad()
                loss = loss_fn(model(xb)[:, 0], yb)
                loss.backward()
                opt.step()
                sched.step()
                bar.advance(task)
            history.append(accuracy(model, test_set))
    return {
        "held_out_accuracy": history[-1],
        "per_epoch_held_out_accuracy": history,
        "train_accuracy": accuracy(model, train_set),
        "n_train": len(train_set.y),
        "n_held_out": len(test_set.y),
        "held_out_positive_share": float(test_set.y.mean()),
    }
