"""The decision: a tracklet's readings -> its number (or -1) and a probability that the answer is right.

One table of rules (``DECISION_RULES``), chosen with ``--vote`` / ``RunConfig(vote=...)`` wherever a pipeline
runs:

- ``baseline``: the published vote exactly (jnr.runtime.vote: sums of confidences >= 0.2, weighted 0.61 /
  0.39, the best strictly above 1.0). Early exit's ``exact`` proof is built for it.
- ``evidence`` (the default): the same readings, weighed by where they sit and how much of the tracklet says
  the same. A one-digit reading of a crop the recognizer saw with the torso's sides in it (the detector boxed
  nothing, or boxed nearly the whole torso) is checked by reading the middle of the crop again: where that
  shares none of its digits, the stroke was at the crop's side (an arm, a shirt's edge, pitch: ``EDGE``). The
  leader is the baseline's (weighted sums, ties to the smaller number) over the located readings; it is the
  answer when it has enough sure, located readings for the frames that showed a torso (``SURE_NEEDED`` on a
  short tracklet, a share of the frames on a long one) and most of its readings are located
  (``EvidenceRule``'s fields). A few sure readings count (one clear frame of an "8" on a 2-frame tracklet is
  an 8); many weak ones, sure ones from a small share of a long tracklet, or ones mostly at the side, do not.

``confidence`` is the probability that the answer (-1 included) is right: a logistic function of the
evidence, fitted on the synthetic drawings (docs/defaults.md says how, and its reliability on a drawing it
was not fitted on).

Thresholds: chosen on the flat drawing's and the shaded drawing's short and long splits and on a part of the
real SoccerNet development crops, each checked on the others (docs/defaults.md "The decision").
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

from jnr.runtime.errors import lookup
from jnr.runtime.vote import (
    ILLEGIBLE,
    MIN_FRAME_CONFIDENCE,
    parse_number,
    top_candidates,
    vote,
    weighted_sums,
)

# Where a reading's crop sat in the torso (what the gate knew of it):
BOXED = "box"  # the detector boxed text well inside the torso: the crop read is that box
WHOLE = "whole"  # the recognizer saw the torso's sides (no box, or a box nearly as wide as the torso)
INNER = "inner"  # WHOLE, and the inner part read again still gave one of the reading's digits
EDGE = "edge"  # WHOLE, and the inner part read again gave none of them: a stroke at the side
GIVEN = "given"  # a crop the user gave as a number crop (--start str): no geometry to check

INNER_KEEP = 0.6  # the inner re-read keeps the middle 60% of the width (issue 26's probe)
WIDE_BOX = 0.8  # a detector box at least this share of the torso's width does not locate the number


class Reading(NamedTuple):
    """One crop's reading: digits, the recognizer's confidence, and where the crop sat (above)."""

    text: str
    conf: float
    where: str = GIVEN


@dataclass(frozen=True)
class Decision:
    number: int
    confidence: float  # probability that ``number`` is right, -1 included


def _where(r: Sequence) -> str:
    return r[2] if len(r) > 2 else GIVEN


def counted(readings: Iterable[Sequence]) -> list[tuple[str, float]]:
    """The readings located in the torso (not struck out as a stroke at the crop's side)."""
    return [(r[0], r[1]) for r in readings if _where(r) != EDGE]


def needs_inner(reading: Reading) -> bool:
    """Whether a reading is checked on its crop's inner part: a counted one-digit reading of a WHOLE crop. A
    stroke at the side reads as one character; a two-digit number fills the torso's width, and cutting
    its sides cuts its digits (checking every reading struck 31 of 265 right readings of the shaded short
    split, all six of a numbered tracklet's "20" among them)."""
    n = parse_number(reading.text)
    return reading.where == WHOLE and reading.conf >= MIN_FRAME_CONFIDENCE and n is not None and n < 10


def inner_agrees(reading: str, inner: tuple[str, float]) -> bool:
    """Whether the inner part's reading backs ``reading``: it shares a digit with it, at a confidence the vote
    counts; a stroke at the crop's side leaves a plain shirt."""
    text, conf = inner
    return bool(set(text) & set(reading)) and conf >= MIN_FRAME_CONFIDENCE


@dataclass(frozen=True)
class Evidence:
    """What a tracklet's readings say of its leading number, as the rules and the calibration use it."""

    leader: int  # -1: no valid reading
    total: float  # the leader's summed confidence (readings >= 0.2)
    sure: int  # the leader's located readings (not EDGE) at >= SURE
    located: float  # the share of the leader's readings that are located (not EDGE)
    runner_up: float  # the next number's summed confidence
    frames: int  # frames whose torso reached the gate
    share: float  # sure / frames


SURE = 0.7  # a reading the recognizer is sure of


def evidence(readings: Iterable[Sequence], frames: int, sure_at: float = SURE) -> Evidence:
    """The leader by the baseline's weighted sums (readings >= 0.2, digit-count priors) over the readings
    located in the torso (over all of them where none is), and what backs it; a reading at ``sure_at`` or
    more is a sure one. A number seen clearly thus leads a "1" read often at the crop's side."""
    readings = list(readings)
    sums: dict[int, float] = {}
    sure: dict[int, int] = {}
    seen: dict[int, list[int]] = {}  # readings, located readings
    for r in readings:
        n = parse_number(r[0])
        if n is None or r[1] < MIN_FRAME_CONFIDENCE:
            continue
        here = _where(r) != EDGE
        sums[n] = sums.get(n, 0.0) + r[1]
        sure[n] = sure.get(n, 0) + (r[1] >= sure_at and here)
        k = seen.setdefault(n, [0, 0])
        k[0], k[1] = k[0] + 1, k[1] + here
    f = max(frames, 1)
    if not sums:
        return Evidence(ILLEGIBLE, 0.0, 0, 0.0, 0.0, f, 0.0)
    weighted = {n: v for n, v in weighted_sums(counted(readings)).items() if n in sums and v > 0}
    weighted = weighted or {n: v for n, v in weighted_sums(readings).items() if n in sums}
    order = sorted(weighted, key=lambda n: (-weighted[n], n))
    lead = order[0]
    second = max((v for n, v in sums.items() if n != lead), default=0.0)
    located = seen[lead][1] / seen[lead][0]
    return Evidence(lead, sums[lead], sure[lead], located, second, f, sure[lead] / f)


SETTLED_NOTHING = 0.25  # the baseline's early -1: no number's weighted sum above this


def nothing_above(floor: float, readings: Sequence[Sequence], unread: int) -> bool:
    """-1 is settled where no number's weighted sum (over the readings counted) is above ``floor`` and no
    crop the gate passed went unread (text the recognizer read as no number: a reason to look further)."""
    top = top_candidates(counted(readings), 1)
    return (top[0][1] if top else 0.0) <= floor and unread == 0


def no_sure_reading(sure: float, readings: Sequence[Sequence], unread: int) -> bool:
    """-1 is settled where no number has a reading at ``sure`` located in the torso: weak readings and
    unread text (names, sponsors, stripes) do not keep a numberless tracklet going (docs/defaults.md)."""
    return not any(r[1] >= sure and _where(r) != EDGE and parse_number(r[0]) is not None for r in readings)


@dataclass(frozen=True)
class EarlyExit:
    """What early exit (jnr.runtime.early) may do with a rule's tracklets: ``exact``: its proof that no
    remaining frame can change the answer holds for the rule; ``read_whole_below``: a tracklet shorter than
    this settles -1 only after its last frame; ``none_settled(readings, unread)``: the -1 test on a tracklet
    whose frames seen cover it."""

    exact: bool
    read_whole_below: int
    none_settled: Callable[[Sequence[Sequence], int], bool]


class DecisionRule(ABC):
    """A decision rule: ``number(readings, frames)`` and ``decide``; ``inner``: the pipeline re-reads WHOLE
    crops' inner part for it; ``early``: its early-exit settings."""

    name = ""
    inner = False
    early = EarlyExit(False, 0, partial(nothing_above, SETTLED_NOTHING))

    def evidence(self, readings: Sequence[Sequence], frames: int) -> Evidence:
        return evidence(readings, frames)

    @abstractmethod
    def number(self, readings: Sequence[Sequence], frames: int) -> int:
        """The tracklet's number from its readings ((text, conf[, where]) each) and the frames whose torso
        reached the gate; -1: none."""

    def decide(self, readings: Sequence[Sequence], frames: int) -> Decision:
        n = self.number(readings, frames)
        return Decision(n, confidence(self.evidence(readings, frames), n))


class Baseline(DecisionRule):
    """The published vote, exactly (every reading counts, wherever it sat)."""

    name = "baseline"
    early = EarlyExit(True, 0, partial(nothing_above, SETTLED_NOTHING))

    def number(self, readings: Sequence[Sequence], frames: int) -> int:
        return vote(readings)


SURE_NEEDED = 1  # sure, located readings of the leader a tracklet needs at least


@dataclass(frozen=True)
class EvidenceRule(DecisionRule):
    """The baseline's leader; it wins with enough sure, located readings for the tracklet's length, and
    when most of its readings sit inside the torso. Fields: a sure reading's confidence; the share of the
    frames that showed a torso that must be sure readings of the leader (at least SURE_NEEDED); the
    leader's least summed confidence; the least share of its readings located in the torso."""

    sure: float = SURE
    share: float = 0.01
    total: float = 0.8
    located: float = 0.7
    name: str = "evidence"
    inner = True

    @property
    def early(self) -> EarlyExit:
        """No exact proof; tracklets under 64 frames read to their end (one sure reading decides, and the
        frames not seen may hold it); -1 settles where no sure, located reading was seen."""
        return EarlyExit(False, 64, partial(no_sure_reading, self.sure))

    def evidence(self, readings: Sequence[Sequence], frames: int) -> Evidence:
        return evidence(readings, frames, self.sure)

    def need(self, frames: float) -> int:
        """Sure, located readings the leader needs on a tracklet whose torso reached the gate ``frames``
        times."""
        return max(SURE_NEEDED, math.ceil(self.share * frames))

    def number(self, readings: Sequence[Sequence], frames: int) -> int:
        ev = self.evidence(readings, frames)
        if ev.leader == ILLEGIBLE:
            return ILLEGIBLE
        ok = ev.total >= self.total and ev.sure >= self.need(ev.frames) and ev.located >= self.located
        return ev.leader if ok else ILLEGIBLE


# Calibration: P(right) = sigmoid(w . features), one weight vector for numbers and one for -1 answers;
# fitted by benchmarks/decision.py (docs/defaults.md "The decision": which splits, and the reliability).
NUMBER_WEIGHTS = (-0.13, 0.72, 1.254, 0.468)  # bias, log(1 + sure), share, margin
NONE_WEIGHTS = (1.444, -0.007, -0.971, 0.0)  # bias, the leader's total, log(1 + sure), 0


def features(ev: Evidence, number: int) -> tuple[float, ...]:
    """The evidence the calibration reads: for a number, how sure and how large a share, and its margin;
    for -1, how much a number had."""
    if number != ILLEGIBLE:
        margin = (ev.total - ev.runner_up) / max(ev.total, 1e-6) if ev.leader == number else 0.0
        return (1.0, math.log1p(ev.sure), min(ev.share, 1.0), margin)
    return (1.0, min(ev.total, 10.0), math.log1p(ev.sure), 0.0)


def confidence(ev: Evidence, number: int) -> float:
    """The calibrated probability that ``number`` is this tracklet's right answer."""
    w = NUMBER_WEIGHTS if number != ILLEGIBLE else NONE_WEIGHTS
    z = sum(a * b for a, b in zip(w, features(ev, number), strict=True))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


DECISION_RULES: dict[str, DecisionRule] = {r.name: r for r in (Baseline(), EvidenceRule())}
DEFAULT_VOTE = "evidence"


def get_decision_rule(name: str | DecisionRule) -> DecisionRule:
    """A rule itself, or the registered one of that name (``--vote``); a one-line JnrError otherwise."""
    return name if isinstance(name, DecisionRule) else lookup(DECISION_RULES, name, "--vote")


__all__ = ["DECISION_RULES", "Decision", "DecisionRule", "EarlyExit", "Evidence", "Reading", "evidence",
           "get_decision_rule"]  # fmt: skip
