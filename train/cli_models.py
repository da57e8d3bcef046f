"""``jnr-train`` commands for published models jnr fine-tunes: PARSeq (strhub), yolo11n-pose (ultralytics),
and the pose model's PCK."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from jnr.runtime.errors import JnrError
from jnr.runtime.specs import get_spec
from jnr.train import common

console = Console(stderr=True)


def parseq(
    train_split: Annotated[
        Path | None, typer.Argument(help="Split of tracklets to add its readable crops (optional)")
    ] = None,
    out: Annotated[Path, typer.Option(help="Checkpoint to write (strhub layout)")] = Path(
        "runs/parseq-small.ckpt"
    ),
    synthetic: Annotated[
        int, typer.Option(min=0, help="Fresh crops per epoch from the digit-crop stream (synth.digits)")
    ] = 0,
    epochs: common.Epochs = 10,
    rule: common.Rule = "baseline",
    stride: common.Stride = 2,
    held_out: common.HeldOut = 0.2,
    seed: common.Seed = 0,
    labels: Annotated[str, typer.Option(help="auto, annotations or teacher (as for jnr-train str)")] = "auto",
    pose: common.TeacherPose = None,
    check: Annotated[int, typer.Option(min=0, help="Crops of unseen font families to check on")] = 2000,
) -> None:
    """Train a small PARSeq (digits only, 3-layer ViT) from scratch on readable torso crops of a split
    and/or crops drawn fresh from the digit-crop stream in the renderer's train styles; checked on stream
    crops of the unseen font families. The checkpoint loads with `jnr-export --str parseq=CKPT` like the
    baseline's."""
    import numpy as np

    from jnr.runtime import preprocess
    from jnr.synth.digits import digit_crops
    from jnr.train import parseq as tq
    from jnr.train import str_ as ts

    if train_split is None and synthetic == 0:
        raise JnrError("nothing to train on: give a split, --synthetic N, or both")
    spec = get_spec("parseq")
    facts: dict = {}
    x, lab = np.zeros((0, 3, *spec.input_hw), np.float32), np.asarray([], dtype=str)
    te_x, te_lab = x, lab
    if train_split is not None:
        x, lab, te, keys, groups, labels = common.readable(
            train_split, spec, rule, stride, seed, labels, pose, held_out
        )
        te_x, te_lab, x, lab = x[te], lab[te], x[~te], lab[~te]
        console.print(f"{len(x)} train crops, {len(te_x)} held out ({common.split_text(keys)})")
        facts["data"] = f"{train_split} ({len(np.unique(groups))} tracklets, readable frames only)"
        facts["labels"] = labels
        facts["split"] = f"{common.split_text(keys)}, {held_out:.0%} held out"
    if synthetic:
        facts["stream"] = f"{synthetic} fresh synth.digits crops per epoch, train font families and styles"
    model, hp = tq.train(x, list(lab), epochs, seed, synthetic=synthetic)
    if len(te_x):
        facts["held_out_exact_match"] = round(ts.exact(model, spec, te_x, list(te_lab)), 4)
    if check:
        crops, texts = digit_crops(check, seed + 10_000, side="unseen")
        cx = np.stack([preprocess.prepare(spec, c)[0] for c in crops])
        facts["unseen_families_stream_exact_match"] = round(ts.exact(model, spec, cx, texts), 4)
    out.parent.mkdir(parents=True, exist_ok=True)
    tq.save(model, hp, out)
    common.write_card(
        out.with_suffix(".md"),
        f"PARSeq (small, from scratch): {out.name}",
        {
            "command": f"`{common.command_line()}`",
            **facts,
            "architecture": ", ".join(f"{k} {v}" for k, v in hp.items() if k != "charset_test"),
            "loss": "permutation LM, left-to-right and right-to-left orders; AdamW one-cycle",
            "epochs": epochs,
            "n_train": int(len(x) + synthetic * epochs),
            "date": dt.date.today().isoformat(),
        },
    )
    scores = ", ".join(f"{k} {v}" for k, v in facts.items() if "exact" in k)
    console.print(f"{scores}; wrote {out}")


def pose(
    train_split: common.TrainSplit,
    val_split: Annotated[Path, typer.Argument(help="Held-out split with annotations/")],
    out: Annotated[Path, typer.Option(help="Weights file to write")] = Path("models/yolo11n-pose-ft.pt"),
    init: Annotated[
        str,
        typer.Option(
            help="Starting weights: the COCO yolo11n-pose by default (a .pt, a package:file, an ultralytics "
            "name); yolo11n-pose.yaml trains from scratch, as the old synthetic-only pose was"
        ),
    ] = get_spec("yolo11n-pose").weights,
    epochs: common.Epochs = 30,
    imgsz: Annotated[int, typer.Option(help="Training size (square letterbox)")] = 192,
    per_tracklet: Annotated[int, typer.Option(help="Frames sampled per tracklet")] = 8,
    work: Annotated[Path, typer.Option(help="Scratch folder for the YOLO dataset and runs")] = Path(
        "runs/pose"
    ),
) -> None:
    """Fine-tune yolo11n-pose (from the COCO weights) with the ultralytics trainer on annotated crops."""
    import shutil

    from jnr.export.models import resolve_weights
    from jnr.train import pose as tp

    start = init if init.endswith(".yaml") else str(resolve_weights(init))
    yaml = tp.prepare_dataset({"train": train_split, "val": val_split}, work / "data", per_tracklet)
    best = tp.train(yaml, work / "runs", epochs, imgsz, batch=32, model=start)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(best, out)
    console.print(f"wrote {out}")
    _pck_card(
        out,
        val_split,
        {"command": f"`{common.command_line()}`", "start": init, "epochs": epochs, "train imgsz": imgsz},
    )


def _pck_card(weights: Path, split: Path, facts: dict) -> dict:
    from jnr.export.models import load_pose
    from jnr.train.eval_pose import pck as measure

    spec = get_spec("yolo11n-pose")
    m = measure(load_pose(str(weights)), spec, split)
    common.write_card(
        weights.with_suffix(".md"),
        f"yolo11n-pose: {weights.name}",
        {
            **facts,
            "architecture": "yolo11n-pose (ultralytics)",
            "inference input": f"{spec.input_hw[0]}x{spec.input_hw[1]} letterboxed",
            "held-out split": str(split),
            **m,
            "date": dt.date.today().isoformat(),
        },
    )
    console.print(f"PCK@0.1 torso on {split}: {m['pck@0.1_torso']:.4f} ({m['frames']} frames)")
    return m


def pck(
    split: Annotated[Path, typer.Argument(help="Annotated split (jnr-synth output)")],
    pose: Annotated[str, typer.Option(help="Pose weights (default: the COCO yolo11n-pose)")] = get_spec(
        "yolo11n-pose"
    ).weights,
    stride: Annotated[int, typer.Option(min=1, help="Every STRIDE-th frame")] = 5,
) -> None:
    """PCK@0.1 of the torso keypoints of a pose model on an annotated split."""
    from jnr.export.models import load_pose
    from jnr.train.eval_pose import pck as measure

    m = measure(load_pose(pose), get_spec("yolo11n-pose"), split, stride)
    console.print(json.dumps(m))


def add_commands(app: typer.Typer) -> None:
    for command in (parseq, pose, pck):
        app.command()(command)
