"""Output decoding named by a spec's ``decode`` field: one function per kind, numpy only."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from jnr.runtime.preprocess import Placement
from jnr.runtime.specs import StageSpec

NMS_IOU = 0.7


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    order = np.argsort(-scores)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx0 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy0 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx1 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy1 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx1 - xx0, 0, None) * np.clip(yy1 - yy0, 0, None)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        order = rest[inter / (area[i] + area[rest] - inter + 1e-9) <= iou]
    return keep


def yolo_pose(spec: StageSpec, out: np.ndarray, place: Placement) -> np.ndarray:
    """One image's raw head output (4 + 1 + 17*3, anchors) -> (P, 17, 3) people in image pixels,
    best first, after confidence threshold and NMS."""
    out = np.asarray(out, np.float32)
    conf = out[4]
    cand = np.nonzero(conf >= spec.threshold)[0]
    if cand.size == 0:
        return np.zeros((0, 17, 3), np.float32)
    xywh = out[:4, cand].T
    boxes = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], axis=1)
    keep = cand[_nms(boxes, conf[cand], NMS_IOU)]
    kp = out[5:, keep].T.reshape(-1, 17, 3).copy()
    kp[..., :2] = place.to_image(kp[..., :2])
    return kp


def sigmoid(spec: StageSpec, logits: np.ndarray) -> np.ndarray:
    """(N, 1) logits -> (N,) probabilities."""
    z = np.asarray(logits, np.float64).reshape(len(logits), -1)[:, 0]
    return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


@lru_cache(maxsize=8)
def digit_classes(charset: str) -> tuple[int, ...]:
    """Output classes (1-based: 0 is the blank) of the ASCII digits; cached, as PP-OCRv4's charset has
    6624 characters and this runs for every batch."""
    return tuple(i + 1 for i, c in enumerate(charset) if c.isdigit() and c.isascii())


def ctc_digits(spec: StageSpec, scores: np.ndarray) -> list[tuple[str, float]]:
    """(N, T, C) logits or probabilities (``spec.output``) -> per image (digits, confidence): greedy CTC
    over the blank and the digit classes, renormalised over those (EasyOCR's allowlist); confidence = product
    of the emitted characters' probabilities."""
    digit_cls = digit_classes(spec.charset)
    x = np.asarray(scores, np.float32)[..., [0, *digit_cls]]
    if spec.output == "logits":
        x = np.exp(x - x.max(axis=-1, keepdims=True))
    p = x / np.maximum(x.sum(axis=-1, keepdims=True), 1e-30)
    best = p.argmax(-1)
    prob = p.max(-1)
    chars = "".join(spec.charset[i - 1] for i in digit_cls)
    out = []
    for b, pr in zip(best, prob, strict=True):
        text, conf, prev = [], 1.0, 0
        for t, k in enumerate(b):
            if k != 0 and k != prev:
                text.append(chars[k - 1])
                conf *= float(pr[t])
            prev = k
        out.append(("".join(text), conf if text else 0.0))
    return out


def parseq_digits(spec: StageSpec, logits: np.ndarray) -> list[tuple[str, float]]:
    """(N, positions, 11) logits (class 0 = EOS, 1..10 = '0'..'9') -> per image (digits, confidence), the
    baseline's way: softmax over the 11 classes, argmax per position until EOS, confidence = product of the
    digits' probabilities (EOS excluded)."""
    z = np.asarray(logits, np.float64)
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    best, prob = p.argmax(-1), p.max(-1)
    out = []
    for b, pr in zip(best, prob, strict=True):
        text, conf = [], 1.0
        for k, q in zip(b, pr, strict=True):
            if k == 0:
                break
            text.append(str(k - 1))
            conf *= float(q)
        out.append(("".join(text), conf if text else 0.0))
    return out


def reading(spec: StageSpec, out: np.ndarray) -> list[tuple[str, float]]:
    """A recognizer's raw output -> per image (digits, confidence), by the spec's decode kind."""
    return READERS[spec.decode](spec, out)


READERS = {"ctc-digits": ctc_digits, "parseq-digits": parseq_digits}
