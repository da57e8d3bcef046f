"""``jnr-video``: track the players of a match clip and read their numbers.

    jnr-video CLIP.mp4 [--engines engines/] [--out annotated.mp4] [--json tracks.json] [--save-tracklets DIR]

People are detected and tracked by ultralytics' own tracker (ByteTrack by default, BoT-SORT with
``--tracker botsort.yaml``) on the COCO pose model. Each track's crops are cut in memory and go, every
``--chunk`` frames, through the same batched pipeline and engines as jnr-run; each track's readings add up
across chunks and its number is the vote over all of them, so the box label settles as the clip goes on.
Once a track's number is settled (the early-exit lead rule of jnr.runtime.early) its crops are no longer
read. ``--save-tracklets`` writes every crop in the SoccerNet layout, so the clip becomes a split for
jnr-run, jnr-train or the challenge tools.
"""

from __future__ import annotations

import os
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from jnr.runtime.backends import BACKENDS, load_stages, pick_auto
from jnr.runtime.cli import guarded, stdout_console
from jnr.runtime.data import Tracklet
from jnr.runtime.early import SETTLED_LEAD, SETTLED_SUM
from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import atomic_write_json
from jnr.runtime.pipeline import Pipeline
from jnr.runtime.run_cli import DEFAULT_RULE, manifest_rule, timing_table
from jnr.runtime.torso import RULES
from jnr.runtime.vote import ILLEGIBLE, top_candidates, vote

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)


@dataclass
class TrackState:
    frames: int = 0  # frames the tracker saw it in
    crops: list[np.ndarray] = field(default_factory=list)  # cut since the last chunk, not yet read
    fed: int = 0  # crops that went through the pipeline
    readings: list[tuple[str, float]] = field(default_factory=list)
    number: int = ILLEGIBLE
    settled: bool = False


def is_settled(readings: list[tuple[str, float]]) -> bool:
    """A clear leader: the early-exit lead rule (weighted sum >= SETTLED_SUM, ahead by SETTLED_LEAD). A
    clip has no known end, so -1 never settles: a player may still turn round."""
    top = top_candidates(readings, 2)
    if not top:
        return False
    second = top[1][1] if len(top) > 1 else 0.0
    return top[0][1] >= SETTLED_SUM and top[0][1] - second >= SETTLED_LEAD


def open_video(path: Path) -> tuple[cv2.VideoCapture, float, int]:
    """The capture, its frame rate and frame count (0 where the container does not say)."""
    if not path.is_file():
        raise JnrError(f"no such video: {path}")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise JnrError(f"cannot read {path}: not a video OpenCV can decode")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    return cap, float(fps), max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))


def tracker_model(weights: str | None):
    """ultralytics' YOLO on the COCO pose weights (offline from the weight package by default)."""
    try:
        import lap  # noqa: F401  (ultralytics' trackers need it; without it they try to pip install)
        from ultralytics import YOLO
    except ImportError as e:
        raise JnrError(
            f"jnr-video needs ultralytics and lap ({e.name} missing): pip install 'jnr[video]'"
        ) from None
    from jnr.export.models import resolve_weights
    from jnr.runtime.specs import DEFAULTS, get_spec

    source = weights or get_spec(DEFAULTS["pose"]).weights
    path = resolve_weights(source)
    return YOLO(str(path) if path.exists() else source)


def label_colour(tid: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(tid)
    return tuple(int(v) for v in rng.integers(60, 256, 3))


def annotate(frame: np.ndarray, boxes: list[tuple[int, np.ndarray]], tracks: dict[int, TrackState]) -> None:
    """Box each tracked player with its track id and current number (BGR frame, in place)."""
    for tid, (x0, y0, x1, y1) in boxes:
        c = label_colour(tid)
        n = tracks[tid].number
        text = f"#{tid}: {n if n != ILLEGIBLE else '?'}"
        cv2.rectangle(frame, (x0, y0), (x1, y1), c, 2)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 2)
        ty = max(th + base, y0)
        cv2.rectangle(frame, (x0, ty - th - base), (x0 + tw + 4, ty), c, -1)
        cv2.putText(
            frame, text, (x0 + 2, ty - base), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 2, cv2.LINE_AA
        )


def save_crop(root: Path, tid: int, frame_no: int, crop_rgb: np.ndarray) -> None:
    """One crop in the SoccerNet layout, ROOT/images/<tid>/<tid>_<frame>.jpg, written atomically."""
    folder = root / "images" / str(tid)
    folder.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(crop_rgb, cv2.COLOR_RGB2BGR))
    if ok:
        path = folder / f"{tid}_{frame_no}.jpg"
        tmp = path.with_name(f".{path.name}.tmp")
        buf.tofile(tmp)
        os.replace(tmp, path)


def read_chunk(pipe: Pipeline, tracks: dict[int, TrackState], frames_mode: str) -> None:
    """Feed every unsettled track's new crops through the pipeline; update readings and numbers."""
    batch = []
    for tid, st in tracks.items():
        if st.crops and not (st.settled and frames_mode == "settled"):
            names = tuple(Path(f"{tid}_{st.fed + i}") for i in range(len(st.crops)))
            batch.append(Tracklet(str(tid), names, tuple(st.crops)))
            st.fed += len(st.crops)
        st.crops = []
    for r in pipe.run(batch):
        st = tracks[int(r.tracklet)]
        st.readings += r.readings
        st.number = vote(st.readings)
        st.settled = is_settled(st.readings)


@app.command()
def video(
    clip: Annotated[Path, typer.Argument(help="A video file OpenCV can read (MP4, AVI, MKV, ...)")],
    engines: Annotated[Path, typer.Option(help="Folder with manifest.json from jnr-export")] = Path(
        "engines"
    ),
    backend: Annotated[str, typer.Option(help="|".join(BACKENDS))] = "auto",
    out: Annotated[Path | None, typer.Option(help="Annotated MP4 (every input frame)")] = Path(
        "annotated.mp4"
    ),
    json_out: Annotated[Path, typer.Option("--json", help="{track_id: number} JSON")] = Path("tracks.json"),
    save_tracklets: Annotated[
        Path | None, typer.Option(help="Also write the crops as a SoccerNet split: DIR/images/<track>/")
    ] = None,
    tracker: Annotated[str, typer.Option(help="ultralytics tracker config")] = "bytetrack.yaml",
    detector: Annotated[
        str | None, typer.Option(help="Detector/tracker weights (default: COCO pose)")
    ] = None,
    chunk: Annotated[int, typer.Option(min=1, help="Frames between number updates")] = 50,
    frames: Annotated[str, typer.Option(help="settled: stop reading a track once settled; all")] = "settled",
    min_height: Annotated[int, typer.Option(min=1, help="Skip person crops shorter than this (px)")] = 40,
    conf: Annotated[float, typer.Option(help="Detection confidence threshold")] = 0.25,
    batch: Annotated[int, typer.Option(min=1, help="Crops per model call")] = 64,
    precision: Annotated[
        str,
        typer.Option(help="auto|fp32|fp16|int8 (ONNX Runtime; auto: int8 on CPU where the export chose it)"),
    ] = "auto",
    threads: Annotated[int | None, typer.Option(help="Inference threads (default: physical cores)")] = None,
    rule: Annotated[str | None, typer.Option(help="Torso rule (default: the engines' preset)")] = None,
) -> None:
    """Track people in CLIP, read each track's number, write the annotated video and tracks JSON."""
    if frames not in ("settled", "all"):
        raise JnrError(f"--frames takes settled or all, got {frames!r}")
    if backend not in BACKENDS:
        raise JnrError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    cap, fps, total = open_video(clip)
    ok, first = cap.read()
    if not ok or first is None:
        raise JnrError(f"cannot read {clip}: no frame could be decoded")
    rule = rule or manifest_rule(engines) or DEFAULT_RULE
    if rule not in RULES:
        raise JnrError(f"unknown torso rule {rule!r}; known: {', '.join(RULES)}")
    if backend == "auto":
        backend, why = pick_auto(engines)
        console.print(f"backend: [bold]{backend}[/bold] ({why})")
    model = tracker_model(detector)
    stages = load_stages(backend, engines, precision, threads)
    limit = min(st.runner.max_batch for st in stages.values() if st.runner is not None)
    pipe = Pipeline.for_backend(stages, backend, RULES[rule], min(batch, limit), workers=2)
    for path in (out, json_out):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    h, w = first.shape[:2]
    writer = tmp_out = None
    if out is not None:
        tmp_out = out.with_name(f".{out.stem}.part{out.suffix}")
        writer = cv2.VideoWriter(str(tmp_out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        if not writer.isOpened():
            raise JnrError(f"cannot write {out}: OpenCV has no MP4 (mp4v) writer here")
    tracks: dict[int, TrackState] = defaultdict(TrackState)
    pending: list[tuple[np.ndarray, list]] = []  # frames waiting for their chunk's numbers
    n_frames = n_written = 0
    track_s = 0.0
    start = time.perf_counter()

    def flush() -> None:
        nonlocal n_written
        read_chunk(pipe, tracks, frames)
        for img, boxes in pending:
            if writer is not None:
                annotate(img, boxes, tracks)
                writer.write(img)
                n_written += 1
        pending.clear()

    frame = first
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            Progress(
                TextColumn("[bold]frames"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
            ) as bar,
        ):
            warnings.simplefilter("always")
            task = bar.add_task("frames", total=total or None)
            while frame is not None:
                t0 = time.perf_counter()
                res = model.track(
                    frame, persist=True, tracker=tracker, classes=[0], conf=conf, verbose=False
                )[0]
                track_s += time.perf_counter() - t0
                boxes = []
                if res.boxes is not None and res.boxes.id is not None:
                    xyxy = res.boxes.xyxy.cpu().numpy().round().astype(int)
                    for tid, (x0, y0, x1, y1) in zip(res.boxes.id.int().tolist(), xyxy, strict=True):
                        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
                        if x1 - x0 < 2 or y1 - y0 < 2:
                            continue
                        boxes.append((tid, (x0, y0, x1, y1)))
                        st = tracks[tid]
                        st.frames += 1
                        crop = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2RGB)
                        if save_tracklets is not None:
                            save_crop(save_tracklets, tid, n_frames, crop)
                        if y1 - y0 >= min_height and not (st.settled and frames == "settled"):
                            st.crops.append(crop)
                pending.append((frame, boxes))
                n_frames += 1
                bar.advance(task)
                if len(pending) >= chunk:
                    flush()
                ok, frame = cap.read()
                frame = frame if ok else None
            flush()
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    if tmp_out is not None and out is not None:
        os.replace(tmp_out, out)
    numbers = {str(tid): st.number for tid, st in sorted(tracks.items())}
    atomic_write_json(json_out, numbers)
    wall = time.perf_counter() - start
    for wmsg in caught:
        console.print(f"[yellow]warning:[/yellow] {wmsg.message}", soft_wrap=True)

    t = Table(title=f"{clip.name}: tracks")
    for c in ("track", "frames", "crops read", "number", "settled"):
        t.add_column(c, justify="right")
    for tid, st in sorted(tracks.items()):
        t.add_row(str(tid), str(st.frames), str(st.fed), str(st.number), "yes" if st.settled else "")
    out_text = f"; annotated video {out} ({n_written} frames)" if out is not None else ""
    stdout_console().print(t)
    stdout_console().print(timing_table(pipe.stats, max(len(tracks), 1), f"{backend}: seconds per track"))
    console.print(
        f"{n_frames} frames in {wall:.1f} s ({n_frames / max(wall, 1e-9):.1f} frames/s; tracking "
        f"{track_s:.1f} s); {len(tracks)} tracks, {sum(n != ILLEGIBLE for n in numbers.values())} numbered; "
        f"wrote {json_out}{out_text}" + (f"; crops in {save_tracklets}" if save_tracklets is not None else "")
    )


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own lines; a bad file is one error
    guarded(app)
