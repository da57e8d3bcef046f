"""Fine-tune the EasyOCR english_g2 recognizer with CTC on torso crops of readable synthetic frames.

The head keeps its 97 classes, so decoding (greedy CTC over digits) is unchanged. The split is by
tracklet, as for the legibility classifier.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from jnr.runtime import kinds, preprocess
from jnr.runtime.errors import JnrError
from jnr.runtime.specs import StageSpec
from jnr.runtime.torso import TorsoRule
from jnr.synth.crops import gt_torso_crops
from jnr.train.loop import fit


def readable_crops(
    split_dir: Path,
    spec: StageSpec,
    rule: TorsoRule,
    stride: int,
    seed: int,
    labels: str = "annotations",
    pose: str | None = None,
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Preprocessed crops of readable frames, their number strings, and their tracklet index.
    ``annotations``: torso crops at the ground-truth keypoints of frames marked readable; ``teacher``:
    pose crops where the teacher reads the tracklet's ground-truth number (a real split's weak labels)."""
    xs, out, groups = [], [], []
    if labels == "annotations":
        if not (Path(split_dir) / "annotations").is_dir():
            raise JnrError(f"{split_dir} has no annotations/ (not a jnr-synth split): use --labels teacher")
        source = (
            (crop, str(number), gi)
            for crop, _, number, gi in gt_torso_crops(split_dir, rule, stride, seed, readable_only=True)
        )
    elif labels == "teacher":
        from jnr.train.teacher import ocr_teacher, str_label, teacher_crops

        source = (
            (crop, str_label(reading, gt), gi)
            for crop, _, gt, gi, reading in teacher_crops(split_dir, pose, rule, stride, ocr_teacher())
        )
    else:
        raise JnrError(f"unknown labels {labels!r}; known: annotations, teacher")
    for crop, label, gi in source:
        if label is None:
            continue
        xs.append(preprocess.prepare(spec, crop)[0])
        out.append(label)
        groups.append(gi)
    if not xs:
        raise JnrError(f"no labelled readable crops in {split_dir}")
    return np.stack(xs), out, np.asarray(groups)


def exact(model: nn.Module, spec: StageSpec, x: np.ndarray, labels: list[str], batch: int = 256) -> float:
    model.eval()
    hits = 0
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            out = model(torch.from_numpy(x[i : i + batch])).numpy()
            hits += sum(
                t == lab for (t, _), lab in zip(kinds.read(spec, out), labels[i : i + batch], strict=True)
            )
    return hits / max(1, len(labels))


def finetune(
    model: nn.Module,
    spec: StageSpec,
    x: np.ndarray,
    labels: list[str],
    epochs: int,
    seed: int,
    lr: float = 1e-4,
    batch: int = 64,
) -> None:
    """CTC fine-tuning; targets are the class indices of the digits in the spec's charset."""
    torch.manual_seed(seed)
    ctc = ctc_loss(spec, labels)
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def loss_of(idx: torch.Tensor) -> torch.Tensor:
        return ctc(model(torch.from_numpy(x[idx.numpy()])).log_softmax(-1), idx)

    fit(model, len(x), epochs, batch, loss_of, opt, clip=5.0, name="str")


def ctc_loss(spec: StageSpec, labels: list[str]):
    """``loss(log_probs (N, T, C), indices of the batch's labels)``: CTC with the blank at 0 and each label's
    digits as their classes in the spec's charset."""
    targets = [torch.tensor([spec.charset.index(c) + 1 for c in lab]) for lab in labels]
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)

    def loss(logp: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        tgt = [targets[j] for j in idx.tolist()]
        return ctc(
            logp.permute(1, 0, 2),  # T, N, C
            torch.cat(tgt),
            torch.full((len(idx),), logp.shape[1], dtype=torch.long),
            torch.tensor([len(t) for t in tgt]),
        )

    return loss
