"""What jnr-train's commands share: model cards, the label sources' wording, the options of the crop-based
trainers, and the readable-crops split."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from jnr.runtime.torso import get_torso_rule


def write_card(path: Path, title: str, facts: dict, synthetic: bool = True) -> None:
    """A model card beside the weights: command, data, metrics, date."""
    where = (
        "Trained on synthetic players rendered by `jnr-synth`, not on real footage."
        if synthetic
        else "Trained on a split without jnr-synth annotations (real footage, presumably)."
    )
    lines = [f"# {title}", "", where, ""]
    lines += [f"- **{k}**: {v}" for k, v in facts.items()]
    path.write_text("\n".join(lines) + "\n")


# Options shared by the crop-based trainers (legibility, str).
TrainSplit = Annotated[Path, typer.Argument(help="Split with annotations/ (jnr-synth output)")]
Epochs = Annotated[int, typer.Option(min=1)]
Rule = Annotated[str, typer.Option(help="Torso rule for the crops: baseline or seed")]
Stride = Annotated[int, typer.Option(min=1, help="Use every STRIDE-th frame")]
HeldOut = Annotated[float, typer.Option(help="Share of tracklets held out")]
Seed = Annotated[int, typer.Option()]
TeacherPose = Annotated[str | None, typer.Option(help="Pose weights for teacher crops (default: COCO)")]


LABEL_TEXT = {
    "annotations": "readable flag of the synthetic annotations; torso crops from jittered gt keypoints",
    "teacher": "weak labels (jnr.train.teacher): the default recognizer reads a number with confidence "
    ">= 0.5, the tracklet's ground truth where it exists (a crop read as another number is left out; "
    "-1 tracklets are negatives); torso crops from the pose model ({pose})",
    "easyocr": "EasyOCR teacher (english_g2, offline): legible if it reads a digit; torso crops from the "
    "pose model ({pose})",
}


def split_text(keys) -> str:
    """How style_keys split: font families (names) or tracklets (indices)."""
    return "by font family (whole families held out)" if keys.dtype.kind in "UO" else "by tracklet"


def rule_named(name: str):
    return get_torso_rule(name)


def command_line() -> str:
    return "jnr-train " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def readable(train_split: Path, spec, rule: str, stride: int, seed: int, labels: str, pose, held_out: float):
    """Readable torso crops of a split with their labels and a held-out mask by style (font family where the
    split records it, else tracklet); returns (x, labels array, held-out mask, keys, groups, label source)."""
    import numpy as np

    from jnr.train import str_ as ts
    from jnr.train.legibility import held_out_mask, style_keys

    if labels == "auto":
        labels = "annotations" if (train_split / "annotations").is_dir() else "teacher"
    x, lab_list, groups = ts.readable_crops(train_split, spec, rule_named(rule), stride, seed, labels, pose)
    keys = style_keys(train_split, groups)
    return x, np.asarray(lab_list), held_out_mask(keys, held_out, seed), keys, groups, labels
