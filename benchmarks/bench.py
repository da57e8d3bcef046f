"""``jnr-bench``: seconds per tracklet per stage for every backend, side by side.

Each backend runs the same tracklets after a warm-up, ``--repeat`` times, in a process of its own (so each
row's peak memory is its own); the table shows medians and the speed-up against the ``torch`` per-image
baseline, the JSON keeps every figure, and a PNG stacks the per-stage times. A theoretical floor (ONNX FLOPs /
measured matmul peak) says how far each stage is from the machine's limit.
"""

from __future__ import annotations

import datetime as dt
import shlex
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from jnr.benchmarks import probe, render
from jnr.benchmarks.rows import ALIASES, HEADLINE, VARIANTS, data_split, in_own_process, run_variant
from jnr.runtime import early
from jnr.runtime import options as opt
from jnr.runtime.cli import guarded, stdout_console
from jnr.runtime.data import open_split
from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import atomic_write_json
from jnr.runtime.plan import get_backend
from jnr.runtime.score import score

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)


def _styles(root: Path) -> str | None:
    """Which styles a jnr-synth split was drawn from (None for a split without annotations: real data)."""
    from jnr.synth.write import load_annotations

    ann = Path(root) / "annotations"
    first = next(iter(sorted(ann.glob("*.json"))), None) if ann.is_dir() else None
    return load_annotations(root, first.stem).get("style", {}).get("side") if first else None


def _wanted(backends: str | None, engines: Path) -> list[str]:
    asked = [ALIASES.get(b, b) for b in backends.split(",")] if backends else None
    wanted = asked or probe.available_variants(engines)
    wanted = [HEADLINE, *(b for b in wanted if b != HEADLINE)]
    unknown = [b for b in wanted if b not in VARIANTS]
    if unknown:
        raise JnrError(f"unknown backend(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    if not (engines / "manifest.json").is_file():  # torch rows alone (they build the default models)
        console.print(f"no {engines / 'manifest.json'}: rows that run exported engines are skipped")
        wanted = [b for b in wanted if b != HEADLINE and get_backend(VARIANTS[b][0]).kind == "torch"]
    return wanted


def _speed_up(results: dict, name: str) -> float | None:
    base = results.get("torch", {}).get("sec_per_tracklet", {}).get("total")
    return base / results[name]["sec_per_tracklet"]["total"] if base else None


def _score(results: dict, split) -> None:
    ref = results.get("torch", {}).get("predictions")
    for r in results.values():
        gt = {t.id: split.gt[t.id] for t in split.tracklets} if split.gt else None
        r["accuracy"] = score(r["predictions"], gt).accuracy if gt else None
        r["agreement"] = (sum(r["predictions"][k] == v for k, v in ref.items()) / len(ref)) if ref else None


@app.command()
def bench(
    data: Annotated[
        Path | None, typer.Argument(help="Split folder; default: a cached synthetic split")
    ] = None,
    engines: opt.Engines = Path("engines"),
    backends: Annotated[str | None, typer.Option(help=f"Comma list of {', '.join(VARIANTS)}")] = None,
    tracklets: Annotated[int, typer.Option(min=1, help="Tracklets (synthetic split, or the first N)")] = 20,
    repeat: Annotated[int, typer.Option(min=1)] = 3,
    batch: opt.Batch = 64,
    rule: opt.Rule = None,
    threads: opt.Threads = None,
    out: Annotated[Path, typer.Option(help="Folder for JSON and PNG")] = Path("benchmarks/results"),
    name: Annotated[str, typer.Option(help="File stem for the results")] = "bench",
    frames: opt.Frames = opt.FRAMES,
    vote: opt.Vote = opt.VOTE,
) -> None:
    """Run every backend over the same tracklets; print a table, write NAME.json and NAME.png."""
    mode = early.parse_mode(frames)
    split = open_split(data_split(data, tracklets, console.print))
    split.tracklets = split.tracklets[:tracklets]
    wanted = _wanted(backends, engines)
    peaks = probe.matmul_peaks()
    peak = peaks["fp32"]
    console.print(
        "matmul peaks "
        + ", ".join(f"{k} {v / 1e9:.1f} G/s" for k, v in peaks.items())
        + f"; backends: {', '.join(wanted)}"
    )
    results: dict[str, dict] = {}
    out.mkdir(parents=True, exist_ok=True)
    partial = out / f"{name}.partial.json"  # every finished row, in case a later one never ends
    for b in wanted:
        try:
            with console.status(f"[bold]{b}[/bold] x{repeat}"):
                args = (b, split.tracklets, engines, batch, repeat, rule, threads, mode, vote)
                results[b] = in_own_process(run_variant, *args)
        except (JnrError, RuntimeError, ImportError, OSError, BrokenProcessPool) as e:  # cannot run here
            console.print(f"[yellow]warning:[/yellow] {b} skipped: {str(e).splitlines()[0]}", soft_wrap=True)
            continue
        console.print(f"{b}: {results[b]['sec_per_tracklet']['total']:.3f} s/tracklet")
        atomic_write_json(partial, {"machine": probe.machine(), "backends": results})
    if not results:
        raise JnrError("no backend ran")
    _score(results, split)
    n = len(split.tracklets)
    floor = probe.floors(engines, next(iter(results.values())), n, peak)
    for r in results.values():  # each row's floor at its own stages' precisions and its own item counts
        r["precision_per_stage"] = probe.row_precisions(engines, r["backend"], r["precision"])
        r["floor_sec_per_tracklet"] = probe.floors(engines, r, n, peaks, r["precision_per_stage"])
        own = r["floor_sec_per_tracklet"]
        r["over_floor"] = {k: r["sec_per_tracklet"][k] / v for k, v in own.items() if v > 0}
        r["ms_per_item"] = probe.ms_per_item(r, n)
    stdout_console().print(render.table(results, floor))
    per_item = (
        f"{b} " + ", ".join(f"{k} {v:.2f}" for k, v in r["ms_per_item"].items()) for b, r in results.items()
    )
    stdout_console().print(
        "ms per item (pose a frame, legibility a torso crop, str a crop read): " + "; ".join(per_item),
        soft_wrap=True,
    )
    doc = _document(results, split, n, peak, floor)
    doc["matmul_peaks"] = peaks
    atomic_write_json(out / f"{name}.json", doc)
    m = doc["machine"]
    title = f"{m['cpu']} ({m['cores']} cores)" + (f", {m['gpu']}" if m["gpu"] else "") + f": {n} tracklets"
    render.chart(results, out / f"{name}.png", title)
    partial.unlink(missing_ok=True)
    console.print(f"wrote {out / name}.json and .png")


def _document(results: dict, split, n: int, peak: float, floor: dict) -> dict:
    keys = ("backend", "precision", "frames_mode", "split_frames_per_second", "sec_per_tracklet", "accuracy")
    head = results.get(HEADLINE)
    return {
        "command": "jnr-bench " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "date": dt.datetime.now(dt.UTC).isoformat(),
        "machine": probe.machine(),
        "data": str(split.root),
        "styles": _styles(split.root),
        "tracklets": n,
        "matmul_peak_flops": peak,
        "floor_sec_per_tracklet": floor,
        "headline": None
        if head is None
        else {k: head.get(k) for k in keys} | {"speed_up_vs_torch": _speed_up(results, HEADLINE)},
        "backends": results,
    }


def main() -> None:
    guarded(app)


if __name__ == "__main__":
    main()
