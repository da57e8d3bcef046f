"""The recognizers on real SoccerNet number crops (issue 27): per frame and per tracklet, what fails and why,
and the recognizer's preprocessing chosen on a part of the crops and reported on the rest.

    python -m jnr.benchmarks.real_str ../shared/real/soccernet-digits-dev [--out results/real-str.json]

The split is laid out as ``images/<tracklet>/*.jpg`` + ``gt.json`` (tight crops of the digits, every crop
labelled with its tracklet's number). Whole tracklets are cut by crc32 of their id: a third (``hold``) is
kept out of every choice, the rest (``fit``) chooses. ``shipped`` reads them as ``jnr-run --start str``
does (``StageSpec.given``); each variant is that spec with its preprocessing changed (confidence, canvas
width, side inset, margin added round the tight crop, padding colour, interpolation, colour order); the
recognizers run their own ONNX files on ONNX Runtime at a dynamic width.
Per tracklet: the readings through ``--vote evidence`` and ``--vote baseline``, as ``jnr-run --start str``.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections import Counter
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
from jnr.runtime.data import decode, open_split
from jnr.runtime.decision import DECISION_RULES, GIVEN, Reading
from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import atomic_write_json
from jnr.runtime.specs import StageSpec, get_spec
from jnr.runtime.vote import MIN_FRAME_CONFIDENCE, parse_number

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)
SMALL_PX = 20  # crops shorter than this are "small"


def variants(base: StageSpec) -> dict[str, StageSpec]:
    """The shipped spec as it reads number crops given as such (``StageSpec.given``: its ``tight_width``,
    confidence over the digits) and one change at a time."""
    boxed, base = base.tight(), base.given()
    out = {"shipped": base}
    if base.confidence != boxed.confidence:  # as a text box the gate cut is read
        out[f"{boxed.confidence} confidence"] = boxed
    for w in (64, 96, 128, 160, 192):
        if w != base.input_hw[1]:
            out[f"width {w}"] = replace(base, input_hw=(base.input_hw[0], w))
    for i in (0.0, 0.1):
        out[f"inset {i:.2f}"] = replace(base, inset_x=i)
    for m in (0.1, 0.2, 0.3):
        out[f"margin {m:.1f}"] = replace(base, margin=m)
    out["pad 0"] = replace(base, pad_value=0)
    out["pad 255"] = replace(base, pad_value=255)
    out["centred"] = replace(base, resize="letterbox")
    out["bicubic"] = replace(base, interpolation="bicubic")
    out["RGB"] = replace(base, color="RGB")
    return out


def load(root: Path) -> list[tuple[str, int, list[np.ndarray]]]:
    split = open_split(root)
    if split.gt is None:
        raise JnrError(f"{root}: no gt.json or {root.name}_gt.json")
    out = []
    for t in track(split.tracklets, description="decoding", console=console):
        ims = [im for im in (decode(p) for p in t.frames) if im is not None]
        out.append((t.id, split.gt.get(t.id, -1), ims))
    return out


def session(spec: StageSpec):
    """The recognizer's own ONNX (full charset, dynamic width) on ONNX Runtime's CPU provider."""
    import onnxruntime as ort

    from jnr.export.models import complete_spec
    from jnr.export.weights import resolve_weights

    full = complete_spec(replace(spec, head="full"), spec.weights)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return full, ort.InferenceSession(
        str(resolve_weights(spec.weights)), so, providers=["CPUExecutionProvider"]
    )


def read(sess, spec: StageSpec, crops: list[np.ndarray], batch: int = 128) -> list[tuple[str, float]]:
    name = sess.get_inputs()[0].name
    out = []
    for i in range(0, len(crops), batch):
        x, _ = preprocess.batch(spec, crops[i : i + batch])
        out.extend(kinds.read(spec, sess.run(None, {name: x})[0]))
    return out


def why(text: str, conf: float, truth: int, crop: np.ndarray) -> str:
    """A miss's kind: the first that fits."""
    n, t = parse_number(text), str(truth)
    if not text or conf < MIN_FRAME_CONFIDENCE:
        return "empty or unsure"
    if n is not None and len(t) == 2 and len(text) == 1 and text in t:
        return "one digit of two"
    pairs = {
        frozenset("17"): "1 / 7",
        frozenset("68"): "6 / 8",
        frozenset("38"): "3 / 8",
        frozenset("56"): "5 / 6",
    }
    if len(text) == len(t):
        diff = [frozenset((a, b)) for a, b in zip(text, t, strict=True) if a != b]
        if len(diff) == 1 and diff[0] in pairs:
            return pairs[diff[0]]
    if crop.shape[0] < SMALL_PX:
        return "small crop"
    return "other"


def evaluate(data, readings: list[list[tuple[str, float]]]) -> dict:
    frames = [
        (parse_number(t) == g and c >= MIN_FRAME_CONFIDENCE)
        for (_, g, _), rs in zip(data, readings, strict=True)
        for t, c in rs
    ]
    out = {"frames": len(frames), "frame_read": round(sum(frames) / max(len(frames), 1), 4)}
    for rule in ("evidence", "baseline"):
        right = sum(
            DECISION_RULES[rule].number([Reading(t, c, GIVEN) for t, c in rs], len(rs)) == g
            for (_, g, _), rs in zip(data, readings, strict=True)
        )
        out[f"tracklet_{rule}"] = round(right / max(len(data), 1), 4)
    misses = Counter(
        why(t, c, g, im)
        for (_, g, ims), rs in zip(data, readings, strict=True)
        for (t, c), im in zip(rs, ims, strict=True)
        if not (parse_number(t) == g and c >= MIN_FRAME_CONFIDENCE)
    )
    out["misses"] = dict(misses.most_common())
    return out


@app.command()
def main(
    root: Annotated[Path, typer.Argument(help="Real split: images/<tracklet>/*.jpg + gt.json")],
    out: Annotated[Path, typer.Option(help="JSON results")] = Path("benchmarks/results/real-str.json"),
    models: Annotated[str, typer.Option(help="Comma list of recognizers")] = "ppocr-v6-rec,ppocr-v4-rec",
    sweep: Annotated[bool, typer.Option(help="Also sweep the first recognizer's preprocessing")] = True,
) -> None:
    data = load(root)
    parts = {
        "fit": [d for d in data if zlib.crc32(d[0].encode()) % 3 != 0],
        "hold": [d for d in data if zlib.crc32(d[0].encode()) % 3 == 0],
    }
    console.print(
        ", ".join(f"{k}: {len(v)} tracklets, {sum(len(d[2]) for d in v)} crops" for k, v in parts.items())
    )
    rows = []
    for i, name in enumerate(m for m in models.split(",") if m):
        base, sess = session(get_spec(name))
        specs = variants(base) if sweep and i == 0 else {"shipped": base.given()}
        for label, spec in track(list(specs.items()), description=name, console=console):
            row = {"model": name, "variant": label}
            for part, d in parts.items():
                readings = [read(sess, spec, ims) if ims else [] for _, _, ims in d]
                row[part] = evaluate(d, readings)
            rows.append(row)
    atomic_write_json(out, {"split": str(root), "date": dt.date.today().isoformat(), "rows": rows})
    stdout_console().print(table(rows))
    console.print(f"wrote {out}")


def table(rows: list[dict]) -> Table:
    t = Table(
        title="real SoccerNet number crops: per frame read (conf >= 0.2), per tracklet (evidence / baseline)"
    )
    for c in (
        "model",
        "variant",
        "fit frames",
        "fit tracklets",
        "hold frames",
        "hold tracklets",
        "hold misses",
    ):
        t.add_column(c, justify="left" if c in ("model", "variant", "hold misses") else "right")
    for r in rows:
        f, h = r["fit"], r["hold"]
        misses = ", ".join(f"{k} {v}" for k, v in list(h["misses"].items())[:4])
        t.add_row(
            r["model"], r["variant"], f"{f['frame_read']:.2%}",
            f"{f['tracklet_evidence']:.2%} / {f['tracklet_baseline']:.2%}", f"{h['frame_read']:.2%}",
            f"{h['tracklet_evidence']:.2%} / {h['tracklet_baseline']:.2%}", misses,
        )  # fmt: skip
    return t


if __name__ == "__main__":
    guarded(app)
