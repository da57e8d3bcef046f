"""The flat drawing's random choices per tracklet (synth.tracklet draws them): the number's image in a font
and number style of the style table's side, kit colours and pattern, turning, size, camera and light."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from jnr.synth import styles
from jnr.synth.figure import Look

FPS = 25
NO_NUMBER_SHARE = 0.3
# What a numberless player's torso crop shows at its sides (issue 26: an independent renderer's plain shirts
# were read as "1" from these): arms hanging along the torso, contrasting side panels, a slim torso between
# its shoulder keypoints (pitch at both sides); "" draws the player as before. Drawn after every other
# choice, so the numbered tracklets of a seed are the same as before.
SIDES = ("", "arms", "panels", "slim")


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    if path == "<pillow>":
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size)


def render_number(number: int, font: str, style: str, fill, second, stroke_w: int = 0) -> np.ndarray:
    """The number as a tight BGRA image, 128 px tall glyphs, in a number style of synth.styles:
    ``fill`` (one colour), ``outline`` (``second`` around it), ``shadow`` (``second`` offset behind it),
    ``two-tone`` (``second`` on the lower half)."""
    f = _font(font, 128)
    text = str(number)
    img = Image.new("RGBA", (440, 240), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    rgba = (*fill[::-1], 255)
    if style == "shadow":
        d.text((30, 30), text, font=f, fill=(*second[::-1], 255))
    outline = stroke_w if style == "outline" else 0
    d.text((20, 20), text, font=f, fill=rgba, stroke_width=outline, stroke_fill=(*second[::-1], 255))
    arr = np.asarray(img).copy()
    ys, xs = np.nonzero(arr[..., 3])
    if len(xs) == 0:  # a font without digits
        return render_number(number, "<pillow>", style, fill, second, stroke_w)
    arr = arr[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    if style == "two-tone":
        lower = arr[arr.shape[0] // 2 :]
        painted = (lower[..., 3] > 0) & (lower[..., :3] == fill[::-1]).all(-1)
        lower[painted, :3] = second[::-1]
    return cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA)


@dataclass
class Plan:
    """Per-tracklet random choices."""

    number: int  # -1: never readable
    frames: int
    height0: float
    zoom: float
    theta0: float
    omega: float
    wobble: float
    swing: float
    freq: float
    lean: float
    look: Look
    other: Look
    number_img: np.ndarray
    grass: tuple[int, int, int]
    stripe: float
    quality: tuple[int, int]
    blur_p: float
    occl_p: float
    partial_p: float
    style: dict  # family, font, pattern, number_style, side: what the unseen-style split holds out
    front: bool  # a smaller number on the chest too
    gain: float  # lighting: overall brightness
    gradient: float  # lighting: left-right brightness slope
    cast: tuple[float, float, float]  # lighting: per-channel colour cast
    lowres_p: float  # share of frames seen at a lower resolution and scaled back up
    sides: str = ""  # SIDES: what a numberless torso shows at its sides


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    hsv = np.uint8(
        [
            [
                [
                    rng.integers(0, 180),
                    rng.choice([0, 30, 200, 255]) if rng.random() < 0.3 else rng.integers(60, 256),
                    rng.integers(30, 256),
                ]
            ]
        ]
    )
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _look(rng: np.random.Generator, patterns: tuple[str, ...] = ("plain",)) -> Look:
    jersey = _colour(rng)
    skin_t = rng.uniform(0, 1)
    skin = tuple(int(v) for v in np.array([60, 90, 140]) + skin_t * np.array([120, 110, 95]))
    return Look(
        jersey=jersey,
        sleeve=jersey if rng.random() < 0.7 else _colour(rng),
        shorts=_colour(rng),
        socks=_colour(rng),
        skin=skin,
        hair=tuple(int(v) for v in rng.integers(10, 90, 3)),
        build=float(rng.uniform(0.9, 1.15)),
        long_sleeves=bool(rng.random() < 0.3),
        pattern=str(rng.choice(patterns)),
        trim=_colour(rng),
    )


def _contrast(jersey: tuple[int, int, int], rng: np.random.Generator) -> tuple[int, int, int]:
    lum = 0.114 * jersey[0] + 0.587 * jersey[1] + 0.299 * jersey[2]
    base = np.array([20, 20, 20]) if lum > 140 else np.array([240, 240, 240])
    if rng.random() < 0.35:
        c = np.array(_colour(rng))
        clum = 0.114 * c[0] + 0.587 * c[1] + 0.299 * c[2]
        if abs(clum - lum) > 90:
            base = c
    return tuple(int(v) for v in base)


def plan_tracklet(rng: np.random.Generator, frames_lo: int, frames_hi: int, side: str = "all") -> Plan:
    """Random choices for one tracklet; fonts, shirt patterns and number styles from ``side`` of the
    style table (synth.styles: train, unseen or all)."""
    numbered = rng.random() >= NO_NUMBER_SHARE
    number = int(rng.integers(1, 100)) if numbered else -1
    n = int(rng.integers(frames_lo, frames_hi + 1))
    look = _look(rng, styles.choices(styles.PATTERNS, side))
    fonts = styles.fonts(side)
    family, font = fonts[int(rng.integers(len(fonts)))]
    number_style = str(rng.choice(styles.choices(styles.NUMBER_STYLES, side)))
    fill = _contrast(look.jersey, rng)
    second = _colour(rng)
    img = render_number(
        max(number, 1) if numbered else 0, font, number_style, fill, second, int(rng.choice([3, 5, 7]))
    )
    duration = n / FPS
    if numbered:
        # start somewhere and turn slowly; make sure the back shows for a while
        total_turn = rng.uniform(0.5, 3.0) * np.pi
        omega = total_turn / duration * rng.choice([-1, 1])
        theta0 = np.pi + rng.uniform(-0.8, 0.8) - omega * duration * rng.uniform(0.2, 0.8)
    else:
        omega = rng.uniform(-0.3, 0.3) * np.pi / max(duration, 1.0)
        theta0 = rng.uniform(-0.9, 0.9)
    # SoccerNet thumbnails: height 89 / 127 / 181 px at the 5th / 50th / 95th percentile (REFERENCE.md),
    # a little wider here so small and large players both occur
    height0 = float(np.clip(np.exp(rng.normal(np.log(130), 0.28)), 40, 320))
    plan = Plan(
        number=number,
        frames=n,
        height0=height0,
        zoom=float(rng.uniform(-0.25, 0.25)),
        theta0=float(theta0),
        omega=float(omega),
        wobble=float(rng.uniform(0, 0.4)),
        swing=float(rng.choice([0.05, rng.uniform(0.2, 0.6)])),
        freq=float(rng.uniform(0.8, 1.6)),
        lean=float(rng.uniform(-0.05, 0.25)),
        look=look,
        other=_look(rng),
        number_img=img,
        grass=tuple(int(v) for v in (rng.integers(20, 70), rng.integers(100, 170), rng.integers(20, 80))),
        stripe=float(rng.uniform(0.9, 1.1)),
        quality=(int(rng.integers(30, 75)), int(rng.integers(75, 96))),
        blur_p=float(rng.uniform(0, 0.4)),
        occl_p=float(rng.uniform(0, 0.25)),
        partial_p=float(rng.uniform(0, 0.1)),
        style={
            "family": family,
            "font": Path(font).name,
            "pattern": look.pattern,
            "number_style": number_style,
        },
        front=bool(rng.random() < 0.4),
        gain=float(rng.uniform(0.65, 1.3)),
        gradient=float(rng.uniform(-0.35, 0.35)),
        cast=tuple(float(v) for v in rng.normal(1.0, 0.06, 3)),
        lowres_p=float(rng.choice([0.0, rng.uniform(0.1, 0.6)])),
    )
    return with_sides(plan, "" if numbered else str(rng.choice(SIDES)), rng)


def with_sides(plan: Plan, sides: str, rng: np.random.Generator) -> Plan:
    """``plan`` with a numberless torso's sides drawn (SIDES): side panels in a contrasting colour, a
    slim torso, or (chosen in rendering) arms along the torso."""
    look = plan.look
    if sides == "panels":
        look = replace(look, panels=True, trim=_contrast(look.jersey, rng))
    elif sides == "slim":
        look = replace(look, build=float(rng.uniform(0.7, 0.8)))
    return replace(plan, look=look, sides=sides, style={**plan.style, "sides": sides})
