"""An endless stream of number crops for training a recognizer from scratch: every crop a fresh draw of
font, number style, shirt colour, margin, warp, lighting, resolution, blur and JPEG quality.

Crops drawn from rendered tracklets repeat each tracklet's look hundreds of times, and a recognizer
trained from scratch on them learns the looks, not the digits (a small PARSeq read 0.3-3.2% of new
tracklets that way, benchmarks/README.md). Here no two crops share a look. Two kinds, mixed:

- ``tight``: the number's box with a little shirt around it, like SoccerNet's digit crops;
- ``torso``: a wider piece of shirt with the number somewhere in its upper half and arms or background at
  the sides, like the pipeline's torso crops.

Fonts and number styles come from one side of the style table (synth.styles), so a model trained on
``train`` can be checked on ``unseen`` families it has never seen.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from jnr.synth import styles
from jnr.synth.tracklet import _colour, _contrast, render_number

# the glyphs are drawn once per (number, font, style) with these marker colours (BGR) and recoloured per crop
_FILL, _SECOND = (0, 0, 255), (255, 0, 0)


GLYPH_H = 48  # glyph height kept in the cache; crops are drawn at this number height


@lru_cache(maxsize=16384)
def _glyphs(number: int, font: str, style: str, stroke: int) -> np.ndarray:
    """(GLYPH_H, w, 3) uint8 weights: fill share, second-colour share, alpha."""
    img = render_number(number, font, style, _FILL, _SECOND, stroke)
    w = max(2, round(img.shape[1] * GLYPH_H / img.shape[0]))
    img = cv2.resize(img, (w, GLYPH_H), interpolation=cv2.INTER_AREA)
    return np.dstack([img[..., 2], img[..., 0], img[..., 3]])


def _number_rgba(number: int, font: str, style: str, stroke: int, fill, second) -> np.ndarray:
    w = _glyphs(number, font, style, stroke if style == "outline" else 0).astype(np.float32) / 255.0
    colour = w[..., :1] * np.float32(fill) + w[..., 1:2] * np.float32(second)
    share = np.maximum(w[..., :1] + w[..., 1:2], 1e-3)
    return np.dstack([colour / share, w[..., 2:]])  # BGR in 0..255, alpha in 0..1


def _shirt(h: int, w: int, jersey, rng: np.random.Generator) -> np.ndarray:
    """Shirt cloth: the colour, a pattern now and then, soft folds."""
    shirt = np.empty((h, w, 3), np.float32)
    shirt[:] = jersey
    r = rng.random()
    if r < 0.15:  # stripes (vertical or horizontal) in a second colour
        other = np.float32(_colour(rng))
        period = rng.uniform(0.15, 0.5) * max(h, w)
        axis = np.arange(w)[None, :] if rng.random() < 0.6 else np.arange(h)[:, None]
        band = (np.sin(axis / period * 2 * np.pi + rng.uniform(0, 6.3)) > 0.3) * np.ones((h, w))
        shirt[band.astype(bool)] = other
    elif r < 0.22:  # a sponsor-like block of another colour
        y0 = int(rng.uniform(0.5, 0.9) * h)
        shirt[y0:] = np.float32(_colour(rng))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    folds = 1 + rng.uniform(0, 0.12) * np.sin(
        (xx * rng.uniform(-1, 1) + yy * rng.uniform(-1, 1)) / max(h, w) * rng.uniform(3, 12)
        + rng.uniform(0, 6)
    )
    return shirt * folds[..., None]


def _warp(num: np.ndarray, out_w: int, out_h: int, box: tuple[float, float, float, float], rng) -> np.ndarray:
    """The number image warped into ``box`` (x0, y0, x1, y1) of an out_w x out_h canvas, a little rotated
    and in perspective."""
    h, w = num.shape[:2]
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    dst = np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    jitter = rng.normal(0, 0.04, (4, 2)) * np.float32([x1 - x0, y1 - y0])
    angle = np.deg2rad(rng.normal(0, 5))
    rot = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = ((dst - [cx, cy]) @ rot.T + [cx, cy] + jitter).astype(np.float32)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(num, m, (out_w, out_h), flags=cv2.INTER_AREA, borderValue=0)


def digit_crop(
    rng: np.random.Generator, side: str = "train", kind: str | None = None
) -> tuple[np.ndarray, str]:
    """One RGB uint8 crop and its number as a string."""
    fonts = styles.fonts(side)
    _, font = fonts[int(rng.integers(len(fonts)))]
    style = str(rng.choice(styles.choices(styles.NUMBER_STYLES, side)))
    number = int(rng.integers(1, 10)) if rng.random() < 0.3 else int(rng.integers(1, 100))
    jersey = _colour(rng)
    num = _number_rgba(number, font, style, int(rng.choice([3, 5, 7])), _contrast(jersey, rng), _colour(rng))
    kind = kind or ("tight" if rng.random() < 0.5 else "torso")

    nh = float(GLYPH_H)  # number height while drawing; the crop is scaled to its final size at the end
    nw = nh * num.shape[1] / num.shape[0] * rng.uniform(0.8, 1.2)
    if kind == "tight":
        mx, my = rng.uniform(0.0, 0.25, 2) * [nw, nh]
        cw, ch = nw + 2 * mx, nh + 2 * my
        x0, y0 = mx + rng.normal(0, 0.04) * nw, my + rng.normal(0, 0.04) * nh
    else:  # the number fills 25-70% of a torso's height, centred a little above the middle
        ch = nh / rng.uniform(0.25, 0.7)
        cw = ch / rng.uniform(1.0, 1.9)  # torso crops are taller than wide
        cw = max(cw, nw * rng.uniform(1.1, 1.6))
        x0 = (cw - nw) / 2 + rng.normal(0, 0.06) * cw
        y0 = ch * rng.uniform(0.08, 0.45) - nh * 0.2
    cw, ch = round(cw), round(ch)
    canvas = _shirt(ch, cw, jersey, rng)
    if kind == "torso" and rng.random() < 0.6:  # arms, skin or grass at the sides
        for edge in (0, 1):
            if rng.random() < 0.6:
                band = int(rng.uniform(0.05, 0.2) * cw)
                tone = np.float32(_colour(rng) if rng.random() < 0.5 else (80, 110, 150))
                sl = slice(0, band) if edge == 0 else slice(cw - band, cw)
                canvas[:, sl] = tone
    layer = _warp(num, cw, ch, (x0, y0, x0 + nw, y0 + nh), rng)
    alpha = layer[..., 3:]
    canvas = canvas * (1 - alpha) + layer[..., :3] * alpha

    # lighting: gain, a gradient across, a colour cast
    ramp = 1 + rng.uniform(-0.35, 0.35) * np.linspace(-1, 1, cw, dtype=np.float32)[None, :, None]
    canvas = canvas * ramp * rng.uniform(0.6, 1.3) * rng.normal(1.0, 0.06, 3).astype(np.float32)
    img = np.clip(canvas, 0, 255).astype(np.uint8)

    # the final size: number heights like the real crops (REFERENCE.md), sometimes very small
    target_nh = float(np.clip(np.exp(rng.normal(np.log(24), 0.45)), 7, 80))
    s = target_nh / nh
    out = cv2.resize(img, (max(2, round(cw * s)), max(2, round(ch * s))), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.3:
        k = int(rng.choice([3, 5]))
        out = cv2.GaussianBlur(out, (k, k), rng.uniform(0.5, 1.5))
    if rng.random() < 0.4:
        out = np.clip(out + rng.normal(0, rng.uniform(2, 10), out.shape), 0, 255).astype(np.uint8)
    _, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 96))])
    out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB), str(number)


def digit_crops(n: int, seed: int, side: str = "train") -> tuple[list[np.ndarray], list[str]]:
    rng = np.random.default_rng(seed)
    pairs = [digit_crop(rng, side) for _ in range(n)]
    return [p[0] for p in pairs], [p[1] for p in pairs]
