"""Render one synthetic tracklet: a player seen at 25 fps, turning slowly, number on the back.

Everything a frame needs is drawn by OpenCV at about 300 px per body height and then resized to the
crop size, so small crops get the blur and aliasing of real broadcast crops.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from jnr.synth.figure import FACE, back_quad, draw_player, front_quad, joints_3d, rotate, torso_box
from jnr.synth.plan import FPS, NO_NUMBER_SHARE, Plan, _colour, _contrast, _look, plan_tracklet, render_number

__all__ = [
    "FPS",
    "NO_NUMBER_SHARE",
    "Plan",
    "_colour",
    "_contrast",
    "_look",
    "plan_tracklet",
    "render_number",
]

RENDER_H = 300.0  # body height in pixels while drawing
MIN_READABLE_PX = 7.0  # number height in the final crop below which it is not readable
READABLE_FACING = 0.55  # -cos(facing) above which the back faces the camera enough to read


def _background(plan: Plan, h: int, w: int, t: float, rng: np.random.Generator) -> np.ndarray:
    bg = np.empty((h, w, 3), np.float32)
    bg[:] = plan.grass
    xs = np.arange(w)[None, :] + np.arange(h)[:, None] * 0.3 + t * 40
    bg *= (1 + 0.08 * np.sign(np.sin(xs / 90.0 * plan.stripe)))[..., None]
    bg += rng.normal(0, 6, (h, w, 1)).astype(np.float32)
    if rng.random() < 0.4:
        y = int((0.5 + 0.4 * np.sin(plan.stripe * 7)) * h + t * 5) % h
        cv2.line(bg, (0, y), (w, y + int(0.2 * h)), (225, 230, 225), 4, cv2.LINE_AA)
    return np.clip(bg, 0, 255).astype(np.uint8)


def _paste_number(canvas: np.ndarray, number_img: np.ndarray, quad: np.ndarray) -> None:
    """Alpha-blend the number into the parallelogram quad (TL, TR, BR, BL on screen)."""
    h, w = number_img.shape[:2]
    src = np.float32([[0, 0], [w, 0], [0, h]])
    m = cv2.getAffineTransform(src, np.float32([quad[0], quad[1], quad[3]]))
    warped = cv2.warpAffine(number_img, m, (canvas.shape[1], canvas.shape[0]), flags=cv2.INTER_AREA)
    a = warped[..., 3:4].astype(np.float32) / 255.0
    canvas[:] = (canvas * (1 - a) + warped[..., :3] * a).astype(np.uint8)


def _fit_number(quad3: np.ndarray, aspect: float) -> np.ndarray:
    """Shrink the back rectangle (body coordinates) horizontally so the glyphs keep their aspect."""
    qh = np.linalg.norm(quad3[3] - quad3[0])
    qw = np.linalg.norm(quad3[1] - quad3[0])
    frac = min(1.0, qh * aspect / max(qw, 1e-6))
    out = quad3.copy()
    for a, b in ((0, 1), (3, 2)):
        mid = (quad3[a] + quad3[b]) / 2
        out[a] = mid + (quad3[a] - mid) * frac
        out[b] = mid + (quad3[b] - mid) * frac
    return out


def _place_number(
    canvas: np.ndarray, plan: Plan, j3: np.ndarray, theta: float, s: float, off: np.ndarray
) -> tuple[list[float] | None, float]:
    """Paste the back number (or the chest number, when the front faces the camera); returns its box in
    canvas pixels (None when none shows) and how squarely it faces the camera (1 = straight on). At side
    views the far part of the number is hidden, as on a torso turning away."""
    if plan.number <= 0:
        return None, 0.0
    facing_back = -np.cos(theta)
    aspect = plan.number_img.shape[1] / plan.number_img.shape[0]
    if facing_back > 0.15:
        quad3 = rotate(_fit_number(back_quad(j3, plan.look.build), aspect), theta) * s + off
        # from behind the player's right side is on the viewer's left: swap to keep the text unmirrored
        q, facing = quad3[:, :2][[1, 0, 3, 2]], facing_back
    elif facing_back < -0.15 and plan.front:
        quad3 = rotate(_fit_number(front_quad(j3, plan.look.build), aspect), theta) * s + off
        q, facing = quad3[:, :2], -facing_back
    else:
        return None, 0.0
    img = plan.number_img
    if facing < 0.5:  # side view: the part turning away is out of sight
        img = img.copy()
        cut = int(img.shape[1] * (0.5 - facing) / 0.35 * 0.5)
        if np.sin(theta) > 0:
            img[:, :cut, 3] = 0
        else:
            img[:, img.shape[1] - cut :, 3] = 0
    _paste_number(canvas, img, q)
    return [float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())], facing


def _light(crop: np.ndarray, plan: Plan, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Lighting (gain, left-right gradient, colour cast, a little flicker) and, for some frames, a lower
    resolution scaled back up; returns the crop and the resolution factor (1 = full)."""
    h, w = crop.shape[:2]
    ramp = 1 + plan.gradient * np.linspace(-1, 1, w, dtype=np.float32)[None, :, None]
    gain = plan.gain * rng.uniform(0.95, 1.05) * np.asarray(plan.cast, np.float32)
    crop = np.clip(crop.astype(np.float32) * ramp * gain, 0, 255).astype(np.uint8)
    factor = 1.0
    if rng.random() < plan.lowres_p:
        factor = float(rng.uniform(0.35, 0.75))
        small = cv2.resize(crop, (max(4, round(w * factor)), max(4, round(h * factor))), cv2.INTER_AREA)
        crop = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return crop, factor


def render_frame(plan: Plan, k: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Render frame k: the BGR crop and its annotation (keypoints, number box, readable, person box)."""
    t = k / FPS
    theta = plan.theta0 + plan.omega * t + plan.wobble * np.sin(0.7 * t + plan.stripe)
    if plan.sides == "arms":  # arms hanging along the torso, hardly swinging
        j3 = joints_3d(2 * np.pi * plan.freq * t, min(plan.swing, 0.2), plan.lean, arm_out=0.0)
    else:
        j3 = joints_3d(2 * np.pi * plan.freq * t, plan.swing, plan.lean)
    box3 = torso_box(j3, plan.look.build)
    s = RENDER_H
    j2, box2 = rotate(j3, theta) * s, rotate(box3, theta) * s
    # canvas with margins around the figure; partial views cut the crop later
    pts = np.vstack([j2[:, :2], box2[:, :2]])
    # tight, detector-like boxes (SoccerNet: height / width 2.33 median), not always centred on the player
    x0, x1 = pts[:, 0].min() - 0.04 * s, pts[:, 0].max() + 0.04 * s
    y0, y1 = -0.005 * s, pts[:, 1].max() + 0.04 * s
    ml, mr = rng.uniform(-0.03, 0.1, 2) * (x1 - x0)
    my = rng.uniform(0.0, 0.03) * s
    off = np.array([-x0 + ml, -y0 + my, 0])
    j2, box2 = j2 + off, box2 + off
    ch, cw = int(y1 - y0 + 2 * my), int(x1 - x0 + ml + mr)
    canvas = _background(plan, ch, cw, t, rng)
    occluded = rng.random() < plan.occl_p
    if occluded and rng.random() < 0.5:  # another player behind
        _other(canvas, plan, theta, t, s, rng, behind=True)
    draw_player(canvas, j2, box2, plan.look, s, theta)
    facing_back = -np.cos(theta)
    number_box, facing = _place_number(canvas, plan, j3, theta, s, off)
    occl_box = None
    if occluded:
        occl_box = _other(canvas, plan, theta, t, s, rng, behind=False)
    # final crop size
    height = plan.height0 * (1 + plan.zoom * np.sin(2 * np.pi * t / max(plan.frames / FPS, 1)))
    scale = height / ch
    out_w, out_h = max(8, round(cw * scale)), max(8, round(height))
    crop = cv2.resize(canvas, (out_w, out_h), interpolation=cv2.INTER_AREA)
    kp = np.zeros((17, 3))
    kp[:, :2] = j2[:, :2] * [out_w / cw, out_h / ch]
    kp[:, 2] = 2
    if facing_back > 0.3:
        kp[list(FACE[:3]), 2] = 1  # face hidden behind the head
    cut = None
    if rng.random() < plan.partial_p:  # partial view: bottom or a side cut off
        cut = rng.choice(["bottom", "left", "right"])
        frac = rng.uniform(0.15, 0.35)
        if cut == "bottom":
            crop = crop[: max(8, int(out_h * (1 - frac)))]
        elif cut == "left":
            crop, kp[:, 0] = crop[:, int(out_w * frac) :], kp[:, 0] - int(out_w * frac)
        else:
            crop = crop[:, : max(8, int(out_w * (1 - frac)))]
    hh, ww = crop.shape[:2]
    inside = (kp[:, 0] >= 0) & (kp[:, 0] < ww) & (kp[:, 1] >= 0) & (kp[:, 1] < hh)
    if occl_box is not None:
        ox0, oy0, ox1, oy1 = np.array(occl_box) * [out_w / cw, out_h / ch, out_w / cw, out_h / ch]
        hidden = (kp[:, 0] > ox0) & (kp[:, 0] < ox1) & (kp[:, 1] > oy0) & (kp[:, 1] < oy1)
        kp[hidden & inside, 2] = 1
    kp[~inside] = 0
    blur = 0
    if rng.random() < plan.blur_p:
        blur = int(rng.integers(2, 6))
        kern = np.zeros((blur * 2 + 1, blur * 2 + 1), np.float32)
        kern[blur, :] = 1.0 / (blur * 2 + 1)
        crop = cv2.filter2D(crop, -1, kern)
    crop, res = _light(crop, plan, rng)
    readable = False
    nb = None
    if number_box is not None:
        nb = [
            number_box[0] * out_w / cw,
            number_box[1] * out_h / ch,
            number_box[2] * out_w / cw,
            number_box[3] * out_h / ch,
        ]
        if cut == "left":
            nb[0], nb[2] = nb[0] - int(out_w * frac), nb[2] - int(out_w * frac)
        num_h = nb[3] - nb[1]
        cx, cy = (nb[0] + nb[2]) / 2, (nb[1] + nb[3]) / 2
        in_view = 0 <= nb[0] and nb[2] <= ww and 0 <= nb[1] and nb[3] <= hh
        hidden = False
        if occl_box is not None:
            hidden = ox0 < cx < ox1 and oy0 < cy < oy1
        readable = bool(
            facing > READABLE_FACING
            and num_h * 0.85 * res >= MIN_READABLE_PX
            and in_view
            and not hidden
            and blur * 2 + 1 < 0.6 * (nb[2] - nb[0])
        )
    return crop, annotation(kp, nb, readable, facing_back > 0)


def _other(canvas, plan: Plan, theta: float, t: float, s: float, rng, behind: bool) -> list[float]:
    """Draw another player overlapping from a side; returns its rough bounding box."""
    h, w = canvas.shape[:2]
    j3 = joints_3d(2 * np.pi * 1.1 * t + 1.0, 0.4, 0.1)
    th = theta + 1.5
    sc = s * rng.uniform(0.8, 1.1)
    j2 = rotate(j3, th) * sc
    b2 = rotate(torso_box(j3, 1.0), th) * sc
    side = 1 if rng.random() < 0.5 else -1
    dx = w / 2 + side * rng.uniform(0.25, 0.55) * w - j2[:, 0].mean()
    dy = rng.uniform(-0.05, 0.1) * h
    j2, b2 = j2 + (dx, dy, 0), b2 + (dx, dy, 0)
    draw_player(canvas, j2, b2, plan.other, sc, th)
    pts = np.vstack([j2[:, :2], b2[:, :2]])
    return [float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())]


def encode_jpeg(bgr: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def annotation(kp: np.ndarray, nb, readable: bool, back: bool) -> dict:
    """One frame's annotation, as both drawings write it: facing, COCO keypoints (x, y, visible), the number's
    box (None: no number), whether it is readable, and the box of the visible keypoints."""
    v = kp[:, 2] > 0
    person = (
        [float(kp[v, 0].min()), float(kp[v, 1].min()), float(kp[v, 0].max()), float(kp[v, 1].max())]
        if v.any()
        else None
    )
    return {
        "facing": "back" if back else "front",
        "keypoints": np.round(kp, 2).tolist(),
        "number_box": [round(float(x), 2) for x in nb] if nb is not None else None,
        "readable": readable,
        "person_box": person,
    }


def render_tracklet(
    seed: int, index: int, frames_lo: int, frames_hi: int, side: str = "all"
) -> tuple[int, list[tuple[int, bytes, dict]], dict]:
    """(gt number, [(frame index, JPEG bytes, annotation)], style) of one tracklet; ``side`` picks the
    styles (synth.styles)."""
    rng = np.random.default_rng([seed, index])
    plan = plan_tracklet(rng, frames_lo, frames_hi, side)
    frames = []
    for k in range(plan.frames):
        crop, ann = render_frame(plan, k, rng)
        q = int(rng.integers(plan.quality[0], plan.quality[1] + 1))
        frames.append((k, encode_jpeg(crop, q), ann))
    if plan.number > 0 and not any(a["readable"] for _, _, a in frames):
        plan_number = -1  # the number never became readable: gt says -1, as an annotator would
    else:
        plan_number = plan.number
    return plan_number, frames, {**plan.style, "side": side, "front_number": plan.front}


def preview_image(jpegs: list[bytes], cols: int = 12, cell: tuple[int, int] = (96, 192)) -> Image.Image:
    """A grid of frames, each letterboxed into a cell."""
    rows = max(1, (len(jpegs) + cols - 1) // cols)
    grid = Image.new("RGB", (cols * cell[0], rows * cell[1]), (40, 40, 40))
    for i, b in enumerate(jpegs):
        im = Image.open(io.BytesIO(b)).convert("RGB")
        im.thumbnail(cell)
        grid.paste(im, ((i % cols) * cell[0] + (cell[0] - im.width) // 2, (i // cols) * cell[1]))
    return grid
