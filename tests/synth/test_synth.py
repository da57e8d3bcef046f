import hashlib
import itertools
import json

import numpy as np
from PIL import Image

from jnr.runtime.data import open_split
from jnr.synth.tracklet import NO_NUMBER_SHARE, plan_tracklet, render_tracklet
from jnr.synth.write import load_annotations, write_split


def test_split_opens_in_the_data_layer_with_annotations(tiny_split):
    split = open_split(tiny_split)
    assert len(split.tracklets) == 6 and split.gt is not None
    for t in split.tracklets:
        assert 6 <= len(t.frames) <= 10
        ann = load_annotations(tiny_split, t.id)
        assert ann["number"] == split.gt[t.id]
        assert set(ann["frames"]) == {p.name for p in t.frames}
        for p in t.frames:
            a = ann["frames"][p.name]
            kp = np.asarray(a["keypoints"])
            assert kp.shape == (17, 3) and set(np.unique(kp[:, 2])) <= {0, 1, 2}
            w, h = Image.open(p).size
            vis = kp[kp[:, 2] > 0]
            assert (vis[:, 0] >= 0).all() and (vis[:, 0] < w).all() and (vis[:, 1] < h).all()
            if a["readable"]:
                assert a["number_box"] is not None and ann["number"] > 0


def test_numbered_gt_means_readable_frames_and_minus_one_means_none(tiny_split):
    split = open_split(tiny_split)
    for t in split.tracklets:
        readable = [f["readable"] for f in load_annotations(tiny_split, t.id)["frames"].values()]
        assert any(readable) == (split.gt[t.id] != -1)


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_deterministic_for_a_seed(tmp_path):
    a = write_split(tmp_path / "a", "test", 2, (3, 5), seed=11, workers=1)
    b = write_split(tmp_path / "b", "test", 2, (3, 5), seed=11, workers=2)
    c = write_split(tmp_path / "c", "test", 2, (3, 5), seed=12, workers=1)
    assert _digest(a) == _digest(b) != _digest(c)


def test_plans_cover_sizes_and_the_illegible_share():
    plans = [plan_tracklet(np.random.default_rng([5, i]), 50, 400) for i in range(300)]
    heights = [p.height0 for p in plans]
    assert 40 <= min(heights) and max(heights) <= 250 and max(heights) > 150 and min(heights) < 60
    share = np.mean([p.number == -1 for p in plans])
    assert abs(share - NO_NUMBER_SHARE) < 0.08
    assert all(50 <= p.frames <= 400 for p in plans)
    numbers = {p.number for p in plans if p.number > 0}
    assert (
        len(numbers) >= 80
        and min(numbers) >= 1
        and max(numbers) <= 99
        and len(numbers & set(range(1, 10))) >= 5
    )


def test_readability_changes_slowly_at_25_fps():
    checked = 0
    for index in range(8):
        number, frames = render_tracklet(3, index, 60, 60)
        readable = [a["readable"] for _, _, a in frames]
        if number > 0:  # readable spans are runs, not flicker: the player turns slowly
            checked += 1
            assert sum(a != b for a, b in itertools.pairwise(readable)) < len(readable) / 3
    assert checked >= 2


def test_gt_json_is_the_challenge_format(tiny_split):
    gt = json.loads((tiny_split / "test_gt.json").read_text())
    assert all(isinstance(k, str) and isinstance(v, int) for k, v in gt.items())
