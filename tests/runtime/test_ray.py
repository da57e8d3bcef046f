"""jnr-run --ray local: two actors give exactly the single-process answers, an actor killed mid-run loses
nothing, and a tracklet whose actor dies on every try is written as -1 with a warning."""

from __future__ import annotations

import json
import subprocess

import pytest

pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_run(run_cli):
    def go(split, engines, out, crash: str) -> subprocess.CompletedProcess:
        """jnr-run --ray local with two actors and the fault injection ``crash`` (runtime/distributed.py)."""
        return run_cli(
            "jnr-run", split, "--engines", engines, "--backend", "ort-cpu", "--out", out,
            "--ray", "local", "--ray-actors", "2", env={"JNR_RAY_CRASH": crash},
        )  # fmt: skip

    return go


@pytest.fixture(scope="module")
def single(tiny_split, engines, tmp_path_factory, run_cli):
    out = tmp_path_factory.mktemp("single") / "p.json"
    r = run_cli("jnr-run", tiny_split, "--engines", engines, "--backend", "ort-cpu", "--out", out)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(out.read_text())


def test_ray_two_actors_one_killed_mid_run_gives_the_single_process_answers(
    tiny_split, engines, single, tmp_path, ray_run
):
    out, marker = tmp_path / "p.json", tmp_path / "crashed"
    r = ray_run(tiny_split, engines, out, f"once:{marker}")
    assert r.returncode == 0, r.stderr[-3000:]
    assert marker.exists(), "the fault injection never ran: no actor was killed"
    assert json.loads(out.read_text()) == single
    assert "2 actors" in r.stderr
    assert "total (wall)" in r.stdout  # the per-stage table, summed over actors
    assert json.loads(out.with_suffix(".funnel.json").read_text()).keys() == single.keys()


def test_ray_tracklet_that_kills_every_actor_is_minus_one(tiny_split, engines, single, tmp_path, ray_run):
    victim = next((k for k, v in sorted(single.items()) if v != -1), sorted(single)[0])
    out = tmp_path / "p.json"
    r = ray_run(tiny_split, engines, out, f"tracklet:{victim}")
    assert r.returncode == 0, r.stderr[-3000:]
    preds = json.loads(out.read_text())
    assert preds[victim] == -1
    assert {k: v for k, v in preds.items() if k != victim} == {k: v for k, v in single.items() if k != victim}
    assert f"tracklet {victim} failed on every try" in r.stderr


def test_stage_figures_count_every_tracklet_after_a_batch_fails(tiny_split, engines, monkeypatch):
    """A batch that raises runs again one tracklet at a time; the figures returned count every frame run,
    the failed try's and the retries' (only the first pipeline's were returned before)."""
    import jnr
    from jnr.runtime import distributed
    from jnr.runtime.data import open_split
    from jnr.runtime.pipeline import Pipeline

    tracklets = open_split(tiny_split).tracklets
    with jnr.load(engines, backend="ort-cpu", frames="all") as reader:
        whole = {r.tracklet: r.number for r in reader.run(tracklets)}
        frames_once = reader.pipeline.stats.frames
        real_run, calls = Pipeline.run, []

        def flaky(self, ts, frames="all", start="pose"):  # the first call (the whole batch) fails half-way
            calls.append(len(ts))
            for i, r in enumerate(real_run(self, ts, frames, start)):
                if len(calls) == 1 and i == 3:
                    raise RuntimeError("a bad tracklet")
                yield r

        monkeypatch.setattr(Pipeline, "run", flaky)
        results, errors, stats = distributed.run_batch(reader.pipeline, tracklets, "all")
    assert {k: r.number for k, r in results.items()} == whole and errors == {}
    assert calls[0] == len(tracklets) and calls[1:] == [1] * len(tracklets)  # then one at a time
    assert stats.tracklets == 4 + len(tracklets) and stats.frames > frames_once  # 4 done when it failed
    assert stats.seconds["pose"] > 0
