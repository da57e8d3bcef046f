"""The stage-kind table, keyed by a spec's ``decode``: what each kind of stage model is and does.

A kind says which stage it serves, whether it runs a model, how a batch of its raw outputs decodes into one
value per item (people for pose, a ``Gated`` crop for a gate, ``(digits, confidence)`` for a recognizer),
how export parity compares two raw outputs (on what they decode to), and where its ONNX comes from by
default (``models.SOURCES`` overrides that per model). Everything that depends on ``spec.decode`` reads it
from here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from jnr.runtime import decode as dec
from jnr.runtime.errors import lookup
from jnr.runtime.preprocess import Placement
from jnr.runtime.specs import Stage, StageSpec
from jnr.runtime.vote import MIN_FRAME_CONFIDENCE

# a box's edges are keypoints (or a map's contour) rounded to pixels: within 1 px it is the same box
BOX_TOLERANCE_PX = 1.0

Decoder = Callable[[StageSpec, np.ndarray | None, Sequence[Placement], Sequence[np.ndarray]], list]
Same = Callable[
    [StageSpec, np.ndarray, np.ndarray, Sequence[Placement], Sequence[tuple[int, int]]], np.ndarray
]


@dataclass(frozen=True)
class Kind:
    """One kind of stage model (see the module's docstring)."""

    name: str
    stage: Stage
    model: bool
    decode: Decoder  # (spec, raw batch or None, placements, input crops) -> one value per item
    same: Same | None  # (spec, reference, output, placements, input sizes) -> identical per item
    source: str = "torch"  # torch: torch.onnx.export; ultralytics: its exporter; onnx: the file as shipped


def _same_box(a: Sequence[int], b: Sequence[int]) -> bool:
    return bool(np.abs(np.subtract(a, b)).max() <= BOX_TOLERANCE_PX)


def _pose(spec: StageSpec, out, places, crops) -> list[np.ndarray]:
    return [dec.yolo_pose(spec, o, p) for o, p in zip(out, places, strict=True)]


def _same_pose(spec: StageSpec, ref, got, places, sizes) -> np.ndarray:
    """The same torso box (within BOX_TOLERANCE_PX, or none in both) under each torso rule the head serves."""
    from jnr.runtime.torso import TORSO_RULES

    rules = [r for r in TORSO_RULES.values() if r.pose_spec(spec) == spec]
    same = []
    for a, b, p, hw in zip(ref, got, places, sizes, strict=True):
        pa, pb = dec.yolo_pose(spec, a, p), dec.yolo_pose(spec, b, p)
        boxes = [(r.box(pa, hw), r.box(pb, hw)) for r in rules]
        same.append(all((x is None) == (y is None) and (x is None or _same_box(x, y)) for x, y in boxes))
    return np.array(same)


def _same_sigmoid(spec: StageSpec, ref, got, places, sizes) -> np.ndarray:
    return (dec.sigmoid(spec, ref) >= spec.threshold) == (dec.sigmoid(spec, got) >= spec.threshold)


def _same_text_box(spec: StageSpec, ref, got, places, sizes) -> np.ndarray:
    return np.array(
        [
            _same_box(dec.text_box(spec, a, p, hw)[0], dec.text_box(spec, b, p, hw)[0])
            for a, b, p, hw in zip(ref, got, places, sizes, strict=True)
        ]
    )


def _counted(reading: tuple[str, float]) -> str:
    """A reading as the vote sees it: its text, or nothing under the vote's confidence floor."""
    return reading[0] if reading[1] >= MIN_FRAME_CONFIDENCE else ""


def _reader(read: Callable[[StageSpec, np.ndarray], list[tuple[str, float]]]) -> tuple[Decoder, Same]:
    def decode(spec: StageSpec, out, places, crops) -> list[tuple[str, float]]:
        return read(spec, out)

    def same(spec: StageSpec, ref, got, places, sizes) -> np.ndarray:
        return np.array(
            [_counted(a) == _counted(b) for a, b in zip(read(spec, ref), read(spec, got), strict=True)]
        )

    return decode, same


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("yolo-pose", "pose", True, _pose, _same_pose, "ultralytics"),
        Kind("sigmoid", "legibility", True, dec.gate_sigmoid, _same_sigmoid),
        Kind("db-text", "legibility", True, dec.gate_db_text, _same_text_box, "onnx"),
        Kind("none", "legibility", False, dec.gate_none, None, ""),
        Kind("ctc-digits", "str", True, *_reader(dec.ctc_digits)),
        Kind("parseq-digits", "str", True, *_reader(dec.parseq_digits)),
    )
}


def kind_of(spec: StageSpec) -> Kind:
    """The kind of ``spec`` (its ``decode``), or a one-line JnrError naming the known kinds."""
    return lookup(KINDS, spec.decode, f"{spec.name}: decode kind")


def has_model(spec: StageSpec) -> bool:
    return kind_of(spec).model


def read(spec: StageSpec, out: np.ndarray) -> list[tuple[str, float]]:
    """A recognizer's raw output -> per item (digits, confidence)."""
    return kind_of(spec).decode(spec, out, (), ())
