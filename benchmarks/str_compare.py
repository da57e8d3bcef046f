"""Recognizers compared on a synthetic split: per frame, on three kinds of crop, with the input width, side
inset and confidence of the PP-OCR recognizers swept (width sets their cost: timesteps = width / 8).

    python -m jnr.benchmarks.str_compare SPLIT [--out benchmarks/results/str.json]

- ``torso``: readable frames as the pipeline crops them without a gate: the annotations' keypoints through
  the baseline torso rule;
- ``digits``: tight crops of the number's box of readable frames, like the real SoccerNet digit crops of
  REFERENCE.md and like what the text-detector gate hands on;
- ``numberless``: torso crops of -1 tracklets; the figure is the share read as a jersey number with a
  confidence the vote counts (>= 0.2): numbers invented from stripes, arms and torso edges.

``read`` is exact match of the digit string (the per-frame figure of REFERENCE.md); ``counted`` also needs the
confidence the vote counts. Use ``--styles unseen`` flat splits and ``--drawing shaded`` splits (jnr-synth):
defaults are chosen on what no model was trained on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from jnr.runtime import kinds, preprocess
from jnr.runtime.cli import guarded, stdout_console
from jnr.runtime.manifest import atomic_write_json
from jnr.runtime.specs import StageSpec, get_spec
from jnr.runtime.vote import MIN_FRAME_CONFIDENCE, parse_number

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)
WIDTHS = (96, 128)
INSETS = (0.0, 0.05)
CONFIDENCES = ("digits", "charset")
MODELS = ("easyocr-en-g2", "easyocr-en-g2-synth", "ppocr-v4-rec", "ppocr-v6-rec")
SWEPT = ("ppocr-v4-rec", "ppocr-v6-rec")


def crop_sets(split: Path, stride: int) -> dict[str, tuple[list[np.ndarray], list[int]]]:
    """The three kinds of crop with their tracklet's number."""
    from jnr.runtime.torso import BASELINE
    from jnr.synth.crops import gt_number_crops, gt_torso_crops

    sets: dict[str, tuple[list, list[int]]] = {"torso": ([], []), "digits": ([], []), "numberless": ([], [])}
    for crop, ann, number, _ in gt_torso_crops(split, BASELINE, stride, 0):
        kind = "numberless" if number == -1 else "torso" if ann["readable"] else None
        if kind:
            sets[kind][0].append(crop)
            sets[kind][1].append(number)
    for crop, number, _ in gt_number_crops(split, stride):
        sets["digits"][0].append(crop)
        sets["digits"][1].append(number)
    return sets


def score(readings: list[tuple[str, float]], labels: list[int], kind: str) -> dict[str, float]:
    n = max(1, len(labels))
    if kind == "numberless":
        false = sum(parse_number(t) is not None and c >= MIN_FRAME_CONFIDENCE for t, c in readings)
        return {"false": round(false / n, 4)}
    read = [parse_number(t) == lab for (t, _), lab in zip(readings, labels, strict=True)]
    counted = [r and c >= MIN_FRAME_CONFIDENCE for r, (_, c) in zip(read, readings, strict=True)]
    return {"read": round(sum(read) / n, 4), "counted": round(sum(counted) / n, 4)}


def _outputs(module, spec: StageSpec, crops: list[np.ndarray], batch: int = 256) -> np.ndarray:
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(crops), batch):
            x, _ = preprocess.batch(spec, crops[i : i + batch])
            out.append(module(torch.from_numpy(x)).numpy())
    return np.concatenate(out) if out else np.zeros((0,))


@app.command()
def compare(
    split: Annotated[Path, typer.Argument(help="Synthetic split with annotations/")],
    out: Annotated[Path, typer.Option(help="JSON results")] = Path("benchmarks/results/str.json"),
    stride: Annotated[int, typer.Option(min=1)] = 3,
    parseq: Annotated[str | None, typer.Option(help="Also a PARSeq checkpoint (strhub layout)")] = None,
    models: Annotated[str, typer.Option(help="Comma list of recognizers")] = ",".join(MODELS),
) -> None:
    from jnr.export.models import build, complete_spec

    sets = crop_sets(split, stride)
    console.print(", ".join(f"{len(v[0])} {k} crops" for k, v in sets.items()) + f" from {split}")
    rows = []
    names = [m for m in models.split(",") if m] + (["parseq"] if parseq else [])
    for name in names:
        weights = parseq if name == "parseq" else get_spec(name).weights
        shipped = complete_spec(get_spec(name), weights)
        # the whole charset once; each variant decodes it with its own confidence (as its head would give)
        full = complete_spec(replace(get_spec(name), head="full"), weights)
        module = build(full, weights)
        variants = [full]
        if name in SWEPT:
            variants = [
                replace(full, input_hw=(48, w), inset_x=i, confidence=c)
                for w in WIDTHS
                for i in INSETS
                for c in CONFIDENCES
            ]
        for v in track(variants, description=name, console=console):
            row = {
                "model": name,
                "input_hw": list(v.input_hw),
                "inset_x": v.inset_x,
                "confidence": v.confidence if v.decode == "ctc-digits" else "-",
                "registry_default": (v.input_hw, v.inset_x, v.confidence)
                == (shipped.input_hw, shipped.inset_x, shipped.confidence),
            }
            for kind, (crops, labels) in sets.items():
                readings = kinds.read(v, _outputs(module, v, crops)) if crops else []
                row.update({f"{kind}_{k}": x for k, x in score(readings, labels, kind).items()})
            rows.append(row)
    atomic_write_json(
        out,
        {
            "split": str(split),
            "crops": {k: len(v[0]) for k, v in sets.items()},
            "date": dt.date.today().isoformat(),
            "rows": rows,
        },
    )
    stdout_console().print(table(rows, {k: len(v[0]) for k, v in sets.items()}))
    console.print(f"wrote {out}")


def table(rows: list[dict], counts: dict[str, int]) -> Table:
    t = Table(title="STR per frame: read (exact) / counted (confidence >= 0.2); numberless: false numbers")
    cols = ("torso_read", "torso_counted", "digits_read", "digits_counted", "numberless_false")
    for c in ("model", "input HxW", "inset", "confidence", *cols, "registry"):
        t.add_column(c, justify="left" if c in ("model", "input HxW", "confidence", "registry") else "right")
    for r in rows:
        hw, mark = "x".join(map(str, r["input_hw"])), "*" * r["registry_default"]
        t.add_row(
            r["model"], hw, f"{r['inset_x']:.2f}", r["confidence"], *(f"{r[c]:.2%}" for c in cols), mark
        )
    t.caption = ", ".join(f"{n} {k} crops" for k, n in counts.items())
    return t


def main() -> None:
    guarded(app)


if __name__ == "__main__":
    main()
