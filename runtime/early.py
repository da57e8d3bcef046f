"""Frame-feeding policies: which frames of a tracklet go in, in what order, and when it stops (``--frames``).

The pipeline feeds every tracklet in flight in rounds (jnr.runtime.pipeline): round 1 takes up to
FIRST_ROUND frames of each, every later round twice as many, so batches stay full while tracklets stop at
different times. A policy orders a tracklet's frames and says after each of its rounds whether it is done:

- ``all``: every frame, in frame order, in one round.
- ``exact``: coarse to fine (the ball filter's 10 sample frames, then strides n/2, n/4, ...); stops when no
  outcome of the remaining frames can change the vote. The proof below is the baseline rule's
  (``--vote baseline``); a rule it does not hold for (``Rule.exact`` False) runs ``exact`` as ``all``
  (jnr.runtime.reader says so). Each frame gives at most one reading of confidence
  <= 1, so R frames add at most R x 0.61 to any two-digit number and R x 0.39 to any one-digit one; the answer
  is settled when no number (seen or not) can reach the leader's sum (ties go to the smaller number), and, for
  -1, when no number can pass 1.0. Provably the full run's answer.
- ``settled`` (the default): ``exact``; or, on evidence for a number, the leader's weighted sum is at least
  SETTLED_SUM and ahead of the runner-up by SETTLED_LEAD (a one-digit leader that is a digit of a two-digit
  number also read does not count: part of a number is read at side views); or -1 once the frames seen cover
  the tracklet (every ``cover_stride`` consecutive frames hold one seen: in a tracklet of 64 frames or
  more 4 while no frame has given a reading the vote counts, else 2, so a tracklet showing nothing settles
  at a quarter of its frames and one with a number in view somewhere is looked through at every second
  frame) and the rule's own -1 test passes
  (``Rule.none_settled``: for the baseline vote, nothing reached 0.25 and every crop the gate passed was
  read; for the evidence rule, no sure reading of any number where it sat in the torso); a tracklet
  shorter than its rule's ``read_whole_below`` settles -1 only at its end. A round stops at the coverage
  (``Policy.take``), so the -1 test first runs where it can pass, not a doubled round later. "Nothing read
  yet" is never evidence of -1 on its own; a weak leader (under SETTLED_SUM) runs on until ``exact`` or the
  last frame. Measured against the full run in docs/defaults.md. Each test reads the readings the
  tracklet's rule counts (a stroke at a crop's side does not), and a leader stops a tracklet only where the
  rule would answer it.
- an integer N: the first N frames in coarse order.

A tracklet that fits whole in its first round goes in frame order: that is a full run. The ball filter
decides as soon as its 10 sample frames are in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from jnr.runtime.decision import counted
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

MODES = ("all", "exact", "settled")
FIRST_ROUND = 16  # frames per tracklet in the first round; each later round doubles it
SETTLED_SUM = 2.0  # twice the vote's 1.0
SETTLED_LEAD = 1.0
COVER_STRIDE = 2  # frames seen cover the tracklet when every COVER_STRIDE consecutive frames hold one
SPARSE_STRIDE = 4  # ... and every SPARSE_STRIDE while no frame has given a reading the vote counts,
SPARSE_FROM = 64  # in tracklets of at least this many frames (a short one has few frames to spare)
WINDOW = 64  # tracklets in flight: round 1 alone is 64 x 16 frames, enough to keep batches of 64 full


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
    """The coverage's stride for ``st``: SPARSE_STRIDE while no frame fed has given a reading the vote counts
    (a number at >= 0.2 confidence, located in the torso), COVER_STRIDE once one has: a number in view
    somewhere is looked for among every second frame, a tracklet that shows none in every fourth settles
    there. Tracklets under SPARSE_FROM frames are covered at every second (under ``--vote baseline``, which
    settles short tracklets too, every fourth of 20-50 frames lost a "53" and an "11" of 300)."""
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
    """The lead rule on the readings the tracklet's rule counts (a stroke at a crop's side does not), for a
    leader that rule would answer."""
    readings = counted(st.readings)
    return clear_leader(readings) and st.decide() == top_candidates(readings, 1)[0][0]


@dataclass(frozen=True)
class Policy:
    """``mode``: all, exact, settled, or a frame budget (int)."""

    mode: str | int = "settled"

    @property
    def window(self) -> int | None:
        """Tracklets in flight at once (None: all of them; ``all`` streams, needing no rounds)."""
        return None if self.mode == "all" else WINDOW

    def order(self, n: int) -> list[int]:
        """Feeding order: frame order where the whole tracklet goes in its first round, else coarse."""
        first = FIRST_ROUND if not isinstance(self.mode, int) else min(FIRST_ROUND, self.mode)
        if self.mode == "all" or n <= first:
            return list(range(n))
        return coarse_order(n)

    def take(self, st: TrackState, size: int) -> list[int]:
        """This round's positions of ``st``: ``size`` (a budget's remainder at most; ``all``: every frame;
        ``settled``: up to the coverage first, where its -1 test can pass)."""
        if self.mode == "all":
            return st.take(st.n)
        if isinstance(self.mode, int):
            return st.take(min(size, self.mode - st.fed))
        if self.mode == "settled" and st.n >= st.rule.read_whole_below:
            size = min(size, to_cover(st.n, st.order[: st.fed], st.order[st.fed :], cover_stride(st)) or size)
        return st.take(size)

    def done(self, st: TrackState) -> bool:
        """After a round of ``st``: is it finished?"""
        if st.remaining <= 0:
            return True
        if isinstance(self.mode, int):
            return st.fed >= self.mode
        if st.bad:  # the ball filter indexes decoded frames: no early exit
            return False
        if st.fed >= len(ball_sample(st.n)) and st.is_ball():
            return True  # the ball filter decides, whatever the readings
        if st.rule.exact and not can_change(st.readings, st.remaining):
            return True
        if self.mode == "exact":
            return False
        if settled_leader(st):
            return True
        if st.n < st.rule.read_whole_below or not covered(st):
            return False
        return st.rule.none_settled(st.readings, st.funnel.unread_text)

    def settled_open(self, st: TrackState) -> bool:
        """For a stream without a known end (a clip's track): only evidence for a number stops it (the lead
        rule, on a number the track's rule answers); -1 never settles, since a player may still turn round;
        a budget stops after its frames; ``all`` and ``exact`` read every crop."""
        if isinstance(self.mode, int):
            return st.funnel.frames >= self.mode
        return self.mode == "settled" and settled_leader(st)


def parse_mode(value: str | int) -> str | int:
    """``all``, ``exact``, ``settled`` or a positive frame budget."""
    if isinstance(value, int) and value > 0:
        return value
    if value in MODES:
        return value
    if isinstance(value, str) and value.isdigit() and int(value) > 0:
        return int(value)
    raise ValueError(f"--frames takes {'|'.join(MODES)} or a number of frames, got {value!r}")


def policy(value: str | int | Policy) -> Policy:
    return value if isinstance(value, Policy) else Policy(parse_mode(value))
