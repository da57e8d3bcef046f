"""Early exit: coarse-to-fine order, the exact bound, and runs that stop early."""

import numpy as np
import pytest

from jnr.runtime import early
from jnr.runtime.vote import ball_sample, vote


@pytest.mark.parametrize("n", [0, 1, 2, 5, 10, 11, 64, 100, 333])
def test_coarse_order_is_a_permutation_with_the_ball_sample_first(n):
    order = early.coarse_order(n)
    assert sorted(order) == list(range(n))
    k = len(ball_sample(n))
    assert order[:k] == ball_sample(n)
    if n >= 64:  # the first frames after the sample spread over the whole tracklet
        assert max(order[k : k + 8]) > n / 2


@pytest.mark.parametrize(
    ("readings", "remaining", "changes"),
    [
        ([], 0, False),
        ([], 1, False),  # one frame adds at most 0.61: -1 stays
        ([], 2, True),  # two frames of a two-digit number reach 1.22
        ([("23", 0.9)] * 3, 1, False),  # 23 has 1.647; a rival reaches 0.61
        ([("23", 0.9)] * 3, 3, True),  # a new two-digit number could reach 1.83
        ([("23", 0.9)] * 3 + [("7", 0.9)] * 2, 2, False),  # 7 reaches 0.70 + 0.78 < 1.647; new: 1.22
        ([("23", 0.9)] * 2, 1, False),  # 23 has 1.098 > 1.0; any rival reaches 0.61 at most
        ([("5", 1.0)] * 3, 2, True),  # 5 has 1.17; a new two-digit number reaches 1.22
        ([("5", 1.0)] * 3, 1, False),
        ([("5", 1.0)] * 2, 5, True),  # 5 has 0.78: -1 for now, and 5 itself can pass 1.0
    ],
)
def test_can_change_on_hand_worked_cases(readings, remaining, changes):
    assert early.can_change(readings, remaining) is changes


def test_can_change_false_means_no_continuation_changes_the_vote():
    """Random tracklets: whenever the bound says settled, no continuation of that length (biased to the
    strongest rival) changes the vote."""
    rng = np.random.default_rng(0)
    numbers = ["7", "23", "5", "71", "0", "", "123"]
    settled = 0
    for _ in range(4000):
        seen = [(str(rng.choice(numbers)), float(rng.uniform(0, 1))) for _ in range(rng.integers(0, 12))]
        remaining = int(rng.integers(1, 6))
        if early.can_change(seen, remaining):
            continue
        settled += 1
        before = vote(seen)
        for rival in ("1", "9", "10", "99", "23", "7", str(before)):
            assert vote(seen + [(rival, 1.0)] * remaining) == before
            assert vote(seen + [(rival, float(rng.uniform(0, 1)))] * remaining) == before
    assert settled > 300


@pytest.mark.parametrize(
    ("value", "mode"), [("all", "all"), ("exact", "exact"), ("settled", "settled"), ("40", 40)]
)
def test_frames_modes_parse(value, mode):
    assert early.parse_mode(value) == mode


@pytest.mark.parametrize("value", ["0", "-3", "some", ""])
def test_bad_frames_mode_is_an_error(value):
    with pytest.raises(ValueError, match="--frames takes"):
        early.parse_mode(value)


@pytest.fixture(scope="module")
def long_split(tmp_path_factory):
    from jnr.synth.write import write_split

    return write_split(
        tmp_path_factory.mktemp("long"), "test", tracklets=8, frames=(60, 120), seed=12, workers=2
    )


@pytest.fixture(scope="module")
def runs(engines, long_split):
    from jnr.runtime.backends import load_stages
    from jnr.runtime.data import open_split
    from jnr.runtime.pipeline import Pipeline
    from jnr.runtime.torso import BASELINE

    stages = load_stages("ort-cpu", engines)
    tracklets = open_split(long_split).tracklets
    out = {}
    for mode in ("all", "exact", "settled", 24):
        pipe = Pipeline.for_backend(stages, "ort-cpu", BASELINE, batch=32)
        out[mode] = ({r.tracklet: r for r in early.run(pipe, tracklets, mode)}, pipe.stats)
    return out


def test_exact_mode_gives_the_full_runs_answers(runs):
    full, exact = runs["all"][0], runs["exact"][0]
    assert set(full) == set(exact) and len(full) == 8
    assert {k: r.number for k, r in exact.items()} == {k: r.number for k, r in full.items()}
    assert runs["exact"][1].frames <= runs["all"][1].frames


def test_settled_and_budget_modes_feed_fewer_frames_and_say_so(runs, long_split):
    from jnr.runtime.data import open_split

    lengths = {t.id: len(t.frames) for t in open_split(long_split).tracklets}
    for mode in ("settled", 24):
        results, stats = runs[mode]
        assert stats.frames < runs["all"][1].frames
        for tid, r in results.items():
            f = r.funnel
            assert f["frames"] + f["skipped"] == lengths[tid] and f["frames"] >= f["person"] >= f["torso"]
            if mode == 24:
                assert f["frames"] <= 24
