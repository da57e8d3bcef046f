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

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from jnr.synth.tracklet import FPS, MIN_READABLE_PX, READABLE_FACING, encode_jpeg

RENDER_H = 240.0  # body height in pixels while drawing
NO_NUMBER_SHARE = 0.3
# glyph sources of this drawing: none of them is in synth.styles' table
HERSHEY = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
)
FACES = ("URWBookman-Demi.otf", "C059-Bold.otf", "P052-Bold.otf", "NimbusRoman-BoldItalic.otf")
GLYPHS = ("hershey", "block", "face")
PATTERNS = ("plain", "plain", "pinstripes", "checks", "fade", "band", "vstripes")
LETTERS = "ABCDEFGHIJKLMNOPRSTUVWYZ"
# segments of block digits on a 3 x 5 grid: (x0, y0, x1, y1) in cells
_SEG = {
    "a": (0, 0, 3, 1), "b": (2, 0, 3, 3), "c": (2, 2, 3, 5), "d": (0, 4, 3, 5),
    "e": (0, 2, 1, 5), "f": (0, 0, 1, 3), "g": (0, 2, 3, 3),
}  # fmt: skip
_DIGIT_SEGS = ("abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg")


def _face(name: str) -> str | None:
    from jnr.synth.styles import installed

    p = installed().get(name)
    return str(p) if p else None


def glyph_image(text: str, kind: str, rng: np.random.Generator, height: int = 96) -> np.ndarray:
    """``text`` drawn white on transparent (HxWx4 uint8, alpha = coverage), tightly cropped, about
    ``height`` px tall: Hershey strokes, block bars, or a face (falls back to Hershey where not installed)."""
    if kind == "face":
        path = _face(str(rng.choice(FACES)))
        if path is not None:
            font = ImageFont.truetype(path, height)
            img = Image.new("L", (height * (len(text) + 1), height * 2), 0)
            ImageDraw.Draw(img).text((height // 4, height // 4), text, font=font, fill=255)
            return _tight(np.asarray(img))
        kind = "hershey"
    if kind == "block":
        cell, gap = height / 5, height / 5 * float(rng.uniform(0.6, 1.1))
        w = len(text) * 3 * cell + (len(text) - 1) * gap
        a = np.zeros((height + 4, int(w) + 4), np.uint8)
        for i, ch in enumerate(text):
            x = 2 + i * (3 * cell + gap)
            segs = _DIGIT_SEGS[int(ch)] if ch.isdigit() else "adg"
            for s in segs:
                x0, y0, x1, y1 = _SEG[s]
                cv2.rectangle(
                    a,
                    (int(x + x0 * cell), int(2 + y0 * cell)),
                    (int(x + x1 * cell), int(2 + y1 * cell)),
                    255,
                    -1,
                )
        return _tight(a)
    font = int(rng.choice(HERSHEY))
    scale = height / 22.0
    thick = max(2, int(height * float(rng.uniform(0.09, 0.16))))
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    a = np.zeros((th + base + 2 * thick, tw + 2 * thick), np.uint8)
    cv2.putText(a, text, (thick, th + thick), font, scale, 255, thick, cv2.LINE_AA)
    return _tight(a)


def _tight(alpha: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(alpha > 8)
    if len(xs) == 0:
        return np.zeros((4, 4), np.uint8)
    return np.ascontiguousarray(alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


def _hsv(
    rng: np.random.Generator, s: tuple[int, int] = (40, 256), v: tuple[int, int] = (40, 256)
) -> np.ndarray:
    hsv = np.uint8([[[rng.integers(0, 180), rng.integers(*s), rng.integers(*v)]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def _contrasting(base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    lum = float(base @ (0.299, 0.587, 0.114))
    for _ in range(20):
        c = _hsv(rng) if rng.random() < 0.5 else np.full(3, 235.0 if lum < 128 else 25.0)
        if abs(float(c @ (0.299, 0.587, 0.114)) - lum) > 95:
            return c
    return np.full(3, 255.0 if lum < 128 else 0.0)


@dataclass
class Kit:
    jersey: np.ndarray
    second: np.ndarray  # pattern colour
    shorts: np.ndarray
    socks: np.ndarray
    skin: np.ndarray
    hair: np.ndarray
    ink: np.ndarray  # number colour
    edge: np.ndarray | None  # number outline colour
    pattern: str
    long_sleeves: bool
    build: float


@dataclass
class ShadedPlan:
    number: int  # -1: never readable
    frames: int
    height0: float
    theta0: float
    omega: float
    wobble: float
    run: float  # running speed: stride amplitude
    elevation: float  # camera tilt, radians
    light: np.ndarray  # unit vector, image (x right, y down, z toward camera)
    kit: Kit
    other: Kit
    number_alpha: np.ndarray | None
    name_alpha: np.ndarray | None
    sponsor_alpha: np.ndarray | None
    glyph: str
    grass: np.ndarray
    mow: tuple[float, float]  # stripe angle, period
    board: np.ndarray | None  # advertising board colour, or none
    board_text: np.ndarray | None
    crowd: bool
    quality: tuple[int, int]
    blur_p: float
    defocus_p: float
    occl_p: float
    sharpen: float
    noise: float


def _kit(rng: np.random.Generator, pattern: str | None = None) -> Kit:
    jersey = _hsv(rng)
    edge = _hsv(rng) if rng.random() < 0.35 else None
    return Kit(
        jersey=jersey,
        second=_hsv(rng),
        shorts=_hsv(rng) if rng.random() < 0.7 else jersey.copy(),
        socks=_hsv(rng),
        skin=np.array([225, 185, 150], np.float32) * float(rng.uniform(0.4, 1.05)),
        hair=_hsv(rng, (0, 120), (10, 90)),
        ink=_contrasting(jersey, rng),
        edge=edge,
        pattern=pattern or str(rng.choice(PATTERNS)),
        long_sleeves=bool(rng.random() < 0.25),
        build=float(rng.uniform(0.9, 1.2)),
    )


def plan(rng: np.random.Generator, frames_lo: int, frames_hi: int) -> ShadedPlan:
    numbered = rng.random() >= NO_NUMBER_SHARE
    number = int(rng.integers(1, 100)) if numbered else -1
    n = int(rng.integers(frames_lo, frames_hi + 1))
    glyph = str(rng.choice(GLYPHS))
    duration = n / FPS
    if numbered:
        omega = rng.uniform(0.4, 2.5) * np.pi / duration * rng.choice([-1, 1])
        theta0 = np.pi + rng.uniform(-0.9, 0.9) - omega * duration * rng.uniform(0.2, 0.8)
    else:
        omega = rng.uniform(-0.4, 0.4) * np.pi / max(duration, 1.0)
        theta0 = rng.uniform(0, 2 * np.pi)
    light = np.array([rng.uniform(-0.8, 0.8), rng.uniform(-0.9, -0.2), rng.uniform(0.3, 1.0)])
    name = "".join(rng.choice(list(LETTERS), int(rng.integers(4, 9))))
    board = _hsv(rng, (80, 256), (120, 256)) if rng.random() < 0.35 else None
    board_text = "".join(rng.choice(list(LETTERS + "0123456789"), int(rng.integers(4, 8))))
    return ShadedPlan(
        number=number,
        frames=n,
        height0=float(np.clip(np.exp(rng.normal(np.log(125), 0.25)), 45, 300)),
        theta0=float(theta0),
        omega=float(omega),
        wobble=float(rng.uniform(0, 0.5)),
        run=float(rng.choice([0.1, rng.uniform(0.3, 0.7)])),
        elevation=float(rng.uniform(0.08, 0.5)),
        light=light / np.linalg.norm(light),
        kit=_kit(rng),
        other=_kit(rng),
        number_alpha=glyph_image(str(number), glyph, rng) if numbered else None,
        name_alpha=glyph_image(name, "face" if rng.random() < 0.5 else "hershey", rng, 48)
        if rng.random() < 0.5
        else None,
        sponsor_alpha=glyph_image(name[::-1], "face", rng, 48) if rng.random() < 0.5 else None,
        glyph=glyph,
        grass=np.array([rng.uniform(20, 80), rng.uniform(90, 170), rng.uniform(20, 70)], np.float32),
        mow=(float(rng.uniform(-0.6, 0.6)), float(rng.uniform(25, 60))),
        board=board,
        board_text=glyph_image(board_text, "face", rng, 48) if board is not None else None,
        crowd=bool(rng.random() < 0.15),
        quality=(int(rng.integers(35, 70)), int(rng.integers(70, 93))),
        blur_p=float(rng.uniform(0, 0.45)),
        defocus_p=float(rng.uniform(0, 0.3)),
        occl_p=float(rng.uniform(0, 0.25)),
        sharpen=float(rng.choice([0.0, rng.uniform(0.3, 1.2)])),
        noise=float(rng.uniform(1, 6)),
    )


# body model (body heights; y down from the head's top, x to the player's left, z forward)
NECK_Y, SHOULDER_Y, WAIST_Y, HIP_Y, KNEE_Y, ANKLE_Y = 0.155, 0.19, 0.40, 0.51, 0.73, 0.955
SHOULDER_W, HIP_W = 0.118, 0.072
TORSO_TOP, TORSO_BOTTOM = 0.175, 0.53


def skeleton(t: float, run: float, rng_phase: float) -> np.ndarray:
    """17 COCO joints for a running or jogging stride at time ``t``."""
    ph = 2 * np.pi * (1.2 + run) * t + rng_phase
    j = np.zeros((17, 3))
    j[0] = (0, 0.085, 0.07)
    j[1], j[2] = (0.022, 0.07, 0.062), (-0.022, 0.07, 0.062)
    j[3], j[4] = (0.06, 0.078, 0.0), (-0.06, 0.078, 0.0)
    j[5], j[6] = (SHOULDER_W, SHOULDER_Y, 0), (-SHOULDER_W, SHOULDER_Y, 0)
    j[11], j[12] = (HIP_W, HIP_Y, 0), (-HIP_W, HIP_Y, 0)
    for side, sign in ((0, 1.0), (1, -1.0)):
        a = run * np.sin(ph + np.pi * side)
        knee = j[11 + side] + (0, (KNEE_Y - HIP_Y) * np.cos(a), (KNEE_Y - HIP_Y) * np.sin(a))
        bend = max(0.0, -a) * 1.5 + 0.1
        j[13 + side] = knee
        j[15 + side] = knee + (
            0,
            (ANKLE_Y - KNEE_Y) * np.cos(a - bend),
            (ANKLE_Y - KNEE_Y) * np.sin(a - bend),
        )
        b = -0.9 * a
        elbow = j[5 + side] + (sign * 0.03, 0.14 * np.cos(b), 0.14 * np.sin(b))
        j[7 + side] = elbow
        fb = b + 0.4 + 0.9 * run  # runners bend the elbow
        j[9 + side] = elbow + (sign * 0.01, 0.12 * np.cos(fb), 0.12 * np.sin(fb))
    return j


def project(p: np.ndarray, theta: float, elevation: float) -> np.ndarray:
    """Body coordinates -> (image x, image y, depth toward the camera), unscaled: yaw by ``theta``, then the
    camera's tilt foreshortens heights."""
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    c, s = np.cos(theta), np.sin(theta)
    xi, zi = x * c + z * s, -x * s + z * c
    return np.stack([xi, y * np.cos(elevation), zi], axis=-1)


class Canvas:
    """Colour and depth buffers; parts are written where they are nearer than what is there."""

    def __init__(self, h: int, w: int) -> None:
        self.rgb = np.zeros((h, w, 3), np.float32)
        self.depth = np.full((h, w), -np.inf, np.float32)
        self.body = np.zeros((h, w), bool)

    def put(self, y0: int, x0: int, mask: np.ndarray, depth: np.ndarray, rgb: np.ndarray) -> None:
        h, w = mask.shape
        sl = (slice(y0, y0 + h), slice(x0, x0 + w))
        win = mask & (depth > self.depth[sl])
        self.depth[sl][win] = depth[win]
        self.rgb[sl][win] = rgb[win]
        self.body[sl] |= mask


def _shade(n: np.ndarray, light: np.ndarray, base: np.ndarray, gloss: float = 0.15) -> np.ndarray:
    """Lambert + ambient + a little specular; ``n``: (..., 3) unit normals."""
    lam = np.clip(n @ light, 0, 1)[..., None]
    spec = (
        np.clip(
            n[..., 2:3] * 0 + (n @ (light + [0, 0, 1]) / np.linalg.norm(light + [0, 0, 1]))[..., None], 0, 1
        )
        ** 20
    )
    return base * (0.35 + 0.7 * lam) + 255 * gloss * spec


def capsule(
    cv: Canvas, a: np.ndarray, b: np.ndarray, r0: float, r1: float, colour, light: np.ndarray
) -> None:
    """A tapered capsule between projected points ``a``, ``b`` (x, y, depth in pixels), radii in pixels."""
    lo = np.floor(np.minimum(a[:2], b[:2]) - max(r0, r1) - 1).astype(int)
    hi = np.ceil(np.maximum(a[:2], b[:2]) + max(r0, r1) + 1).astype(int)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, (cv.rgb.shape[1] - 1, cv.rgb.shape[0] - 1))
    if (hi <= lo).any():
        return
    ys, xs = np.mgrid[lo[1] : hi[1] + 1, lo[0] : hi[0] + 1].astype(np.float32)
    d = b[:2] - a[:2]
    ln2 = float(d @ d) + 1e-6
    s = np.clip(((xs - a[0]) * d[0] + (ys - a[1]) * d[1]) / ln2, 0, 1)
    cx, cy = a[0] + s * d[0], a[1] + s * d[1]
    dx, dy = xs - cx, ys - cy
    r = r0 + s * (r1 - r0)
    dist2 = dx * dx + dy * dy
    mask = dist2 <= r * r
    if not mask.any():
        return
    nz = np.sqrt(np.clip(1 - dist2 / (r * r), 0, 1))
    n = np.stack([dx / r, dy / r, nz], -1)
    depth = a[2] + s * (b[2] - a[2]) + nz * r
    rgb = _shade(n, light, np.asarray(colour, np.float32))
    cv.put(lo[1], lo[0], mask, depth, rgb)


def torso(
    cv: Canvas,
    plan_: ShadedPlan,
    kit: Kit,
    theta: float,
    s: float,
    off: np.ndarray,
    decor: bool,
    folds: float,
) -> dict[str, list[float]]:
    """The torso as an elliptic cylinder, width tapering from the shoulders to the waist, ray-cast row by
    row; the kit's pattern, the number, the name and the sponsor are mapped by surface coordinates (angle
    round the torso, height). Returns the image boxes of the number (and name) where they show."""
    ce = np.cos(plan_.elevation)
    y0 = int(np.floor(TORSO_TOP * ce * s + off[1]))
    y1 = int(np.ceil(TORSO_BOTTOM * ce * s + off[1]))
    ys = np.arange(max(0, y0), min(cv.rgb.shape[0], y1))
    yb = (ys - off[1]) / (ce * s)  # body height of each row
    prof = np.interp(yb, [TORSO_TOP, SHOULDER_Y + 0.02, WAIST_Y, TORSO_BOTTOM], [0.55, 1.0, 0.78, 0.82])
    w = SHOULDER_W * 1.05 * kit.build * prof
    dpt = 0.07 * kit.build * np.interp(yb, [TORSO_TOP, SHOULDER_Y + 0.03, TORSO_BOTTOM], [0.6, 1.0, 0.9])
    c, sn = np.cos(theta), np.sin(theta)
    amp = np.sqrt((w * c) ** 2 + (dpt * sn) ** 2)  # projected half-width per row
    alpha = np.arctan2(dpt * sn, w * c)
    xmax = int(np.ceil(amp.max() * s)) + 2
    xs = np.arange(int(off[0]) - xmax, int(off[0]) + xmax + 1)
    xs = xs[(xs >= 0) & (xs < cv.rgb.shape[1])]
    if len(ys) == 0 or len(xs) == 0:
        return {}
    X = (xs[None, :] - off[0]) / s
    ratio = X / amp[:, None]
    mask = np.abs(ratio) <= 1
    ac = np.arccos(np.clip(ratio, -1, 1))
    best_phi, best_z = None, None
    for sign in (1, -1):  # the two surface points on a row with this image x: keep the nearer
        phi = alpha[:, None] + sign * ac
        z = -w[:, None] * np.cos(phi) * sn + dpt[:, None] * np.sin(phi) * c
        if best_phi is None:
            best_phi, best_z = phi, z
        else:
            nearer = z > best_z
            best_phi, best_z = np.where(nearer, phi, best_phi), np.where(nearer, z, best_z)
    phi = np.arctan2(np.sin(best_phi), np.cos(best_phi))  # -pi..pi; -pi/2 is the middle of the back
    # surface normal of the ellipse, yawed; tilt a little toward the shoulders' slope
    nb = np.stack([np.cos(phi) / w[:, None], np.sin(phi) / dpt[:, None]], -1)
    nb /= np.linalg.norm(nb, axis=-1, keepdims=True)
    nx = nb[..., 0] * c + nb[..., 1] * sn
    nz = -nb[..., 0] * sn + nb[..., 1] * c
    ny = np.broadcast_to(np.interp(yb, [TORSO_TOP, SHOULDER_Y + 0.03], [-0.6, 0.0])[:, None], nx.shape)
    fold = folds * np.sin(yb[:, None] * 90 + phi * 3) * np.sin(phi * 7 + yb[:, None] * 20)
    n = np.stack([nx + fold, ny, nz], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    # arc length round the torso from the back's middle, in body heights, and height: the print's coordinates
    arc = (phi + np.pi / 2) * (w[:, None] + dpt[:, None]) / 2
    hgt = np.broadcast_to(yb[:, None], arc.shape)
    base = _pattern(kit, arc, hgt, phi)
    boxes: dict[str, list[float]] = {}
    if decor:
        # the number: centre at 0.3 of the body, 0.19 tall; the name above it; the sponsor on the chest
        half = 0.075
        for key, alpha_img, centre_arc, top, bottom, ink in (
            ("number", plan_.number_alpha, 0.0, 0.205, 0.395, kit.ink),
            ("name", plan_.name_alpha, 0.0, 0.18, 0.2, kit.ink),
            ("sponsor", plan_.sponsor_alpha, np.pi * (w.mean() + dpt.mean()) / 2, 0.25, 0.3, kit.second),
        ):
            if alpha_img is None:
                continue
            ah, aw = alpha_img.shape
            height_b = bottom - top
            width_b = min(height_b * aw / ah, 2 * 0.9 * SHOULDER_W * kit.build)
            width_b = width_b if key != "number" else min(width_b, 2 * half * 1.3 * kit.build)
            u = 0.5 - (arc - centre_arc) / width_b  # seen from behind (or in front), arc runs right to left
            v = (hgt - top) / height_b
            inside = (u >= 0) & (u < 1) & (v >= 0) & (v < 1) & mask
            if key == "number":
                inside &= np.cos(phi + np.pi / 2) > 0.05  # on the back half
            if not inside.any():
                continue
            cov = np.zeros(u.shape, np.float32)
            cov[inside] = (
                cv2.remap(
                    alpha_img.astype(np.float32),
                    (u[inside] * (aw - 1)).astype(np.float32).reshape(-1, 1),
                    (v[inside] * (ah - 1)).astype(np.float32).reshape(-1, 1),
                    cv2.INTER_LINEAR,
                ).ravel()
                / 255.0
            )
            if key == "number" and kit.edge is not None:
                grow = cv2.dilate((cov > 0.3).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
                base = base * (1 - grow[..., None]) + kit.edge * grow[..., None]
            base = base * (1 - cov[..., None]) + np.asarray(ink, np.float32) * cov[..., None]
            if key in ("number", "name"):
                yy, xx = np.nonzero(inside & (cov > 0.3))
                if len(xx):
                    boxes[key] = [
                        float(xs[xx.min()]),
                        float(ys[yy.min()]),
                        float(xs[xx.max()] + 1),
                        float(ys[yy.max()] + 1),
                    ]
                    boxes[f"{key}_u"] = [float(u[inside].min()), float(u[inside].max())]
    rgb = _shade(n, plan_.light, base, gloss=0.08)
    depth = best_z * s + off[2]
    y_lo, x_lo = int(ys[0]), int(xs[0])
    cv.put(y_lo, x_lo, mask, depth, rgb)
    return boxes


def _pattern(kit: Kit, arc: np.ndarray, hgt: np.ndarray, phi: np.ndarray) -> np.ndarray:
    base = np.broadcast_to(kit.jersey, (*arc.shape, 3)).copy()
    if kit.pattern == "plain":
        return base
    if kit.pattern == "pinstripes":
        m = (np.sin(arc * 220) > 0.85).astype(np.float32)
    elif kit.pattern == "vstripes":
        m = (np.sin(arc * 60) > 0).astype(np.float32)
    elif kit.pattern == "checks":
        m = ((np.sin(arc * 70) > 0) ^ (np.sin(hgt * 70) > 0)).astype(np.float32) * 0.5
    elif kit.pattern == "fade":
        m = np.clip((hgt - 0.2) / 0.33, 0, 1)
    else:  # band: a chest band
        m = ((hgt > 0.23) & (hgt < 0.28)).astype(np.float32)
    return base * (1 - m[..., None]) + kit.second * m[..., None]


def draw_figure(
    cv: Canvas,
    p: ShadedPlan,
    kit: Kit,
    j3: np.ndarray,
    theta: float,
    s: float,
    off: np.ndarray,
    decor: bool,
    folds: float,
) -> tuple[np.ndarray, dict]:
    """Every part of one player, depth-buffered; returns the projected joints (pixels) and print boxes."""
    j2 = project(j3, theta, p.elevation) * s + off
    light = p.light
    r = s * kit.build
    for side in (0, 1):
        hip, knee, ankle = j2[11 + side], j2[13 + side], j2[15 + side]
        sh, el, wr = j2[5 + side], j2[7 + side], j2[9 + side]
        mid = hip + (knee - hip) * 0.5
        capsule(cv, hip, knee, 0.05 * r, 0.037 * r, kit.skin, light)
        capsule(cv, hip, mid, 0.056 * r, 0.05 * r, kit.shorts, light)
        capsule(cv, knee, ankle, 0.036 * r, 0.026 * r, kit.socks, light)
        toe = ankle + project(np.array([0, 0.02, 0.06]), theta, p.elevation) * s
        capsule(cv, ankle, toe, 0.022 * r, 0.018 * r, (25, 25, 28), light)
        sleeve = el if kit.long_sleeves else sh + (el - sh) * 0.55
        capsule(cv, sh, el, 0.032 * r, 0.027 * r, kit.skin, light)
        capsule(cv, sh, sleeve, 0.042 * r, 0.036 * r, kit.jersey, light)
        capsule(cv, el, wr, 0.026 * r, 0.02 * r, kit.jersey if kit.long_sleeves else kit.skin, light)
        capsule(cv, wr, wr, 0.024 * r, 0.024 * r, kit.skin, light)
    pelvis = (j2[11] + j2[12]) / 2
    capsule(cv, pelvis - (0, 0.01 * s, 0), pelvis + (0, 0.03 * s, 0), 0.072 * r, 0.066 * r, kit.shorts, light)
    neck_top = project(np.array([0, 0.13, 0]), theta, p.elevation) * s + off
    neck_bot = project(np.array([0, 0.19, 0]), theta, p.elevation) * s + off
    capsule(cv, neck_top, neck_bot, 0.028 * r, 0.03 * r, kit.skin, light)
    centre = project(np.array([0, 0.085, 0]), theta, p.elevation) * s + off
    boxes = torso(cv, p, kit, theta, s, np.array([centre[0], off[1], off[2]]), decor, folds)
    capsule(cv, centre, centre, 0.062 * s, 0.062 * s, kit.skin, light)
    crown = project(np.array([0, 0.07, -0.012]), theta, p.elevation) * s + off
    capsule(cv, crown, crown, 0.06 * s, 0.06 * s, kit.hair, light)
    if np.cos(theta) > 0:  # the face shows: draw it in front of the hair
        face = project(np.array([0, 0.095, 0.03]), theta, p.elevation) * s + off
        capsule(cv, face, face, 0.05 * s, 0.05 * s, kit.skin, light)
    return j2, boxes


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
    v = kp[:, 2] > 0
    person = (
        [float(kp[v, 0].min()), float(kp[v, 1].min()), float(kp[v, 0].max()), float(kp[v, 1].max())]
        if v.any()
        else None
    )
    ann = {
        "facing": "back" if facing > 0 else "front",
        "keypoints": np.round(kp, 2).tolist(),
        "number_box": [round(float(x), 2) for x in nb] if nb is not None else None,
        "readable": readable,
        "person_box": person,
    }
    return crop, ann


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
