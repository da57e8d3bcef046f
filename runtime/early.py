"""Early exit: feed each tracklet's frames coarse to fine and stop feeding it once its answer is settled.

Frames go through the unchanged batched pipeline in rounds: every active tracklet contributes its next
frames to a round (the ball filter's 10 sample frames and a coarse stride first, then the frames between),
so batches stay full while tracklets stop at different times. After each round a tracklet leaves when:

- ``exact``: no outcome of its remaining frames can change the vote. Each frame gives at most one reading of
  confidence <= 1, so the remaining R frames add at most R x 0.61 to any two-digit number and R x 0.39 to any
  one-digit one; the answer is settled when no number (seen or not) can reach the leader's sum (ties go to
  the smaller number), and, for -1, when no number can pass 1.0. The answer is provably the full run's.
- ``settled`` (the default): ``exact``; or, on evidence for a number, the leader's weighted sum is at least
  SETTLED_SUM and ahead of the runner-up by SETTLED_LEAD (a one-digit leader that is a digit of a two-digit
  number also read does not count: part of a number is read at side views); or, once the frames seen cover
  the tracklet (every COVER_STRIDE-th frame or closer), nothing reached SETTLED_NOTHING (-1). "Nothing read
  yet" is never evidence of -1 on its own: a number shown for a few frames may lie in the frames not fed, so
  -1 waits for the coverage; a weak leader (under SETTLED_SUM) runs on until ``exact`` or the last frame.
  Measured against the full run in benchmarks/README.md.
- an integer N: the first N frames in coarse order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from jnr.runtime.data import Tracklet
from jnr.runtime.pipeline import Pipeline, Result
from jnr.runtime.vote import (
    BALL_NUMBER,
    ILLEGIBLE,
    MIN_WINNING_SUM,
    ONE_DIGIT_WEIGHT,
    TWO_DIGIT_WEIGHT,
    ball_sample,
    is_ball,
    top_candidates,
    vote,
    weighted_sums,
)

MODES = ("all", "exact", "settled")
FIRST_ROUND = 16  # frames per tracklet in the first round; each later round doubles it
SETTLED_SUM = 2.0  # twice the vote's 1.0
SETTLED_LEAD = 1.0
COVER_STRIDE = 2  # frames seen cover the tracklet when seen x this >= its length
SETTLED_NOTHING = 0.25  # covered, and no number's weighted sum above this: -1
WINDOW = 64  # tracklets in flight: round 1 alone is 64 x 16 frames, enough to keep batches of 64 full


def coarse_order(n: int) -> list[int]:
    """Positions 0..n-1: the ball filter's sample first, then strides n/2, n/4, ... down to 1."""
    out = ball_sample(n)
    seen = set(out)
    stride = 1 << max(0, (n - 1).bit_length() - 1)
    while stride >= 1:
        for i in range(0, n, stride):
            if i not in seen:
                seen.add(i)
                out.append(i)
        stride //= 2
    return out


def can_change(readings: Iterable[tuple[str, float]], remaining: int) -> bool:
    """Whether ``remaining`` more frames (one reading each, confidence <= 1) could change the vote."""
    if remaining <= 0:
        return False
    readings = list(readings)
    sums = weighted_sums(readings)
    gain = {True: remaining * TWO_DIGIT_WEIGHT, False: remaining * ONE_DIGIT_WEIGHT}  # key: two digits
    current = vote(readings)
    reach = {n: v + gain[n > 9] for n, v in sums.items()}
    unseen = max(gain.values())  # a number not read yet
    if current == ILLEGIBLE:
        return max([*reach.values(), unseen]) > MIN_WINNING_SUM
    lead = sums[current]
    rivals = any(r > lead or (r == lead and n < current) for n, r in reach.items() if n != current)
    return rivals or unseen >= lead


def part_of_another(number: int, readings: list[tuple[str, float]]) -> bool:
    """Whether a one-digit ``number`` is a digit of a two-digit number also read: a side view shows part of
    a two-digit number, so its one-digit readings are evidence for both and a lead proves nothing yet."""
    return number < 10 and any(n > 9 and str(number) in str(n) for n in weighted_sums(readings))


def settled(readings: list[tuple[str, float]], seen: int, remaining: int, mode: str | int) -> bool:
    """Whether a tracklet that has shown ``seen`` frames, with ``remaining`` not fed, can stop."""
    if remaining <= 0:
        return True
    if isinstance(mode, int):
        return seen >= mode
    if not can_change(readings, remaining):
        return True
    if mode == "exact":
        return False
    top = top_candidates(readings, 2)
    best = top[0][1] if top else 0.0
    second = top[1][1] if len(top) > 1 else 0.0
    if best >= SETTLED_SUM and best - second >= SETTLED_LEAD and not part_of_another(top[0][0], readings):
        return True
    return seen * COVER_STRIDE >= seen + remaining and best <= SETTLED_NOTHING


@dataclass
class _State:
    tracklet: Tracklet
    order: list[int]
    fed: int = 0
    readings: list[tuple[str, float]] = field(default_factory=list)
    sizes: dict[int, tuple[int, int]] = field(default_factory=dict)
    funnel: dict = field(
        default_factory=lambda: dict.fromkeys(("frames", "person", "torso", "legible", "read"), 0)
    )
    shown: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    bad: bool = False  # a frame failed to decode: no early exit (the ball filter indexes decoded frames)

    def merge(self, r: Result, positions: list[int], samples: int) -> None:
        """Add one round's result; keep at most ``samples`` read thumbnails (a third as many rejected), as
        the pipeline does within a round."""
        self.readings += r.readings
        for k in ("frames", "person", "torso", "legible", "read"):
            self.funnel[k] += r.funnel.get(k, 0)
        self.sizes.update({positions[p]: hw for p, hw in r.sizes.items()})
        self.bad |= len(r.sizes) < len(positions)
        self.shown = (self.shown + r.shown)[:samples]
        self.rejected = (self.rejected + r.rejected)[: samples // 3]

    def result(self) -> Result:
        n = len(self.tracklet.frames)
        decoded = [self.sizes[p] for p in sorted(self.sizes)]
        ball = is_ball([self.sizes[p] for p in ball_sample(n)] if not self.bad else decoded)
        number = BALL_NUMBER if ball else vote(self.readings)
        funnel = {
            **self.funnel,
            "skipped": n - self.fed,
            "candidates": [[k, round(v, 4)] for k, v in top_candidates(self.readings)],
            "ball": ball,
        }
        return Result(self.tracklet.id, number, self.readings, funnel, self.shown, self.rejected, self.sizes)

    def done(self, mode: str | int) -> bool:
        n = len(self.tracklet.frames)
        if self.fed >= n:
            return True
        if self.bad:
            return False
        if self.fed >= len(ball_sample(n)) and is_ball([self.sizes[p] for p in ball_sample(n)]):
            return True  # the ball filter decides, whatever the readings
        return settled(self.readings, self.fed, n - self.fed, mode)


def run(
    pipe: Pipeline, tracklets: Iterable[Tracklet], mode: str | int, window: int = WINDOW
) -> Iterator[Result]:
    """Results of ``pipe`` with early exit (``mode``: exact, settled or a frame budget); ``all`` is
    ``pipe.run`` itself. Tracklets go through ``window`` at a time; each result is yielded as soon as its
    tracklet stops, so an interrupt loses only the unfinished ones."""
    if mode == "all":
        yield from pipe.run(tracklets)
        return
    tracklets = list(tracklets)
    for i in range(0, len(tracklets), window):
        yield from _rounds(pipe, tracklets[i : i + window], mode)


def _rounds(pipe: Pipeline, tracklets: list[Tracklet], mode: str | int) -> Iterator[Result]:
    states = {t.id: _State(t, coarse_order(len(t.frames))) for t in tracklets}
    size = FIRST_ROUND
    while states:
        subsets, positions = [], {}
        for tid, st in states.items():
            n = len(st.tracklet.frames)
            budget = size if not isinstance(mode, int) else min(size, mode - st.fed)
            # a tracklet that fits whole in its first round goes in frame order: that is a full run
            take = list(range(n)) if st.fed == 0 and n <= budget else st.order[st.fed : st.fed + budget]
            st.fed += len(take)
            positions[tid] = take
            subsets.append(st.tracklet.subset(take))
        for r in pipe.run(subsets):
            st = states[r.tracklet]
            if positions[r.tracklet] == list(range(len(st.tracklet.frames))):
                del states[r.tracklet]
                yield replace(r, funnel={**r.funnel, "skipped": 0})
                continue
            st.merge(r, positions[r.tracklet], pipe.samples)
            if st.done(mode):
                yield states.pop(r.tracklet).result()
        size *= 2


def parse_mode(value: str) -> str | int:
    """``all``, ``exact``, ``settled`` or a positive frame budget."""
    if value in MODES:
        return value
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise ValueError(f"--frames takes {'|'.join(MODES)} or a number of frames, got {value!r}")
