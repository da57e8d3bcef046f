"""jnr-bench: the default configuration is the headline row of the table, the JSON and the plot."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from jnr.benchmarks.bench import HEADLINE, app


def test_bench_headline_is_the_default_configuration(tiny_split, engines, tmp_path):
    r = CliRunner().invoke(
        app,
        [str(tiny_split), "--engines", str(engines), "--backends", "ort-cpu", "--repeat", "1",
         "--frames", "all", "--out", str(tmp_path), "--name", "b"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "b.json").read_text())
    assert list(doc["backends"]) == [HEADLINE, "ort-cpu"]
    head = doc["headline"]
    # no GPU, no TensorRT here: plain jnr-run picks ort-cpu, and always stops settled tracklets
    assert head["backend"] == "ort-cpu" and head["frames_mode"] == "settled"
    assert doc["backends"]["ort-cpu"]["frames_mode"] == "all"
    assert 0.0 <= head["accuracy"] <= 1.0 and head["split_frames_per_second"] > 0
    assert set(head["sec_per_tracklet"]) >= {"pose", "legibility", "str", "total"}
    assert head["speed_up_vs_torch"] is None  # no torch row asked for
    assert "default (ort-cpu, settled)" in r.output
    assert (tmp_path / "b.png").stat().st_size > 0
