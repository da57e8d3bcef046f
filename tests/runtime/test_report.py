"""jnr-run --report: the funnel, the JSON sidecar, the HTML page, and the page as Chromium renders it."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from jnr.runtime.report import render
from jnr.runtime.score import score
from jnr.runtime.stage import Stats
from jnr.runtime.tracks import Funnel, Result

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _result(tid, number, shown=1, rejected=0):
    img = np.full((64, 40, 3), 200, np.uint8)
    funnel = Funnel(frames=5, person=4, torso=3, legible=shown, read=shown, candidates=[[7, 1.2]])
    return Result(
        tid, number, [("7", 0.9)] * shown, funnel, [(img, "7", 0.9)] * shown, [(img, 0.1)] * rejected
    )


def test_page_lists_misses_first_with_inline_crops():
    results = [_result("a", 7), _result("b", -1, shown=0, rejected=2), _result("c", 7)]
    results[0].funnel.skipped = 40
    gt = {"a": 7, "b": 12, "c": 7}
    page = render(results, gt, score({r.tracklet: r.number for r in results}, gt), Stats(), "t")
    ids = re.findall(r'id="t-([^"]+)"', page)
    assert ids == ["b", "a", "c"]  # the miss first
    assert page.count("data:image/jpeg;base64,") == 4 and 'src="http' not in page
    assert "12 &rarr; -1" in page and "66.67%" in page
    assert "40 frames not fed" in page


@pytest.fixture(scope="module")
def report(engines, tiny_split, tmp_path_factory, run_cli):
    out = tmp_path_factory.mktemp("report")
    r = run_cli("jnr-run", tiny_split, "--engines", engines, "--backend", "ort-cpu",
                "--out", out / "p" / "pred.json", "--report", out / "report.html")  # fmt: skip
    assert r.returncode == 0, r.stderr
    return out


def test_jnr_run_report_names_every_tracklet_and_writes_the_funnel(report, tiny_split):
    gt = json.loads((tiny_split / "test_gt.json").read_text())
    page = (report / "report.html").read_text()
    assert set(re.findall(r'id="t-([^"]+)"', page)) == set(gt)
    assert "data:image/jpeg;base64," in page
    funnels = json.loads((report / "p" / "pred.funnel.json").read_text())
    assert set(funnels) == set(gt)
    for f in funnels.values():
        assert f["frames"] >= f["person"] >= f["torso"] >= f["legible"] >= 0
        assert f["torso"] >= f["read"] and f["legible"] >= f["unread_text"] >= 0
        assert all(len(c) == 2 for c in f["candidates"])
    assert sum(f["frames"] + f["skipped"] for f in funnels.values()) == sum(
        len(list((tiny_split / "images" / t).iterdir())) for t in gt
    )


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_chromium_renders_the_report(report, tiny_split, tmp_path):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    url = (report / "report.html").resolve().as_uri()
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    gt = json.loads((tiny_split / "test_gt.json").read_text())
    assert set(re.findall(r'id="t-([^"]+)"', dom.stdout)) == set(gt)
    png = tmp_path / "shot.png"
    shot = subprocess.run(
        [CHROMIUM, *flags, f"--screenshot={png}", "--window-size=1000,1400", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.returncode == 0 and png.stat().st_size > 10_000, shot.stderr[-2000:]
    import cv2

    img = cv2.imread(str(png))
    assert img is not None and img.std() > 5  # something was drawn, not a blank page
