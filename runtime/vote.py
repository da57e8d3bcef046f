"""The per-tracklet vote and the ball filter of the published baseline (Koshkina & Elder, CVPRW 2024).

Constants are named as in shared/REFERENCE.md; every threshold edge is covered by tests/runtime/test_vote.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

MIN_FRAME_CONFIDENCE = 0.2  # a frame confidence below this counts as 0
TWO_DIGIT_WEIGHT = 0.61  # prior on numbers > 9
ONE_DIGIT_WEIGHT = 0.39  # prior on numbers 1..9
MIN_WINNING_SUM = 1.0  # the best weighted sum must be strictly above this
MAX_DIGITS = 2
ILLEGIBLE = -1

BALL_SAMPLE = 10  # frames sampled for the ball filter
BALL_MAX_HEIGHT = 35  # px, mean over the sample, inclusive
BALL_MAX_WIDTH = 30  # px
BALL_NUMBER = 1  # what the baseline outputs for a ball tracklet


def parse_number(text: str) -> int | None:
    """A reading's jersey number: 1-2 digits parsing to 1..99 ("05" -> 5); otherwise None."""
    if not 1 <= len(text) <= MAX_DIGITS or not text.isdigit():
        return None
    n = int(text)
    return n if 1 <= n <= 99 else None


def vote(readings: Iterable[Sequence]) -> int:
    """Pick a tracklet's number from per-frame ``(text, confidence)`` STR readings, or -1.

    Confidence is the product of per-character probabilities. Per number the confidences are summed
    (those below 0.2 count as 0), weighted 0.61 for two digits and 0.39 for one; the best sum wins,
    a tie going to the smaller number; a best sum <= 1.0 or no valid reading gives -1.
    """
    weighted = weighted_sums(readings)
    if not weighted:
        return ILLEGIBLE
    best = min(weighted, key=lambda n: (-weighted[n], n))
    return best if weighted[best] > MIN_WINNING_SUM else ILLEGIBLE


def weighted_sums(readings: Iterable[Sequence]) -> dict[int, float]:
    """Per valid number, the sum of its confidences (those below 0.2 as 0) times its digit-count prior."""
    sums: dict[int, float] = {}
    for r in readings:  # (text, conf), or a Reading with where it sat: the baseline ignores that
        text, conf = r[0], r[1]
        n = parse_number(text)
        if n is None:
            continue
        sums[n] = sums.get(n, 0.0) + (conf if conf >= MIN_FRAME_CONFIDENCE else 0.0)
    return {n: s * (TWO_DIGIT_WEIGHT if n > 9 else ONE_DIGIT_WEIGHT) for n, s in sums.items()}


def top_candidates(readings: Iterable[Sequence], k: int = 3) -> list[tuple[int, float]]:
    """The ``k`` best (number, weighted sum) pairs, in the vote's order (higher sum, then smaller number)."""
    weighted = weighted_sums(readings)
    return sorted(weighted.items(), key=lambda nv: (-nv[1], nv[0]))[:k]


def ball_sample(n: int, k: int = BALL_SAMPLE) -> list[int]:
    """Indices of ``k`` frames evenly spread over ``n`` (all of them when n <= k)."""
    if n <= k:
        return list(range(n))
    return [round(i * (n - 1) / (k - 1)) for i in range(k)]


def is_ball(sizes: Sequence[tuple[int, int]]) -> bool:
    """True when the tracklet's crops are ball-sized: mean height <= 35 px and mean width <= 30 px
    over 10 evenly spread frames. ``sizes`` are (height, width) pairs in frame order."""
    if len(sizes) == 0:
        return False
    pick = [sizes[i] for i in ball_sample(len(sizes))]
    mean_h = sum(h for h, _ in pick) / len(pick)
    mean_w = sum(w for _, w in pick) / len(pick)
    return mean_h <= BALL_MAX_HEIGHT and mean_w <= BALL_MAX_WIDTH
