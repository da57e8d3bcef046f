"""Torso box and crop from keypoints 5, 6, 11, 12 under both published rules, worked by hand."""

import numpy as np

from jnr.runtime.torso import BASELINE, SEED


def _person(score: float = 0.9) -> np.ndarray:
    kp = np.zeros((17, 3), np.float32)
    kp[[5, 6, 11, 12]] = [[40, 30, score], [60, 32, score], [42, 80, score], [58, 82, score]]
    return kp


def test_baseline_box_pads_five_pixels_and_crop_is_that_view():
    image = np.arange(120 * 100 * 3, dtype=np.uint8).reshape(120, 100, 3)
    people = _person()[None]
    assert BASELINE.box(people, image.shape[:2]) == (35, 25, 65, 82)  # x +-5, top -5, bottom = lowest hip
    crop = BASELINE.crop(people, image)
    assert crop.shape == (57, 30, 3) and np.shares_memory(crop, image)
    assert np.array_equal(crop, image[25:82, 35:65])


def test_rules_reject_what_they_state():
    image = np.zeros((120, 100, 3), np.uint8)
    assert BASELINE.crop(_person(0.39)[None], image) is None  # a torso keypoint under 0.4
    assert BASELINE.crop(np.zeros((0, 17, 3), np.float32), image) is None  # nobody found
    assert SEED.crop(np.stack([_person(), _person()]), image) is None  # not exactly one person
    assert SEED.box(_person()[None], (120, 90)) == (38, 30, 62, 82)  # 2 px pad, shoulder top; 24 >= 22.5
    assert SEED.crop(_person()[None], np.zeros((120, 200, 3), np.uint8)) is None  # narrower than 0.25 x width


def test_a_rule_that_counts_people_asks_for_the_pose_head_with_boxes():
    from jnr.runtime.specs import get_spec

    spec = get_spec("yolo11n-pose")
    assert spec.head == "keypoints" and BASELINE.pose_spec(spec) is spec
    assert SEED.pose_spec(spec).head == "full" and SEED.pose_spec(spec).input_hw == spec.input_hw
