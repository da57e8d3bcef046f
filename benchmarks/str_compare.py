"""Recognizers compared on the readable torso crops of a synthetic split: exact match per frame, and
PP-OCRv4's input width and side inset swept (they set its cost: timesteps = width / 8).

    python -m jnr.benchmarks.str_compare SPLIT [--out benchmarks/results/str.json]

Crops come from the annotations' keypoints through the baseline torso rule (every third readable frame),
so the pose and legibility stages play no part.
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
WIDTHS = (64, 96, 128, 160, 320)
INSETS = (0.0, 0.15)


@app.command()
def compare(
    split: Annotated[Path, typer.Argument(help="Synthetic split with annotations/")],
    out: Annotated[Path, typer.Option(help="JSON results")] = Path("benchmarks/results/str.json"),
    stride: Annotated[int, typer.Option(min=1)] = 3,
) -> None:
    from jnr.export.models import build, complete_spec
    from jnr.runtime.torso import BASELINE
    from jnr.synth.crops import gt_torso_crops
    from jnr.train.str_ import exact

    crops, labels = [], []
    for crop, _, number, _ in gt_torso_crops(split, BASELINE, stride, 0, readable_only=True):
        crops.append(crop)
        labels.append(str(number))
    console.print(f"{len(crops)} readable torso crops from {split}")
    rows = []
    for name in ("easyocr-en-g2", "easyocr-en-g2-synth", "ppocr-v4-rec"):
        spec = complete_spec(get_spec(name), get_spec(name).weights)
        module = build(spec)
        variants = [spec]
        if name == "ppocr-v4-rec":
            variants = [replace(spec, input_hw=(48, w), inset_x=i) for w in WIDTHS for i in INSETS]
        for v in track(variants, description=name, console=console):
            rows.append(
                {
                    "model": name,
                    "input_hw": list(v.input_hw),
                    "inset_x": v.inset_x,
                    "registry_default": v == spec,
                    "exact_match": round(exact(module, v, preprocess.batch(v, crops)[0], labels), 4),
                }
            )
    atomic_write_json(
        out,
        {"split": str(split), "crops": len(crops), "date": dt.date.today().isoformat(), "rows": rows},
    )
    t = Table(title=f"STR exact match per frame ({len(crops)} readable crops)")
    for c in ("model", "input HxW", "inset", "exact match", "registry"):
        t.add_column(c, justify="right" if c in ("inset", "exact match") else "left")
    for r in rows:
        hw, mark = "x".join(map(str, r["input_hw"])), "*" * r["registry_default"]
        t.add_row(r["model"], hw, f"{r['inset_x']:.2f}", f"{r['exact_match']:.2%}", mark)
    stdout_console().print(t)
    console.print(f"wrote {out}")


def main() -> None:
    guarded(app)


if __name__ == "__main__":
    main()
