"""One way to open a pipeline, and the Python API on it.

``open_pipeline(RunConfig(...))`` reads the engines' manifest once and returns a ready Pipeline: the backend
(``auto`` resolved, with the reason), the torso rule (the manifest's preset, else the baseline's), the batch
clamped to the engines' profile, the runners loaded. jnr-run, its Ray actors, jnr-video, jnr-bench and the
profiler all open their pipelines here.

    import jnr
    with jnr.load("engines/") as reader:
        result = reader.read(frames)              # one tracklet: a list of RGB uint8 arrays
        for result in reader.run("data/test"):    # a split folder (or Tracklets): results as they finish
            print(result.tracklet, result.number, result.funnel)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from jnr.runtime import early
from jnr.runtime.data import Tracklet, open_split
from jnr.runtime.decision import DEFAULT_VOTE, get_rule
from jnr.runtime.errors import JnrError
from jnr.runtime.lifecycle import Lifecycle
from jnr.runtime.manifest import MANIFEST, Manifest, load_manifest
from jnr.runtime.pipeline import STARTS, Pipeline
from jnr.runtime.runners import get_backend, load_stages, pick_auto
from jnr.runtime.torso import RULES
from jnr.runtime.tracks import Result

DEFAULT_RULE = "baseline"


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides how a pipeline runs (jnr-run's options)."""

    engines: Path = Path("engines")
    backend: str = "auto"
    precision: str = "auto"
    batch: int = 64
    workers: int = 4
    threads: int | None = None
    rule: str | None = None  # None: the engines' preset, else the baseline's
    frames: str | int = "settled"
    samples: int = 0  # thumbnails per tracklet kept for reports
    pose_weights: str | None = None  # the torch backends' pose weights
    profile_dir: Path | None = None  # ONNX Runtime's per-operator profile (jnr.benchmarks.profile)
    vote: str = DEFAULT_VOTE  # the decision rule (jnr.runtime.decision.RULES)
    start: str = "pose"  # what the frames are: pose (full players), gate (torso crops), str (number crops)


@dataclass
class Opened:
    """What opening found: the resolved configuration, why that backend, and notes for the user."""

    config: RunConfig
    why: str = ""
    notes: list[str] = field(default_factory=list)


def read_manifest(engines: Path, needed: bool) -> Manifest | None:
    """The manifest, or None where there is none and the backend can do without (torch)."""
    if not needed and not (Path(engines) / MANIFEST).is_file():
        return None
    return load_manifest(engines)


def resolve(cfg: RunConfig, manifest: Manifest | None) -> Opened:
    """Backend, torso rule, frames mode and batch settled from the config and the manifest."""
    opened = Opened(cfg)
    backend, why = pick_auto(manifest) if cfg.backend == "auto" else (cfg.backend, "")
    get_backend(backend)
    torso = cfg.rule or (manifest.raw.get("rule") if manifest is not None else None) or DEFAULT_RULE
    if torso not in RULES:
        raise JnrError(f"unknown torso rule {torso!r}; known: {', '.join(RULES)}")
    try:
        frames = early.parse_mode(cfg.frames)
        rule = get_rule(cfg.vote)
    except ValueError as e:
        raise JnrError(str(e)) from None
    if cfg.start not in STARTS:
        raise JnrError(f"unknown --start {cfg.start!r}; known: {', '.join(STARTS)}")
    if frames == "exact" and not rule.exact:
        opened.notes.append(f"--frames exact is proven for the baseline vote only: {rule.name} reads all")
        frames = "all"
    batch = cfg.batch
    limit = min((e.spec.max_batch for e in manifest.stages.values()), default=batch) if manifest else batch
    if not get_backend(backend).per_image and batch > limit:
        opened.notes.append(f"--batch {batch} exceeds the engine profile maximum {limit}: clamped to {limit}")
        batch = limit
    opened.config = replace(cfg, backend=backend, rule=torso, frames=frames, batch=batch)
    opened.why = why
    return opened


def open_pipeline(cfg: RunConfig) -> tuple[Pipeline, Opened]:
    """A ready pipeline for ``cfg`` (the manifest read once) and what was resolved on the way."""
    needs_engines = cfg.backend == "auto" or get_backend(cfg.backend).kind != "torch"
    manifest = read_manifest(cfg.engines, needs_engines)
    opened = resolve(cfg, manifest)
    c = opened.config
    stages = load_stages(c.backend, manifest, c.precision, c.threads, c.pose_weights, c.profile_dir)
    pipe = Pipeline(
        stages["pose"],
        stages["legibility"],
        stages["str"],
        RULES[c.rule],
        batch=c.batch,
        workers=c.workers,
        per_image=get_backend(c.backend).per_image,
        samples=c.samples,
        decision=c.vote,
    )
    return pipe, opened


def _tracklets(source: str | Path | Iterable[Tracklet]) -> Iterable[Tracklet]:
    if isinstance(source, str | Path):
        return open_split(source).tracklets
    return source


class Reader(Lifecycle):
    """The Python API: jersey numbers from tracklets, with jnr-run's pipeline and answers."""

    def __init__(self, cfg: RunConfig) -> None:
        self.pipeline, self.opened = open_pipeline(cfg)
        self.config = self.opened.config

    def read(
        self, frames: Sequence[np.ndarray], tracklet_id: str = "tracklet", start: str | None = None
    ) -> Result:
        """One tracklet given as RGB uint8 arrays (H, W, 3), in frame order: its number (-1: none), its
        confidence, readings and funnel. ``start``: what the frames are, as RunConfig's (pose: full
        players, gate: torso crops, str: tight number crops); default the config's."""
        images = tuple(np.ascontiguousarray(f) for f in frames)
        for i, f in enumerate(images):
            if f.ndim != 3 or f.shape[2] != 3 or f.dtype != np.uint8:
                raise JnrError(f"frame {i}: expected an RGB uint8 array (H, W, 3), got {f.dtype} {f.shape}")
        names = tuple(Path(f"{tracklet_id}_{i}") for i in range(len(images)))
        return next(iter(self.run([Tracklet(tracklet_id, names, images)], start)))

    def run(self, source: str | Path | Iterable[Tracklet], start: str | None = None) -> Iterator[Result]:
        """Results for a split folder (SPLIT/images/<id>/*.jpg) or Tracklets, as each finishes."""
        start = start or self.config.start
        if start not in STARTS:
            raise JnrError(f"unknown start {start!r}; known: {', '.join(STARTS)}")
        yield from self.pipeline.run(_tracklets(source), self.config.frames, start)

    def close(self) -> None:
        self.pipeline.close()

    def __repr__(self) -> str:
        c = self.config
        return (
            f"Reader(engines={str(c.engines)!r}, backend={c.backend!r}, frames={c.frames!r}, "
            f"rule={c.rule!r}, vote={c.vote!r})"
        )


def load(engines: str | Path = "engines", **options) -> Reader:
    """A Reader on the engines folder ``jnr-export`` wrote; ``options`` are RunConfig's (backend, precision,
    batch, frames, ...)."""
    return Reader(RunConfig(engines=Path(engines), **options))
