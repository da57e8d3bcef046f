"""One tracklet's state while it runs, its typed funnel, and its result: the vote, the ball filter and the
funnel are computed here and nowhere else."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from jnr.runtime.data import Tracklet
from jnr.runtime.vote import (
    BALL_NUMBER,
    ILLEGIBLE,
    ball_sample,
    is_ball,
    parse_number,
    top_candidates,
    vote,
)

THUMB_HEIGHT = 64


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
    ``skipped``: frames early exit did not feed; ``candidates``: the vote's best (number, weighted sum)."""

    frames: int = 0
    person: int = 0
    torso: int = 0
    legible: int = 0
    read: int = 0
    unread_text: int = 0
    skipped: int = 0
    candidates: list[list] = field(default_factory=list)
    ball: bool = False
    error: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Result:
    tracklet: str
    number: int
    readings: list[tuple[str, float]]
    funnel: Funnel = field(default_factory=Funnel)
    # with ``samples``: small RGB thumbnails, (image, text, confidence) read and (image, score) rejected
    shown: list[tuple[np.ndarray, str, float]] = field(default_factory=list)
    rejected: list[tuple[np.ndarray, float]] = field(default_factory=list)
    sizes: dict[int, tuple[int, int]] = field(default_factory=dict)  # decoded frames: position -> (h, w)


@dataclass
class TrackState:
    """A tracklet in flight: the positions it is fed in (``order``), how many are fed, what came back."""

    tracklet: Tracklet
    order: list[int]
    fed: int = 0
    pending: int = 0  # this round's items still inside the stages
    sealed: bool = False  # this round's frames have all been decoded
    readings: list[tuple[str, float]] = field(default_factory=list)
    sizes: dict[int, tuple[int, int]] = field(default_factory=dict)
    bad: bool = False  # a frame failed to decode: the ball filter then takes the decoded frames
    ball_filter: bool = True  # False: never a ball (people tracked in full frames, whose crops are torsos)
    funnel: Funnel = field(default_factory=Funnel)
    shown: list = field(default_factory=list)
    rejected: list = field(default_factory=list)

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
        self.sealed = False
        return out

    def add_reading(self, reading: tuple[str, float], passed_by_gate: bool) -> None:
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

    def result(self) -> Result:
        ball = self.is_ball()
        self.funnel.ball = ball
        self.funnel.skipped = self.remaining
        self.funnel.candidates = [[k, round(v, 4)] for k, v in top_candidates(self.readings)]
        number = BALL_NUMBER if ball else vote(self.readings)
        return Result(
            self.tracklet.id, number, self.readings, self.funnel, self.shown, self.rejected, self.sizes
        )


def empty_result(tracklet_id: str, error: str = "") -> Result:
    """-1 for a tracklet with no frames (or one that failed: ``error`` says why)."""
    return Result(tracklet_id, ILLEGIBLE, [], Funnel(error=error))
