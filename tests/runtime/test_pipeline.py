"""The batched pipeline's bookkeeping, with numpy stand-in models (no weights needed)."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from fakes import Fake, pose_out

from jnr.runtime.data import open_split
from jnr.runtime.pipeline import Pipeline
from jnr.runtime.specs import get_spec
from jnr.runtime.stage import Stage
from jnr.runtime.torso import BASELINE


def str_out(x):
    """Logits reading '23' with high confidence."""
    charset = get_spec("easyocr-en-g2").charset
    out = np.full((len(x), 23, len(charset) + 1), -10.0, np.float32)
    out[:, :, 0] = 10.0
    out[:, 0, 0], out[:, 0, charset.index("2") + 1] = -10.0, 10.0
    out[:, 2, 0], out[:, 2, charset.index("3") + 1] = -10.0, 10.0
    return out


def make_pipeline(batch=4, legible=True):
    runners = (
        Fake(pose_out),
        Fake(lambda x: np.full((len(x), 1), 5.0 if legible else -5.0, np.float32)),
        Fake(str_out),
    )
    specs = [get_spec(n) for n in ("yolo11n-pose", "legibility-cnn", "easyocr-en-g2")]
    stages = [Stage(s, r) for s, r in zip(specs, runners, strict=True)]
    return Pipeline(stages, torso=BASELINE, batch=batch, workers=2), runners


def _split(root: Path, sizes: dict[str, int], hw=(120, 60)) -> Path:
    for tid, n in sizes.items():
        d = root / "images" / tid
        d.mkdir(parents=True)
        for k in range(n):
            cv2.imwrite(str(d / f"{tid}_{k}.jpg"), np.full((*hw, 3), 90, np.uint8))
    return root


def test_every_tracklet_voted_and_batches_shared(tmp_path):
    split = open_split(_split(tmp_path / "s", {"1": 3, "2": 5, "3": 2}))
    pipe, (pose, _, _) = make_pipeline(batch=4)
    results = {r.tracklet: r for r in pipe.run(split.tracklets)}
    assert {k: r.number for k, r in results.items()} == {"1": 23, "2": 23, "3": 23}
    assert max(pose.calls) == 4 and sum(pose.calls) == 10  # batches mix tracklets
    assert pipe.stats.frames == 10 and pipe.stats.torso_crops == 10 and pipe.stats.legible == 10
    assert all(len(r.readings) == n for r, n in zip(results.values(), (3, 5, 2), strict=True))


def test_results_stream_before_the_split_is_read(tmp_path):
    split = open_split(_split(tmp_path / "s", {str(i): 4 for i in range(6)}))
    pipe, (pose, _, _) = make_pipeline(batch=4)
    it = pipe.run(split.tracklets)
    first = next(it)
    assert first.number == 23 and sum(pose.calls) < 24  # emitted before all frames went through pose


def test_empty_tracklet_and_corrupt_frames(tmp_path):
    root = _split(tmp_path / "s", {"1": 3})
    (root / "images" / "2").mkdir()
    (root / "images" / "1" / "1_9.jpg").write_bytes(b"")
    (root / "images" / "3").mkdir()
    (root / "images" / "3" / "3_0.jpg").write_bytes(b"broken")
    pipe, _ = make_pipeline()
    with pytest.warns(UserWarning):
        results = {r.tracklet: r.number for r in pipe.run(open_split(root).tracklets)}
    assert results == {"1": 23, "2": -1, "3": -1}
    assert pipe.stats.empty_tracklets == ["2"] and len(pipe.stats.bad_frames) == 2


def test_illegible_gives_minus_one_and_small_crops_are_a_ball(tmp_path):
    pipe, (_, _, rec) = make_pipeline(legible=False)
    assert [r.number for r in pipe.run(open_split(_split(tmp_path / "s", {"1": 3})).tracklets)] == [-1]
    assert rec.calls == []
    pipe, _ = make_pipeline()
    ball = open_split(_split(tmp_path / "b", {"7": 4}, hw=(30, 25)))
    assert [r.number for r in pipe.run(ball.tracklets)] == [1]


def test_runner_max_batch_splits_calls(tmp_path):
    pipe, (pose, _, _) = make_pipeline(batch=8)
    pose.max_batch = 3
    list(pipe.run(open_split(_split(tmp_path / "s", {"1": 8})).tracklets))
    assert max(pose.calls) == 3 and sum(pose.calls) == 8


def test_tight_crops_are_read_at_the_recognizers_tight_width(tmp_path):
    """A recognizer with ``tight_width`` reads given number crops (and a gate's boxes) on the wider canvas,
    whole torso crops at its input size; the readings are decoded the same way."""
    from dataclasses import replace

    split = open_split(_split(tmp_path / "s", {"1": 3, "2": 2}, hw=(40, 30)))
    pipe, (_, _, rec) = make_pipeline(batch=4)
    spec = replace(pipe.stages["str"].spec, tight_width=pipe.stages["str"].spec.input_hw[1] + 64)
    widths = []
    rec.fn = lambda x: (widths.append(x.shape[3]), str_out(x))[1]
    pipe.stages["str"] = Stage(spec, rec)
    given = {r.tracklet: r.number for r in pipe.run(split.tracklets, start="str")}
    assert given == {"1": 23, "2": 23} and set(widths) == {spec.tight_width}
    assert len(rec.calls) == 2  # one run per batch: given crops all read with spec.given()
    widths.clear()
    whole = {r.tracklet: r.number for r in pipe.run(split.tracklets, start="gate")}  # the CNN gate: whole
    assert whole == {"1": 23, "2": 23} and set(widths) == {spec.input_hw[1]}


def test_a_rule_that_counts_people_needs_pose_with_person_boxes():
    """The shipped pose head keeps the best person alone (no boxes): the seed rule, which drops frames with
    more than one person, cannot run on it and says how to export for it; a head with boxes runs it."""
    from dataclasses import replace

    from jnr.runtime.errors import JnrError
    from jnr.runtime.torso import SEED

    pipe, runners = make_pipeline()
    pose, legibility, str_ = pipe.stages.values()
    assert pose.spec.head == "keypoints"
    with pytest.raises(JnrError, match="jnr-export --rule seed"):
        Pipeline([pose, legibility, str_], torso=SEED)
    runners[0].fn = lambda x: pose_out(x, head="full")
    full = Stage(replace(pose.spec, head="full"), runners[0])
    assert Pipeline([full, legibility, str_], torso=SEED).torso is SEED
