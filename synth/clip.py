"""A short match-like clip for jnr-video: numbered synthetic players walking across a striped pitch,
their backs mostly to the camera. The players are drawn by the tracklet renderer (synth.tracklet) and
pasted into the frame, so their looks and numbers follow the same style table.

    from jnr.synth.clip import write_clip
    truth = write_clip("clip.mp4", players=3, frames=120)   # {"numbers": [..], "boxes": [[...], ...]}
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from jnr.runtime.errors import JnrError
from jnr.synth.tracklet import FPS, plan_tracklet, render_frame


def _pitch(h: int, w: int, grass: tuple[int, int, int], t: float) -> np.ndarray:
    bg = np.empty((h, w, 3), np.float32)
    bg[:] = grass
    xs = np.arange(w)[None, :] + np.arange(h)[:, None] * 0.25 - t * 30
    bg *= (1 + 0.07 * np.sign(np.sin(xs / 70.0)))[..., None]
    return bg.clip(0, 255).astype(np.uint8)


def _plans(rng: np.random.Generator, players: int, frames: int, height: float, side: str) -> list:
    plans, numbers = [], set()
    while len(plans) < players:
        p = plan_tracklet(rng, frames, frames, side)
        if p.number < 0 or p.number in numbers:
            continue
        numbers.add(p.number)
        plans.append(
            replace(
                p,
                height0=height,
                zoom=0.0,
                theta0=float(np.pi + rng.uniform(-0.3, 0.3)),
                omega=float(rng.uniform(-0.2, 0.2)),
                wobble=0.1,
                blur_p=0.0,
                occl_p=0.0,
                partial_p=0.0,
                lowres_p=0.0,
                front=False,
                quality=(90, 95),
            )
        )
    return plans


def write_clip(
    path: str | Path,
    players: int = 3,
    frames: int = 100,
    size: tuple[int, int] = (960, 540),
    seed: int = 0,
    side: str = "train",
) -> dict:
    """Write an MP4 (mp4v) of ``frames`` frames, ``size`` = (width, height), and return the truth: the
    players' numbers (left to right at the start) and their boxes (x0, y0, x1, y1) per frame."""
    rng = np.random.default_rng(seed)
    w, h = size
    height = 0.45 * h
    plans = _plans(rng, players, frames, height, side)
    grass = (40, 135, 50)
    plans = [replace(p, grass=grass) for p in plans]
    slots = [(i + 0.5) / players for i in range(players)]  # lanes across the frame, so tracks never cross
    phase = rng.uniform(0, 2 * np.pi, players)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.part{path.suffix}")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (w, h))
    if not writer.isOpened():
        raise JnrError(f"OpenCV cannot write MP4 (mp4v) to {tmp}")
    boxes: list[list[list[int]]] = []
    try:
        for k in range(frames):
            t = k / FPS
            frame = _pitch(h, w, grass, t)
            row = []
            for i, plan in enumerate(plans):
                crop, _ = render_frame(plan, k, rng)
                ch, cw = crop.shape[:2]
                cx = w * (slots[i] + 0.25 / players * np.sin(0.6 * t + phase[i]))
                x0 = int(np.clip(cx - cw / 2, 0, w - cw))
                y0 = int(np.clip(h * 0.35 + 0.04 * h * np.sin(0.9 * t + phase[i]), 0, h - ch))
                frame[y0 : y0 + ch, x0 : x0 + cw] = crop[: h - y0, : w - x0]
                row.append([x0, y0, x0 + cw, y0 + ch])
            writer.write(frame)
            boxes.append(row)
    finally:
        writer.release()
    os.replace(tmp, path)
    return {"numbers": [p.number for p in plans], "boxes": boxes, "fps": FPS, "size": [w, h]}
