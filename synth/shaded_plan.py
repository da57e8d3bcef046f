"""The shaded drawing's random choices per tracklet (synth.shaded): kits, glyphs (Hershey strokes, block bars,
serif and italic faces none of the flat drawing's style table uses), camera, light and background."""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from jnr.synth.plan import SIDES
from jnr.synth.tracklet import FPS

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
    panels: bool = False  # contrasting side panels (``second``) down the torso's sides


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
    sides: str = ""  # synth.plan.SIDES: what a numberless torso shows at its sides


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
    p = _plan(rng, frames_lo, frames_hi)
    if p.number > 0:
        return p
    sides = str(rng.choice(SIDES))  # after every other choice: numbered tracklets as before
    kit = p.kit
    if sides == "panels":
        kit = replace(kit, panels=True, second=_contrasting(kit.jersey, rng))
    elif sides == "slim":
        kit = replace(kit, build=float(rng.uniform(0.7, 0.8)))
    return replace(p, kit=kit, sides=sides)


def _plan(rng: np.random.Generator, frames_lo: int, frames_hi: int) -> ShadedPlan:
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
