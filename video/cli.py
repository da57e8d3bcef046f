"""``jnr-video``: track the players of a match clip and read their numbers.

    jnr-video CLIP.mp4 [--engines engines/] [--out annotated.mp4] [--json tracks.json] [--report page.html]

People are tracked by ultralytics' own tracker (ByteTrack by default, BoT-SORT with ``--tracker
botsort.yaml``) on the COCO pose model, which also gives each player's keypoints: the torso is cut from them
with the pipeline's torso rule and goes, every ``--chunk`` frames, through the same gate, recognizer and
engines as jnr-run (``--second-pose`` runs pose again on each player crop instead, for box-only trackers).
Each track's readings add up over the clip; its number is the vote over all of them, drawn on its box as it
stands. With ``--frames settled`` a track whose number leads clearly is no longer read. Frames stream: one
frame is held at a time, so memory does not grow with the clip's length.
"""

from __future__ import annotations

import os
import time
import warnings
from itertools import chain
from pathlib import Path
from typing import Annotated

import cv2
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from jnr.runtime import early
from jnr.runtime import options as opt
from jnr.runtime.cli import guarded, show_warnings, stdout_console, timing_table
from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import atomic_write_json
from jnr.runtime.reader import RunConfig, open_pipeline
from jnr.runtime.vote import ILLEGIBLE
from jnr.video.draw import Writer, annotate, save_crop, still
from jnr.video.track import MIN_HEIGHT, Tracks, detections, open_video, tracker_model
from jnr.video.track import frames as video_frames

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)
REPORT_SAMPLES = 8
STILLS = 4  # annotated frames on the report page
VIDEO_WORKERS = 2  # decode threads for the crops of a chunk (the video itself decodes on the main thread)


@app.command()
def video(
    clip: Annotated[Path, typer.Argument(help="A video file OpenCV can read (MP4, AVI, MKV, ...)")],
    engines: opt.Engines = Path("engines"),
    backend: opt.Backend = "auto",
    out: Annotated[Path | None, typer.Option(help="Annotated MP4 (every input frame)")] = Path(
        "annotated.mp4"
    ),
    json_out: Annotated[Path, typer.Option("--json", help="{track_id: number} JSON")] = Path("tracks.json"),
    save_tracklets: Annotated[
        Path | None,
        typer.Option(help="Also write the player crops as a SoccerNet split: DIR/images/<track>/"),
    ] = None,
    report: Annotated[Path | None, typer.Option(help="A self-contained HTML page: each track's work")] = None,
    tracker: Annotated[str, typer.Option(help="ultralytics tracker config")] = "bytetrack.yaml",
    detector: Annotated[str | None, typer.Option(help="Tracker weights (default: COCO pose)")] = None,
    second_pose: Annotated[
        bool, typer.Option(help="Run pose again on each player crop (for trackers without keypoints)")
    ] = False,
    chunk: Annotated[int, typer.Option(min=1, help="Frames between number updates")] = 50,
    every: Annotated[int, typer.Option(min=1, help="Track and read every Nth frame (all are written)")] = 1,
    frames: opt.Frames = opt.FRAMES,
    min_height: Annotated[
        int, typer.Option(min=1, help="Skip player crops shorter than this (px)")
    ] = MIN_HEIGHT,
    conf: Annotated[float, typer.Option(help="Detection confidence threshold")] = 0.25,
    batch: opt.Batch = 64,
    precision: opt.Precision = "auto",
    threads: opt.Threads = None,
    rule: opt.Rule = None,
    vote: opt.Vote = opt.VOTE,
) -> None:
    """Track people in CLIP, read each track's number, write the annotated video and the tracks JSON."""
    cap, fps, total = open_video(clip)
    first = next(video_frames(cap), None)
    if first is None:
        raise JnrError(f"cannot read {clip}: no frame could be decoded")
    cfg = RunConfig(engines=engines, backend=backend, precision=precision, batch=batch, workers=VIDEO_WORKERS,
                    threads=threads, rule=rule, frames=frames, samples=REPORT_SAMPLES if report else 0,
                    vote=vote)  # fmt: skip
    pipe, opened = open_pipeline(cfg)
    if opened.why:
        console.print(f"backend: [bold]{opened.config.backend}[/bold] ({opened.why})")
    model = tracker_model(detector)
    tracks = Tracks(pipe, early.policy(opened.config.frames), second_pose, min_height)
    for path in (out, json_out, report):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    h, w = first.shape[:2]
    writer = Writer(out, fps, (w, h))
    stills, boxes, n_frames, track_s = [], [], 0, 0.0
    start = time.perf_counter()
    complete = False
    try:
        with warnings.catch_warnings(record=True) as caught, _progress() as bar:
            warnings.simplefilter("always")
            task = bar.add_task("frames", total=total or None)
            for k, frame in enumerate(chain([first], video_frames(cap))):
                if k % every == 0:
                    t0 = time.perf_counter()
                    res = model.track(
                        frame, persist=True, tracker=tracker, classes=[0], conf=conf, verbose=False
                    )
                    track_s += time.perf_counter() - t0
                    dets = detections(res[0], (h, w))
                    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                    for d in dets:
                        player = tracks.add(rgb, d)
                        if save_tracklets is not None:
                            save_crop(save_tracklets, d.track, k, player)
                    boxes = [(d.track, d.box) for d in dets]
                    if (k // every + 1) % chunk == 0:
                        tracks.read()
                annotate(frame, boxes, tracks.numbers)  # the numbers as they stand at this frame
                writer.write(frame)
                if report and len(stills) < STILLS and k % max(1, (total or 400) // STILLS) == 0:
                    stills.append(still(frame))
                n_frames += 1
                bar.advance(task)
            tracks.read()
        complete = True
    finally:
        cap.release()
        writer.close(complete)
    wall = time.perf_counter() - start
    show_warnings(caught)
    numbers = {str(tid): n for tid, n in sorted(tracks.numbers.items())}
    atomic_write_json(json_out, numbers)
    _print_tables(tracks, pipe.stats, opened.config.backend, clip.name)
    if report:
        from jnr.runtime.report import render, write

        write(report, render(tracks.results(), None, None, pipe.stats, f"jnr-video {clip.name}", stills))
    saved = [f"annotated video {out} ({writer.frames} frames)"] if out is not None else []
    saved += [f"crops in {save_tracklets}"] if save_tracklets is not None else []
    saved += [f"report {report}"] if report is not None else []
    numbered = sum(n != ILLEGIBLE for n in numbers.values())
    console.print(
        f"{n_frames} frames in {wall:.1f} s ({n_frames / max(wall, 1e-9):.1f} frames/s; "
        f"tracking {track_s:.1f} s); {len(numbers)} tracks, {numbered} numbered; wrote {json_out}"
        + "".join(f"; {s}" for s in saved)
    )
    pipe.close()


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]frames"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    )


def _print_tables(tracks: Tracks, stats, backend: str, name: str) -> None:
    t = Table(title=f"{name}: tracks")
    for c in ("track", "frames", "crops read", "legible", "read", "number", "settled"):
        t.add_column(c, justify="right")
    for tid, st in sorted(tracks.states.items()):
        f = st.funnel
        t.add_row(str(tid), str(tracks.seen[tid]), str(f.frames), str(f.legible), str(f.read),
                  str(tracks.numbers[tid]), "yes" if tid in tracks.settled else "")  # fmt: skip
    stdout_console().print(t)
    stdout_console().print(timing_table(stats, max(len(tracks.states), 1), f"{backend}: seconds per track"))


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own lines; a bad file is one error
    guarded(app)
