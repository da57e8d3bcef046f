"""One jnr-bench row: a backend and precision run over the same tracklets, ``--repeat`` times, each row in
a process of its own so its peak memory is its own."""

from __future__ import annotations

import os
import resource
import statistics
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from jnr.runtime.decision import DEFAULT_VOTE
from jnr.runtime.plan import BACKENDS
from jnr.runtime.reader import RunConfig, open_pipeline

# bench name -> (jnr-run backend, precision), one row per backend and precision of the backends table
# (jnr.runtime.plan.BACKENDS: a backend's first precision is its plain name, the others NAME-PRECISION);
# "default" is what plain `jnr-run` does (backend and precision auto, --frames settled): the headline row,
# always run first
HEADLINE = "default"


def variants() -> dict[str, tuple[str, str]]:
    out = {HEADLINE: ("auto", "auto")}
    for b in BACKENDS.values():
        for i, p in enumerate(b.precisions):
            out[b.name if i == 0 else f"{b.name}-{p}"] = (b.name, p)
    return out


VARIANTS = variants()
ALIASES = {"torch-cuda-fp16": "torch-batched-fp16"}  # the row's name in results made before the table
BENCH_SEED = 2023
# the generated split holds only fonts, shirt patterns and number styles no shipped model was trained on
BENCH_STYLES = "unseen"


def data_split(data: Path | None, tracklets: int, say) -> Path:
    """DATA, or a cached synthetic split of held-out styles."""
    if data is not None:
        return data
    from jnr.synth.write import write_split

    cache = (
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        / "jnr"
        / f"bench-{BENCH_SEED}-{tracklets}-{BENCH_STYLES}"
    )
    if not (cache / "test" / "test_gt.json").exists():
        say(f"generating {tracklets} synthetic tracklets (50-400 frames, seed {BENCH_SEED}, {BENCH_STYLES})")
        write_split(cache, "test", tracklets, (50, 400), BENCH_SEED, styles=BENCH_STYLES)
    return cache / "test"


def in_own_process(fn, *args):
    """``fn(*args)`` in a fresh process (spawned: no inherited threads or memory); returns its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def peak_rss_mb() -> float:
    """This process's peak resident memory so far: Linux's VmHWM, which starts afresh with the process
    image (ru_maxrss survives fork + exec: a spawned child would report its parent's peak); else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_variant(name: str, tracklets: list, engines: Path, batch: int, repeat: int, rule: str | None,
                threads: int | None, frames: str | int = "all",
                vote: str = DEFAULT_VOTE) -> dict:  # fmt: skip
    """One row: the headline resolves as plain jnr-run (backend auto, --frames settled); the torch row is the
    published baseline's way, every frame one at a time. Every row decides with the same ``vote``, so rows
    do the same work."""
    backend, precision = VARIANTS[name]
    if name == HEADLINE:
        frames = "settled"
    elif name == "torch":
        frames = "all"
    cfg = RunConfig(engines=engines, backend=backend, precision=precision, batch=batch, threads=threads,
                    rule=rule, frames=frames, vote=vote)  # fmt: skip
    pipe, opened = open_pipeline(cfg)
    c = opened.config
    with pipe:
        list(pipe.run(tracklets[:1], "all"))  # warm-up
        runs, preds = [], {}
        for _ in range(repeat):
            pipe.stats = type(pipe.stats)()
            preds = {r.tracklet: r.number for r in pipe.run(tracklets, c.frames)}
            runs.append(pipe.stats)
        out = _figures(runs, tracklets, c, preds, precision)
        eager = {k: getattr(s.runner, "graph_error", None) for k, s in pipe.stages.items() if s.runner}
    eager = {k: v for k, v in eager.items() if v}
    if eager:  # stages CUDA graphs could not capture ran eagerly
        out["cuda_graph_errors"] = eager
    if c.backend.startswith("torch") and _cuda():
        import torch

        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def _cuda() -> bool:
    import importlib.util

    if not importlib.util.find_spec("torch"):
        return False
    import torch

    return torch.cuda.is_available()


def _figures(runs: list, tracklets: list, c: RunConfig, preds: dict, precision: str) -> dict:
    from jnr.runtime.plan import get_backend
    from jnr.runtime.stage import TIMED

    n = len(tracklets)
    per = {k: [s.seconds[k] / n for s in runs] for k in TIMED}
    per["total"] = [s.wall / n for s in runs]
    wall = max(statistics.median(s.wall for s in runs), 1e-9)
    last = runs[-1]
    in_split = sum(len(t.frames) for t in tracklets)
    return {
        "backend": c.backend,
        "precision": precision,
        "repeat": len(runs),
        "batch": 1 if get_backend(c.backend).per_image else c.batch,
        "sec_per_tracklet": {k: statistics.median(v) for k, v in per.items()},
        "spread": {k: [min(v), max(v)] for k, v in per.items()},
        "frames_per_second": last.frames / wall,
        # the split's frames per second of wall time: how fast footage gets through, early exit included
        "split_frames_per_second": in_split / wall,
        "frames_mode": c.frames,
        "vote": c.vote,
        "items": {"frames": last.frames, "torso_crops": last.torso_crops, "legible": last.legible},
        "frames_in_split": in_split,
        "predictions": preds,
    }
