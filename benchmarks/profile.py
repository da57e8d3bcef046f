"""What a default ``jnr-run`` spends its time on, stage by stage: ONNX Runtime's own per-operator profile,
inference against the Python around it (preprocessing, output decoding), and what the preprocessing's
float normalisation costs (what folding it into the graph with uint8 input could save at most).

    python -m jnr.benchmarks.profile DATA [--engines engines/] [--tracklets 16] [--frames settled]

Runs ort-cpu with the engines' default precision and the same early exit as jnr-run; writes
``benchmarks/results/profile.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from jnr.runtime import options as opt
from jnr.runtime import preprocess
from jnr.runtime.cli import guarded, stdout_console
from jnr.runtime.data import decode, open_split
from jnr.runtime.manifest import atomic_write_json
from jnr.runtime.reader import RunConfig, open_pipeline

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)
TOP_OPS = 4


class TimedRunner:
    """A runner that adds up its own inference time and items."""

    def __init__(self, runner) -> None:
        self.runner, self.max_batch, self.backend = runner, runner.max_batch, runner.backend
        self.seconds, self.items, self.calls = 0.0, 0, 0

    def close(self) -> None:
        self.runner.close()

    def infer(self, x: np.ndarray) -> np.ndarray:
        t = time.perf_counter()
        y = self.runner.infer(x)
        self.seconds += time.perf_counter() - t
        self.items += len(x)
        self.calls += 1
        return y


def operator_seconds(profile_file: str) -> dict[str, float]:
    """Seconds per operator type from an ONNX Runtime profile (its ``*_kernel_time`` node events)."""
    events = json.loads(Path(profile_file).read_text())
    out: dict[str, float] = defaultdict(float)
    for ev in events:
        if ev.get("cat") == "Node" and ev.get("name", "").endswith("_kernel_time"):
            out[ev.get("args", {}).get("op_name", "?")] += ev.get("dur", 0) / 1e6
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def normalise_share(spec, images: list[np.ndarray], repeat: int = 3) -> dict[str, float]:
    """Milliseconds per item of the whole preprocessing and of its float part alone (uint8 -> float32,
    mean/std, HWC -> CHW), best of ``repeat``."""
    placed = [preprocess.place(spec, im)[0] for im in images]

    def best(fn, items: list[np.ndarray]) -> float:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            for im in items:
                fn(spec, im)
            times.append(time.perf_counter() - t)
        return min(times) * 1000 / len(items)

    return {
        "prepare_ms": round(best(preprocess.prepare, images), 4),
        "normalise_ms": round(best(preprocess._normalise, placed), 4),
    }


@app.command()
def profile(
    data: Annotated[Path, typer.Argument(help="Split folder (jnr-synth or SoccerNet layout)")],
    engines: opt.Engines = Path("engines"),
    tracklets: Annotated[int, typer.Option(min=1, help="First N tracklets")] = 16,
    frames: opt.Frames = "settled",
    batch: opt.Batch = 64,
    out: Annotated[Path, typer.Option(help="JSON results")] = Path("benchmarks/results/profile.json"),
) -> None:
    """Profile the ort-cpu pipeline on DATA and print where each stage's time goes."""
    split = open_split(data)
    todo = split.tracklets[:tracklets]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = RunConfig(engines=engines, backend="ort-cpu", batch=batch, frames=frames, profile_dir=Path(tmp))
        pipe, opened = open_pipeline(cfg)
        mode = opened.config.frames
        stages = pipe.stages
        timed = {s: TimedRunner(st.runner) for s, st in stages.items() if st.runner is not None}
        for s, t in timed.items():
            stages[s].runner = t
        t0 = time.perf_counter()
        for _ in pipe.run(todo, mode):
            pass
        wall = time.perf_counter() - t0
        ops = {s: operator_seconds(t.runner.session.end_profiling()) for s, t in timed.items()}
        pipe.close()
    st = pipe.stats
    n = len(todo)
    images = [im for im in (decode(p) for t in todo[:4] for p in t.frames[:64]) if im is not None]
    rows = {}
    for s, t in timed.items():
        stage_s = st.seconds.get(s, 0.0)
        op_total = sum(ops[s].values()) or 1.0
        norm = normalise_share(stages[s].spec, images[:128]) if s == "pose" else None
        rows[s] = {
            "model": stages[s].spec.name,
            "precision": Path(t.runner.path).name,
            "items": t.items,
            "calls": t.calls,
            "stage_s_per_tracklet": round(stage_s / n, 4),
            "inference_s_per_tracklet": round(t.seconds / n, 4),
            "python_s_per_tracklet": round(max(0.0, stage_s - t.seconds) / n, 4),
            "ms_per_item": round(1000 * t.seconds / max(1, t.items), 3),
            "operators": {k: round(v / op_total, 4) for k, v in list(ops[s].items())[:12]},
            **({"preprocess_per_frame": norm} if norm else {}),
        }
    result = {
        "data": str(data),
        "tracklets": n,
        "frames": mode if isinstance(mode, int) else str(mode),
        "frames_fed": st.frames,
        "wall_s_per_tracklet": round(wall / n, 4),
        "decode_wait_s_per_tracklet": round(st.seconds.get("decode", 0.0) / n, 4),
        "stages": rows,
        "machine": {"cpu": platform.processor() or platform.machine(), "date": dt.date.today().isoformat()},
    }
    table = Table(title=f"where the time goes: {n} tracklets, {st.frames} frames fed, ort-cpu")
    for c in ("stage", "model", "items", "stage s/tr", "inference s/tr", "python s/tr", "ms/item", "top ops"):
        table.add_column(c)
    for s, r in rows.items():
        top = ", ".join(f"{k} {v:.0%}" for k, v in list(r["operators"].items())[:TOP_OPS])
        table.add_row(s, r["model"], str(r["items"]), f"{r['stage_s_per_tracklet']:.3f}",
                      f"{r['inference_s_per_tracklet']:.3f}", f"{r['python_s_per_tracklet']:.3f}",
                      f"{r['ms_per_item']:.2f}", top)  # fmt: skip
    stdout_console().print(table)
    pose = rows.get("pose", {}).get("preprocess_per_frame")
    if pose:
        stdout_console().print(
            f"wall {result['wall_s_per_tracklet']:.3f} s/tracklet; main thread waiting for decoded frames "
            f"{result['decode_wait_s_per_tracklet']:.3f}; pose preprocessing "
            f"{pose['prepare_ms']:.3f} ms/frame (in the decode workers), of which the float normalisation "
            f"{pose['normalise_ms']:.3f} ms, "
            f"against {rows['pose']['ms_per_item']:.2f} ms/frame of pose inference"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, result)
    console.print(f"wrote {out}")


def main() -> None:
    guarded(app)


if __name__ == "__main__":
    main()
