"""``jnr-bench``: seconds per tracklet per stage for every backend, side by side, in one process.

Each backend runs the same tracklets after a warm-up, ``--repeat`` times; the table shows medians and
the speed-up against the ``torch`` per-image baseline, the JSON keeps every figure, and a PNG stacks
the per-stage times. A theoretical floor (ONNX FLOPs / measured matmul peak) says how far each stage is
from the machine's limit.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from jnr.runtime import early
from jnr.runtime.backends import TORCH_BACKENDS, load_stages
from jnr.runtime.cli import guarded, stdout_console
from jnr.runtime.data import open_split
from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import atomic_write_json, library_versions, load_manifest
from jnr.runtime.pipeline import TIMED, Pipeline
from jnr.runtime.score import score
from jnr.runtime.torso import RULES

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)
# bench name -> (jnr-run backend, ONNX precision); "default" is what plain `jnr-run` does (backend and
# precision auto, --frames settled): the headline row, always run first
HEADLINE = "default"
VARIANTS = {
    HEADLINE: ("auto", "auto"),
    "torch": ("torch", "fp32"),
    "torch-batched": ("torch-batched", "fp32"),
    "torch-cuda-fp16": ("torch-batched", "fp16"),  # GPU only: batched FP16 eager
    "torch-cudagraph": ("torch-cudagraph", "fp16"),  # GPU only: batched FP16, one CUDA graph per batch size
    "ort-cpu": ("ort-cpu", "fp32"),
    "ort-cpu-fp16": ("ort-cpu", "fp16"),
    "ort-cpu-int8": ("ort-cpu", "int8"),  # every stage with an INT8 artifact (jnr-export --int8)
    "ort-cuda": ("ort-cuda", "fp16"),
    "ort-trt": ("ort-trt", "fp16"),
    "trt": ("trt", "fp16"),
}
BENCH_SEED = 2023
# the generated split holds only fonts, shirt patterns and number styles no shipped model was trained on
BENCH_STYLES = "unseen"
STAGE_ITEMS = {"pose": "frames", "legibility": "torso_crops", "str": "legible"}


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    libs = {m: m for m in ("onnxruntime", "numpy", "torch", "tensorrt")}
    out = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), **library_versions(libs)}
    out["gpu"] = None
    if out["torch"]:
        import torch

        out["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return out


def available_variants(engines: Path) -> list[str]:
    import importlib.util

    from jnr.runtime.backends import pick_auto
    from jnr.runtime.ort_runner import available

    names = ["torch", "torch-batched"] if importlib.util.find_spec("torch") else []
    if names:
        import torch

        names += ["torch-cuda-fp16", "torch-cudagraph"] if torch.cuda.is_available() else []
    if (engines / "manifest.json").exists():
        names += ["ort-cpu", "ort-cpu-fp16"]
        names += [b for b in ("ort-cuda", "ort-trt") if available(b)]
        if pick_auto(engines)[0] == "trt":
            names.append("trt")
    return names


def matmul_peak(n: int = 2048, repeat: int = 5) -> float:
    """Measured FP32 FLOP/s of one large numpy matmul (best of ``repeat``)."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = a.T.copy()
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeat))
    return 2 * n**3 / best


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def data_split(data: Path | None, tracklets: int) -> Path:
    if data is not None:
        return data
    from jnr.synth.write import write_split

    cache = (
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        / "jnr"
        / f"bench-{BENCH_SEED}-{tracklets}-{BENCH_STYLES}"
    )
    if not (cache / "test" / "test_gt.json").exists():
        console.print(
            f"generating {tracklets} synthetic tracklets (50-400 frames, seed {BENCH_SEED}, "
            f"{BENCH_STYLES} styles) in {cache}"
        )
        write_split(cache, "test", tracklets, (50, 400), BENCH_SEED, styles=BENCH_STYLES)
    return cache / "test"


def _styles(root: Path) -> str | None:
    """Which styles a jnr-synth split was drawn from (None for a split without annotations: real data)."""
    from jnr.synth.write import load_annotations

    ann = Path(root) / "annotations"
    first = next(iter(sorted(ann.glob("*.json"))), None) if ann.is_dir() else None
    return load_annotations(root, first.stem).get("style", {}).get("side") if first else None


def run_variant(
    name: str,
    split,
    engines: Path,
    batch: int,
    repeat: int,
    rule: str,
    threads: int | None,
    frames: str | int = "all",
) -> dict:
    backend, precision = VARIANTS[name]
    if name == HEADLINE:
        from jnr.runtime.backends import pick_auto

        backend, frames = pick_auto(engines)[0], early.parse_mode("settled")
    stages = load_stages(backend, engines, precision, threads)
    tracklets = split.tracklets

    def make() -> Pipeline:
        return Pipeline.for_backend(stages, backend, RULES[rule], batch, workers=4)

    list(make().run(tracklets[:1]))  # warm-up
    runs, preds = [], {}
    for _ in range(repeat):
        pipe = make()
        # the torch row is the published baseline's way: every frame, one at a time
        preds = {
            r.tracklet: r.number for r in early.run(pipe, tracklets, "all" if name == "torch" else frames)
        }
        runs.append(pipe.stats)
    n = len(tracklets)
    per = {k: [s.seconds[k] / n for s in runs] for k in TIMED}
    per["total"] = [s.wall / n for s in runs]
    last = runs[-1]
    out = {
        "backend": backend,
        "precision": precision,
        "repeat": repeat,
        "batch": 1 if backend == "torch" else batch,
        "sec_per_tracklet": {k: statistics.median(v) for k, v in per.items()},
        "spread": {k: [min(v), max(v)] for k, v in per.items()},
        "frames_per_second": last.frames / max(statistics.median(s.wall for s in runs), 1e-9),
        # the split's frames per second of wall time: how fast footage gets through, early exit included
        "split_frames_per_second": sum(len(t.frames) for t in tracklets)
        / max(statistics.median(s.wall for s in runs), 1e-9),
        "frames_mode": "all" if name == "torch" else frames,
        "items": {"frames": last.frames, "torso_crops": last.torso_crops, "legible": last.legible},
        "frames_in_split": sum(len(t.frames) for t in tracklets),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "predictions": preds,
    }
    if backend.startswith("torch"):
        import torch

        if torch.cuda.is_available():
            out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
        eager = {k: st.runner.graph_error for k, st in stages.items() if getattr(st.runner, "graph_error", 0)}
        if eager:  # stages CUDA graphs could not capture ran eagerly
            out["cuda_graph_errors"] = eager
    return out


def floors(engines: Path, result: dict, n: int, peak: float) -> dict:
    """Seconds per tracklet at the measured matmul peak, per learned stage, from the ONNX FLOPs."""
    try:
        m = load_manifest(engines)
    except JnrError:
        return {}
    out = {}
    for stage, items in STAGE_ITEMS.items():
        fl = m.raw["stages"][stage].get("flops_per_item")
        if fl:
            out[stage] = fl * result["items"][items] / n / peak
    return out


def table(results: dict, floor: dict) -> Table:
    t = Table(title="seconds per tracklet (median); speed-up vs torch; first row: the defaults")
    t.add_column("backend")
    for k in (*TIMED, "total"):
        t.add_column(k, justify="right")
    for c in ("frames/s", "speed-up", "accuracy", "agree"):
        t.add_column(c, justify="right")
    base = results.get("torch", {}).get("sec_per_tracklet", {}).get("total")
    for name, r in results.items():
        s = r["sec_per_tracklet"]
        cells = [f"{s[k]:.3f}" for k in (*TIMED, "total")]
        up = f"{base / s['total']:.1f}x" if base else "-"
        acc = "-" if r.get("accuracy") is None else f"{r['accuracy']:.1%}"
        agree = "-" if r.get("agreement") is None else f"{r['agreement']:.1%}"
        label = f"{name} ({r['backend']}, {r['frames_mode']})" if name == HEADLINE else name
        t.add_row(
            label,
            *cells,
            f"{r['split_frames_per_second']:.0f}",
            up,
            acc,
            agree,
            style="bold" if name == HEADLINE else None,
        )
    t.caption = (
        "frames/s: the split's frames per second of wall time (frames an early exit skips count as done)"
    )
    if floor:
        t.caption += "; floor at measured matmul peak (s/tracklet): " + ", ".join(
            f"{k} {v:.4f}" for k, v in floor.items()
        )
    return t


def _speed_up(results: dict, name: str) -> float | None:
    base = results.get("torch", {}).get("sec_per_tracklet", {}).get("total")
    return base / results[name]["sec_per_tracklet"]["total"] if base else None


def chart(results: dict, png: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 3, 4.5))
    bottom = np.zeros(len(names))
    for k in TIMED:
        v = np.array([results[n]["sec_per_tracklet"][k] for n in names])
        ax.bar(names, v, bottom=bottom, label=k)
        bottom += v
    for i, n in enumerate(names):
        r = results[n]
        acc = "" if r.get("accuracy") is None else f"\n{r['accuracy']:.0%}"
        ax.text(
            i,
            r["sec_per_tracklet"]["total"],
            f"{r['sec_per_tracklet']['total']:.2f}s\n{r['split_frames_per_second']:.0f} fr/s{acc}",
            ha="center",
            va="bottom",
            fontsize=8,
            fontweight="bold" if n == HEADLINE else "normal",
        )
    if HEADLINE in names:
        ax.get_xticklabels()[names.index(HEADLINE)].set_fontweight("bold")
    ax.set_ylim(0, 1.22 * max(results[n]["sec_per_tracklet"]["total"] for n in names))  # room for the labels
    ax.set_ylabel("seconds per tracklet")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


@app.command()
def bench(
    data: Annotated[
        Path | None, typer.Argument(help="Split folder; default: a cached synthetic split")
    ] = None,
    engines: Annotated[Path, typer.Option(help="Folder with manifest.json")] = Path("engines"),
    backends: Annotated[str | None, typer.Option(help=f"Comma list of {', '.join(VARIANTS)}")] = None,
    tracklets: Annotated[int, typer.Option(min=1, help="Tracklets (synthetic split, or the first N)")] = 20,
    repeat: Annotated[int, typer.Option(min=1)] = 3,
    batch: Annotated[int, typer.Option(min=1)] = 64,
    rule: Annotated[str, typer.Option(help="Torso rule")] = "baseline",
    threads: Annotated[int | None, typer.Option(help="Inference threads")] = None,
    out: Annotated[Path, typer.Option(help="Folder for JSON and PNG")] = Path("benchmarks/results"),
    name: Annotated[str, typer.Option(help="File stem for the results")] = "bench",
    frames: Annotated[
        str,
        typer.Option(help="all|exact|settled|N, as jnr-run --frames; the torch row always runs every frame"),
    ] = "settled",
) -> None:
    """Run every backend over the same tracklets; print a table, write NAME.json and NAME.png."""
    try:
        mode = early.parse_mode(frames)
    except ValueError as e:
        raise JnrError(str(e)) from None
    split = open_split(data_split(data, tracklets))
    split.tracklets = split.tracklets[:tracklets]
    wanted = backends.split(",") if backends else available_variants(engines)
    wanted = [HEADLINE, *(b for b in wanted if b != HEADLINE)]
    unknown = [b for b in wanted if b not in VARIANTS]
    if unknown:
        raise JnrError(f"unknown backend(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    if not (engines / "manifest.json").is_file():  # torch rows alone (they build the default models)
        console.print(f"no {engines / 'manifest.json'}: rows that run exported engines are skipped")
        wanted = [b for b in wanted if b != HEADLINE and VARIANTS[b][0] in TORCH_BACKENDS]
    peak = matmul_peak()
    console.print(f"matmul peak {peak / 1e9:.1f} GFLOP/s; backends: {', '.join(wanted)}")
    results: dict[str, dict] = {}
    out.mkdir(parents=True, exist_ok=True)
    partial = out / f"{name}.partial.json"  # every finished row, in case a later one never ends
    for b in wanted:
        try:
            with console.status(f"[bold]{b}[/bold] x{repeat}"):
                results[b] = run_variant(b, split, engines, batch, repeat, rule, threads, mode)
        except (JnrError, RuntimeError, ImportError, OSError) as e:  # one backend that cannot run here
            console.print(f"[yellow]warning:[/yellow] {b} skipped: {str(e).splitlines()[0]}", soft_wrap=True)
            continue
        console.print(f"{b}: {results[b]['sec_per_tracklet']['total']:.3f} s/tracklet")
        atomic_write_json(partial, {"machine": machine(), "backends": results})
    if not results:
        raise JnrError("no backend ran")
    ref = results.get("torch", {}).get("predictions")
    for r in results.values():
        r["accuracy"] = (
            score(r["predictions"], {t.id: split.gt[t.id] for t in split.tracklets}).accuracy
            if split.gt
            else None
        )
        r["agreement"] = (sum(r["predictions"][k] == v for k, v in ref.items()) / len(ref)) if ref else None
    n = len(split.tracklets)
    floor = floors(engines, next(iter(results.values())), n, peak) if results else {}
    for r in results.values():
        r["over_floor"] = {k: r["sec_per_tracklet"][k] / v for k, v in floor.items() if v > 0}
    stdout_console().print(table(results, floor))
    doc = {
        "command": "jnr-bench " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "date": dt.datetime.now(dt.UTC).isoformat(),
        "machine": machine(),
        "data": str(split.root),
        "styles": _styles(split.root),
        "tracklets": n,
        "matmul_peak_flops": peak,
        "floor_sec_per_tracklet": floor,
        "headline": None
        if HEADLINE not in results
        else {
            k: results[HEADLINE].get(k)
            for k in (
                "backend",
                "precision",
                "frames_mode",
                "split_frames_per_second",
                "sec_per_tracklet",
                "accuracy",
            )
        }
        | {"speed_up_vs_torch": _speed_up(results, HEADLINE)},
        "backends": results,
    }
    atomic_write_json(out / f"{name}.json", doc)
    chart(
        results,
        out / f"{name}.png",
        f"{doc['machine']['cpu']} ({doc['machine']['cores']} cores)"
        + (f", {doc['machine']['gpu']}" if doc["machine"]["gpu"] else "")
        + f": {n} tracklets",
    )
    partial.unlink(missing_ok=True)
    console.print(f"wrote {out / name}.json and .png")


def main() -> None:
    guarded(app)


if __name__ == "__main__":
    main()
