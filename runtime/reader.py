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
from jnr.runtime.decision import DEFAULT_VOTE, get_decision_rule
from jnr.runtime.errors import JnrError
from jnr.runtime.lifecycle import Lifecycle
from jnr.runtime.manifest import MANIFEST, Manifest, load_manifest
from jnr.runtime.pipeline import Pipeline
from jnr.runtime.plan import Plan, get_backend, plan
from jnr.runtime.runners import Opening, open_stages, pick_auto
from jnr.runtime.specs import start_stage
from jnr.runtime.torso import DEFAULT_TORSO_RULE, get_torso_rule
from jnr.runtime.tracks import Result


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Everything that decides how a pipeline runs (jnr-run's options), given by keyword."""

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
    vote: str = DEFAULT_VOTE  # the decision rule (jnr.runtime.decision.DECISION_RULES)
    start: str = "pose"  # what the frames are: pose (full players), gate (torso crops), str (number crops)


@dataclass
class Opened:
    """What opening found: the resolved configuration, why that backend, and notes for the user."""

    config: RunConfig
    why: str = ""
    notes: list[str] = field(default_factory=list)
    plan: Plan | None = None  # what each stage runs (jnr.runtime.plan)


def read_manifest(engines: Path, needed: bool) -> Manifest | None:
    """The manifest, or None where there is none and the backend can do without (torch)."""
    if not needed and not (Path(engines) / MANIFEST).is_file():
        return None
    return load_manifest(engines)


def resolve(cfg: RunConfig, manifest: Manifest | None) -> Opened:
    """Backend, plan, torso rule, frames mode and batch settled from the config and the manifest."""
    opened = Opened(cfg)
    backend, why = pick_auto(manifest) if cfg.backend == "auto" else (cfg.backend, "")
    b = get_backend(backend)
    opened.plan = plan(b, manifest, cfg.precision)
    torso = cfg.rule or (manifest.rule if manifest is not None else None) or DEFAULT_TORSO_RULE
    get_torso_rule(torso)
    frames = early.parse_mode(cfg.frames)
    rule = get_decision_rule(cfg.vote)
    start_stage(cfg.start)
    if frames == "exact" and not rule.early.exact:
        opened.notes.append(f"--frames exact is proven for the baseline vote only: {rule.name} reads all")
        frames = "all"
    opened.notes += opened.plan.notes()
    batch = cfg.batch
    limit = min((e.spec.max_batch for e in manifest.stages.values()), default=batch) if manifest else batch
    if not b.per_image and batch > limit:
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
    root = manifest.root if manifest is not None else None
    stages = open_stages(opened.plan, manifest, Opening(root, c.threads, c.profile_dir, c.pose_weights))
    pipe = Pipeline(
        list(stages.values()),
        get_torso_rule(c.rule),
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
        yield from self.pipeline.run(_tracklets(source), self.config.frames, start or self.config.start)

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
