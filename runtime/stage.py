"""The pieces the pipeline is built of: the runner contract, a stage (a spec and its runner), a stage's queue,
and the run's figures with their timers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Protocol

import numpy as np

from jnr.runtime.specs import StageSpec

# the timing table's rows: decoding frames, each stage's model calls with their pre- and post-processing,
# cutting the torso from pose's keypoints, and the decision
TIMED = ("decode", "pose", "crop", "legibility", "str", "vote")


class Runner(Protocol):
    """One model on one backend: NCHW float32 batch in, first output as a numpy array out."""

    backend: str
    max_batch: int

    def infer(self, x: np.ndarray) -> np.ndarray: ...

    def close(self) -> None: ...


@dataclass
class Stage:
    spec: StageSpec
    runner: Runner | None  # None: a model-less stage (jnr.runtime.kinds: model False) passes every item on

    @property
    def name(self) -> str:
        return self.spec.stage


@dataclass
class Stats:
    """Per-stage seconds (main-thread wall time), counts, and skipped frames."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TIMED, 0.0))
    frames: int = 0
    bad_frames: list[str] = field(default_factory=list)
    tracklets: int = 0
    empty_tracklets: list[str] = field(default_factory=list)
    torso_crops: int = 0
    legible: int = 0
    wall: float = 0.0
    _open: list = field(default_factory=list, repr=False, compare=False)  # timers running, innermost last

    @contextmanager
    def timer(self, name: str) -> Iterator[None]:
        """Add the block's wall time to ``seconds[name]``, less the time of timers nested inside it (the
        torso crop inside the pose step counts as crop alone)."""
        inner = [0.0]
        self._open.append(inner)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            took = time.perf_counter() - t0
            self._open.pop()
            self.seconds[name] = self.seconds.get(name, 0.0) + took - inner[0]
            if self._open:
                self._open[-1][0] += took

    def add(self, part: Stats) -> None:
        """Add another run's figures (a Ray actor's batch): seconds per stage and counts add up, lists join;
        ``wall`` stays this run's own."""
        for f in fields(self):
            if f.name in ("wall", "_open"):
                continue
            mine, theirs = getattr(self, f.name), getattr(part, f.name)
            if isinstance(mine, dict):
                for k, v in theirs.items():
                    mine[k] = mine.get(k, 0.0) + v
            elif isinstance(mine, list):
                mine.extend(theirs)
            else:
                setattr(self, f.name, mine + theirs)

    def __getstate__(self) -> dict:  # pickled between Ray actors: no timers in flight
        return {**self.__dict__, "_open": []}


class StageQueue:
    """Items waiting for one stage; run in batches by ``fn`` (items -> items for the next stage)."""

    def __init__(self, name: str, fn: Callable[[list], list], batch: int) -> None:
        self.name, self.fn, self.batch = name, fn, batch
        self.items: list = []

    def chunks(self, force: bool) -> Iterator[list]:
        while self.items and (force or len(self.items) >= self.batch):
            chunk, self.items = self.items[: self.batch], self.items[self.batch :]
            yield chunk
