"""The decision stage: the rule table, the evidence rule's cases, the confidence, where a reading sat, and
entering the pipeline at the recognizer."""

from __future__ import annotations

import numpy as np
import pytest
from test_vote import CASES as VOTE_CASES

from jnr.runtime import decision as D
from jnr.runtime.decision import BOXED, EDGE, GIVEN, INNER, WHOLE, Reading
from jnr.runtime.score import reliability
from jnr.runtime.vote import vote


@pytest.mark.parametrize(("readings", "expected"), VOTE_CASES)
def test_the_baseline_rule_is_the_published_vote(readings, expected):
    assert D.DECISION_RULES["baseline"].number(readings, frames=len(readings)) == expected == vote(readings)


def test_the_baseline_rule_ignores_where_a_reading_sat():
    plain = [("1", 0.9)] * 3
    assert D.DECISION_RULES["baseline"].number([Reading(t, c, EDGE) for t, c in plain], 3) == vote(plain) == 1


EVIDENCE_CASES = [
    # one or two sure readings on a short tracklet are a number (the baseline: 0.77 <= 1.0, -1)
    ([Reading("8", 0.99, GIVEN)] * 2, 2, 8),
    ([Reading("62", 0.99, BOXED)], 1, 62),
    # many weak readings are no number
    ([Reading("1", 0.5, BOXED)] * 40, 400, -1),
    # a "1" read often, nearly always a stroke at the crop's side
    ([Reading("1", 0.95, EDGE)] * 30 + [Reading("1", 0.95, INNER)] * 5, 500, -1),
    # sure readings from a small share of a long tracklet (need 1% of 600 frames: 6)
    ([Reading("1", 0.95, INNER)] * 3, 600, -1),
    ([Reading("1", 0.95, INNER)] * 6, 600, 1),
    # a number seen clearly beats a "1" read often at the side
    ([Reading("23", 0.99, BOXED)] * 5 + [Reading("1", 0.5, EDGE)] * 40, 300, 23),
    # a two-digit reading of the whole torso is located (its sides are the number's)
    ([Reading("74", 0.9, WHOLE)] * 3, 100, 74),
    # the leader needs a summed confidence of 0.8
    ([Reading("33", 0.75, GIVEN)], 1, -1),
    ([], 10, -1),
    ([Reading("", 0.0, WHOLE)] * 5, 5, -1),
]


@pytest.mark.parametrize(("readings", "frames", "expected"), EVIDENCE_CASES)
def test_the_evidence_rule(readings, frames, expected):
    assert D.DECISION_RULES["evidence"].number(readings, frames) == expected


def test_every_answer_has_a_probability_and_more_evidence_is_surer():
    rule = D.DECISION_RULES["evidence"]
    one = rule.decide([Reading("8", 0.99, GIVEN)], 1)
    many = rule.decide([Reading("8", 0.99, GIVEN)] * 20, 20)
    assert one.number == many.number == 8 and 0 < one.confidence < many.confidence < 1
    none = rule.decide([], 50)
    weak = rule.decide([Reading("1", 0.95, INNER)] * 3, 600)  # -1 with some evidence for a number
    assert none.number == weak.number == -1 and 0 < weak.confidence < none.confidence < 1


@pytest.mark.parametrize(
    "readings, settled",
    [
        ([("7", 0.5, WHOLE)] * 40, True),  # weak readings only: no number has a sure one
        ([("1", 0.95, EDGE)] * 20, True),  # sure, but strokes at the crop's side
        ([("23", 0.9, BOXED)] + [("5", 0.4, WHOLE)] * 9, False),  # one sure, located reading: read on
        ([("4", 0.8, INNER)], False),  # backed by the crop's middle: located
    ],
)
def test_the_evidence_rules_early_minus_one(readings, settled):
    """Early exit's -1 on a covered tracklet under the evidence rule: no sure, located reading of any number;
    weak readings and unread text play no part."""
    assert D.get_decision_rule("evidence").early.none_settled(readings, unread=50) is settled


def test_the_baseline_rules_early_minus_one_is_nothing_read_and_no_unread_text():
    baseline = D.get_decision_rule("baseline").early
    assert baseline.none_settled([("7", 0.3)], unread=0)  # 0.39 x 0.3 = 0.12
    assert not baseline.none_settled([("7", 0.7)], unread=0)  # 0.27
    assert not baseline.none_settled([], unread=1)


def test_unknown_rule_is_a_clear_error():
    from jnr.runtime.errors import JnrError

    with pytest.raises(JnrError, match="unknown --vote 'nope'; known: baseline, evidence"):
        D.get_decision_rule("nope")


@pytest.mark.parametrize(
    ("reading", "inner", "checked", "backed"),
    [
        (Reading("1", 0.9, WHOLE), ("1", 0.8), True, True),
        (Reading("1", 0.9, WHOLE), ("", 0.0), True, False),  # a plain shirt in the middle: an edge
        (Reading("7", 0.9, WHOLE), ("1", 0.9), True, False),
        (Reading("7", 0.9, WHOLE), ("7", 0.1), True, False),  # the middle's reading does not count
        (Reading("74", 0.9, WHOLE), ("4", 0.9), False, True),  # two digits fill the width: not checked
        (Reading("1", 0.9, BOXED), ("", 0.0), False, False),  # a text box inside the torso
        (Reading("1", 0.1, WHOLE), ("", 0.0), False, False),  # not counted anyway
    ],
)
def test_which_readings_are_checked_in_the_crops_middle(reading, inner, checked, backed):
    assert D.needs_inner(reading) is checked
    assert D.inner_agrees(reading.text, inner) is backed


def test_reliability_bins_and_ece():
    answers = [(True, 0.9)] * 9 + [(False, 0.9)] + [(True, 0.3), (False, 0.3), (False, 0.3)]
    rel = reliability(answers)
    assert [b["n"] for b in rel["bins"]] == [3, 10]
    assert rel["bins"][1]["right"] == pytest.approx(0.9)
    assert rel["bins"][0]["right"] == pytest.approx(1 / 3, abs=1e-4)
    assert rel["ece"] == pytest.approx(3 / 13 * abs(1 / 3 - 0.3) + 10 / 13 * 0.0, abs=1e-4)


def _number_crop(text: str, rng: np.random.Generator) -> np.ndarray:
    """A tight crop of a jersey number, about SoccerNet's size (24 x 26 px median): RGB."""
    import cv2

    img = np.full((64, 40 * len(text) + 16, 3), (30, 40, 160), np.uint8)
    cv2.putText(img, text, (6, 54), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (255, 255, 255), 6, cv2.LINE_AA)
    h = int(rng.integers(24, 30))
    return cv2.resize(img, (round(img.shape[1] * h / img.shape[0]), h), interpolation=cv2.INTER_AREA)


def test_start_str_reads_number_crops_through_the_recognizer_and_the_decision(engines):
    """--start str: tight number crops go to the recognizer alone (no pose, no gate, no ball filter,
    although they are ball-sized); two clear crops are enough for the evidence rule, not the baseline's."""
    import jnr

    rng = np.random.default_rng(0)
    crops = [_number_crop("8", rng) for _ in range(2)]
    with jnr.load(engines, backend="ort-cpu", start="str") as reader:
        r = reader.read(crops)
    assert r.funnel.frames == r.funnel.legible == 2 and not r.funnel.ball
    assert [x.where for x in r.readings] == [GIVEN, GIVEN]
    assert r.number == 8 and r.funnel.vote == "evidence" and 0.5 < r.confidence < 1
    with jnr.load(engines, backend="ort-cpu", vote="baseline") as reader:
        base = reader.read(crops, start="str")
    assert base.number == -1 and base.funnel.vote == "baseline"  # 2 x 0.39 x ~1.0 <= 1.0


def test_baseline_vote_reads_the_same_frames_and_answers_as_the_vote_on_them(engines, tiny_split):
    """--vote baseline is the published vote over the pipeline's readings: the evidence rule's extra reads
    only say where a reading sat, so both runs see the same readings, and the baseline's answers are
    vote() of them."""
    import jnr

    runs = {}
    for rule in ("baseline", "evidence"):
        with jnr.load(engines, backend="ort-cpu", frames="all", vote=rule) as reader:
            runs[rule] = {r.tracklet: r for r in reader.run(tiny_split)}
    for tid, base in runs["baseline"].items():
        ev = runs["evidence"][tid]
        assert [x[:2] for x in base.readings] == [x[:2] for x in ev.readings]
        assert base.number == (1 if base.funnel.ball else vote(ev.readings))
        assert {x.where for x in base.readings} <= {BOXED, WHOLE}  # baseline makes no extra reads


def test_exact_falls_back_to_all_for_a_rule_without_the_proof(engines):
    from jnr.runtime.reader import RunConfig, read_manifest, resolve

    opened = resolve(
        RunConfig(engines=engines, backend="ort-cpu", frames="exact"), read_manifest(engines, True)
    )
    assert opened.config.frames == "all" and any("exact" in n for n in opened.notes)
    kept = resolve(
        RunConfig(engines=engines, backend="ort-cpu", frames="exact", vote="baseline"),
        read_manifest(engines, True),
    )
    assert kept.config.frames == "exact" and not kept.notes


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--vote", "nope"], "unknown --vote 'nope'; known: baseline, evidence"),
        (["--start", "torso"], "unknown --start 'torso'; known: pose, gate, str"),
    ],
)
def test_bad_vote_or_start_is_one_line_and_exit_2(engines, tiny_split, tmp_path, run_cli, option, message):
    out = tmp_path / "p.json"
    r = run_cli("jnr-run", tiny_split, "--engines", engines, "--backend", "ort-cpu", "--out", out, *option)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert not out.exists()


def test_the_funnel_names_the_rule_and_gives_a_confidence(engines, tiny_split, tmp_path, run_cli):
    import json

    out = tmp_path / "p.json"
    r = run_cli("jnr-run", tiny_split, "--engines", engines, "--backend", "ort-cpu", "--out", out,
                "--report", tmp_path / "r.html")  # fmt: skip
    assert r.returncode == 0, r.stderr
    funnel = json.loads(out.with_suffix(".funnel.json").read_text())
    assert funnel and all(f["vote"] == "evidence" and 0 < f["confidence"] < 1 for f in funnel.values())
    page = (tmp_path / "r.html").read_text()
    assert "Reliability of the confidence" in page and "--vote evidence" in page
