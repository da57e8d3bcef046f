"""``jnr-run --ray``: the same batched pipeline on a pool of Ray actors (Ray Data ``map_batches`` with a
callable class), on one machine (``--ray local``) or a cluster (``--ray ADDRESS``).

- Tracklets are the unit of work: one row each (its id and frame paths; the frames must be readable at the
  same path on every node: a shared filesystem). Each actor holds one Pipeline with the same runners and
  engines as a single-process run and runs a batch of tracklets through it with the same early exit.
- Engines travel through Ray's object store: the driver puts the manifest and the files it names there once;
  each actor writes them to a local temporary folder. Nobody copies engines by hand.
- Results stream back as they finish (Ray Data's streaming executor, with backpressure); the driver writes
  predictions atomically every few seconds, like a single-process run, so --resume works.
- Failures: an actor that dies is restarted and its batch retried by Ray (``max_restarts``,
  ``max_task_retries``); a batch that still fails is skipped (``max_errored_blocks``) and its tracklets are
  run again one per task; a tracklet that fails even alone, or raises in the pipeline, is written as -1 with
  a warning.

Ray is imported only here, only for --ray (``pip install 'jnr[ray]'``).
"""

from __future__ import annotations

import os
import pickle
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from jnr.runtime.data import Tracklet
from jnr.runtime.errors import JnrError
from jnr.runtime.reader import RunConfig
from jnr.runtime.stage import Stats
from jnr.runtime.tracks import Result, empty_result

TASK_RETRIES = 2  # retries of a batch whose actor died, before its tracklets go one by one
TRACKLETS_PER_TASK = 8  # tracklets per actor call: enough frames to keep the model batches full
# Fault injection for the tests: "once:PATH" makes the first actor to find PATH missing create it and exit
# mid-batch; "tracklet:ID" makes every actor exit whenever its batch holds tracklet ID.
CRASH_ENV = "JNR_RAY_CRASH"


@dataclass(frozen=True)
class RayConfig:
    run: RunConfig  # what every actor's pipeline runs (its engines folder: the driver's, shipped)
    address: str = "local"  # or a cluster address
    actors: int = 2
    gpus_per_actor: float = 0.0


def ship_engines(engines: Path) -> dict[str, bytes]:
    """The manifest and every file in the engines folder it refers to, as bytes (for the object store)."""
    from jnr.runtime.manifest import MANIFEST

    if not (engines / MANIFEST).is_file():
        raise JnrError(f"{engines} has no {MANIFEST}: run jnr-export first")
    return {
        p.name: p.read_bytes()
        for p in sorted(engines.iterdir())
        if p.is_file() and not p.name.startswith(".")
    }


class PipelineActor:
    """One batched pipeline per actor; called with a batch of tracklet rows, returns one row per tracklet
    (the pickled Result) plus the batch's stage timings on its first row."""

    def __init__(self, engine_files, cfg: RayConfig) -> None:
        import ray

        from jnr.runtime.reader import open_pipeline

        if isinstance(engine_files, ray.ObjectRef):  # Ray Data passes constructor arguments as they are
            engine_files = ray.get(engine_files)
        self._dir = tempfile.mkdtemp(prefix="jnr-engines-")
        for name, blob in engine_files.items():
            Path(self._dir, name).write_bytes(blob)
        self.pipe, opened = open_pipeline(replace(cfg.run, engines=Path(self._dir)))
        self.frames, self.start = opened.config.frames, opened.config.start

    def __call__(self, batch: dict) -> dict:
        _maybe_crash(list(map(str, batch["id"])))
        tracklets = [
            Tracklet(str(tid), tuple(Path(p) for p in frames))
            for tid, frames in zip(batch["id"], batch["frames"], strict=True)
        ]
        results, errors, stats = run_batch(self.pipe, tracklets, self.frames, self.start)
        ids = [t.id for t in tracklets]
        return {
            "id": ids,
            "result": [pickle.dumps(results.get(i)) for i in ids],
            "error": [errors.get(i, "") for i in ids],
            "stats": [pickle.dumps(stats) if k == 0 else b"" for k in range(len(ids))],
        }


def run_batch(
    pipe, tracklets: list[Tracklet], frames, start: str = "pose"
) -> tuple[dict[str, Result], dict[str, str], Stats]:
    """Results of a batch of tracklets on ``pipe`` and the stage figures of everything run; a batch that
    raises runs again one tracklet at a time, so one bad tracklet does not sink the others (its error is
    kept). The figures count every attempt, the failed one and the ones after it."""
    total = Stats()
    results: dict[str, Result] = {}
    errors: dict[str, str] = {}
    for chunk in ([tracklets], [[t] for t in tracklets]):
        for part in chunk:
            if all(t.id in results for t in part):
                continue
            pipe.stats = Stats()
            try:
                results.update({r.tracklet: r for r in pipe.run(part, frames, start)})
            except Exception as e:
                if len(part) == 1:
                    errors[part[0].id] = f"{type(e).__name__}: {e}"
            finally:
                total.add(pipe.stats)
                total.wall += pipe.stats.wall
        if all(t.id in results for t in tracklets):
            break
    pipe.stats = Stats()
    return results, errors, total


def _maybe_crash(ids: list[str]) -> None:
    """Die as a lost node or an OOM kill would, where CRASH_ENV asks for it (tests only)."""
    kind, _, arg = os.environ.get(CRASH_ENV, "").partition(":")
    if kind == "once" and not os.path.exists(arg):
        Path(arg).touch()
        os._exit(1)
    if kind == "tracklet" and arg in ids:
        os._exit(1)


def _init(address: str, cfg: RayConfig) -> None:
    import ray

    if ray.is_initialized():
        return
    env = {"env_vars": {CRASH_ENV: os.environ[CRASH_ENV]}} if CRASH_ENV in os.environ else None
    if address == "local":
        ray.init(num_cpus=max(os.cpu_count() or 1, cfg.actors), include_dashboard=False, runtime_env=env,
                 log_to_driver=False)  # fmt: skip
    else:
        ray.init(address=address, runtime_env=env, log_to_driver=False)


def _pass(tracklets: list[Tracklet], files_ref, cfg: RayConfig, per_task: int) -> Iterator[dict]:
    import ray

    ctx = ray.data.DataContext.get_current()
    ctx.max_errored_blocks = len(tracklets)  # a batch that fails for good is skipped, not fatal
    ctx.enable_progress_bars = False
    ds = ray.data.from_items(
        [{"id": t.id, "frames": [str(p) for p in t.frames]} for t in tracklets],
        override_num_blocks=max(1, (len(tracklets) + per_task - 1) // per_task),
    )
    with warnings.catch_warnings():
        # Ray's own way to bound retries is map_batches' extra remote args (its actor pool documents it);
        # Ray 2.60 calls them deprecated with no named replacement yet: pinned below 2.64 in the ray extra
        warnings.filterwarnings("ignore", message=".*ray_remote_args.* is deprecated")
        ds = _map(ds, files_ref, cfg, per_task)
    yield from ds.iter_rows()


def _map(ds, files_ref, cfg: RayConfig, per_task: int):
    return ds.map_batches(
        PipelineActor,
        fn_constructor_kwargs={"engine_files": files_ref, "cfg": cfg},
        batch_size=per_task,
        concurrency=cfg.actors,
        num_cpus=max(1, (cfg.run.threads or 1)) if cfg.gpus_per_actor == 0 else 1,
        num_gpus=cfg.gpus_per_actor or None,
        max_task_retries=TASK_RETRIES,
        max_restarts=-1,
    )


def run_ray(
    tracklets: list[Tracklet], cfg: RayConfig, warn: Callable[[str], None]
) -> Iterator[tuple[Result, Stats | None]]:
    """Results as actors finish them (with each batch's Stats on its first result); every tracklet gets a
    result, -1 (and a warning) where it failed even alone."""
    try:
        import ray
    except ImportError:
        raise JnrError("--ray needs Ray: pip install 'jnr[ray]'") from None
    _init(cfg.address, cfg)
    files_ref = ray.put(ship_engines(cfg.run.engines))
    todo = {t.id: t for t in tracklets}
    for per_task in (TRACKLETS_PER_TASK, 1):  # then the ones a failed batch left, alone
        if not todo:
            break
        for row in _pass(list(todo.values()), files_ref, cfg, per_task):
            tid = row["id"]
            result = pickle.loads(row["result"])
            stats = pickle.loads(row["stats"]) if row["stats"] else None
            if result is None:
                warn(f"tracklet {tid} failed in the pipeline ({row['error']}): written as -1")
                result = empty_result(tid, row["error"])
            todo.pop(tid, None)
            yield result, stats
        if todo and per_task > 1:
            warn(f"{len(todo)} tracklets lost with a failed batch: running them one per task")
    for tid in todo:
        warn(f"tracklet {tid} failed on every try (its actor died each time): written as -1")
        yield empty_result(tid, "actor died on every try"), None
