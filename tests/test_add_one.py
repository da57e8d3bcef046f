"""docs/architecture.md's three recipes, each done here in the test alone: a recognizer is one spec entry and
one builder, a backend one BACKENDS entry and one RUNTIMES opener, a decision rule one DECISION_RULES entry.
Nothing in the package names the toys; the tables carry them through export, planning, running and voting."""

import shutil

import numpy as np
import pytest

from jnr.runtime import decision, plan, runners
from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import load_manifest
from jnr.runtime.ort_runner import OrtRunner


def test_a_recognizer_is_one_spec_entry_and_one_builder(engines, tiny_split, tmp_path, monkeypatch):
    """A toy CTC recognizer that reads "7" in everything: registered, exported by jnr-export --str, checked
    for parity, run by the runtime; its readings decide."""
    pytest.importorskip("torch")
    from toy import SEVEN, register_sevens
    from typer.testing import CliRunner

    from jnr.export.cli_export import app

    toy = register_sevens(monkeypatch)
    out = tmp_path / "engines"
    shutil.copytree(engines, out)  # with its parity split; pose and the gate are reused as they are
    r = CliRunner().invoke(app, ["--stages", "str", "--str", toy.name, "--no-openvino", "--out", str(out)])
    assert r.exit_code == 0, r.output
    m = load_manifest(out)
    assert m.stages["str"].spec.name == toy.name and m.stages["str"].parity["fp32"]["passed"]
    assert m.stages["pose"].key == load_manifest(engines).stages["pose"].key
    import jnr

    with jnr.load(out, backend="ort-cpu", vote="baseline") as reader:
        results = list(reader.run(tiny_split))
    readings = [x for r in results for x in r.readings]
    assert readings and all(x.text == str(SEVEN) for x in readings)  # every crop it read: its "7"
    assert {r.number for r in results} <= {SEVEN, -1} and any(r.number == SEVEN for r in results)


def test_a_backend_is_one_table_entry_and_one_opener(engines, tiny_split, monkeypatch, api_answers):
    """A toy backend: its planner says what each stage runs, its opener opens it (ONNX Runtime's CPU provider,
    counting calls); jnr.load runs it by name, with ort-cpu's answers, and says which precisions it takes."""
    calls = []

    class Counting(OrtRunner):
        def infer(self, x):
            calls.append(len(x))
            return super().infer(x)

    def planner(b, e, precision):
        return plan.StagePlan(e.stage, "counting", "fp32", "onnx-fp32", "a toy", provider="ort-cpu")

    def opener(p, e, o):
        return Counting(e.file(o.root, p.artifact), p.provider, e.spec.max_batch, o.threads)

    monkeypatch.setitem(plan.BACKENDS, "toy", plan.Backend("toy", "onnx", planner, ("fp32",)))
    monkeypatch.setitem(runners.RUNTIMES, "counting", opener)
    got = api_answers(engines, tiny_split, backend="toy")
    assert got == api_answers(engines, tiny_split, backend="ort-cpu") and calls
    with pytest.raises(JnrError, match=r"--backend toy runs auto\|fp32, not int8"):
        plan.plan("toy", load_manifest(engines), "int8")


def test_a_decision_rule_is_one_table_entry(engines, tiny_split, monkeypatch, api_answers):
    """A toy rule (the longest reading wins, whatever its confidence) chosen with vote=: every tracklet
    with a reading gets its longest one's number; early exit falls back to every frame for it (no proof)."""

    class Longest(decision.DecisionRule):
        name = "longest"

        def number(self, readings, frames):
            texts = [r[0] for r in readings if r[0].isdigit()]
            return int(max(texts, key=lambda t: (len(t), t))) if texts else -1

    monkeypatch.setitem(decision.DECISION_RULES, "longest", Longest())
    import jnr

    with jnr.load(engines, backend="ort-cpu", vote="longest", frames="exact") as reader:
        assert reader.opened.config.frames == "all"
        results = {r.tracklet: r for r in reader.run(tiny_split)}
    with jnr.load(engines, backend="ort-cpu", vote="baseline", frames="all") as reader:
        base = {r.tracklet: r for r in reader.run(tiny_split)}
    rule = decision.DECISION_RULES["longest"]
    for t, r in results.items():
        assert r.readings == base[t].readings  # the same frames fed and read: only the vote differs
        assert r.number == rule.number(r.readings, r.funnel.legible) and r.funnel.vote == "longest"
    assert any(r.number != -1 for r in results.values())


def test_a_round_is_over_once_sealed_and_empty_and_says_so_once():
    """tracks.Round's invariant, on random interleavings of enters, leaves and the seal."""
    from jnr.runtime.tracks import Round

    rng = np.random.default_rng(0)
    for _ in range(200):
        r, inside, sealed, told = Round(), 0, False, False
        for step in rng.integers(0, 3, 40):
            if step == 0 and not sealed:
                r.enter()
                inside += 1
            elif step == 1 and inside:
                r.leave()
                inside -= 1
            elif step == 2:
                r.seal()
                sealed = True
            expected = sealed and inside == 0 and not told
            assert r.over() == expected
            told = told or expected
        assert told == (sealed and inside == 0)
