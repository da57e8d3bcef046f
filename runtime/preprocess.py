"""Spec-driven preprocessing: RGB uint8 crops -> NCHW float32 batches, and back-mapping of letterboxes.

Two implementations of the same spec: OpenCV/numpy for the runtime, PIL for the per-image baseline,
the way the published repositories do it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from jnr.runtime.specs import StageSpec


@dataclass(frozen=True)
class Placement:
    """Where an image landed in the model input: input = image * scale + (pad_x, pad_y)."""

    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float

    def to_image(self, xy: np.ndarray) -> np.ndarray:
        """Map model-input coordinates (..., 2) back to image pixels."""
        out = np.array(xy, dtype=np.float32, copy=True)
        out[..., 0] = (out[..., 0] - self.pad_x) / self.scale_x
        out[..., 1] = (out[..., 1] - self.pad_y) / self.scale_y
        return out


def _layout(spec: StageSpec, h: int, w: int) -> tuple[int, int, Placement]:
    """Resized size and placement of an h x w image in the spec's input."""
    ih, iw = spec.input_hw
    if spec.resize == "stretch":
        return ih, iw, Placement(iw / w, ih / h, 0.0, 0.0)
    if spec.resize in ("left", "left-pad"):  # height fitted, aspect kept, left-aligned
        nw = max(1, min(iw, round(w * ih / h)))
        return ih, nw, Placement(nw / w, ih / h, 0.0, 0.0)
    r = min(ih / h, iw / w)
    nh, nw = max(1, round(h * r)), max(1, round(w * r))
    return nh, nw, Placement(r, r, (iw - nw) // 2, (ih - nh) // 2)


def _normalise(spec: StageSpec, arr: np.ndarray) -> np.ndarray:
    """HxWxC uint8 -> CxHxW float32 with the spec's mean/std: (x / 255 - mean) / std as one scale and one
    shift per channel, the transpose done by the multiply (two passes; five before: 0.54 -> 0.05 ms for a
    192x128 frame, jnr.benchmarks.profile)."""
    if arr.ndim == 2:
        arr = arr[..., None]
    std = np.asarray(spec.std, np.float32)
    scale = (np.float32(1.0 / 255.0) / std)[:, None, None]
    shift = (-np.asarray(spec.mean, np.float32) / std)[:, None, None]
    x = np.empty((arr.shape[2], *arr.shape[:2]), np.float32)
    np.multiply(arr.transpose(2, 0, 1), scale, out=x, casting="unsafe")
    x += shift
    return x


def _paste(spec: StageSpec, resized: np.ndarray, p: Placement) -> np.ndarray:
    ih, iw = spec.input_hw
    if resized.shape[:2] == (ih, iw):
        return resized
    shape = (ih, iw) + resized.shape[2:]
    if spec.resize == "left":  # EasyOCR replicates the right edge
        canvas = np.empty(shape, np.uint8)
        w = resized.shape[1]
        canvas[:, :w] = resized
        canvas[:, w:] = resized[:, w - 1 : w]
        return canvas
    canvas = np.full(shape, spec.pad_value, np.uint8)
    y, x = int(p.pad_y), int(p.pad_x)
    canvas[y : y + resized.shape[0], x : x + resized.shape[1]] = resized
    return canvas


def _inset(spec: StageSpec, image: np.ndarray) -> np.ndarray:
    d = round(image.shape[1] * spec.inset_x)
    image = image[:, d : image.shape[1] - d] if d and image.shape[1] - 2 * d >= 2 else image
    m = round(image.shape[0] * spec.margin)
    return cv2.copyMakeBorder(image, m, m, m, m, cv2.BORDER_REPLICATE) if m else image


def _to_color(spec: StageSpec, image: np.ndarray) -> np.ndarray:
    if spec.color == "GRAY":
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if spec.color == "BGR" else image


def prepare(spec: StageSpec, image: np.ndarray) -> tuple[np.ndarray, Placement]:
    """One RGB uint8 image -> (CxHxW float32, placement), with OpenCV."""
    placed, p = place(spec, image)
    return _normalise(spec, placed), p


def place(spec: StageSpec, image: np.ndarray) -> tuple[np.ndarray, Placement]:
    """One RGB uint8 image -> (the model input as HxWxC uint8, placement): inset, colour, resize, paste;
    :func:`prepare` without the float normalisation."""
    image = _inset(spec, image)
    h, w = image.shape[:2]
    nh, nw, p = _layout(spec, h, w)
    src = _to_color(spec, image)
    if spec.interpolation == "bicubic":
        interp = cv2.INTER_CUBIC
    else:
        interp = cv2.INTER_AREA if nh < h else cv2.INTER_LINEAR
    resized = cv2.resize(src, (nw, nh), interpolation=interp) if (nh, nw) != (h, w) else src
    return _paste(spec, resized, p), p


def prepare_pil(spec: StageSpec, image: np.ndarray) -> tuple[np.ndarray, Placement]:
    """The same as :func:`prepare`, with PIL (bilinear resize), as the published baselines do."""
    from PIL import Image

    image = _inset(spec, image)
    h, w = image.shape[:2]
    nh, nw, p = _layout(spec, h, w)
    im = Image.fromarray(image)
    if spec.color == "GRAY":
        im = im.convert("L")
    if (nh, nw) != (h, w):
        bicubic = spec.interpolation == "bicubic"
        im = im.resize((nw, nh), Image.Resampling.BICUBIC if bicubic else Image.Resampling.BILINEAR)
    arr = np.asarray(im)
    return _normalise(spec, _paste(spec, arr[..., ::-1] if spec.color == "BGR" else arr, p)), p


def batch(spec: StageSpec, images: list[np.ndarray]) -> tuple[np.ndarray, list[Placement]]:
    """Stack prepared images into one NCHW float32 batch."""
    out = np.empty((len(images), spec.channels, *spec.input_hw), np.float32)
    places = []
    for i, im in enumerate(images):
        out[i], p = prepare(spec, im)
        places.append(p)
    return out, places
