"""Spec-driven preprocessing (colour order, padding) and CTC decoding of logits and probabilities."""

from dataclasses import replace

import numpy as np
import pytest

from jnr.runtime import decode as dec
from jnr.runtime import preprocess
from jnr.runtime.specs import PPOCR_V4_REC, get_spec

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
