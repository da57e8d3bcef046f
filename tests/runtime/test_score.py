import pytest

from jnr.runtime.errors import JnrError
from jnr.runtime.score import score


@pytest.mark.parametrize(
    ("pred", "gt", "acc", "acc_neg", "acc_num", "missing"),
    [
        ({"a": 1, "b": -1}, {"a": 1, "b": -1}, 1.0, 1.0, 1.0, 0),
        ({"a": 2, "b": -1}, {"a": 1, "b": -1}, 0.5, 1.0, 0.0, 0),
        ({}, {"a": 1, "b": -1}, 0.5, 1.0, 0.0, 2),  # missing predictions count as -1
        ({"a": 1}, {"a": 1, "b": 5, "c": -1, "d": -1}, 0.75, 1.0, 0.5, 3),
        ({"a": 7}, {"a": 7}, 1.0, None, 1.0, 0),
    ],
)
def test_score_table(pred, gt, acc, acc_neg, acc_num, missing):
    s = score(pred, gt)
    assert s.accuracy == pytest.approx(acc)
    assert s.acc_illegible == acc_neg and s.acc_numbered == acc_num and s.missing == missing


def test_confusions_most_frequent_first():
    gt = {"a": 1, "b": 1, "c": 2, "d": 3}
    s = score({"a": 7, "b": 7, "c": 9, "d": 3}, gt)
    assert s.confusions[0] == (1, 7, 2) and (2, 9, 1) in s.confusions and s.correct == 1


@pytest.mark.parametrize(
    ("pred", "gt", "message"), [({"zz": 1}, {"a": 1}, "not in the ground truth"), ({}, {}, "empty")]
)
def test_mismatched_inputs(pred, gt, message):
    with pytest.raises(JnrError, match=message):
        score(pred, gt)
