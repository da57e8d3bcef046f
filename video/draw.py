"""What jnr-video draws and saves: boxes labelled with each track's number so far, crops in the SoccerNet
layout, and small annotated frames for the report."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from jnr.runtime.vote import ILLEGIBLE


def label_colour(tid: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(tid)
    return tuple(int(v) for v in rng.integers(60, 256, 3))


def annotate(
    frame: np.ndarray, boxes: list[tuple[int, tuple[int, int, int, int]]], numbers: dict[int, int]
) -> None:
    """Box each tracked player with its track id and current number (BGR frame, in place)."""
    for tid, (x0, y0, x1, y1) in boxes:
        c = label_colour(tid)
        n = numbers.get(tid, ILLEGIBLE)
        text = f"#{tid}: {n if n != ILLEGIBLE else '?'}"
        cv2.rectangle(frame, (x0, y0), (x1, y1), c, 2)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 2)
        ty = max(th + base, y0)
        cv2.rectangle(frame, (x0, ty - th - base), (x0 + tw + 4, ty), c, -1)
        cv2.putText(
            frame, text, (x0 + 2, ty - base), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 2, cv2.LINE_AA
        )


def save_crop(root: Path, tid: int, frame_no: int, crop_rgb: np.ndarray) -> None:
    """One crop in the SoccerNet layout, ROOT/images/<tid>/<tid>_<frame>.jpg, written atomically."""
    folder = root / "images" / str(tid)
    folder.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(crop_rgb, cv2.COLOR_RGB2BGR))
    if ok:
        path = folder / f"{tid}_{frame_no}.jpg"
        tmp = path.with_name(f".{path.name}.tmp")
        buf.tofile(tmp)
        os.replace(tmp, path)


def still(frame_bgr: np.ndarray, width: int = 480) -> np.ndarray:
    """A small RGB copy of an annotated frame, for the report page."""
    h, w = frame_bgr.shape[:2]
    small = cv2.resize(frame_bgr, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)


class Writer:
    """The annotated MP4, written to a temporary name and renamed over the target when complete."""

    def __init__(self, out: Path | None, fps: float, size: tuple[int, int]) -> None:
        self.out, self.writer, self.frames = out, None, 0
        if out is None:
            return
        self.tmp = out.with_name(f".{out.stem}.part{out.suffix}")
        self.writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not self.writer.isOpened():
            from jnr.runtime.errors import JnrError

            raise JnrError(f"cannot write {out}: OpenCV has no MP4 (mp4v) writer here")

    def write(self, frame: np.ndarray) -> None:
        if self.writer is not None:
            self.writer.write(frame)
            self.frames += 1

    def close(self, complete: bool) -> None:
        if self.writer is None:
            return
        self.writer.release()
        if complete:
            os.replace(self.tmp, self.out)
        else:
            self.tmp.unlink(missing_ok=True)
