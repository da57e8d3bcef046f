"""Frame-feeding policies (``--frames``): which frames of a tracklet go in, in what order, and when it stops.

The pipeline feeds every tracklet in flight in rounds: round 1 takes up to FIRST_ROUND frames of each, every
later round twice as many, so batches stay full while tracklets stop at different times. One policy object
per mode orders a tracklet's frames and says after each of its rounds whether it is done:

- ``all``: every frame, in frame order, in one round.
- ``exact``: coarse to fine; stops when no outcome of the remaining frames can change the vote (a proof for
  the rules whose ``EarlyExit.exact`` holds: the baseline vote).
- ``settled`` (the default): ``exact``; or a clear leader; or -1 once the frames seen cover the tracklet and
  the decision rule's own -1 test passes.
- N: the first N frames in coarse order.

How each rule was chosen and what it costs is in docs/defaults.md "Early exit".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from jnr.runtime.decision import counted
from jnr.runtime.errors import JnrError
from jnr.runtime.tracks import TrackState
from jnr.runtime.vote import (
    ILLEGIBLE,
    MIN_WINNING_SUM,
    ONE_DIGIT_WEIGHT,
    TWO_DIGIT_WEIGHT,
    ball_sample,
    top_candidates,
    vote,
    weighted_sums,
)

FIRST_ROUND = 16  # frames per tracklet in the first round; each later round doubles it
WINDOW = 64  # tracklets in flight: round 1 alone is 64 x 16 frames, enough to keep batches of 64 full
SETTLED_SUM = 2.0  # the lead rule: a leader's weighted sum at least twice the vote's 1.0 ...
SETTLED_LEAD = 1.0  # ... and this far ahead of the runner-up
# coverage: frames seen cover a tracklet when every COVER_STRIDE consecutive frames hold one, every
# SPARSE_STRIDE in tracklets of SPARSE_FROM frames or more while none has given a reading the vote counts
COVER_STRIDE = 2
SPARSE_STRIDE = 4
SPARSE_FROM = 64


def to_cover(n: int, seen: Iterable[int], ahead: Iterable[int], stride: int) -> int:
    """How many of ``ahead`` (positions in feeding order) must be fed, after ``seen``, until every
    ``stride`` consecutive frames of a tracklet of ``n`` hold a fed one; 0: covered already. All of
    ``ahead`` (and one more, so never covered) where they do not cover it."""
    k = max(1, min(stride, n))
    windows = n - k + 1  # window i: positions i .. i + k - 1
    marks = bytearray(n)
    for p in seen:
        marks[p] = 1
    count = [0] * windows
    run = sum(marks[:k])
    for i in range(windows):
        count[i] = run
        if i + k < n:
            run += marks[i + k] - marks[i]
    open_ = sum(c == 0 for c in count)
    taken = 0
    for p in ahead:
        if open_ == 0:
            return taken
        taken += 1
        for i in range(max(0, p - k + 1), min(p, windows - 1) + 1):
            open_ -= count[i] == 0
            count[i] += 1
    return taken if open_ == 0 else taken + 1


def cover_stride(st: TrackState) -> int:
    """The coverage's stride for ``st``: SPARSE_STRIDE in a long tracklet while no frame fed has given a
    reading the vote counts, else COVER_STRIDE."""
    if st.n < SPARSE_FROM:
        return COVER_STRIDE
    hint = any(v > 0 for v in weighted_sums(counted(st.readings)).values())
    return COVER_STRIDE if hint else SPARSE_STRIDE


def covered(st: TrackState) -> bool:
    """Whether the frames fed so far cover ``st`` at its stride."""
    return to_cover(st.n, st.order[: st.fed], (), cover_stride(st)) == 0


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
    """Whether ``remaining`` more frames (one reading each, confidence <= 1) could change the vote: R frames
    add at most R x 0.61 to a two-digit number and R x 0.39 to a one-digit one."""
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
    """Whether a one-digit ``number`` is a digit of a two-digit number also read (a side view shows part of
    a two-digit number, so a lead proves nothing yet)."""
    return number < 10 and any(n > 9 and str(number) in str(n) for n in weighted_sums(readings))


def clear_leader(readings: list[tuple[str, float]]) -> bool:
    """The lead rule: a number at SETTLED_SUM or more, SETTLED_LEAD ahead, not part of another reading."""
    top = top_candidates(readings, 2)
    if not top:
        return False
    second = top[1][1] if len(top) > 1 else 0.0
    return (
        top[0][1] >= SETTLED_SUM
        and top[0][1] - second >= SETTLED_LEAD
        and not part_of_another(top[0][0], readings)
    )


def settled_leader(st: TrackState) -> bool:
    """The lead rule on the readings the tracklet's decision rule counts, for a leader it would answer."""
    readings = counted(st.readings)
    return clear_leader(readings) and st.decide() == top_candidates(readings, 1)[0][0]


class Policy:
    """A ``--frames`` mode: ``order(n)`` the positions a tracklet is fed in, ``take`` a round's positions,
    ``done`` after a round, ``settled_open`` for a stream without a known end (a clip's track);
    ``window``: tracklets in flight at once (None: all)."""

    mode: str | int = ""
    window: int | None = WINDOW

    def order(self, n: int) -> list[int]:
        return list(range(n)) if n <= FIRST_ROUND else coarse_order(n)

    def take(self, st: TrackState, size: int) -> list[int]:
        return st.take(size)

    def done(self, st: TrackState) -> bool:
        return st.remaining <= 0

    def settled_open(self, st: TrackState) -> bool:
        return False


@dataclass(frozen=True)
class AllFrames(Policy):
    """``all``: every frame, in frame order, in one round; tracklets stream (no window); a clip's track is
    read to its end."""

    mode = "all"
    window = None

    def order(self, n: int) -> list[int]:
        return list(range(n))

    def take(self, st: TrackState, size: int) -> list[int]:
        return st.take(st.n)


@dataclass(frozen=True)
class Budget(Policy):
    """N: the first ``frames`` frames in coarse order."""

    frames: int = 1

    @property
    def mode(self) -> int:  # type: ignore[override]
        return self.frames

    def order(self, n: int) -> list[int]:
        return list(range(n)) if n <= min(FIRST_ROUND, self.frames) else coarse_order(n)

    def take(self, st: TrackState, size: int) -> list[int]:
        return st.take(min(size, self.frames - st.fed))

    def done(self, st: TrackState) -> bool:
        return st.remaining <= 0 or st.fed >= self.frames

    def settled_open(self, st: TrackState) -> bool:
        return st.funnel.frames >= self.frames


@dataclass(frozen=True)
class Exact(Policy):
    """``exact``: coarse to fine, until no remaining frame can change the answer (or the ball filter
    decides); the answers of ``all``."""

    mode = "exact"

    def done(self, st: TrackState) -> bool:
        if st.remaining <= 0:
            return True
        if st.bad:  # the ball filter indexes decoded frames: no early exit
            return False
        if st.fed >= len(ball_sample(st.n)) and st.is_ball():
            return True  # the ball filter decides, whatever the readings
        return st.decision.early.exact and not can_change(st.readings, st.remaining)


@dataclass(frozen=True)
class Settled(Exact):
    """``settled``: ``exact``, or a clear leader the rule answers, or -1 on a covered tracklet whose rule's
    -1 test passes (a tracklet shorter than the rule's ``read_whole_below`` only at its end). A round stops
    at the coverage, so the -1 test first runs where it can pass."""

    mode = "settled"

    def take(self, st: TrackState, size: int) -> list[int]:
        if st.n >= st.decision.early.read_whole_below:
            size = min(size, to_cover(st.n, st.order[: st.fed], st.order[st.fed :], cover_stride(st)) or size)
        return st.take(size)

    def done(self, st: TrackState) -> bool:
        if super().done(st):
            return True
        if st.remaining <= 0 or st.bad:
            return False
        if settled_leader(st):
            return True
        early = st.decision.early
        if st.n < early.read_whole_below or not covered(st):
            return False
        return early.none_settled(st.readings, st.funnel.unread_text)

    def settled_open(self, st: TrackState) -> bool:
        """A clip's track: only a clear leader stops it (a player may still turn round: -1 never settles)."""
        return settled_leader(st)


POLICIES: dict[str, Policy] = {p.mode: p for p in (AllFrames(), Exact(), Settled())}


def parse_mode(value: str | int) -> str | int:
    """``all``, ``exact``, ``settled`` or a positive frame budget; a one-line JnrError otherwise."""
    if isinstance(value, int) and value > 0:
        return value
    if value in POLICIES:
        return value
    if isinstance(value, str) and value.isdigit() and int(value) > 0:
        return int(value)
    raise JnrError(f"--frames takes {'|'.join(POLICIES)} or a number of frames, got {value!r}")


def policy(value: str | int | Policy) -> Policy:
    """The policy for a ``--frames`` value (or the policy itself)."""
    if isinstance(value, Policy):
        return value
    mode = parse_mode(value)
    return Budget(mode) if isinstance(mode, int) else POLICIES[mode]
