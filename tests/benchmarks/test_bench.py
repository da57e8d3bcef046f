"""jnr-bench: the default configuration is the headline row of the table, the JSON and the plot."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from jnr.benchmarks.bench import HEADLINE, app


def test_bench_headline_is_the_default_configuration(tiny_split, engines, tmp_path, api_answers):
    r = CliRunner().invoke(
        app,
        [str(tiny_split), "--engines", str(engines), "--backends", "ort-cpu", "--repeat", "1",
         "--frames", "all", "--out", str(tmp_path), "--name", "b"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "b.json").read_text())
    assert list(doc["backends"]) == [HEADLINE, "ort-cpu"]
    head = doc["headline"]
    # no GPU, no TensorRT here: plain jnr-run picks a CPU backend (OpenVINO only where the export measured it
    # faster), and always stops settled tracklets
    from jnr.runtime.manifest import load_manifest
    from jnr.runtime.runners import pick_auto

    assert head["backend"] == pick_auto(load_manifest(engines))[0] and head["frames_mode"] == "settled"
    assert doc["backends"]["ort-cpu"]["frames_mode"] == "all"
    # the rows' answers are jnr-run's (the Python API's) for the same options, and so is the accuracy
    rows = doc["backends"]
    assert rows[HEADLINE]["predictions"] == api_answers(engines, tiny_split, backend=head["backend"])
    assert rows["ort-cpu"]["predictions"] == api_answers(engines, tiny_split, backend="ort-cpu", frames="all")
    gt = json.loads((tiny_split / "test_gt.json").read_text())
    assert head["accuracy"] == sum(rows[HEADLINE]["predictions"][k] == v for k, v in gt.items()) / len(gt)
    assert head["split_frames_per_second"] > 0
    assert set(head["sec_per_tracklet"]) >= {"pose", "legibility", "str", "total"}
    assert head["speed_up_vs_torch"] is None  # no torch row asked for
    assert f"default ({head['backend']}, settled)" in r.output
    # the floor of each row at its own precision: the matmul peak of each precision the CPU rows run
    assert doc["matmul_peaks"]["fp32"] > 0 and doc["matmul_peaks"]["int8"] > 0
    assert rows["ort-cpu"]["precision_per_stage"] == {"pose": "fp32", "legibility": "fp32", "str": "fp32"}
    assert set(rows["ort-cpu"]["floor_sec_per_tracklet"]) == {"pose", "legibility", "str"}
    # ms per item: a stage's seconds over the items that reached it (6 tracklets in the tiny split)
    ort = rows["ort-cpu"]
    assert ort["ms_per_item"]["pose"] == ort["sec_per_tracklet"]["pose"] * 6 / ort["items"]["frames"] * 1000
    assert set(ort["ms_per_item"]) <= {"pose", "legibility", "str"} and "ms per item" in r.output
    assert (tmp_path / "b.png").stat().st_size > 0


def test_bench_skips_a_backend_that_cannot_run_and_keeps_the_others(tiny_split, engines, tmp_path):
    """No GPU here: the CUDA-graph row is skipped with a warning, the rest is measured and written."""
    import torch

    if torch.cuda.is_available():
        import pytest

        pytest.skip("a GPU is visible: torch-cudagraph would run")
    r = CliRunner().invoke(
        app,
        [str(tiny_split), "--engines", str(engines), "--backends", "torch-cudagraph,ort-cpu", "--repeat", "1",
         "--out", str(tmp_path), "--name", "b"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "torch-cudagraph skipped" in r.output and "needs a CUDA GPU" in r.output
    doc = json.loads((tmp_path / "b.json").read_text())
    assert list(doc["backends"]) == [HEADLINE, "ort-cpu"]
    assert not (tmp_path / "b.partial.json").exists()  # the rows so far; gone once the run is complete


def test_profile_splits_each_stage_into_inference_and_python_and_names_its_operators(
    tiny_split, engines, tmp_path
):
    from jnr.benchmarks.profile import app as profile_app

    out = tmp_path / "profile.json"
    r = CliRunner().invoke(profile_app, [str(tiny_split), "--engines", str(engines), "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["frames_fed"] > 0 and doc["tracklets"] == 6
    pose = doc["stages"]["pose"]
    assert pose["items"] == doc["frames_fed"] and pose["calls"] >= 1
    assert 0 < pose["inference_s_per_tracklet"] <= pose["stage_s_per_tracklet"]
    assert "Conv" in pose["operators"] or "FusedConv" in pose["operators"]
    assert 0.5 < sum(pose["operators"].values()) <= 1.0 + 1e-6  # shares of the stage's kernel time
    pre = pose["preprocess_per_frame"]
    assert 0 < pre["normalise_ms"] < pre["prepare_ms"]
    assert "where the time goes" in r.output


def test_each_row_peak_memory_is_its_own():
    """Rows run in processes of their own: a row after a large one reports its own peak, not the large one's
    (ru_maxrss of one process only grows, so every row used to inherit the peaks before it)."""
    from jnr.benchmarks.rows import in_own_process, peak_rss_mb

    big = in_own_process(_hold, 400)
    small = in_own_process(_hold, 10)
    assert big - small > 300 and small < peak_rss_mb() + 100


def _hold(mb: int) -> float:
    import numpy as np

    from jnr.benchmarks.rows import peak_rss_mb

    block = np.ones(mb * 2**20, np.uint8)
    return peak_rss_mb() + 0 * int(block[0])
