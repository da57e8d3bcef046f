"""The batched pipeline: decode -> pose -> torso crop -> legibility -> STR -> vote, over many tracklets.

Crops from many tracklets share each batch; a tracklet's vote is emitted as soon as its last item
leaves the last stage. Frames are decoded ahead in worker threads while the main thread runs the
models, and every buffer is bounded, so memory does not grow with the split.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from functools import partial
from typing import Protocol

import numpy as np

from jnr.runtime import decode as dec
from jnr.runtime import preprocess
from jnr.runtime.data import Frame, Tracklet, iter_frames
from jnr.runtime.specs import StageSpec
from jnr.runtime.torso import TorsoRule
from jnr.runtime.vote import BALL_NUMBER, ILLEGIBLE, is_ball, parse_number, top_candidates, vote

TIMED = ("decode", "pose", "crop", "legibility", "str", "vote")


class Runner(Protocol):
    """One model on one backend: NCHW float32 batch in, first output as a numpy array out."""

    backend: str
    max_batch: int

    def infer(self, x: np.ndarray) -> np.ndarray: ...


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


@dataclass
class Result:
    tracklet: str
    number: int
    readings: list[tuple[str, float]]
    funnel: dict = field(default_factory=dict)  # frames -> person -> torso -> legible -> read, candidates
    # with ``samples``: small RGB thumbnails, (image, text, confidence) read and (image, probability) rejected
    shown: list[tuple[np.ndarray, str, float]] = field(default_factory=list)
    rejected: list[tuple[np.ndarray, float]] = field(default_factory=list)
    sizes: dict[int, tuple[int, int]] = field(default_factory=dict)  # decoded frames: position -> (h, w)


@dataclass
class _Track:
    sizes: list[tuple[int, int]] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    readings: list[tuple[str, float]] = field(default_factory=list)
    pending: int = 0
    sealed: bool = False
    person: int = 0  # frames where pose found someone
    torso: int = 0
    legible: int = 0
    shown: list = field(default_factory=list)
    rejected: list = field(default_factory=list)


THUMB_HEIGHT = 64


def thumbnail(crop: np.ndarray) -> np.ndarray:
    """A small copy of a crop (THUMB_HEIGHT px tall) for reports."""
    import cv2

    h, w = crop.shape[:2]
    nh = min(h, THUMB_HEIGHT)
    return cv2.resize(crop, (max(1, round(w * nh / h)), nh), interpolation=cv2.INTER_AREA)


class Pipeline:
    """Runs the three stages with a shared batch size; ``per_image`` makes the baseline's PIL path."""

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
    ) -> None:
        """``samples``: keep up to this many thumbnails of read crops per tracklet (and a third as many
        rejected by the legibility stage) in each Result, for reports; 0 keeps none."""
        self.pose, self.leg, self.str = pose, legibility, str_
        self.samples = samples
        self._tracks: dict[str, _Track] = {}
        self.rule = rule
        self.batch = 1 if per_image else batch
        self.workers = workers
        self.prepare = preprocess.prepare_pil if per_image else preprocess.prepare
        self.stats = Stats()

    @classmethod
    def for_backend(
        cls,
        stages: dict[str, Stage],
        backend: str,
        rule: TorsoRule,
        batch: int = 64,
        workers: int = 4,
        samples: int = 0,
    ) -> Pipeline:
        """The pipeline as ``backend`` runs it: the ``torch`` baseline per image with PIL, others batched."""
        return cls(
            stages["pose"],
            stages["legibility"],
            stages["str"],
            rule,
            batch=batch,
            workers=workers,
            per_image=backend == "torch",
            samples=samples,
        )

    def _timed(self, key: str, fn: Callable, *args):
        t = time.perf_counter()
        out = fn(*args)
        self.stats.seconds[key] += time.perf_counter() - t
        return out

    def _run(self, stage: Stage, images: list[np.ndarray], prepared: list | None = None):
        """Preprocess (unless the decode workers already did), infer in runner-sized chunks."""
        if prepared is None or any(p is None for p in prepared):
            prepared = [self.prepare(stage.spec, im) for im in images]
        xs, places = zip(*prepared, strict=True)
        x = np.stack(xs)
        outs = [
            stage.runner.infer(x[i : i + stage.runner.max_batch])
            for i in range(0, len(x), stage.runner.max_batch)
        ]
        return np.concatenate(outs), places

    def _pose(self, items: list[tuple[str, tuple[np.ndarray, object]]]) -> list[tuple[str, np.ndarray]]:
        """Items are (tracklet, (image, preprocessed or None)); returns (tracklet, torso crop)."""
        out, places = self._run(self.pose, [im for _, (im, _) in items], [p for _, (_, p) in items])
        people = [dec.yolo_pose(self.pose.spec, o, p) for o, p in zip(out, places, strict=True)]
        crops = []
        t = time.perf_counter()
        for (tid, (im, _)), ppl in zip(items, people, strict=True):
            crop = self.rule.crop(ppl, im)
            tr = self._tracks[tid]
            tr.person += len(ppl) > 0
            if crop is not None:
                tr.torso += 1
                crops.append((tid, crop))
        self.stats.seconds["crop"] += time.perf_counter() - t
        self.stats.torso_crops += len(crops)
        return crops

    def _legibility(self, items: list[tuple[str, np.ndarray]]) -> list[tuple[str, dec.Gated]]:
        """The gate: what goes on to the recognizer (a text detector's crops cut to their text box)."""
        crops = [im for _, im in items]
        out, places = (None, []) if self.leg.runner is None else self._run(self.leg, crops)
        keep = []
        for (tid, im), g in zip(items, dec.gate(self.leg.spec, out, places, crops), strict=True):
            tr = self._tracks[tid]
            if g.crop is not None:
                keep.append((tid, g))
            if g.crop is not None and g.floor == 0.0:
                tr.legible += 1
            elif len(tr.rejected) < self.samples // 3:
                tr.rejected.append((thumbnail(im), g.score))
        self.stats.legible += len(keep)
        return keep

    def _str(self, items: list[tuple[str, dec.Gated]]) -> list[tuple[str, tuple[str, float]]]:
        """Readings; one under its crop's floor (an unboxed crop's) counts as no reading."""
        out, _ = self._run(self.str, [g.crop for _, g in items])
        readings = [
            (t, c) if c >= g.floor else ("", 0.0)
            for (t, c), (_, g) in zip(dec.reading(self.str.spec, out), items, strict=True)
        ]
        for (tid, g), (text, conf) in zip(items, readings, strict=True):
            if text and len(self._tracks[tid].shown) < self.samples:
                self._tracks[tid].shown.append((thumbnail(g.crop), text, conf))
        return list(zip([tid for tid, _ in items], readings, strict=True))

    def run(self, tracklets: Iterable[Tracklet]) -> Iterator[Result]:
        """Yield one Result per tracklet, as soon as each is complete (not in input order)."""
        start = time.perf_counter()
        tracks: dict[str, _Track] = defaultdict(_Track)
        self._tracks = tracks
        bufs: dict[str, list] = {"pose": [], "legibility": [], "str": []}
        tracklets = list(tracklets)

        def finish(tid: str) -> Result:
            tr = tracks.pop(tid)
            t0 = time.perf_counter()
            ball = is_ball(tr.sizes)
            number = BALL_NUMBER if ball else vote(tr.readings)
            self.stats.seconds["vote"] += time.perf_counter() - t0
            self.stats.tracklets += 1
            funnel = {
                "frames": len(tr.sizes),
                "person": tr.person,
                "torso": tr.torso,
                "legible": tr.legible,
                "read": sum(parse_number(t) is not None for t, _ in tr.readings),
                "candidates": [[n, round(v, 4)] for n, v in top_candidates(tr.readings)],
                "ball": ball,
            }
            sizes = dict(zip(tr.positions, tr.sizes, strict=True))
            return Result(tid, number, tr.readings, funnel, tr.shown, tr.rejected, sizes)

        def move(src: str, fn: Callable, dst: str | None, force: bool) -> Iterator[Result]:
            while bufs[src] and (force or len(bufs[src]) >= self.batch):
                chunk, bufs[src] = bufs[src][: self.batch], bufs[src][self.batch :]
                out = self._timed(src, fn, chunk)
                for tid, _ in chunk:
                    tracks[tid].pending -= 1
                for tid, item in out:
                    tracks[tid].pending += 1
                    if dst is None:
                        tracks[tid].readings.append(item)
                        tracks[tid].pending -= 1
                    else:
                        bufs[dst].append((tid, item))
                for tid in {tid for tid, _ in chunk}:
                    if tracks[tid].sealed and tracks[tid].pending == 0:
                        yield finish(tid)

        def flush(force: bool) -> Iterator[Result]:
            yield from move("pose", self._pose, "legibility", force)
            yield from move("legibility", self._legibility, "str", force)
            yield from move("str", self._str, None, force)

        for t in tracklets:
            if not t.frames:
                self.stats.empty_tracklets.append(t.id)
                self.stats.tracklets += 1
                yield Result(
                    t.id, ILLEGIBLE, [], {"frames": 0, "person": 0, "torso": 0, "legible": 0, "read": 0}
                )
        # the batched path preprocesses pose inputs in the decode workers, overlapping inference
        transform = None if self.batch == 1 else partial(self.prepare, self.pose.spec)
        frames = iter_frames(
            (t for t in tracklets if t.frames),
            workers=self.workers,
            prefetch=max(4 * self.batch, 32),
            transform=transform,
        )
        while True:
            t0 = time.perf_counter()
            fr: Frame | None = next(frames, None)
            self.stats.seconds["decode"] += time.perf_counter() - t0
            if fr is None:
                break
            tr = tracks[fr.tracklet]
            if fr.image is None:
                self.stats.bad_frames.append(str(fr.path))
            else:
                self.stats.frames += 1
                tr.sizes.append(fr.image.shape[:2])
                tr.positions.append(fr.index)
                tr.pending += 1
                bufs["pose"].append((fr.tracklet, (fr.image, fr.prepared)))
            if fr.last:
                tr.sealed = True
                if tr.pending == 0:
                    yield finish(fr.tracklet)
            yield from flush(force=False)
        yield from flush(force=True)
        for tid in list(tracks):  # tracklets whose frames all failed to decode
            yield finish(tid)
        self.stats.wall += time.perf_counter() - start
