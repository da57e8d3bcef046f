"""Detections read one by one through jnr's batched pipeline, and tracks decided from those readings.

TrackLab hands a detection-level module batches of detections from many tracks and frames; each is read
here as a one-frame tracklet of its own (a full player crop through pose, or a torso crop cut from upstream
keypoints straight to the gate), so a detection's reading is exactly what jnr-run reads on that crop. A
track's decision is jnr's rule over its detections' readings, with the detections that showed a torso as the
frames, which is what jnr-run decides on the track's crops (``--frames all``; no ball filter: people tracked
in full frames are never the ball).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jnr.runtime.data import Tracklet
from jnr.runtime.decision import DEFAULT_VOTE, Decision, DecisionRule, Reading, get_decision_rule
from jnr.runtime.pipeline import Pipeline
from jnr.runtime.reader import RunConfig, open_pipeline
from jnr.runtime.vote import parse_number


@dataclass(frozen=True)
class DetectionReading:
    """What jnr read on one detection: its number (None: none), the recognizer's confidence (0 without a
    number), where the
    crop read sat (jnr.runtime.decision; None: the gate passed nothing), and whether a torso was found."""

    number: int | None
    confidence: float
    where: str | None
    torso: bool

    def reading(self) -> Reading | None:
        """The reading jnr's decision counts, or None where the gate passed nothing."""
        if self.where is None:
            return None
        return Reading("" if self.number is None else str(self.number), self.confidence, self.where)


NOTHING = DetectionReading(None, 0.0, None, False)


class DetectionReader:
    """jnr's pipeline on detections: ``read(crops, torso)`` -> one DetectionReading per crop."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipe = pipeline

    @classmethod
    def open(cls, engines: str | Path, **options) -> DetectionReader:
        """On the engines jnr-export wrote; ``options``: RunConfig's (backend, batch, vote, ...)."""
        pipe, _ = open_pipeline(RunConfig(engines=Path(engines), **options))
        return cls(pipe)

    def read(self, crops: Sequence[np.ndarray | None], torso: Sequence[bool]) -> list[DetectionReading]:
        """``crops``: RGB uint8 crops (None: nothing to read, e.g. keypoints without a torso); ``torso``:
        whether each crop is a torso crop already (else a full player crop, which goes through pose)."""
        states = [None] * len(crops)
        jobs: dict[bool, list] = {True: [], False: []}
        for i, (crop, is_torso) in enumerate(zip(crops, torso, strict=True)):
            if crop is None or min(crop.shape[:2]) < 2:
                continue
            st = self.pipe.state(Tracklet(str(i), ()), [], ball_filter=False)
            states[i] = st
            jobs[bool(is_torso)].append(
                (st, Tracklet(str(i), (Path(f"{i}"),), (np.ascontiguousarray(crop),)))
            )
        for is_torso, todo in jobs.items():
            if todo:
                self.pipe.feed(todo, start="legibility" if is_torso else "pose")
        return [NOTHING if st is None else _reading(st) for st in states]

    def close(self) -> None:
        self.pipe.close()


def _reading(st) -> DetectionReading:
    torso = st.funnel.torso > 0
    if not st.readings:
        return DetectionReading(None, 0.0, None, torso)
    r = st.readings[-1]
    n = parse_number(r.text)
    return DetectionReading(n, float(r.conf) if n is not None else 0.0, r.where, torso)


def decide_track(readings: Iterable[DetectionReading], rule: str | DecisionRule = DEFAULT_VOTE) -> Decision:
    """A track's number (-1: none) and the decision's confidence, from its detections' readings."""
    readings = list(readings)
    counted = [x for x in (r.reading() for r in readings) if x is not None]
    return get_decision_rule(rule).decide(counted, sum(r.torso for r in readings))
