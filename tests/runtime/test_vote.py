import pytest

from jnr.runtime.vote import ball_sample, is_ball, parse_number, vote


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", 7),
        ("10", 10),
        ("99", 99),
        ("05", 5),
        ("0", None),
        ("00", None),
        ("007", None),
        ("100", None),
        ("", None),
        ("1a", None),
        ("-1", None),
        (" 7", None),
    ],
)
def test_parse_number(text, expected):
    assert parse_number(text) == expected


CASES = [
    ([], -1),  # no reading
    ([("0", 0.99), ("007", 0.99)], -1),  # only invalid readings
    # two digits: weight 0.61; 2 * 0.9 * 0.61 = 1.098 > 1.0
    ([("23", 0.9), ("23", 0.9)], 23),
    # one digit: weight 0.39; 2 * 0.9 * 0.39 = 0.702 <= 1.0 -> -1
    ([("7", 0.9), ("7", 0.9)], -1),
    # 3 * 0.9 * 0.39 = 1.053 > 1.0
    ([("7", 0.9)] * 3, 7),
    # confidences below 0.2 count as 0: 10 * 0.19 * 0.61 = 0 -> -1
    ([("23", 0.19)] * 10, -1),
    # exactly 0.2 is kept: 10 * 0.2 * 0.61 = 1.22
    ([("23", 0.2)] * 10, 23),
    # a best weighted sum of 1.0 is not enough (<= 1.0 -> -1)
    ([("50", 1.0 / 0.61)], -1),
    ([("50", 1.0 / 0.61 + 1e-6)], 50),
    # "05" counts as 5
    ([("05", 1.0), ("5", 1.0), ("5", 1.0)], 5),
    # the best weighted sum wins: 12 has 2 * 0.9 * 0.61 = 1.098; 7 has 4 * 0.7 * 0.39 = 1.092
    ([("12", 0.9), ("12", 0.9)] + [("7", 0.7)] * 4, 12),
    # the weight decides: raw sums 3.0 vs 2.0 but 3 * 0.39 = 1.17 < 2 * 0.61 = 1.22
    ([("4", 1.0)] * 3 + [("44", 1.0)] * 2, 44),
    # a tie goes to the smallest number
    ([("31", 1.0), ("31", 1.0), ("13", 1.0), ("13", 1.0)], 13),
]


@pytest.mark.parametrize(("readings", "expected"), CASES)
def test_vote_table(readings, expected):
    assert vote(readings) == expected


def test_vote_accepts_a_generator():
    assert vote(("23", 0.9) for _ in range(2)) == 23


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        ([], False),
        ([(35, 30)] * 10, True),  # both limits are inclusive
        ([(36, 30)] * 10, False),
        ([(35, 31)] * 10, False),
        ([(20, 20)] * 3, True),  # fewer than 10 frames: all are used
        ([(30, 20)] * 9 + [(80, 20)], True),  # mean height exactly 35.0
        ([(30, 20)] * 9 + [(81, 20)], False),  # mean height 35.1
        ([(100, 60)] * 5 + [(10, 10)] * 100, True),  # 10 frames spread over 105: one big, mean height 19
    ],
)
def test_is_ball(sizes, expected):
    assert is_ball(sizes) is expected


def test_ball_sample_spreads_ten_frames():
    assert ball_sample(5) == [0, 1, 2, 3, 4]
    s = ball_sample(100)
    assert len(s) == 10 and s[0] == 0 and s[-1] == 99 and s == sorted(s)
