"""``jnr-run``: predict jersey numbers for a SoccerNet split with the batched runtime."""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from jnr.runtime import options as opt
from jnr.runtime.cli import guarded, score_table, show_warnings, stdout_console, timing_table
from jnr.runtime.data import Tracklet, load_labels, open_split
from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import atomic_write_json
from jnr.runtime.plan import get_backend
from jnr.runtime.reader import RunConfig, open_pipeline, read_manifest, resolve
from jnr.runtime.score import score
from jnr.runtime.stage import Stats
from jnr.runtime.tracks import Result

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)
CHECKPOINT_SECONDS = 5.0
REPORT_SAMPLES = 8  # read crops per tracklet in a report (and a third as many rejected): ~25 KB a tracklet


def _load_funnels(path: Path) -> dict[str, dict]:
    try:
        raw = json.loads(path.read_text())
        return raw if isinstance(raw, dict) else {}
    except (OSError, ValueError):
        return {}


def _save(out: Path, preds: dict, funnel_path: Path, funnels: dict) -> None:
    """Predictions, then the funnel sidecar, each atomically."""
    atomic_write_json(out, preds)
    atomic_write_json(funnel_path, funnels)


def _make_folders(*paths: Path | None) -> None:
    for path in paths:
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise JnrError(f"cannot create the folder for {path}: {e.strerror or e}") from None


def _local(cfg: RunConfig, todo: list[Tracklet]) -> tuple[Iterator[Result], Stats, list[str], RunConfig]:
    pipe, opened = open_pipeline(cfg)
    c = opened.config
    if opened.why:
        console.print(f"backend: [bold]{c.backend}[/bold] ({opened.why})")

    def results() -> Iterator[Result]:
        with pipe:
            yield from pipe.run(todo, c.frames, c.start)

    return results(), pipe.stats, opened.notes, c


def _ray(cfg: RunConfig, todo: list[Tracklet], address: str, actors: int, gpus: float):
    from jnr.runtime import distributed
    from jnr.runtime.ort_runner import physical_cores

    opened = resolve(cfg, read_manifest(cfg.engines, needed=True))
    c = opened.config
    if get_backend(c.backend).kind == "torch":
        raise JnrError("--ray runs the exported engines: pick an ONNX Runtime or TensorRT backend")
    threads = c.threads or (max(1, physical_cores() // actors) if address == "local" else None)
    ray_cfg = distributed.RayConfig(run=RunConfig(**{**c.__dict__, "threads": threads}), address=address,
                                    actors=actors, gpus_per_actor=gpus)  # fmt: skip
    st = Stats()

    def results() -> Iterator[Result]:
        for r, part in distributed.run_ray(todo, ray_cfg, lambda m: warnings.warn(m, stacklevel=1)):
            if part is not None:
                st.add(part)
            yield r

    console.print(f"ray: {address}, {actors} actors ({gpus} GPU each), threads per actor {threads}")
    return results(), st, opened.notes, c


@app.command()
def run(
    data: Annotated[Path, typer.Argument(help="Split folder: DATA/images/<tracklet_id>/*.jpg")],
    engines: opt.Engines = Path("engines"),
    backend: opt.Backend = "auto",
    batch: opt.Batch = 64,
    out: Annotated[Path, typer.Option(help="Predictions JSON (challenge format)")] = Path("predictions.json"),
    workers: opt.Workers = 4,
    precision: opt.Precision = "auto",
    rule: opt.Rule = None,
    resume: Annotated[bool, typer.Option(help="Skip tracklets already in --out")] = False,
    threads: opt.Threads = None,
    pose: Annotated[str | None, typer.Option(help="Pose weights for the torch backends")] = None,
    report: Annotated[
        Path | None,
        typer.Option(help="Also write a self-contained HTML page: each tracklet's funnel and crops"),
    ] = None,
    frames: opt.Frames = opt.FRAMES,
    ray: Annotated[
        str | None,
        typer.Option(help="Run on Ray actors: 'local' starts Ray here; an address joins a cluster"),
    ] = None,
    ray_actors: Annotated[int, typer.Option(min=1, help="Pipeline actors (one per GPU or CPU slot)")] = 2,
    ray_gpus: Annotated[float, typer.Option(min=0, help="GPUs per actor (0: CPU actors)")] = 0,
    vote: opt.Vote = opt.VOTE,
    start: opt.Start = opt.START,
) -> None:
    """Write predictions.json (and the per-tracklet funnel beside it, OUT.funnel.json); score it when DATA
    has <split>_gt.json; print per-stage sec/tracklet."""
    if backend != "auto":
        get_backend(backend)  # a typo is one line before anything is read or written
    split = open_split(data)
    _make_folders(out, report)
    preds: dict[str, int] = load_labels(out, "predictions") if resume and out.exists() else {}
    funnel_path = out.with_suffix(".funnel.json")
    funnels: dict[str, dict] = _load_funnels(funnel_path) if preds else {}
    todo = [t for t in split.tracklets if t.id not in preds]
    cfg = RunConfig(engines=engines, backend=backend, precision=precision, batch=batch, workers=workers,
                    threads=threads, rule=rule, frames=frames, samples=REPORT_SAMPLES if report else 0,
                    pose_weights=pose, vote=vote, start=start)  # fmt: skip
    if ray is None:
        results, st, notes, c = _local(cfg, todo)
    else:
        results, st, notes, c = _ray(cfg, todo, ray, ray_actors, ray_gpus)
    for note in notes:
        console.print(f"[yellow]warning:[/yellow] {note}")
    if preds:
        console.print(f"resume: {len(preds)} tracklets already in {out}, {len(todo)} to go")
    shown: list[Result] = []
    last = time.monotonic()
    started = time.perf_counter()
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            Progress(
                TextColumn(f"[bold]{c.backend}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                console=console,
            ) as bar,
        ):  # fmt: skip
            warnings.simplefilter("always")
            warnings.filterwarnings("ignore", category=DeprecationWarning)  # libraries' (Ray's) only
            task = bar.add_task("tracklets", total=len(todo))
            for r in results:
                preds[r.tracklet] = r.number
                funnels[r.tracklet] = r.funnel.to_dict()
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
    show_warnings(caught)
    if ray is not None:
        st.wall = time.perf_counter() - started  # the driver's wall; stage seconds are summed over actors
    _summary(st, todo, preds, out, frames, split, c.backend)
    if report:
        from jnr.runtime.report import render, write

        result = score(preds, split.gt) if split.gt is not None else None
        title = f"jnr-run {data} ({c.backend}, --vote {c.vote}, {len(shown)} tracklets run now)"
        write(report, render(shown, split.gt, result, st, title))
        console.print(f"report: {report} ({report.stat().st_size / 1e6:.1f} MB)")


def _summary(st: Stats, todo: list, preds: dict, out: Path, frames: str, split, backend: str) -> None:
    total = sum(len(t.frames) for t in todo)
    console.print(
        f"wrote {len(preds)} predictions to {out}; frames fed {st.frames + len(st.bad_frames)} of {total} "
        f"(--frames {frames}): pose saw {st.frames}, legibility {st.torso_crops}, STR {st.legible}; "
        f"{len(st.bad_frames)} unreadable, {len(st.empty_tracklets)} empty tracklets"
    )
    stdout_console().print(timing_table(st, max(len(todo), 1), f"{backend}: seconds per tracklet"))
    if split.gt is not None:
        stdout_console().print(score_table(score(preds, split.gt), f"accuracy vs {split.gt_path}"))


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    guarded(app)
