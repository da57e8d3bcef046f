"""jnr inside TrackLab: detections read one by one decide as jnr-run does; the example pipeline on a clip.

The TrackLab tests run in TrackLab's own environment (README "TrackLab": JNR_TRACKLAB_PYTHON), since its
Lightning 2 cannot share one with strhub's pytorch-lightning 1.9.5; they skip where neither that nor an
importable tracklab is there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from jnr.integrations.tracklab.reading import NOTHING, DetectionReader, DetectionReading, decide_track
from jnr.runtime.data import decode, open_split
from jnr.synth.clip import write_clip


def test_detections_read_one_by_one_decide_as_jnr_run(engines, tiny_split, api_answers):
    """Each frame a detection of its own (the way TrackLab batches them): the track's decision over those
    readings is jnr-run's answer on the track's crops, every frame read."""
    import jnr

    split = open_split(tiny_split)
    with jnr.load(engines, backend="ort-cpu", frames="all") as api:
        expected = {r.tracklet: r for r in api.run(tiny_split)}
    reader = DetectionReader.open(engines, backend="ort-cpu")
    try:
        compared = 0
        for t in split.tracklets:
            if expected[t.id].funnel.ball:  # the ball filter is no business of tracked people
                continue
            frames = [decode(f) for f in t.frames]  # as jnr-run decodes them
            got = reader.read(frames, [False] * len(frames))
            assert len(got) == len(frames)
            assert sum(r.torso for r in got) == expected[t.id].funnel.torso
            d = decide_track(got)
            assert d.number == expected[t.id].number, t.id
            assert d.confidence == pytest.approx(expected[t.id].confidence, abs=1e-3)
            compared += 1
        assert compared >= 4
    finally:
        reader.close()


def test_missing_and_degenerate_crops_read_nothing(engines, rendered_number):
    reader = DetectionReader.open(engines, backend="ort-cpu")
    try:
        got = reader.read([None, np.zeros((1, 5, 3), np.uint8), rendered_number("7")], [True, False, True])
    finally:
        reader.close()
    assert got[0] == NOTHING and got[1] == NOTHING
    assert got[2].torso and got[2].where is not None  # a torso crop went to the gate
    # a track whose detections read nothing is -1
    assert decide_track([NOTHING, NOTHING]).number == -1
    assert decide_track([DetectionReading(7, 0.95, "box", True)]).number == 7


def tracklab_python() -> str:
    if os.environ.get(
        "JNR_TRACKLAB_PYTHON"
    ):  # absolute, the venv's own link kept (the example runs elsewhere)
        return os.path.abspath(os.environ["JNR_TRACKLAB_PYTHON"])
    if importlib.util.find_spec("tracklab") is not None:
        return sys.executable
    pytest.skip("TrackLab is not installed here (README 'TrackLab': its environment, JNR_TRACKLAB_PYTHON)")


def example(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tracklab_python(), "-m", "jnr.integrations.tracklab", *map(str, args)],
        capture_output=True, text=True, timeout=900, cwd=cwd,
    )  # fmt: skip


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    return path, write_clip(path, players=3, frames=60, size=(640, 360), seed=1)


def test_tracklab_pipeline_with_jnr_reads_the_players_numbers(clip, engines, tmp_path):
    """TrackLab's own pose and ByteTrack wrappers, then jnr's two modules from their Hydra configs."""
    path, truth = clip
    out, stats = tmp_path / "tracks.json", tmp_path / "stats.json"
    r = example(
        path, "--engines", engines, "--backend", "ort-cpu", "--json", out, "--stats", stats, cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr[-3000:]
    numbers = json.loads(out.read_text())
    found = [n for n in numbers.values() if n != -1]
    assert len(set(found) & set(truth["numbers"])) >= 2, (numbers, truth["numbers"])
    assert set(found) <= set(truth["numbers"]), f"a wrong number: {numbers} vs {truth['numbers']}"
    s = json.loads(stats.read_text())
    assert s["frames"] == 60 and s["jersey_seconds"] > 0
    assert {"pose_estimator", "track", "jersey_number_detect", "tracklet_agg"} <= set(s["seconds"])
    assert "jersey step" in r.stdout


def test_the_easyocr_reference_runs_the_same_pipeline(tmp_path):
    """The side-by-side's reference: EasyOCR on every detection, TrackLab's majority vote (a short clip:
    EasyOCR takes about 0.3 s a frame here)."""
    path = tmp_path / "short.mp4"
    write_clip(path, players=3, frames=20, size=(640, 360), seed=1)
    out, stats = tmp_path / "tracks.json", tmp_path / "stats.json"
    r = example(path, "--jersey", "easyocr", "--json", out, "--stats", stats, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    numbers = json.loads(out.read_text())
    assert len(numbers) >= 3 and all(isinstance(n, int) for n in numbers.values())
    assert json.loads(stats.read_text())["seconds"]["jersey_number_detect"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [(["missing.mp4"], "no such video"), (["{clip}", "--engines", "nowhere"], "no manifest.json"),
     (["{clip}", "--jersey", "mmocr"], "unknown --jersey")],
)  # fmt: skip
def test_bad_input_is_one_line(clip, tmp_path, args, message):
    args = [a.format(clip=clip[0]) for a in args]
    r = example(*args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr[-2000:]
    assert message in r.stderr and "Traceback" not in r.stderr
