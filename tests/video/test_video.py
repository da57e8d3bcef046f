"""jnr-video on a generated clip: three numbered players walk across a pitch (synth.clip)."""

from __future__ import annotations

import json

import cv2
import pytest

from jnr.synth.clip import write_clip

pytest.importorskip("ultralytics")
pytest.importorskip("lap")


@pytest.fixture(scope="module")
def jnr_video(run_cli):
    return lambda *args: run_cli("jnr-video", *args, timeout=900)


def frame_count(path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    truth = write_clip(path, players=3, frames=60, size=(640, 360), seed=1)
    return path, truth


def test_jnr_video_reads_the_players_numbers_and_writes_every_frame(clip, engines, tmp_path, jnr_video):
    path, truth = clip
    out, tracks, split = tmp_path / "annotated.mp4", tmp_path / "tracks.json", tmp_path / "split"
    page = tmp_path / "report.html"
    r = jnr_video(
        str(path), "--engines", str(engines), "--backend", "ort-cpu", "--out", str(out),
        "--json", str(tracks), "--save-tracklets", str(split), "--chunk", "20", "--report", str(page),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    numbers = json.loads(tracks.read_text())
    found = [n for n in numbers.values() if n != -1]
    assert len(set(found) & set(truth["numbers"])) >= 2, (numbers, truth["numbers"])
    assert set(found) <= set(truth["numbers"]), f"a wrong number: {numbers} vs {truth['numbers']}"
    assert frame_count(path) == 60 and frame_count(out) == 60
    assert "frames/s" in r.stderr
    # the crops as a SoccerNet split: one folder per track, <track>_<frame>.jpg, readable by jnr-run
    from jnr.runtime.data import open_split

    saved = open_split(split)
    assert {t.id for t in saved.tracklets} == set(numbers)
    assert all(len(t.frames) >= 30 for t in saved.tracklets)
    # torsos from the tracker's keypoints: no second pose pass, and the page shows each track's work
    assert "│ pose         │       0.0000" in r.stdout
    html = page.read_text()
    assert html.count('class="t ') == len(numbers) and "Annotated frames" in html
    assert html.count("data:image/jpeg;base64,") > 3 * 4


def test_every_nth_frame_still_writes_every_frame(clip, engines, tmp_path, jnr_video):
    path, truth = clip
    out, tracks = tmp_path / "a.mp4", tmp_path / "t.json"
    r = jnr_video(str(path), "--engines", str(engines), "--backend", "ort-cpu", "--out", str(out),
                  "--json", str(tracks), "--every", "3", "--frames", "all")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert frame_count(out) == 60
    found = [n for n in json.loads(tracks.read_text()).values() if n != -1]
    assert found and set(found) <= set(truth["numbers"])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such video"),
        (lambda p: p.write_bytes(b"not a video at all" * 100), "cannot read"),
    ],
)
def test_jnr_video_bad_input_is_one_line(tmp_path, make, message, jnr_video):
    bad = tmp_path / "bad.mp4"
    make(bad)
    r = jnr_video(str(bad), "--engines", str(tmp_path / "none"))
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
