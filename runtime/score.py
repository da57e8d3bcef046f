"""Tracklet accuracy exactly as SoccerNet scores jersey-2023: exact match, -1 is a class, missing = -1."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

from jnr.runtime.errors import JnrError


@dataclass(frozen=True)
class Score:
    accuracy: float
    n: int
    correct: int
    n_illegible: int  # gt == -1
    acc_illegible: float | None
    n_numbered: int
    acc_numbered: float | None
    missing: int  # gt tracklets absent from the predictions (scored as -1)
    confusions: list[tuple[int, int, int]]  # (gt, predicted, count), most frequent first

    def to_dict(self) -> dict:
        return asdict(self)


def score(pred: dict[str, int], gt: dict[str, int], top: int = 10) -> Score:
    """Score predictions against ground truth. Predictions for unknown tracklets are an error."""
    if not gt:
        raise JnrError("ground truth is empty: nothing to score")
    unknown = sorted(set(pred) - set(gt))
    if unknown:
        raise JnrError(
            f"{len(unknown)} predicted tracklet(s) are not in the ground truth (first: "
            f"{', '.join(unknown[:3])}): predictions and ground truth are for different splits"
        )
    hits = {k: pred.get(k, -1) == v for k, v in gt.items()}
    neg = [k for k, v in gt.items() if v == -1]
    pos = [k for k, v in gt.items() if v != -1]
    conf = Counter((gt[k], pred.get(k, -1)) for k, ok in hits.items() if not ok)

    def acc(keys: list[str]) -> float | None:
        return sum(hits[k] for k in keys) / len(keys) if keys else None

    return Score(
        accuracy=sum(hits.values()) / len(gt),
        n=len(gt),
        correct=sum(hits.values()),
        n_illegible=len(neg),
        acc_illegible=acc(neg),
        n_numbered=len(pos),
        acc_numbered=acc(pos),
        missing=sum(k not in pred for k in gt),
        confusions=[(g, p, c) for (g, p), c in conf.most_common(top)],
    )


RELIABILITY_BINS = 5


def reliability(answers: list[tuple[bool, float]], bins: int = RELIABILITY_BINS) -> dict:
    """How well confidences are calibrated: ``answers`` are (right, confidence) pairs; per equal-width bin of
    confidence the answers in it, their mean confidence and the share right; and the expected calibration
    error (the answers' share-weighted mean gap between the two)."""
    rows, ece = [], 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(ok, c) for ok, c in answers if lo <= c < hi or (b == bins - 1 and c >= 1.0)]
        if not inside:
            continue
        right = sum(ok for ok, _ in inside) / len(inside)
        conf = sum(c for _, c in inside) / len(inside)
        ece += len(inside) / len(answers) * abs(right - conf)
        rows.append(
            {"bin": [lo, hi], "n": len(inside), "confidence": round(conf, 4), "right": round(right, 4)}
        )
    return {"ece": round(ece, 4), "n": len(answers), "bins": rows}
