"""``jnr-run``: predict jersey numbers for a SoccerNet split with the batched runtime."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from jnr.runtime import early
from jnr.runtime.backends import BACKENDS, TORCH_BACKENDS, load_stages, pick_auto
from jnr.runtime.cli import guarded, score_table, stdout_console
from jnr.runtime.data import load_labels, open_split
from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import atomic_write_json
from jnr.runtime.pipeline import TIMED, Pipeline, Stats
from jnr.runtime.score import score
from jnr.runtime.torso import RULES

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)
DEFAULT_RULE = "baseline"
CHECKPOINT_SECONDS = 5.0


def timing_table(stats: Stats, n: int, title: str) -> Table:
    t = Table(title=title)
    t.add_column("stage")
    t.add_column("sec/tracklet", justify="right")
    t.add_column("share", justify="right")
    total = max(stats.wall, 1e-9)
    for k in TIMED:
        t.add_row(k, f"{stats.seconds[k] / max(n, 1):.4f}", f"{stats.seconds[k] / total:.0%}")
    t.add_row("total (wall)", f"{stats.wall / max(n, 1):.4f}", "100%")
    return t


REPORT_SAMPLES = 8  # read crops per tracklet in a report (and a third as many rejected): ~25 KB a tracklet


def _load_funnels(path: Path) -> dict[str, dict]:
    import json

    try:
        raw = json.loads(path.read_text())
        return raw if isinstance(raw, dict) else {}
    except (OSError, ValueError):
        return {}


def _save(out: Path, preds: dict, funnel_path: Path, funnels: dict) -> None:
    """Predictions, then the funnel sidecar, each atomically."""
    atomic_write_json(out, preds)
    atomic_write_json(funnel_path, funnels)


def manifest_rule(engines: Path) -> str | None:
    """The torso rule a preset recorded in the engines' manifest, if any."""
    from jnr.runtime.manifest import MANIFEST, load_manifest

    return load_manifest(engines).raw.get("rule") if (engines / MANIFEST).is_file() else None


@app.command()
def run(
    data: Annotated[Path, typer.Argument(help="Split folder: DATA/images/<tracklet_id>/*.jpg")],
    engines: Annotated[Path, typer.Option(help="Folder with manifest.json from jnr-export")] = Path(
        "engines"
    ),
    backend: Annotated[str, typer.Option(help="|".join(BACKENDS))] = "auto",
    batch: Annotated[int, typer.Option(min=1, help="Crops per model call")] = 64,
    out: Annotated[Path, typer.Option(help="Predictions JSON (challenge format)")] = Path("predictions.json"),
    workers: Annotated[int, typer.Option(min=1, help="Decode threads")] = 4,
    precision: Annotated[
        str,
        typer.Option(help="auto|fp32|fp16|int8 (ONNX Runtime; auto: int8 on CPU where the export chose it)"),
    ] = "auto",
    rule: Annotated[
        str | None,
        typer.Option(help="Torso crop rule: baseline|seed (default: the engines' preset, else baseline)"),
    ] = None,
    resume: Annotated[bool, typer.Option(help="Skip tracklets already in --out")] = False,
    threads: Annotated[int | None, typer.Option(help="Inference threads (default: physical cores)")] = None,
    pose: Annotated[str | None, typer.Option(help="Pose weights for the torch backends")] = None,
    report: Annotated[
        Path | None,
        typer.Option(help="Also write a self-contained HTML page: each tracklet's funnel and crops"),
    ] = None,
    frames: Annotated[
        str,
        typer.Option(
            help="all: every frame; exact: stop feeding a tracklet once no remaining frame can change its "
            "answer (same answers as all); settled: also stop on a clear lead or a long empty run; N: the "
            "first N frames, coarse to fine"
        ),
    ] = "settled",
    ray: Annotated[
        str | None,
        typer.Option(help="Run on Ray actors: 'local' starts Ray here; an address joins a cluster"),
    ] = None,
    ray_actors: Annotated[int, typer.Option(min=1, help="Pipeline actors (one per GPU or CPU slot)")] = 2,
    ray_gpus: Annotated[float, typer.Option(min=0, help="GPUs per actor (0: CPU actors)")] = 0,
) -> None:
    """Write predictions.json (and the per-tracklet funnel beside it, OUT.funnel.json); score it when DATA
    has <split>_gt.json; print per-stage sec/tracklet."""
    if backend not in BACKENDS:
        raise JnrError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    try:
        mode = early.parse_mode(frames)
    except ValueError as e:
        raise JnrError(str(e)) from None
    split = open_split(data)
    rule = rule or manifest_rule(engines) or DEFAULT_RULE
    if rule not in RULES:
        raise JnrError(f"unknown torso rule {rule!r}; known: {', '.join(RULES)}")
    if backend == "auto":
        backend, why = pick_auto(engines)
        console.print(f"backend: [bold]{backend}[/bold] ({why})")
    if ray is None:
        stages = load_stages(backend, engines, precision, threads, pose)
        limit = min(st.runner.max_batch for st in stages.values() if st.runner is not None)
    else:
        if backend in TORCH_BACKENDS:
            raise JnrError("--ray runs the exported engines: pick an ONNX Runtime or TensorRT backend")
        from jnr.runtime.manifest import load_manifest

        limit = min(e.spec.max_batch for e in load_manifest(engines).stages.values())
    if backend != "torch" and batch > limit:
        console.print(
            f"[yellow]warning:[/yellow] --batch {batch} exceeds the engine profile maximum {limit}: "
            f"clamped to {limit}"
        )
        batch = limit
    for path in (out, report):
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise JnrError(f"cannot create the folder for {path}: {e.strerror or e}") from None
    preds: dict[str, int] = load_labels(out, "predictions") if resume and out.exists() else {}
    funnel_path = out.with_suffix(".funnel.json")
    funnels: dict[str, dict] = _load_funnels(funnel_path) if preds else {}
    shown: list = []
    todo = [t for t in split.tracklets if t.id not in preds]
    if preds:
        console.print(f"resume: {len(preds)} tracklets already in {out}, {len(todo)} to go")
    samples = REPORT_SAMPLES if report else 0
    if ray is None:
        pipe = Pipeline.for_backend(stages, backend, RULES[rule], batch, workers, samples=samples)
        st = pipe.stats
        results = early.run(pipe, todo, mode)
    else:
        from jnr.runtime import distributed
        from jnr.runtime.ort_runner import physical_cores

        cfg = distributed.RayConfig(
            ray, ray_actors, ray_gpus, backend, precision,
            threads or (max(1, physical_cores() // ray_actors) if ray == "local" else None),
            rule, batch, workers, samples, mode,
        )  # fmt: skip
        st = Stats()

        def from_actors():
            for r, part in distributed.run_ray(todo, engines, cfg, lambda m: warnings.warn(m, stacklevel=1)):
                if part is not None:
                    st.add(part)
                yield r

        results = from_actors()
        console.print(
            f"ray: {ray}, {ray_actors} actors ({ray_gpus} GPU each), threads per actor {cfg.threads}"
        )
    last = time.monotonic()
    started = time.perf_counter()
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            Progress(
                TextColumn(f"[bold]{backend}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
            ) as bar,
        ):
            warnings.simplefilter("always")
            warnings.filterwarnings("ignore", category=DeprecationWarning)  # libraries' (Ray's) only
            task = bar.add_task("tracklets", total=len(todo))
            for r in results:
                preds[r.tracklet] = r.number
                funnels[r.tracklet] = r.funnel
                if report:
                    shown.append(r)
                bar.advance(task)
                if time.monotonic() - last > CHECKPOINT_SECONDS:
                    _save(out, preds, funnel_path, funnels)
                    last = time.monotonic()
    except KeyboardInterrupt:
        _save(out, preds, funnel_path, funnels)
        console.print(f"interrupted: {len(preds)} tracklets saved to {out}; continue with --resume")
        raise typer.Exit(130) from None
    _save(out, preds, funnel_path, funnels)
    for w in caught:
        console.print(f"[yellow]warning:[/yellow] {w.message}", soft_wrap=True)
    if ray is not None:
        st.wall = time.perf_counter() - started  # the driver's wall; stage seconds are summed over actors
    total = sum(len(t.frames) for t in todo)
    console.print(
        f"wrote {len(preds)} predictions to {out}; frames fed {st.frames + len(st.bad_frames)} of {total} "
        f"(--frames {frames}): pose saw {st.frames}, legibility {st.torso_crops}, STR {st.legible}; "
        f"{len(st.bad_frames)} unreadable, {len(st.empty_tracklets)} empty tracklets"
    )
    stdout_console().print(timing_table(st, max(len(todo), 1), f"{backend}: seconds per tracklet"))
    result = score(preds, split.gt) if split.gt is not None else None
    if result is not None:
        stdout_console().print(score_table(result, f"accuracy vs {split.gt_path}"))
    if report:
        from jnr.runtime.report import render, write

        title = f"jnr-run {data} ({backend}, {len(shown)} tracklets run now)"
        write(report, render(shown, split.gt, result, st, title))
        console.print(f"report: {report} ({report.stat().st_size / 1e6:.1f} MB)")


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    guarded(app)
