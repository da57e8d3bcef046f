"""One tracklet's state while it runs, its typed funnel, and its result: the vote, the ball filter and the
funnel are computed here and nowhere else."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from jnr.runtime.data import Tracklet
from jnr.runtime.decision import DEFAULT_VOTE, DecisionRule, Reading, counted, get_decision_rule
from jnr.runtime.vote import BALL_NUMBER, ILLEGIBLE, ball_sample, is_ball, parse_number, top_candidates

THUMB_HEIGHT = 64
BALL_CONFIDENCE = 0.5  # the ball filter's "1" is a convention: nothing measured says how often it is right


def thumbnail(crop: np.ndarray) -> np.ndarray:
    """A small copy of a crop (THUMB_HEIGHT px tall) for reports."""
    import cv2

    h, w = crop.shape[:2]
    nh = min(h, THUMB_HEIGHT)
    return cv2.resize(crop, (max(1, round(w * nh / h)), nh), interpolation=cv2.INTER_AREA)


@dataclass
class Funnel:
    """How far a tracklet's frames got: frames fed and decoded -> a person found -> a torso crop -> passed by
    the gate (``legible``; a text detector: text boxed) -> read as a jersey number (``read``).
    ``unread_text``: crops the gate passed whose reading is no number (text the recognizer could not read);
    ``skipped``: frames early exit did not feed; ``candidates``: the baseline vote's best (number, weighted
    sum); ``edge``: readings found to be a stroke at the crop's side (jnr.runtime.decision);
    ``vote``: the decision rule; ``confidence``: its probability that the answer is right."""

    frames: int = 0
    person: int = 0
    torso: int = 0
    legible: int = 0
    read: int = 0
    unread_text: int = 0
    skipped: int = 0
    edge: int = 0
    candidates: list[list] = field(default_factory=list)
    ball: bool = False
    vote: str = ""
    confidence: float = 0.0
    error: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Result:
    tracklet: str
    number: int
    readings: list[Reading]
    funnel: Funnel = field(default_factory=Funnel)
    # with ``samples``: small RGB thumbnails, (image, text, confidence) read and (image, score) rejected
    shown: list[tuple[np.ndarray, str, float]] = field(default_factory=list)
    rejected: list[tuple[np.ndarray, float]] = field(default_factory=list)
    sizes: dict[int, tuple[int, int]] = field(default_factory=dict)  # decoded frames: position -> (h, w)

    @property
    def confidence(self) -> float:
        """The decision's probability that ``number`` is right."""
        return self.funnel.confidence


@dataclass
class Round:
    """One round of a tracklet in the pipeline. The invariant: ``over()`` is true exactly once a round, when
    every frame of the round has been decoded (``seal``) and none of the tracklet's items is inside a stage
    (every ``enter`` has had its ``leave``)."""

    inside: int = 0  # items of this round inside the stages
    sealed: bool = False  # the round's frames have all been decoded
    told: bool = False  # over() has said so

    def enter(self, k: int = 1) -> None:
        self.inside += k

    def leave(self, k: int = 1) -> None:
        self.inside -= k

    def seal(self) -> None:
        self.sealed = True

    def over(self) -> bool:
        """Whether the round has just ended (true once)."""
        if self.sealed and self.inside == 0 and not self.told:
            self.told = True
            return True
        return False


@dataclass
class TrackState:
    """A tracklet in flight: the positions it is fed in (``order``), how many are fed, what came back."""

    tracklet: Tracklet
    order: list[int]
    fed: int = 0
    round: Round = field(default_factory=Round)
    readings: list[Reading] = field(default_factory=list)
    sizes: dict[int, tuple[int, int]] = field(default_factory=dict)
    bad: bool = False  # a frame failed to decode: the ball filter then takes the decoded frames
    ball_filter: bool = True  # False: never a ball (people tracked in full frames, whose crops are torsos)
    funnel: Funnel = field(default_factory=Funnel)
    shown: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    decision: DecisionRule = field(default_factory=lambda: get_decision_rule(DEFAULT_VOTE))

    @property
    def n(self) -> int:
        return len(self.tracklet.frames)

    @property
    def remaining(self) -> int:
        return self.n - self.fed

    def take(self, k: int) -> list[int]:
        """The next ``k`` positions to feed (fewer at the end), marked fed; starts a round."""
        out = self.order[self.fed : self.fed + k]
        self.fed += len(out)
        self.round = Round()
        return out

    def add_reading(self, reading: Reading, passed_by_gate: bool) -> None:
        self.readings.append(reading)
        number = parse_number(reading[0]) is not None
        self.funnel.read += number
        self.funnel.unread_text += passed_by_gate and not number

    def ball_sizes(self) -> list[tuple[int, int]]:
        """Sizes for the ball filter: its 10 sample frames when all were decoded, else every decoded frame in
        frame order (a run that fed fewer than the sample, or lost some to bad files)."""
        sample = ball_sample(self.n)
        if all(p in self.sizes for p in sample):
            return [self.sizes[p] for p in sample]
        return [self.sizes[p] for p in sorted(self.sizes)]

    def is_ball(self) -> bool:
        return self.ball_filter and is_ball(self.ball_sizes())

    def decide(self) -> int:
        """The rule's number from the readings so far (the ball filter aside)."""
        return self.decision.number(self.readings, self.funnel.torso)

    def result(self) -> Result:
        ball = self.is_ball()
        f = self.funnel
        f.ball, f.skipped, f.vote = ball, self.remaining, self.decision.name
        f.candidates = [[k, round(v, 4)] for k, v in top_candidates(self.readings)]
        f.edge = len(self.readings) - len(counted(self.readings))
        decision = self.decision.decide(self.readings, f.torso)
        number = BALL_NUMBER if ball else decision.number
        f.confidence = round(decision.confidence, 4) if not ball else BALL_CONFIDENCE
        return Result(
            self.tracklet.id, number, self.readings, self.funnel, self.shown, self.rejected, self.sizes
        )


def empty_result(tracklet_id: str, error: str = "") -> Result:
    """-1 for a tracklet with no frames (or one that failed: ``error`` says why)."""
    return Result(tracklet_id, ILLEGIBLE, [], Funnel(error=error))
