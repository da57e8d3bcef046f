"""Weak labels from an OCR teacher: the way published work trains on SoccerNet, which has no per-frame
labels. The teacher is the strongest general reader jnr has (the default recognizer, PP-OCRv4).

- Legibility: a torso crop is legible when the teacher reads a plausible jersey number (1..99) with
  confidence; where the split has ground truth, only when that number is the tracklet's, every crop of a
  -1 tracklet is illegible, and a crop read as another number is left out (legible or misread: unknown).
- STR: a crop is an example of number N when the teacher reads N and N is the tracklet's ground truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from jnr.runtime import kinds, preprocess
from jnr.runtime.specs import DEFAULTS, get_spec
from jnr.runtime.torso import TorsoRule
from jnr.runtime.vote import ILLEGIBLE, parse_number

TEACHER_MIN_CONFIDENCE = 0.5  # a reading below this is "no number" for labelling
Reader = Callable[[list[np.ndarray]], list[tuple[str, float]]]


def ocr_teacher(name: str | None = None, batch: int = 64) -> Reader:
    """A batched reader: RGB crops -> (digits, confidence), with a registered recognizer (default: the
    default STR) run eagerly in PyTorch on the CPU or GPU."""
    from jnr.export.models import build, complete_spec
    from jnr.export.torch_runner import TorchRunner

    base = get_spec(name or DEFAULTS["str"])
    spec = complete_spec(base, base.weights)
    runner = TorchRunner(build(spec), "torch-batched", batch)

    def read(crops: list[np.ndarray]) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        for i in range(0, len(crops), batch):
            x, _ = preprocess.batch(spec, crops[i : i + batch])
            out += kinds.read(spec, runner.infer(x))
        return out

    return read


def confident_number(reading: tuple[str, float]) -> int | None:
    text, conf = reading
    return parse_number(text) if conf >= TEACHER_MIN_CONFIDENCE else None


def legibility_label(reading: tuple[str, float], gt: int | None) -> float | None:
    """1.0 legible, 0.0 not, None: leave the crop out. ``gt`` None: the split has no ground truth."""
    n = confident_number(reading)
    if gt is None:
        return float(n is not None)
    if gt == ILLEGIBLE:
        return 0.0
    if n == gt:
        return 1.0
    return None if n is not None else 0.0


def str_label(reading: tuple[str, float], gt: int | None) -> str | None:
    """The number string when the teacher confirms the tracklet's number, else None."""
    return str(gt) if gt is not None and gt != ILLEGIBLE and confident_number(reading) == gt else None


def teacher_crops(
    split_dir: Path, pose: str | None, rule: TorsoRule, stride: int, read: Reader, chunk: int = 256
) -> Iterator[tuple[np.ndarray, dict | None, int | None, int, tuple[str, float]]]:
    """Pose torso crops (as the runtime makes them) with the teacher's reading:
    yields (RGB crop, frame annotation or None, tracklet gt or None, tracklet index, reading)."""
    from jnr.train.legibility import pose_torso_crops

    buf: list = []

    def flush() -> list:
        out = [(*it, r) for it, r in zip(buf, read([it[0] for it in buf]), strict=True)]
        buf.clear()
        return out

    for item in pose_torso_crops(split_dir, pose, rule, stride):
        buf.append(item)
        if len(buf) >= chunk:
            yield from flush()
    yield from flush()
