import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from jnr.runtime.data import decode, frame_key, iter_frames, load_labels, natural_key, open_split
from jnr.runtime.errors import JnrError


def _jpg(path: Path, shape=(20, 10, 3)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full(shape, 128, np.uint8))


def test_frames_ordered_by_integer_index(tmp_path):
    for k in (10, 2, 1, 100):
        _jpg(tmp_path / f"s/images/7/7_{k}.jpg")
    (tmp_path / "s/images/7/notes.txt").write_text("not an image")
    _jpg(tmp_path / "s/images/7/extra_b.jpg")
    split = open_split(tmp_path / "s")
    assert [p.name for p in split.tracklets[0].frames] == [
        "7_1.jpg",
        "7_2.jpg",
        "7_10.jpg",
        "7_100.jpg",
        "extra_b.jpg",
    ]


def test_tracklet_ids_are_strings_in_natural_order(tmp_path):
    for tid in ("10", "9", "0012", "a"):
        _jpg(tmp_path / f"s/images/{tid}/{tid}_0.jpg")
    ids = [t.id for t in open_split(tmp_path / "s").tracklets]
    assert ids == ["9", "10", "0012", "a"]  # natural order, ids exactly as on disk
    assert all(isinstance(i, str) for i in ids)


def test_natural_and_frame_keys():
    assert sorted(["f10", "f9", "f100"], key=natural_key) == ["f9", "f10", "f100"]
    assert frame_key(Path("3_12.jpg")) < frame_key(Path("3_100.jpg")) < frame_key(Path("zzz.jpg"))


@pytest.mark.parametrize(
    ("layout", "message"),
    [(None, "split folder not found"), ("empty", "no images/ folder")],
)
def test_missing_split_or_images(tmp_path, layout, message):
    if layout == "empty":
        (tmp_path / "s").mkdir()
    with pytest.raises(JnrError, match=message):
        open_split(tmp_path / "s")


def test_empty_tracklet_listed_with_no_frames(tmp_path):
    (tmp_path / "s/images/5").mkdir(parents=True)
    assert open_split(tmp_path / "s").tracklets[0].frames == ()


@pytest.mark.parametrize("content", [b"", b"\xff\xd8\xff garbage that is not a jpeg"])
def test_corrupt_or_empty_image_warns_and_returns_none(tmp_path, content):
    p = tmp_path / "bad.jpg"
    p.write_bytes(content)
    with pytest.warns(UserWarning, match="skipping"):
        assert decode(p) is None


@pytest.mark.parametrize("shape", [(12, 8), (12, 8, 4)])
def test_gray_and_rgba_become_rgb(tmp_path, shape):
    p = tmp_path / "x.png"
    cv2.imwrite(str(p), np.full(shape, 200, np.uint8))
    img = decode(p)
    assert img.shape == (12, 8, 3) and img.dtype == np.uint8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"1": "x"}', "expected an integer"),
        ('{"1": 100}', "expected -1 or 0..99"),
        ('{"1": 1.5}', "expected an integer"),
        ('{"1": true}', "integer"),
    ],
)
def test_malformed_gt_names_the_file(tmp_path, text, message):
    p = tmp_path / "test_gt.json"
    p.write_text(text)
    with pytest.raises(JnrError, match=message) as e:
        load_labels(p)
    assert str(p) in str(e.value)


def test_gt_loaded_with_split(tiny_split):
    split = open_split(tiny_split)
    assert split.gt == {str(k): v for k, v in json.loads((tiny_split / "test_gt.json").read_text()).items()}
    assert set(split.gt) == {t.id for t in split.tracklets}


def test_iter_frames_streams_in_order_and_skips_corrupt(tmp_path):
    for k in range(5):
        _jpg(tmp_path / f"s/images/1/1_{k}.jpg")
    (tmp_path / "s/images/1/1_5.jpg").write_bytes(b"")
    split = open_split(tmp_path / "s")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frames = list(iter_frames(split.tracklets, workers=2, prefetch=2))
    assert [f.index for f in frames] == list(range(6))
    assert [f.image is None for f in frames] == [False] * 5 + [True]
    assert frames[-1].last and not frames[0].last
    assert any("1_5.jpg" in str(w.message) for w in caught)
