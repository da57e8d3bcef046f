"""jnr-run --ray local: two actors give exactly the single-process answers, an actor killed mid-run loses
nothing, and a tracklet whose actor dies on every try is written as -1 with a warning."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("ray")


def jnr_run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    code = "from jnr.runtime.run_cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def ray_run(split, engines, out, crash: str) -> subprocess.CompletedProcess:
    """jnr-run --ray local with two actors and the fault injection ``crash`` (runtime/distributed.py)."""
    return jnr_run(
        str(split), "--engines", str(engines), "--backend", "ort-cpu", "--out", str(out),
        "--ray", "local", "--ray-actors", "2",
        env={"JNR_RAY_CRASH": crash},
    )  # fmt: skip


@pytest.fixture(scope="module")
def single(tiny_split, engines, tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "p.json"
    r = jnr_run(str(tiny_split), "--engines", str(engines), "--backend", "ort-cpu", "--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(out.read_text())


def test_ray_two_actors_one_killed_mid_run_gives_the_single_process_answers(
    tiny_split, engines, single, tmp_path
):
    out, marker = tmp_path / "p.json", tmp_path / "crashed"
    r = ray_run(tiny_split, engines, out, f"once:{marker}")
    assert r.returncode == 0, r.stderr[-3000:]
    assert marker.exists(), "the fault injection never ran: no actor was killed"
    assert json.loads(out.read_text()) == single
    assert "2 actors" in r.stderr
    assert "total (wall)" in r.stdout  # the per-stage table, summed over actors
    assert json.loads(out.with_suffix(".funnel.json").read_text()).keys() == single.keys()


def test_ray_tracklet_that_kills_every_actor_is_minus_one(tiny_split, engines, single, tmp_path):
    victim = next((k for k, v in sorted(single.items()) if v != -1), sorted(single)[0])
    out = tmp_path / "p.json"
    r = ray_run(tiny_split, engines, out, f"tracklet:{victim}")
    assert r.returncode == 0, r.stderr[-3000:]
    preds = json.loads(out.read_text())
    assert preds[victim] == -1
    assert {k: v for k, v in preds.items() if k != victim} == {k: v for k, v in single.items() if k != victim}
    assert f"tracklet {victim} failed on every try" in r.stderr
