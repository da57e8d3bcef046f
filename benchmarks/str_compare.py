"""Recognizers compared on the readable frames of a synthetic split: exact match per frame on two kinds
of crop, and PP-OCRv4's input width and side inset swept (width sets its cost: timesteps = width / 8).

    python -m jnr.benchmarks.str_compare SPLIT [--out benchmarks/results/str.json]

- ``torso``: what the pipeline feeds the recognizer: crops at the annotations' keypoints through the
  baseline torso rule (pose and legibility play no part);
- ``digits``: tight crops of the number's box, like the real SoccerNet digit crops of REFERENCE.md.
Use ``--styles unseen`` splits (jnr-synth): defaults are chosen on styles no model was trained on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from jnr.runtime import preprocess
from jnr.runtime.cli import guarded, stdout_console
from jnr.runtime.manifest import atomic_write_json
from jnr.runtime.specs import get_spec

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)
WIDTHS = (96, 128)
INSETS = (0.0, 0.05, 0.1, 0.15)
MODELS = ("easyocr-en-g2", "easyocr-en-g2-synth", "ppocr-v4-rec")


@app.command()
def compare(
    split: Annotated[Path, typer.Argument(help="Synthetic split with annotations/")],
    out: Annotated[Path, typer.Option(help="JSON results")] = Path("benchmarks/results/str.json"),
    stride: Annotated[int, typer.Option(min=1)] = 3,
    parseq: Annotated[str | None, typer.Option(help="Also a PARSeq checkpoint (strhub layout)")] = None,
    models: Annotated[str, typer.Option(help="Comma list of recognizers")] = ",".join(MODELS),
) -> None:
    from jnr.export.models import build, complete_spec
    from jnr.runtime.torso import BASELINE
    from jnr.synth.crops import gt_number_crops, gt_torso_crops
    from jnr.train.str_ import exact

    sets: dict[str, tuple[list, list[str]]] = {"torso": ([], []), "digits": ([], [])}
    for crop, _, number, _ in gt_torso_crops(split, BASELINE, stride, 0, readable_only=True):
        sets["torso"][0].append(crop)
        sets["torso"][1].append(str(number))
    for crop, number, _ in gt_number_crops(split, stride):
        sets["digits"][0].append(crop)
        sets["digits"][1].append(str(number))
    console.print(", ".join(f"{len(v[0])} {k} crops" for k, v in sets.items()) + f" from {split}")
    rows = []
    names = [m for m in models.split(",") if m] + (["parseq"] if parseq else [])
    for name in names:
        weights = parseq if name == "parseq" else get_spec(name).weights
        spec = complete_spec(get_spec(name), weights)
        module = build(spec, weights)
        variants = [spec]
        if name == "ppocr-v4-rec":
            variants = [replace(spec, input_hw=(48, w), inset_x=i) for w in WIDTHS for i in INSETS]
        for v in track(variants, description=name, console=console):
            row = {
                "model": name,
                "input_hw": list(v.input_hw),
                "inset_x": v.inset_x,
                "registry_default": v == spec,
            }
            for kind, (crops, labels) in sets.items():
                row[kind] = round(exact(module, v, preprocess.batch(v, crops)[0], labels), 4)
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
    t = Table(title="STR exact match per frame, readable frames")
    for c in ("model", "input HxW", "inset", *(f"{k} ({len(v[0])})" for k, v in sets.items()), "registry"):
        t.add_column(c, justify="left" if c in ("model", "input HxW", "registry") else "right")
    for r in rows:
        hw, mark = "x".join(map(str, r["input_hw"])), "*" * r["registry_default"]
        t.add_row(r["model"], hw, f"{r['inset_x']:.2f}", *(f"{r[k]:.2%}" for k in sets), mark)
    stdout_console().print(t)
    console.print(f"wrote {out}")


def main() -> None:
    guarded(app)


if __name__ == "__main__":
    main()
