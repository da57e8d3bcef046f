"""A second way to draw players ("shaded"), built unlike ``synth.tracklet``'s flat figures so that a default
chosen on one drawing can be tested on the other:

- body: tapered capsules and an elliptic-cylinder torso ray-cast per pixel into a z-buffer, shaded by a
  directional light (Lambert, with ambient and a little specular), other proportions and poses;
- kit: patterns and the number mapped onto the curved torso by its surface coordinates (so they bend and
  compress as the player turns), cloth folds, a name above the number, sponsor text on the front;
- numbers: OpenCV's Hershey stroke fonts, squared block digits made of bars, and serif / italic faces that
  the flat renderer's style table does not use;
- camera: elevation (vertical foreshortening), directional motion blur, defocus, broadcast sharpening,
  chroma subsampling, sensor noise; backgrounds with mowing stripes in perspective, pitch lines, advertising
  boards with text, crowd, other players and the player's own shadow.

The annotations have the flat renderer's format (COCO-17 keypoints, number box, readable, person box), so
every tool that reads a jnr-synth split reads these too (``jnr-synth --drawing shaded``).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from jnr.synth.shaded_body import ANKLE_Y, Canvas, draw_figure, project, skeleton
from jnr.synth.shaded_plan import FACES, GLYPHS, ShadedPlan, _face, glyph_image, plan
from jnr.synth.tracklet import FPS, MIN_READABLE_PX, READABLE_FACING, annotation, encode_jpeg

RENDER_H = 240.0  # body height in pixels while drawing
__all__ = ["FACES", "GLYPHS", "glyph_image", "plan", "render_frame", "render_tracklet"]


def background(p: ShadedPlan, h: int, w: int, t: float, rng: np.random.Generator) -> np.ndarray:
    """Grass with mowing stripes seen in perspective, a pitch line now and then, an advertising board with
    text or a crowd band along the top."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ang, period = p.mow
    depth = 1.0 + ys / h  # nearer rows are lower: stripes widen down the crop
    u = (xs * np.cos(ang) + ys * np.sin(ang) * 2.5 + t * 30) / (period * depth)
    bg = np.empty((h, w, 3), np.float32)
    bg[:] = p.grass
    bg *= (1 + 0.12 * np.tanh(4 * np.sin(u)))[..., None]
    bg += (
        rng.normal(0, 5, (h, w, 1)).astype(np.float32)
        + cv2.GaussianBlur(rng.normal(0, 12, (h, w)).astype(np.float32), (0, 0), 3)[..., None]
    )
    if rng.random() < 0.3:
        y = int(rng.uniform(0.3, 1.0) * h)
        cv2.line(
            bg,
            (0, y),
            (w, int(y + rng.uniform(-0.3, 0.3) * h)),
            (230, 235, 230),
            max(2, h // 90),
            cv2.LINE_AA,
        )
    top = int(h * 0.22)
    if p.board is not None:
        bg[:top] = p.board
        a = p.board_text
        if a is not None:
            th = int(top * 0.6)
            tw = max(1, int(a.shape[1] * th / a.shape[0]))
            txt = cv2.resize(a, (tw, th)).astype(np.float32)[..., None] / 255.0
            x0 = int((t * 60) % max(1, w)) - tw // 2
            xa, xb = max(0, x0), min(w, x0 + tw)
            if xb > xa:
                y0 = (top - th) // 2
                bg[y0 : y0 + th, xa:xb] = (
                    bg[y0 : y0 + th, xa:xb] * (1 - txt[:, xa - x0 : xb - x0])
                    + 250 * txt[:, xa - x0 : xb - x0]
                )
    elif p.crowd:
        crowd = cv2.resize(
            rng.uniform(20, 200, (max(2, top // 6), max(2, w // 6), 3)).astype(np.float32),
            (w, top),
            interpolation=cv2.INTER_NEAREST,
        )
        bg[:top] = cv2.GaussianBlur(crowd, (0, 0), 1.0)
    return bg


def _motion_blur(img: np.ndarray, length: int, angle: float) -> np.ndarray:
    k = np.zeros((2 * length + 1, 2 * length + 1), np.float32)
    c = length
    dx, dy = np.cos(angle) * length, np.sin(angle) * length
    cv2.line(
        k,
        (round(c - dx), round(c - dy)),
        (round(c + dx), round(c + dy)),
        1.0,
        1,
        cv2.LINE_AA,
    )
    return cv2.filter2D(img, -1, k / k.sum())


def camera(crop: np.ndarray, p: ShadedPlan, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """What a broadcast camera and its encoder do; returns the crop and a blur size in pixels."""
    blur = 0.0
    if rng.random() < p.blur_p:
        length = int(rng.integers(1, 5))
        crop = _motion_blur(crop, length, float(rng.uniform(0, np.pi)))
        blur = 2 * length + 1
    if rng.random() < p.defocus_p:
        sigma = float(rng.uniform(0.6, 1.6))
        crop = cv2.GaussianBlur(crop, (0, 0), sigma)
        blur = max(blur, 3 * sigma)
    if p.sharpen > 0:
        soft = cv2.GaussianBlur(crop, (0, 0), 1.2)
        crop = crop + p.sharpen * (crop - soft)
    crop = crop + rng.normal(0, p.noise, crop.shape).astype(np.float32)
    crop = np.clip(crop, 0, 255).astype(np.uint8)
    ycc = cv2.cvtColor(crop, cv2.COLOR_RGB2YCrCb)
    h, w = ycc.shape[:2]
    small = cv2.resize(ycc[..., 1:], (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    ycc[..., 1:] = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB), blur


def render_frame(p: ShadedPlan, k: int, rng: np.random.Generator, phase: float) -> tuple[np.ndarray, dict]:
    """Frame k as an RGB crop with the flat renderer's annotation fields."""
    t = k / FPS
    theta = p.theta0 + p.omega * t + p.wobble * np.sin(0.9 * t + phase)
    if p.sides == "arms":  # arms hanging along the torso, hardly swinging
        j3 = skeleton(t, min(p.run, 0.2), phase, arm_out=0.0)
    else:
        j3 = skeleton(t, p.run, phase)
    s = RENDER_H
    j2 = project(j3, theta, p.elevation) * s
    xlo, xhi = j2[:, 0].min() - 0.04 * s, j2[:, 0].max() + 0.04 * s
    height = (ANKLE_Y + 0.04) * np.cos(p.elevation) * s
    # a tracker's box: loose or tight, not always centred, the feet or the head now and then cut
    ml, mr = rng.uniform(-0.06, 0.08, 2) * (xhi - xlo)
    mt, mb = rng.uniform(-0.02, 0.06) * s, rng.uniform(-0.05, 0.05) * s
    cw, ch = int(xhi - xlo + ml + mr), int(height + mt + mb + 0.01 * s)
    off = np.array([-xlo + ml, mt + 0.005 * s, 0.0])
    bg = background(p, ch, cw, t, rng)
    cv = Canvas(ch, cw)
    occluded = rng.random() < p.occl_p
    side = 1 if rng.random() < 0.5 else -1
    if occluded:
        o3 = skeleton(t + 0.37, 0.5, phase + 1.0)
        ooff = off + (
            side * rng.uniform(0.3, 0.6) * cw,
            rng.uniform(-0.05, 0.08) * s,
            -40.0 if rng.random() < 0.5 else 40.0,
        )
        draw_figure(cv, p, p.other, o3, theta + 2.0, s * float(rng.uniform(0.85, 1.1)), ooff, False, 0.1)
    folds = float(rng.uniform(0.05, 0.25))
    j2, boxes = draw_figure(cv, p, p.kit, j3, theta, s, off, p.number > 0, folds)
    # the player's shadow on the grass, then the figure over the background
    feet = (j2[15, :2] + j2[16, :2]) / 2
    shadow = np.zeros((ch, cw), np.float32)
    cv2.ellipse(
        shadow,
        (int(feet[0] + p.light[0] * -20), int(feet[1])),
        (int(0.12 * s), int(0.025 * s)),
        0,
        0,
        360,
        0.45,
        -1,
    )
    bg *= (1 - cv2.GaussianBlur(shadow, (0, 0), 3))[..., None]
    img = np.where(cv.body[..., None], cv.rgb, bg)
    out_h = p.height0 * (1 + 0.2 * np.sin(2 * np.pi * t / max(p.frames / FPS, 1)))
    scale = out_h / ch
    ow, oh = max(8, round(cw * scale)), max(8, round(out_h))
    crop = cv2.resize(img, (ow, oh), interpolation=cv2.INTER_AREA)
    crop, blur = camera(crop, p, rng)
    # keypoints: visible (2) unless hidden behind a nearer body part or the other player (1), 0 outside
    kp = np.zeros((17, 3))
    kp[:, :2] = j2[:, :2] * scale
    for i in range(17):
        x, y = int(j2[i, 0]), int(j2[i, 1])
        inside = 0 <= x < cw and 0 <= y < ch
        if not inside:
            continue
        kp[i, 2] = 1 if cv.depth[y, x] > j2[i, 2] + 0.12 * s else 2  # a nearer surface covers it
    kp[~((kp[:, 0] >= 0) & (kp[:, 0] < ow) & (kp[:, 1] >= 0) & (kp[:, 1] < oh)), :] = 0
    readable, nb = False, None
    facing = float(-np.cos(theta))
    if "number" in boxes:
        nb = [v * scale for v in boxes["number"]]
        num_h = nb[3] - nb[1]
        in_view = nb[0] >= 0 and nb[1] >= 0 and nb[2] <= ow and nb[3] <= oh
        u0, u1 = boxes["number_u"]
        full = u0 < 0.08 and u1 > 0.92  # the whole number shows, not a part turning away
        readable = bool(
            facing > READABLE_FACING
            and num_h >= MIN_READABLE_PX
            and in_view
            and full
            and blur < 0.6 * (nb[2] - nb[0])
        )
    return crop, annotation(kp, nb, readable, facing > 0)


def render_tracklet(
    seed: int, index: int, frames_lo: int, frames_hi: int, side: str = "all"
) -> tuple[int, list[tuple[int, bytes, dict]], dict]:
    """(gt number, [(frame index, JPEG bytes, annotation)], style) of one tracklet of this drawing; the
    same contract as ``synth.tracklet.render_tracklet`` (``side`` is unused: this drawing has its own
    glyphs and kits, none of the flat renderer's style table)."""
    rng = np.random.default_rng([seed, index, 7])
    p = plan(rng, frames_lo, frames_hi)
    phase = float(rng.uniform(0, 2 * np.pi))
    frames = []
    for k in range(p.frames):
        crop, ann = render_frame(p, k, rng, phase)
        q = int(rng.integers(p.quality[0], p.quality[1] + 1))
        frames.append((k, encode_jpeg(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), q), ann))
    number = p.number if p.number > 0 and any(a["readable"] for _, _, a in frames) else -1
    style = {
        "drawing": "shaded",
        "glyph": p.glyph,
        "pattern": p.kit.pattern,
        "side": "shaded",
        "name": p.name_alpha is not None,
    }
    return number, frames, style


def font_files() -> list[str]:
    """The faces this drawing uses that are installed here."""
    return [Path(f).name for f in FACES if _face(f)]
