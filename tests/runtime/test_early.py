"""Frame-feeding policies (early exit): coarse-to-fine order, the exact bound, the settled rules on fake
runners whose readings follow the frames, and the real engines on a rendered split."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from fakes import Fake, pose_out

from jnr.runtime import early
from jnr.runtime.data import open_split
from jnr.runtime.errors import JnrError
from jnr.runtime.pipeline import Pipeline
from jnr.runtime.specs import get_spec
from jnr.runtime.stage import Stage
from jnr.runtime.torso import BASELINE
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
    with pytest.raises(JnrError, match="--frames takes"):
        early.parse_mode(value)


def _frames(root: Path, tid: str, shown: set[int], n: int, hw=(120, 60)) -> None:
    """A tracklet whose frames in ``shown`` carry the number (bright) and the others nothing (dark)."""
    d = root / "images" / tid
    d.mkdir(parents=True)
    for k in range(n):
        cv2.imwrite(str(d / f"{tid}_{k}.jpg"), np.full((*hw, 3), 200 if k in shown else 20, np.uint8))


def _reader(x):
    """EasyOCR-layout logits: "23" where the crop is bright, nothing (all blank) where it is dark."""
    charset = get_spec("easyocr-en-g2").charset
    out = np.full((len(x), 23, len(charset) + 1), -10.0, np.float32)
    out[:, :, 0] = 10.0
    bright = x.reshape(len(x), -1).mean(1) > 0
    out[bright, 0, 0], out[bright, 0, charset.index("2") + 1] = -10.0, 10.0
    out[bright, 2, 0], out[bright, 2, charset.index("3") + 1] = -10.0, 10.0
    return out


def _pipeline(gate_passes: bool | None = None, decision: str = "baseline") -> Pipeline:
    """``gate_passes`` None: the gate passes the bright crops (text there), True / False: every / no crop;
    ``decision``: the rule (the baseline's, for which the exact proof is built, by default)."""

    def gate(x):
        bright = x.reshape(len(x), -1).mean(1, keepdims=True) > 0 if gate_passes is None else gate_passes
        return np.where(bright, 5.0, -5.0).astype(np.float32) * np.ones((len(x), 1), np.float32)

    gate = Fake(gate)
    specs = [get_spec(n) for n in ("yolo11n-pose", "legibility-cnn", "easyocr-en-g2")]
    stages = [Stage(s, r) for s, r in zip(specs, (Fake(pose_out), gate, Fake(_reader)), strict=True)]
    return Pipeline(stages, torso=BASELINE, batch=16, workers=2, decision=decision)


def _run(root: Path, frames, gate_passes: bool | None = None, decision: str = "baseline") -> dict:
    return {r.tracklet: r for r in _pipeline(gate_passes, decision).run(open_split(root).tracklets, frames)}


@pytest.mark.parametrize("budget", [1, 5, 9, 10, 12, 40])
def test_a_frame_budget_below_and_above_the_ball_sample_feeds_that_many(tmp_path, budget):
    """--frames N: N frames fed (coarse order), the ball filter on what was fed; N < 10 crashed before."""
    _frames(tmp_path, "a", set(range(200)), 200)
    _frames(tmp_path, "b", set(), 30)
    got = _run(tmp_path, budget)
    assert got["a"].funnel.frames == min(budget, 200) and got["a"].funnel.skipped == 200 - min(budget, 200)
    assert got["b"].funnel.frames == min(budget, 30)
    assert got["a"].number == (23 if 0.61 * budget > 1.0 else -1) and got["b"].number == -1


def test_exact_gives_every_frames_answer_and_settled_stops_a_clear_leader_early(tmp_path):
    _frames(tmp_path, "lead", set(range(300)), 300)
    _frames(tmp_path, "few", {150, 151, 152, 153, 154, 155}, 300)  # the number in 6 frames of 300
    _frames(tmp_path, "none", set(), 300)
    full, exact, settled = (_run(tmp_path, m) for m in ("all", "exact", "settled"))
    answers = {"lead": 23, "few": 23, "none": -1}
    for got in (full, exact, settled):
        assert {k: r.number for k, r in got.items()} == answers
    assert settled["lead"].funnel.frames == early.FIRST_ROUND  # 16 frames: 23 at 9.76, far ahead
    # "nothing yet" is no evidence of -1: frame 152 (every fourth) reads 23, then every second frame is looked
    # through, where the other five sit
    assert settled["few"].funnel.frames * early.COVER_STRIDE >= 300
    # nothing read in every fourth frame: -1 once they are all in, not before
    assert settled["none"].funnel.frames == _quarter(300) < 300


def _quarter(n: int) -> int:
    """Frames of coarse order until every SPARSE_STRIDE consecutive frames of ``n`` hold one."""
    return early.to_cover(n, [], early.coarse_order(n), early.SPARSE_STRIDE)


def test_a_short_tracklet_is_covered_at_every_second_frame_under_either_rule(tmp_path):
    """Under SPARSE_FROM frames the sparse stride does not apply: the baseline vote, which settles short
    tracklets, covers a 40-frame one with nothing in view at every second frame, a 300-frame one at every
    fourth."""
    _frames(tmp_path, "short", set(), 40)
    _frames(tmp_path, "long", set(), 300)
    settled = _run(tmp_path, "settled", decision="baseline")
    order = early.coarse_order(40)
    assert settled["short"].number == settled["long"].number == -1
    assert settled["short"].funnel.frames == early.to_cover(40, [], order, early.COVER_STRIDE) > 20
    assert settled["long"].funnel.frames == _quarter(300)


@pytest.mark.parametrize("n", [1, 3, 4, 5, 37, 300, 333])
@pytest.mark.parametrize("stride", [1, 2, 4])
def test_to_cover_feeds_exactly_the_frames_that_cover_the_tracklet(n, stride):
    """After to_cover's count of a feeding order every ``stride`` consecutive frames hold a fed one; one
    frame fewer leaves a run of ``stride`` unfed."""
    order = early.coarse_order(n)
    k = early.to_cover(n, [], order, stride)

    def longest_unfed(fed: set[int]) -> int:
        run = best = 0
        for i in range(n):
            run = 0 if i in fed else run + 1
            best = max(best, run)
        return best

    assert longest_unfed(set(order[:k])) < stride <= longest_unfed(set(order[: k - 1])) or n < stride
    assert early.to_cover(n, order[:k], order[k:], stride) == 0  # covered: nothing more needed
    assert early.to_cover(n, order[: k - 1], order[k - 1 :], stride) == 1


def test_to_cover_of_positions_that_never_cover_is_more_than_all_of_them():
    assert early.to_cover(10, [], [0, 2, 4], 2) == 4  # all three and one more: never covered by these
    assert early.to_cover(10, [1, 3, 5, 7], [9], 2) == 1  # the last gap closed by frame 9


def test_a_reading_the_vote_counts_halves_the_coverage_stride(tmp_path):
    """Every fourth frame seen with nothing read settles -1; once a frame reads a number (even one too weak
    to win), every second frame is looked through. The price, pinned: a number shown only between the
    frames of every fourth (here at positions 2 mod 4, no ball-sample frame among them) is not seen
    before a tracklet with nothing else in view settles -1; every frame answers it."""
    between = {150, 154, 158, 162, 170, 174}  # 166 is a ball-sample frame
    _frames(tmp_path, "between", between, 300)
    _frames(tmp_path, "hinted", between | {100}, 300)  # 100 is in every fourth (and the ball sample)
    settled = _run(tmp_path, "settled", decision="evidence")
    full = _run(tmp_path, "all", decision="evidence")
    assert full["between"].number == full["hinted"].number == 23
    assert settled["hinted"].number == 23 and settled["hinted"].funnel.frames >= 150
    assert settled["between"].number == -1 and settled["between"].funnel.frames == _quarter(300)


def test_text_the_recognizer_cannot_read_keeps_a_tracklet_going(tmp_path):
    """Crops the gate passes but nothing reads: -1 does not settle at the coverage; crops the gate stops
    (no text) let it."""
    _frames(tmp_path, "t", set(), 300)
    unread = _run(tmp_path, "settled", gate_passes=True)["t"].funnel
    assert unread.legible == unread.unread_text == unread.frames == 300  # every frame fed
    stopped = _run(tmp_path, "settled", gate_passes=False)["t"].funnel
    assert stopped.unread_text == 0 and stopped.frames < 300


def test_under_the_evidence_rule_a_covered_tracklet_with_no_sure_number_settles_at_the_coverage(tmp_path):
    """Unread text (the gate passes every crop, nothing reads) does not keep a numberless tracklet going
    under the evidence rule: it stops exactly at the coverage (the round is cut there); a number shown in 6
    frames of 300 (3 sure readings at the coverage) goes on and is found, as with every frame."""
    _frames(tmp_path, "none", set(), 300)
    _frames(tmp_path, "few", set(range(150, 156)), 300)
    settled = _run(tmp_path, "settled", gate_passes=True, decision="evidence")
    full = _run(tmp_path, "all", gate_passes=True, decision="evidence")
    assert {k: r.number for k, r in settled.items()} == {k: r.number for k, r in full.items()}
    assert settled["none"].number == -1 and settled["few"].number == 23
    assert settled["none"].funnel.frames == settled["none"].funnel.unread_text == _quarter(300)
    assert settled["few"].funnel.frames > 150  # read on past every second frame


def test_one_digit_part_of_a_two_digit_reading_proves_nothing():
    readings = [("5", 1.0)] * 8 + [("53", 1.0)]  # 5 at 3.12, 53 at 0.61: a lead of 2.5
    assert not early.clear_leader(readings)
    assert early.clear_leader([("5", 1.0)] * 8)
    assert early.clear_leader([("53", 1.0)] * 8 + [("5", 1.0)])  # a two-digit leader stands


@pytest.fixture(scope="module")
def long_split(tmp_path_factory):
    from jnr.synth.write import write_split

    return write_split(
        tmp_path_factory.mktemp("long"), "test", tracklets=8, frames=(60, 120), seed=12, workers=2
    )


@pytest.fixture(scope="module")
def runs(engines, long_split):
    import jnr

    out = {}
    for mode in ("all", "exact", "settled", 24):
        with jnr.load(engines, backend="ort-cpu", batch=32, frames=mode) as reader:
            out[mode] = ({r.tracklet: r for r in reader.run(long_split)}, reader.pipeline.stats)
    return out


def test_exact_mode_gives_the_full_runs_answers(runs):
    full, exact = runs["all"][0], runs["exact"][0]
    assert set(full) == set(exact) and len(full) == 8
    assert {k: r.number for k, r in exact.items()} == {k: r.number for k, r in full.items()}
    assert runs["exact"][1].frames <= runs["all"][1].frames


def test_settled_and_budget_modes_feed_fewer_frames_and_say_so(runs, long_split):
    lengths = {t.id: len(t.frames) for t in open_split(long_split).tracklets}
    for mode in ("settled", 24):
        results, stats = runs[mode]
        assert stats.frames < runs["all"][1].frames
        for tid, r in results.items():
            f = r.funnel
            assert f.frames + f.skipped == lengths[tid] and f.frames >= f.person >= f.torso
            if mode == 24:
                assert f.frames == 24
