"""The batched pipeline: decode -> pose -> torso crop -> gate (legibility) -> STR -> vote, over many
tracklets.

Crops from many tracklets share each batch. A frame-feeding policy (jnr.runtime.early) decides which frames
of each tracklet go in, round after round; a tracklet's result is emitted as soon as the policy says it is
done. Frames are decoded ahead in worker threads while the main thread runs the models, and every buffer is
bounded, so memory does not grow with the split.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from functools import partial
from typing import Protocol

import numpy as np

from jnr.runtime import decode as dec
from jnr.runtime import early, preprocess
from jnr.runtime.data import Tracklet, iter_frames
from jnr.runtime.decision import (
    BOXED,
    DEFAULT_VOTE,
    EDGE,
    GIVEN,
    INNER,
    INNER_KEEP,
    Reading,
    Rule,
    get_rule,
    inner_agrees,
    needs_inner,
)
from jnr.runtime.errors import JnrError
from jnr.runtime.lifecycle import Lifecycle
from jnr.runtime.specs import StageSpec
from jnr.runtime.torso import TorsoRule
from jnr.runtime.tracks import Result, TrackState, empty_result, thumbnail

TIMED = ("decode", "pose", "crop", "legibility", "str", "vote")
STARTS = ("pose", "gate", "str")  # where frames enter: full players, torso crops, number crops


class Runner(Protocol):
    """One model on one backend: NCHW float32 batch in, first output as a numpy array out."""

    backend: str
    max_batch: int

    def infer(self, x: np.ndarray) -> np.ndarray: ...

    def close(self) -> None: ...


@dataclass
class Stage:
    spec: StageSpec
    runner: Runner | None  # None: a model-less stage (spec decode "none") that passes every item on


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

    def add(self, part: Stats) -> None:
        """Add another run's figures (a Ray actor's batch): seconds per stage and counts add up, lists join;
        ``wall`` stays this run's own."""
        for f in fields(self):
            if f.name == "wall":
                continue
            mine, theirs = getattr(self, f.name), getattr(part, f.name)
            if isinstance(mine, dict):
                for k, v in theirs.items():
                    mine[k] = mine.get(k, 0.0) + v
            elif isinstance(mine, list):
                mine.extend(theirs)
            else:
                setattr(self, f.name, mine + theirs)


Item = tuple[TrackState, object]


class StageQueue:
    """Items waiting for one stage; run in batches by ``fn`` (items -> items for the next stage)."""

    def __init__(self, name: str, fn: Callable[[list[Item]], list[Item]], batch: int) -> None:
        self.name, self.fn, self.batch = name, fn, batch
        self.items: list[Item] = []

    def chunks(self, force: bool) -> Iterator[list[Item]]:
        while self.items and (force or len(self.items) >= self.batch):
            chunk, self.items = self.items[: self.batch], self.items[self.batch :]
            yield chunk


class Pipeline(Lifecycle):
    """Runs the three stages with a shared batch size; ``per_image`` makes the baseline's PIL path.
    ``close()`` (or ``with``) releases the runners."""

    def __init__(
        self,
        pose: Stage,
        legibility: Stage,
        str_: Stage,
        rule: TorsoRule,
        batch: int = 64,
        workers: int = 4,
        per_image: bool = False,
        samples: int = 0,
        decision: str | Rule = DEFAULT_VOTE,
    ) -> None:
        """``samples``: keep up to this many thumbnails of read crops per tracklet (and a third as many
        rejected by the gate) in each Result, for reports; 0 keeps none. ``decision``: the rule that turns
        readings into an answer (jnr.runtime.decision.RULES)."""
        if rule.pose_spec(pose.spec) != pose.spec:
            raise JnrError(
                f"the {rule.name} torso rule counts the people pose finds, which needs the person boxes "
                f"{pose.spec.name} was exported without: re-export with `jnr-export --rule {rule.name}`"
            )
        self.pose, self.leg, self.str = pose, legibility, str_
        self.samples = samples
        self.decision = get_rule(decision)
        self.rule = rule
        self.batch = 1 if per_image else batch
        self.workers = workers
        self.prepare = preprocess.prepare_pil if per_image else preprocess.prepare
        self.stats = Stats()
        self.queues = [
            StageQueue("pose", self._pose, self.batch),
            StageQueue("legibility", self._legibility, self.batch),
            StageQueue("str", self._str, self.batch),
        ]

    def _run(self, stage: Stage, images: list[np.ndarray], prepared: list | None = None, spec=None):
        """Preprocess (unless the decode workers already did) with ``spec`` (default the stage's), infer in
        runner-sized chunks."""
        if prepared is None or any(p is None for p in prepared):
            prepared = [self.prepare(spec or stage.spec, im) for im in images]
        xs, places = zip(*prepared, strict=True)
        x = np.stack(xs)
        outs = [
            stage.runner.infer(x[i : i + stage.runner.max_batch])
            for i in range(0, len(x), stage.runner.max_batch)
        ]
        return np.concatenate(outs), places

    def _pose(self, items: list[Item]) -> list[Item]:
        """(state, (frame, preprocessed or None)) -> (state, torso crop)."""
        out, places = self._run(self.pose, [im for _, (im, _) in items], [p for _, (_, p) in items])
        people = [dec.yolo_pose(self.pose.spec, o, p) for o, p in zip(out, places, strict=True)]
        crops = []
        t = time.perf_counter()
        for (st, (im, _)), ppl in zip(items, people, strict=True):
            crop = self.rule.crop(ppl, im)
            st.funnel.person += len(ppl) > 0
            if crop is not None:
                st.funnel.torso += 1
                crops.append((st, crop))
        self.stats.seconds["crop"] += time.perf_counter() - t
        self.stats.torso_crops += len(crops)
        return crops

    def _legibility(self, items: list[Item]) -> list[Item]:
        """The gate: what goes on to the recognizer (a text detector's crops cut to their text box)."""
        crops = [im for _, im in items]
        out, places = (None, []) if self.leg.runner is None else self._run(self.leg, crops)
        keep = []
        for (st, im), g in zip(items, dec.gate(self.leg.spec, out, places, crops), strict=True):
            if g.crop is not None:
                keep.append((st, g))
            if g.crop is not None and g.floor == 0.0:
                st.funnel.legible += 1
            elif len(st.rejected) < self.samples // 3:
                st.rejected.append((thumbnail(im), g.score))
        self.stats.legible += len(keep)
        return keep

    def _str(self, items: list[Item]) -> list[Item]:
        """Readings, added to their tracklets; one under its crop's floor (an unboxed crop's) is none. Where
        the rule asks, a counted one-digit reading of a crop with the torso's sides in it is checked on the
        crop's inner part (``where``: INNER where that backs it, EDGE where not)."""
        readings = [
            Reading(text, conf, g.where) if conf >= g.floor else Reading("", 0.0, g.where)
            for (_, g), (text, conf) in zip(items, self._read([g for _, g in items]), strict=True)
        ]
        if self.decision.inner:
            readings = self._check_inner(items, readings)
        for (st, g), reading in zip(items, readings, strict=True):
            st.add_reading(reading, passed_by_gate=g.floor == 0.0)
            if reading.text and reading.where != EDGE and len(st.shown) < self.samples:
                st.shown.append((thumbnail(g.crop), reading.text, reading.conf))
        return []

    def _read(self, gated: list) -> list[tuple[str, float]]:
        """(text, confidence) per gated crop: tight number crops (a box the gate cut) at the recognizer's
        ``tight_width`` where it has one, number crops given as such (``--start str``) the same way with
        their confidence over the digits (StageSpec.given), whole torso crops at its input size."""
        spec = self.str.spec
        read_as = {GIVEN: spec.given(), BOXED: spec.tight()}
        groups: list[tuple[StageSpec, list[int]]] = []  # one run per spec (no tight width: one in all)
        for i, g in enumerate(gated):
            s = read_as.get(g.where, spec)
            idx = next((idx for t, idx in groups if t == s), None)
            if idx is None:
                groups.append((s, idx := []))
            idx.append(i)
        out: list = [None] * len(gated)
        for s, idx in groups:
            raw, _ = self._run(self.str, [gated[i].crop for i in idx], spec=s)
            for i, r in zip(idx, dec.reading(s, raw), strict=True):
                out[i] = r
        return out

    def _check_inner(self, items: list[Item], readings: list[Reading]) -> list[Reading]:
        """Read the middle INNER_KEEP of a WHOLE crop's width again where its reading is a counted digit
        (jnr.runtime.decision.needs_inner): INNER where that backs the reading (inner_agrees), EDGE where
        not."""
        todo = [i for i, r in enumerate(readings) if needs_inner(r)]
        if not todo:
            return readings
        inner = []
        for i in todo:
            c = items[i][1].crop
            cut = round(c.shape[1] * (1 - INNER_KEEP) / 2)
            inner.append(np.ascontiguousarray(c[:, cut : c.shape[1] - cut]))
        out, _ = self._run(self.str, inner)
        readings = list(readings)
        for i, inner_reading in zip(todo, dec.reading(self.str.spec, out), strict=True):
            backed = inner_agrees(readings[i].text, inner_reading)
            readings[i] = readings[i]._replace(where=INNER if backed else EDGE)
        return readings

    def run(
        self, tracklets: Iterable[Tracklet], frames: str | int | early.Policy = "all", start: str = "pose"
    ) -> Iterator[Result]:
        """Yield one Result per tracklet, as soon as each is done (not in input order); ``frames``: the
        feeding policy (jnr.runtime.early: all, exact, settled or a frame budget); ``start``: what the
        frames are (STARTS: full players, torso crops, or number crops, which go to the recognizer alone;
        the ball filter then does not apply)."""
        t_start = time.perf_counter()
        first = STARTS.index(start)
        policy = early.policy(frames)
        for q in self.queues:  # what an interrupted run left behind
            q.items.clear()
        todo = []
        for t in tracklets:
            if t.frames:
                todo.append(t)
                continue
            self.stats.empty_tracklets.append(t.id)
            self.stats.tracklets += 1
            yield empty_result(t.id)
        window = policy.window or max(1, len(todo))
        for i in range(0, len(todo), window):
            states = [self.state(t, policy.order(len(t.frames)), ball_filter=first == 0)
                      for t in todo[i : i + window]]  # fmt: skip
            yield from self._rounds(states, policy, first)
        self.stats.wall += time.perf_counter() - t_start

    def state(self, tracklet: Tracklet, order: list[int], ball_filter: bool = True) -> TrackState:
        """A new tracklet in flight, decided by this pipeline's rule."""
        return TrackState(tracklet, order, ball_filter=ball_filter, rule=self.decision)

    def _rounds(self, states: list[TrackState], policy: early.Policy, first: int) -> Iterator[Result]:
        size = early.FIRST_ROUND
        while states:
            jobs = [(st, policy.take(st, size)) for st in states]
            states = []
            for st in self._stream(jobs, first):
                if policy.done(st):
                    yield self._finish(st)
                else:
                    states.append(st)
            size *= 2

    def _finish(self, st: TrackState) -> Result:
        t0 = time.perf_counter()
        result = st.result()
        self.stats.seconds["vote"] += time.perf_counter() - t0
        self.stats.tracklets += 1
        return result

    def feed(self, jobs: list[tuple[TrackState, Tracklet]], torso: bool = False) -> None:
        """Run more frames into states that live on (a clip's tracks, a chunk at a time): each state reads
        the frames of its new tracklet, in order; ``torso``: they are torso crops already (cut from a pose
        tracker's keypoints), so they skip the pose stage."""
        start = time.perf_counter()
        for st, t in jobs:
            st.tracklet, st.order, st.fed = t, list(range(len(t.frames))), 0
        for _ in self._stream([(st, st.take(st.n)) for st, _ in jobs], first=1 if torso else 0):
            pass
        self.stats.wall += time.perf_counter() - start

    def _stream(self, jobs: list[tuple[TrackState, list[int]]], first: int = 0) -> Iterator[TrackState]:
        """Feed one round (each state's positions) through the stages from stage ``first`` (1: the frames
        are torso crops, 2: number crops); yield each state once its round's items have all left them."""
        by_id = {st.tracklet.id: (st, pos) for st, pos in jobs}
        # the batched path preprocesses pose inputs in the decode workers, overlapping inference
        transform = None if self.batch == 1 or first else partial(self.prepare, self.pose.spec)
        frames = iter_frames(
            (st.tracklet.subset(pos) for st, pos in jobs if pos),
            workers=self.workers,
            prefetch=max(4 * self.batch, 32),
            transform=transform,
        )
        for st, pos in jobs:
            if not pos:  # nothing left to feed: its round is over at once
                yield st
        while True:
            t0 = time.perf_counter()
            fr = next(frames, None)
            self.stats.seconds["decode"] += time.perf_counter() - t0
            if fr is None:
                break
            st, pos = by_id[fr.tracklet]
            if fr.image is None:
                self.stats.bad_frames.append(str(fr.path))
                st.bad = True
            else:
                self.stats.frames += 1
                st.funnel.frames += 1
                st.sizes[pos[fr.index]] = fr.image.shape[:2]
                st.pending += 1
                if first:  # a torso or number crop: the person and the torso were found upstream
                    st.funnel.person += 1
                    st.funnel.torso += 1
                    self.stats.torso_crops += 1
                    if first == 1:
                        self.queues[1].items.append((st, fr.image))
                    else:  # a number crop: what the gate would pass, read as it is
                        st.funnel.legible += 1
                        self.stats.legible += 1
                        self.queues[2].items.append((st, dec.Gated(fr.image, 1.0, 0.0, GIVEN)))
                else:
                    self.queues[0].items.append((st, (fr.image, fr.prepared)))
            if fr.last:
                st.sealed = st.pending > 0  # else its round is over now
                if not st.sealed:
                    yield st
            yield from self._flush(force=False)
        yield from self._flush(force=True)

    def _flush(self, force: bool) -> Iterator[TrackState]:
        """Run every queue that has a full batch (all of them, ``force``); yield the states whose round is
        over."""
        for k, q in enumerate(self.queues):
            nxt = self.queues[k + 1] if k + 1 < len(self.queues) else None
            for chunk in q.chunks(force):
                t0 = time.perf_counter()
                out = q.fn(chunk)
                self.stats.seconds[q.name] += time.perf_counter() - t0
                for st, _ in out:
                    st.pending += 1
                if nxt is not None:
                    nxt.items.extend(out)
                for st, _ in chunk:
                    st.pending -= 1
                for st in {id(st): st for st, _ in chunk}.values():
                    if st.sealed and st.pending == 0:
                        st.sealed = False  # yielded once per round
                        yield st

    def close(self) -> None:
        """Release every stage's runner (sessions, GPU memory)."""
        for stage in (self.pose, self.leg, self.str):
            if stage.runner is not None:
                stage.runner.close()
