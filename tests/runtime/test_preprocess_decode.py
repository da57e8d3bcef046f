"""Spec-driven preprocessing (colour order, padding) and CTC decoding of logits and probabilities."""

from dataclasses import replace

import numpy as np
import pytest

from jnr.runtime import decode as dec
from jnr.runtime import preprocess
from jnr.runtime.kinds import kind_of
from jnr.runtime.specs import PPOCR_V4_REC, PPOCR_V6_DET, get_spec

DIGITS = "0123456789"
CTC = replace(PPOCR_V4_REC, charset=DIGITS, output="logits")


def _scores(path: list[int], classes: int = 11, high: float = 8.0) -> np.ndarray:
    """(1, T, classes) logits whose argmax follows ``path``."""
    x = np.zeros((1, len(path), classes), np.float32)
    x[0, np.arange(len(path)), path] = high
    return x


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ([0, 0, 0], ""),
        ([2, 2, 0, 3, 3], "12"),  # repeats merge, the blank separates
        ([2, 0, 2], "11"),  # a blank between equal characters keeps both
        ([8, 0, 0, 0], "7"),
        ([1, 10, 1], "090"),
    ],
)
def test_greedy_ctc_table(path, text):
    assert dec.ctc_digits(CTC, _scores(path))[0][0] == text


def test_probabilities_decode_like_their_logits():
    logits = np.random.default_rng(0).normal(0, 3, (32, 12, 11)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    a = dec.ctc_digits(CTC, logits)
    b = dec.ctc_digits(replace(CTC, output="probs"), probs)
    assert [t for t, _ in a] == [t for t, _ in b]
    np.testing.assert_allclose([c for _, c in a], [c for _, c in b], rtol=1e-4)


def test_confidence_is_the_product_of_emitted_probabilities():
    p = np.full((1, 3, 11), 0.0, np.float32)
    p[0, 0, [2, 0]] = (0.8, 0.2)  # "1" at 0.8
    p[0, 1, 0] = 1.0  # blank
    p[0, 2, [3, 0]] = (0.5, 0.25)  # "2" at 0.5 / 0.75 after renormalising
    text, conf = dec.ctc_digits(replace(CTC, output="probs"), p)[0]
    assert text == "12" and conf == pytest.approx(0.8 * (0.5 / 0.75))


def test_only_ascii_digit_classes_are_read_and_others_renormalised_away():
    spec = replace(CTC, charset="²A0123456789", output="probs")  # classes 1 ("²") and 2 ("A") are not read
    p = np.zeros((2, 2, 13), np.float32)
    p[0, :, 1] = 0.9  # "²" wins over everything, then the renormalised digits and blank decide
    p[0, :, 4] = 0.06  # "1"
    p[0, :, 0] = 0.04
    p[1, :, 2] = 1.0  # only a letter: nothing among blank and digits, no NaN
    assert dec.ctc_digits(spec, p) == [("1", pytest.approx(0.6)), ("", 0.0)]


@pytest.mark.parametrize("output", ["probs", "logits"])
def test_charset_confidence_keeps_what_the_model_gives_a_digit(output):
    """A letter the model is sure of: the digits' renormalised share would be a confident "1"; under the
    whole charset the "1" it emits carries the model's own 0.06 and the vote's floor drops it."""
    spec = replace(CTC, charset="A0123456789", output="probs", confidence="charset")
    p = np.zeros((1, 2, 12), np.float32)
    p[0, :, 1] = 0.9  # "A"
    p[0, :, 3] = 0.06  # "1"
    p[0, :, 0] = 0.04
    if output == "logits":
        spec, p = replace(spec, output="logits"), np.log(p + 1e-12)
    text, conf = dec.ctc_digits(spec, p)[0]
    assert text == "1" and conf == pytest.approx(0.06, rel=1e-3)
    assert dec.ctc_digits(replace(spec, confidence="digits"), p)[0][1] == pytest.approx(0.6, rel=1e-3)


def test_given_number_crops_read_with_confidence_over_the_digits_a_gates_box_over_the_charset():
    """StageSpec.given: a user's number crops (--start str) are read on the tight canvas with a digit's
    confidence over the blank and the digits; a text box the gate cut (tight) keeps the charset's."""
    spec = get_spec("ppocr-v6-rec")
    assert spec.confidence == spec.tight().confidence == "charset"
    assert spec.given().confidence == "digits" and spec.given().input_hw == spec.tight().input_hw
    assert spec.given().input_hw[1] == spec.tight_width > spec.input_hw[1]
    assert PPOCR_V4_REC.given() == replace(PPOCR_V4_REC, confidence="digits")  # no tight width: same size
    parseq = get_spec("parseq")
    assert parseq.given() == parseq  # no CTC confidence to choose


def _text_map(h=64, w=64, boxes=((20, 24, 44, 40),), level=0.9):
    prob = np.zeros((1, h, w), np.float32)
    for x0, y0, x1, y1 in boxes:
        prob[0, y0:y1, x0:x1] = level
    return prob


def test_text_boxes_grow_by_the_unclip_distance_and_score_the_mean():
    ((x0, y0, x1, y1, score),) = dec.text_boxes(PPOCR_V6_DET, _text_map())
    # a 24 x 16 region at 0.9, dilated 2x2 to 25 x 17 (PaddleOCR's), scores its mean: the added border is 0
    assert score == pytest.approx(0.9 * 24 * 16 / (25 * 17), rel=1e-4)
    d = 25 * 17 * 1.6 / (2 * (25 + 17))  # and grows by area * unclip / perimeter on every side
    assert (x1 - x0, y1 - y0) == pytest.approx((25 + 2 * d, 17 + 2 * d))
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((32.5, 32.5))  # dilation: right, down
    assert dec.text_boxes(PPOCR_V6_DET, _text_map(level=0.4)) == []  # under the box threshold: no text
    assert dec.text_boxes(PPOCR_V6_DET, _text_map(boxes=((10, 10, 11, 30),))) == []  # 2 px wide dilated


def test_text_box_maps_to_the_crop_picks_the_largest_and_pads():
    spec = replace(PPOCR_V6_DET, resize="stretch")
    crop = np.zeros((128, 96, 3), np.uint8)  # stretched into 64 x 64: x / 1.5, y / 2
    _, place = preprocess.prepare(spec, crop)
    prob = _text_map(boxes=((4, 4, 10, 10), (20, 24, 44, 40)))
    (bx0, by0, bx1, by1), score = dec.text_box(spec, prob, place, crop.shape[:2])
    cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
    assert cx == pytest.approx(32.5 * 1.5, abs=2) and cy == pytest.approx(32.5 * 2, abs=2)
    assert 0 <= bx0 < 20 * 1.5 and by1 > 40 * 2 and score > PPOCR_V6_DET.threshold
    assert dec.text_box(spec, np.zeros((1, 64, 64), np.float32), place, crop.shape[:2]) == ((0, 0, 0, 0), 0.0)


@pytest.mark.parametrize(
    ("decode", "extra", "out", "passed", "floors"),
    [
        ("none", {}, None, [True, True], [0.0, 0.0]),
        ("sigmoid", {}, np.array([[2.0], [-2.0]], np.float32), [True, False], [0.0, 0.0]),
        ("db-text", {}, np.stack([_text_map(), _text_map(level=0.0)]), [True, False], [0.0, 0.0]),
        # a crop without text goes on whole, its reading to count only at charset confidence 0.9
        ("db-text", {"unboxed_floor": 0.9, "unboxed_trace": 0.0},
         np.stack([_text_map(), _text_map(level=0.0)]), [True, True], [0.0, 0.9]),
        # the default: ... where the detector's map holds a trace of text (0.1, under the binarize level:
        # no box), not where it holds none
        ("db-text", {"unboxed_floor": 0.9, "unboxed_trace": 0.02},
         np.stack([_text_map(level=0.1), _text_map(level=0.01)]), [True, False], [0.9, 0.9]),
    ],
)  # fmt: skip
def test_every_gate_kind_passes_or_stops_a_crop(decode, extra, out, passed, floors):
    spec = replace(PPOCR_V6_DET, decode=decode, extra={**PPOCR_V6_DET.extra, "unboxed_floor": None, **extra})
    crops = [np.full((64, 64, 3), 9, np.uint8), np.full((64, 64, 3), 9, np.uint8)]
    places = [preprocess.prepare(spec, c)[1] for c in crops]
    got = kind_of(spec).decode(spec, out, places, crops)
    assert [g.crop is not None for g in got] == passed and [g.floor for g in got] == floors
    if decode == "db-text":  # a boxed crop goes on cut to its text box, an unboxed one whole
        for g in got:
            if g.crop is not None and g.floor > 0:
                assert g.crop.shape == (64, 64, 3)
            elif g.crop is not None:
                assert g.crop.shape[0] < 64 and g.crop.shape[1] < 64
    assert PPOCR_V6_DET.extra["unboxed_floor"] == 0.9 and PPOCR_V6_DET.extra["unboxed_trace"] == 0.02


def test_bgr_order_in_both_implementations():
    spec = replace(PPOCR_V4_REC, inset_x=0.0, resize="stretch")
    red = np.zeros((48, 96, 3), np.uint8)
    red[..., 0] = 255
    for prep in (preprocess.prepare, preprocess.prepare_pil):
        x, _ = prep(spec, red)
        assert x.shape == (3, 48, 96)
        assert np.allclose(x[2], 1.0) and np.allclose(x[:2], -1.0), prep.__name__


def test_left_pad_pads_with_the_pad_value_and_left_replicates_the_edge():
    img = np.full((10, 5, 3), 255, np.uint8)  # a white 10x5 crop -> 48x24, left-aligned
    pad = replace(PPOCR_V4_REC, inset_x=0.0)
    x, place = preprocess.prepare(pad, img)
    assert place.scale_y == pytest.approx(4.8) and place.pad_x == 0
    assert np.allclose(x[:, :, :24], 1.0)
    assert np.allclose(x[:, :, 24:], (128 / 255 - 0.5) / 0.5, atol=1e-6)
    left = get_spec("easyocr-en-g2")
    y, _ = preprocess.prepare(replace(left, inset_x=0.0), np.full((10, 5, 3), 255, np.uint8))
    assert np.allclose(y, 1.0)  # the white edge is replicated across the rest


def test_pil_and_opencv_agree_on_left_pad():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (60, 50, 3), np.uint8)
    a, _ = preprocess.prepare(PPOCR_V4_REC, img)
    b, _ = preprocess.prepare_pil(PPOCR_V4_REC, img)
    assert a.shape == b.shape == (3, 48, 96)
    assert np.abs(a - b).mean() < 0.05  # both resize bilinearly-ish; padding identical
    assert np.array_equal(a[:, :, 40:], b[:, :, 40:])


def test_a_pose_head_without_boxes_gives_the_best_person_nms_keeps_first():
    """Several candidates, two people: the full head (boxes, NMS) and the keypoints head (its rows 4:) give
    the same best person first; the keypoints head gives that person alone."""
    spec = get_spec("yolo11n-pose")
    rng = np.random.default_rng(3)
    out = np.zeros((56, 6), np.float32)
    out[:4] = np.array([[20, 30, 10, 20]] * 3 + [[45, 30, 10, 20]] * 2 + [[5, 5, 4, 4]], np.float32).T
    out[4] = (0.6, 0.8, 0.7, 0.9, 0.85, 0.1)  # the best (0.9) is the second person; 0.1 under the threshold
    out[5:] = rng.uniform(0, 60, (51, 6))
    place = preprocess.Placement(1.0, 1.0, 0.0, 0.0)
    full = dec.yolo_pose(replace(spec, head="full"), out, place)
    cut = dec.yolo_pose(spec, out[4:], place)  # the shipped spec: head "keypoints"
    assert len(full) == 2 and len(cut) == 1  # NMS keeps one of each overlapping pair
    np.testing.assert_array_equal(cut[0], full[0])
    np.testing.assert_array_equal(cut[0], out[5:, 3].reshape(17, 3))
    assert len(dec.yolo_pose(spec, np.zeros((52, 6), np.float32), place)) == 0  # nobody at the threshold
    with pytest.raises(ValueError, match="gives 52 rows per anchor, not 56"):
        dec.yolo_pose(spec, out, place)  # a head with boxes read as one without: said, never guessed
