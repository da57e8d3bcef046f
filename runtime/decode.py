"""Output decoding named by a spec's ``decode`` field: one function per kind, numpy only."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from jnr.runtime.decision import BOXED, WHOLE, WIDE_BOX
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


KEYPOINTS = 17 * 3  # COCO-17, (x, y, score) each


def yolo_pose(spec: StageSpec, out: np.ndarray, place: Placement) -> np.ndarray:
    """One image's raw head output -> (P, 17, 3) people in image pixels, best first, after the confidence
    threshold and NMS. ``spec.head`` "full": rows are 4 box + 1 score + 17 x 3 keypoints; "keypoints": the
    score and keypoints alone, which give the best person (NMS keeps the best candidate first)."""
    out = np.asarray(out, np.float32)
    boxes = spec.head == "full"
    rows = (5 if boxes else 1) + KEYPOINTS
    if len(out) != rows:
        raise ValueError(f"{spec.name} ({spec.head} head) gives {rows} rows per anchor, not {len(out)}")
    conf = out[4 if boxes else 0]
    cand = np.nonzero(conf >= spec.threshold)[0]
    if cand.size == 0:
        return np.zeros((0, 17, 3), np.float32)
    if boxes:
        xywh = out[:4, cand].T
        xyxy = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], axis=1)
        keep = cand[_nms(xyxy, conf[cand], NMS_IOU)]
    else:
        keep = cand[np.argsort(-conf[cand])[:1]]  # _nms's first pick
    kp = out[len(out) - KEYPOINTS :, keep].T.reshape(-1, 17, 3).copy()
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
    over the blank and the digit classes; confidence = product of the emitted characters' probabilities,
    renormalised over the blank and the digits (EasyOCR's allowlist) or, with ``spec.confidence ==
    "charset"``, as the model gives them over its whole charset."""
    digit_cls = digit_classes(spec.charset)
    x = np.asarray(scores, np.float32)
    if spec.output == "logits":
        x = np.exp(x - x.max(axis=-1, keepdims=True))
        if spec.confidence == "charset":
            x = x / x.sum(axis=-1, keepdims=True)
    x = x[..., [0, *digit_cls]]
    p = x if spec.confidence == "charset" else x / np.maximum(x.sum(axis=-1, keepdims=True), 1e-30)
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


Box = tuple[int, int, int, int]


def text_boxes(spec: StageSpec, prob: np.ndarray) -> list[tuple[float, float, float, float, float]]:
    """A DB text detector's probability map (H, W) -> text boxes (x0, y0, x1, y1, score) in map pixels, the
    way PaddleOCR post-processes it: pixels above ``extra["binarize"]`` (dilated 2x2) form regions; a region
    scores the mean probability inside it and is kept at >= ``spec.threshold``; its bounding box grows by
    area * ``extra["unclip"]`` / perimeter on every side. Axis-aligned: jersey numbers stand upright."""
    import cv2

    prob = np.asarray(prob, np.float32).reshape(prob.shape[-2:])
    mask = cv2.dilate((prob > spec.extra.get("binarize", 0.3)).astype(np.uint8), np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        if min(w, h) < 3:
            continue
        region = np.zeros((h, w), np.uint8)
        cv2.drawContours(region, [c - (x, y)], -1, 1, -1)
        score = float(prob[y : y + h, x : x + w][region > 0].mean())
        if score < spec.threshold:
            continue
        d = w * h * spec.extra.get("unclip", 1.6) / (2 * (w + h))
        out.append((x - d, y - d, x + w + d, y + h + d, score))
    return out


def text_box(spec: StageSpec, prob: np.ndarray, place: Placement, hw: tuple[int, int]) -> tuple[Box, float]:
    """The best text box of one crop (largest area x score) in the crop's pixels, padded by
    ``extra["pad"]`` of its size and clamped, with its score; ((0, 0, 0, 0), 0.0) where there is none."""
    boxes = text_boxes(spec, prob)
    if not boxes:
        return (0, 0, 0, 0), 0.0
    x0, y0, x1, y1, score = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]) * b[4])
    (x0, y0), (x1, y1) = place.to_image(np.array([[x0, y0], [x1, y1]], np.float32))
    pad = spec.extra.get("pad", 0.0)
    px, py = pad * (x1 - x0), pad * (y1 - y0)
    h, w = hw
    box = (
        max(0, int(x0 - px)),
        max(0, int(y0 - py)),
        min(w, int(np.ceil(x1 + px))),
        min(h, int(np.ceil(y1 + py))),
    )
    if box[2] - box[0] < 2 or box[3] - box[1] < 2:
        return (0, 0, 0, 0), 0.0
    return box, score


class Gated(NamedTuple):
    """What a legibility stage makes of one crop: what the recognizer reads (None: nothing), the stage's
    score, the confidence a reading of it needs to count (0: any), and where it sits in the torso
    (jnr.runtime.decision: BOXED, a text box well inside it; WHOLE, the torso with its sides)."""

    crop: np.ndarray | None
    score: float
    floor: float = 0.0
    where: str = WHOLE


def gate_none(spec: StageSpec, out: None, places, crops: list[np.ndarray]) -> list[Gated]:
    """No model: every crop goes on."""
    return [Gated(c, 1.0) for c in crops]


def gate_sigmoid(spec: StageSpec, out: np.ndarray, places, crops: list[np.ndarray]) -> list[Gated]:
    """A classifier: the crop goes on at a probability >= ``spec.threshold``."""
    prob = sigmoid(spec, out)
    return [Gated(c if p >= spec.threshold else None, float(p)) for c, p in zip(crops, prob, strict=True)]


def gate_db_text(spec: StageSpec, out: np.ndarray, places, crops: list[np.ndarray]) -> list[Gated]:
    """A text detector: the crop goes on cut to its best text box; where it boxes none (a detector trained on
    text lines misses most lone digits) but its map holds a trace of text (``extra["unboxed_trace"]``), the
    whole crop goes on, and its reading counts only at ``extra["unboxed_floor"]`` charset confidence."""
    floor, trace = spec.extra.get("unboxed_floor"), spec.extra.get("unboxed_trace", 0.0)
    res = []
    for c, o, pl in zip(crops, out, places, strict=True):
        (x0, y0, x1, y1), score = text_box(spec, o, pl, c.shape[:2])
        if x1 > x0:
            wide = x1 - x0 >= WIDE_BOX * c.shape[1]
            res.append(Gated(c[y0:y1, x0:x1], score, 0.0, WHOLE if wide else BOXED))
            continue
        peak = float(np.max(o))  # the detector's strongest text response: a trace where it boxed none
        read = floor is not None and peak >= trace
        res.append(Gated(c if read else None, peak, floor or 0.0))
    return res


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
