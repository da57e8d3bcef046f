"""The batched pipeline over the stage chain (jnr.runtime.specs.STAGES): decode -> pose -> torso crop -> gate
-> recognizer -> decision, over many tracklets.

Crops from many tracklets share each batch. A frame-feeding policy (jnr.runtime.early) decides which frames
of each tracklet go in, round after round; a tracklet's result is emitted as soon as the policy says it is
done. Frames are decoded ahead in worker threads while the main thread runs the models, and every buffer is
bounded, so memory does not grow with the split.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from functools import partial

import numpy as np

from jnr.runtime import decision as D
from jnr.runtime import early, preprocess
from jnr.runtime.data import Frame, Tracklet, iter_frames
from jnr.runtime.decode import Gated
from jnr.runtime.errors import JnrError
from jnr.runtime.kinds import kind_of, read
from jnr.runtime.lifecycle import Lifecycle
from jnr.runtime.specs import STAGES, StageSpec, start_stage
from jnr.runtime.stage import Stage, StageQueue, Stats
from jnr.runtime.torso import TorsoRule
from jnr.runtime.tracks import Result, TrackState, empty_result, thumbnail

Item = tuple[TrackState, object]
# what the stages before a stage found: counted in the funnel (and the run's figures) for frames entering it
UPSTREAM = {"pose": (), "legibility": ("person", "torso"), "str": ("person", "torso", "legible")}
COUNTED = {"torso": "torso_crops", "legible": "legible"}  # funnel field -> Stats field


class Pipeline(Lifecycle):
    """The chain's stages (one per name in STAGES) with a shared batch size. ``torso``: the rule cutting
    the torso from pose's keypoints; ``decision``: the rule turning readings into an answer
    (jnr.runtime.decision); ``per_image``: the published baseline's way (one image at a time, PIL);
    ``samples``: thumbnails of read crops kept per tracklet for reports (a third as many rejected).
    ``close()`` (or ``with``) releases the runners."""

    def __init__(
        self,
        stages: Sequence[Stage],
        torso: TorsoRule,
        batch: int = 64,
        workers: int = 4,
        per_image: bool = False,
        samples: int = 0,
        decision: str | D.DecisionRule = D.DEFAULT_VOTE,
    ) -> None:
        named = {s.name: s for s in stages}
        if sorted(named) != sorted(STAGES):
            raise JnrError(f"a pipeline needs one stage each of {', '.join(STAGES)}; got {', '.join(named)}")
        self.stages = {n: named[n] for n in STAGES}
        pose = self.stages["pose"].spec
        if torso.pose_spec(pose) != pose:
            raise JnrError(
                f"the {torso.name} torso rule counts the people pose finds, which needs the person boxes "
                f"{pose.name} was exported without: re-export with `jnr-export --rule {torso.name}`"
            )
        self.torso = torso
        self.decision = D.get_decision_rule(decision)
        self.samples, self.workers, self.per_image = samples, workers, per_image
        self.batch = 1 if per_image else batch
        self.prepare = preprocess.prepare_pil if per_image else preprocess.prepare
        self.stats = Stats()
        steps = {"pose": self._pose, "legibility": self._gate, "str": self._read}
        self.queues = [StageQueue(n, steps[n], self.batch) for n in STAGES]

    def _run(self, stage: Stage, images: list[np.ndarray], prepared: list | None = None, spec=None):
        """Preprocess (unless the decode workers already did) with ``spec`` (default the stage's), infer in
        runner-sized chunks."""
        if prepared is None or any(p is None for p in prepared):
            prepared = [self.prepare(spec or stage.spec, im) for im in images]
        xs, places = zip(*prepared, strict=True)
        x = np.stack(xs)
        step = stage.runner.max_batch
        return np.concatenate([stage.runner.infer(x[i : i + step]) for i in range(0, len(x), step)]), places

    def _pose(self, items: list[Item]) -> list[Item]:
        """(state, (frame, preprocessed or None)) -> (state, torso crop)."""
        stage = self.stages["pose"]
        frames = [im for _, (im, _) in items]
        out, places = self._run(stage, frames, [p for _, (_, p) in items])
        people = kind_of(stage.spec).decode(stage.spec, out, places, frames)
        crops = []
        with self.stats.timer("crop"):
            for (st, (im, _)), ppl in zip(items, people, strict=True):
                crop = self.torso.crop(ppl, im)
                st.funnel.person += len(ppl) > 0
                if crop is not None:
                    st.funnel.torso += 1
                    crops.append((st, crop))
        self.stats.torso_crops += len(crops)
        return crops

    def _gate(self, items: list[Item]) -> list[Item]:
        """The gate: what goes on to the recognizer (a text detector's crops cut to their text box)."""
        stage = self.stages["legibility"]
        crops = [im for _, im in items]
        out, places = (None, []) if stage.runner is None else self._run(stage, crops)
        keep = []
        for (st, im), g in zip(
            items, kind_of(stage.spec).decode(stage.spec, out, places, crops), strict=True
        ):
            if g.crop is not None:
                keep.append((st, g))
            if g.crop is not None and g.floor == 0.0:
                st.funnel.legible += 1
            elif len(st.rejected) < self.samples // 3:
                st.rejected.append((thumbnail(im), g.score))
        self.stats.legible += len(keep)
        return keep

    def _read(self, items: list[Item]) -> list[Item]:
        """Readings, added to their tracklets; one under its crop's floor (an unboxed crop's) is none. Where
        the decision rule asks, a counted one-digit reading of a crop with the torso's sides in it is
        checked on the crop's inner part (``where``: INNER where that backs it, EDGE where not)."""
        gated = [g for _, g in items]
        readings = [
            D.Reading(text, conf, g.where) if conf >= g.floor else D.Reading("", 0.0, g.where)
            for g, (text, conf) in zip(gated, self._recognize(gated), strict=True)
        ]
        if self.decision.inner:
            readings = self._check_inner(items, readings)
        for (st, g), reading in zip(items, readings, strict=True):
            st.add_reading(reading, passed_by_gate=g.floor == 0.0)
            if reading.text and reading.where != D.EDGE and len(st.shown) < self.samples:
                st.shown.append((thumbnail(g.crop), reading.text, reading.conf))
        return []

    def _recognize(self, gated: list[Gated]) -> list[tuple[str, float]]:
        """(text, confidence) per gated crop: a box the gate cut at the recognizer's tight width, number
        crops given as such with their confidence over the digits (StageSpec.given), whole torso crops at
        its input size; one model run per spec."""
        stage = self.stages["str"]
        read_as = {D.GIVEN: stage.spec.given(), D.BOXED: stage.spec.tight()}
        specs = [read_as.get(g.where, stage.spec) for g in gated]
        groups: list[StageSpec] = []  # specs hold a dict: grouped by equality
        for spec in specs:
            if spec not in groups:
                groups.append(spec)
        out: list = [None] * len(gated)
        for spec in groups:
            idx = [i for i, s in enumerate(specs) if s == spec]
            raw, _ = self._run(stage, [gated[i].crop for i in idx], spec=spec)
            for i, r in zip(idx, read(spec, raw), strict=True):
                out[i] = r
        return out

    def _check_inner(self, items: list[Item], readings: list[D.Reading]) -> list[D.Reading]:
        """Read the middle INNER_KEEP of a WHOLE crop's width again where its reading is a counted digit
        (jnr.runtime.decision.needs_inner): INNER where that backs the reading, EDGE where not."""
        todo = [i for i, r in enumerate(readings) if D.needs_inner(r)]
        if not todo:
            return readings
        cuts = [(c, round(c.shape[1] * (1 - D.INNER_KEEP) / 2)) for c in (items[i][1].crop for i in todo)]
        inner = [np.ascontiguousarray(c[:, cut : c.shape[1] - cut]) for c, cut in cuts]
        stage = self.stages["str"]
        out, _ = self._run(stage, inner)
        readings = list(readings)
        for i, inner_reading in zip(todo, read(stage.spec, out), strict=True):
            backed = D.inner_agrees(readings[i].text, inner_reading)
            readings[i] = readings[i]._replace(where=D.INNER if backed else D.EDGE)
        return readings

    def run(
        self, tracklets: Iterable[Tracklet], frames: str | int | early.Policy = "all", start: str = "pose"
    ) -> Iterator[Result]:
        """Yield one Result per tracklet, as soon as each is done (not in input order); ``frames``: the
        feeding policy (jnr.runtime.early); ``start``: the stage the frames enter at (specs.STARTS: full
        players at pose, torso crops at the gate, number crops at the recognizer; the ball filter applies
        to full players only)."""
        t_start = time.perf_counter()
        first = start_stage(start)
        policy = early.policy(frames)
        for q in self.queues:  # what an interrupted run left behind
            q.items.clear()
        todo = []
        for t in tracklets:
            if not t.frames:
                self.stats.empty_tracklets.append(t.id)
                self.stats.tracklets += 1
                yield empty_result(t.id)
            todo += [t] if t.frames else []
        window = policy.window or max(1, len(todo))
        for i in range(0, len(todo), window):
            states = [self.state(t, policy.order(len(t.frames)), ball_filter=first == "pose")
                      for t in todo[i : i + window]]  # fmt: skip
            yield from self._rounds(states, policy, first)
        self.stats.wall += time.perf_counter() - t_start

    def state(self, tracklet: Tracklet, order: list[int], ball_filter: bool = True) -> TrackState:
        """A new tracklet in flight, decided by this pipeline's decision rule."""
        return TrackState(tracklet, order, ball_filter=ball_filter, decision=self.decision)

    def _rounds(self, states: list[TrackState], policy: early.Policy, first: str) -> Iterator[Result]:
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
        self.stats.tracklets += 1
        with self.stats.timer("vote"):
            return st.result()

    def feed(self, jobs: list[tuple[TrackState, Tracklet]], start: str = "pose") -> None:
        """Run more frames into states that live on (a clip's tracks, a chunk at a time): each state reads
        the frames of its new tracklet, in order, entering at ``start`` (the gate for torso crops cut from
        a pose tracker's keypoints)."""
        t0 = time.perf_counter()
        for st, t in jobs:
            st.tracklet, st.order, st.fed = t, list(range(len(t.frames))), 0
        for _ in self._stream([(st, st.take(st.n)) for st, _ in jobs], start_stage(start)):
            pass
        self.stats.wall += time.perf_counter() - t0

    def _enter(self, st: TrackState, stage: str, fr: Frame) -> None:
        """A decoded frame into the queue of ``stage``, the funnel counting what the stages before found."""
        for counted in UPSTREAM[stage]:
            setattr(st.funnel, counted, getattr(st.funnel, counted) + 1)
            if counted in COUNTED:
                setattr(self.stats, COUNTED[counted], getattr(self.stats, COUNTED[counted]) + 1)
        if stage == "pose":
            item: object = (fr.image, fr.prepared)
        else:  # a torso crop for the gate; a number crop is what the gate would pass, read as it is
            item = fr.image if stage == "legibility" else Gated(fr.image, 1.0, 0.0, D.GIVEN)
        st.round.enter()
        self.queues[STAGES.index(stage)].items.append((st, item))

    def _stream(self, jobs: list[tuple[TrackState, list[int]]], first: str) -> Iterator[TrackState]:
        """Feed one round (each state's positions) through the stages from ``first``; yield each state once
        its round is over (tracks.Round)."""
        by_id = {st.tracklet.id: (st, pos) for st, pos in jobs}
        # the batched path preprocesses pose inputs in the decode workers, overlapping inference
        pose = self.stages["pose"].spec
        transform = partial(self.prepare, pose) if first == "pose" and not self.per_image else None
        todo = (st.tracklet.subset(pos) for st, pos in jobs if pos)
        frames = iter_frames(
            todo, workers=self.workers, prefetch=max(4 * self.batch, 32), transform=transform
        )
        for st, pos in jobs:
            if not pos:  # nothing to feed: its round is over at once
                yield st
        while True:
            with self.stats.timer("decode"):
                fr = next(frames, None)
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
                self._enter(st, first, fr)
            if fr.last:
                st.round.seal()
                if st.round.over():
                    yield st
            yield from self._flush(force=False)
        yield from self._flush(force=True)

    def _flush(self, force: bool) -> Iterator[TrackState]:
        """Run every queue that has a full batch (all of them, ``force``); yield the states whose round is
        over."""
        for k, q in enumerate(self.queues):
            nxt = self.queues[k + 1] if k + 1 < len(self.queues) else None
            for chunk in q.chunks(force):
                with self.stats.timer(q.name):
                    out = q.fn(chunk)
                for st, _ in out:
                    st.round.enter()
                if nxt is not None:
                    nxt.items.extend(out)
                for st, _ in chunk:
                    st.round.leave()
                for st in {id(st): st for st, _ in chunk}.values():
                    if st.round.over():
                        yield st

    def close(self) -> None:
        """Release every stage's runner (sessions, GPU memory)."""
        for stage in self.stages.values():
            if stage.runner is not None:
                stage.runner.close()
