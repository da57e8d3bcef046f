"""Training helpers on a tiny synthetic split: labels, leakage-free splits, a short run."""

import numpy as np
import pytest

pytest.importorskip("torch")

from jnr.runtime.specs import get_spec
from jnr.runtime.torso import BASELINE
from jnr.synth.write import load_annotations
from jnr.train.legibility import held_out_mask, split_by_group, torso_crops
from jnr.train.str_ import readable_crops


def test_held_out_split_is_by_tracklet():
    groups = np.repeat(np.arange(10), 7)
    m = held_out_mask(groups, 0.3, seed=1)
    assert set(groups[m]).isdisjoint(groups[~m]) and len(set(groups[m])) == 3


def test_legibility_crops_carry_the_readable_labels(tiny_split):
    data = torso_crops(tiny_split, get_spec("legibility-cnn"), BASELINE)
    assert data.x.shape[1:] == (3, 64, 64) and len(data.x) == len(data.y) == len(data.group)
    readable = sum(
        f["readable"] for t in range(6) for f in load_annotations(tiny_split, str(t))["frames"].values()
    )
    assert data.y.sum() <= readable and set(np.unique(data.y)) <= {0.0, 1.0}
    tr, te = split_by_group(data, 0.34, seed=0)
    assert set(tr.group.tolist()).isdisjoint(te.group.tolist()) and len(tr.y) + len(te.y) == len(data.y)


def test_str_crops_are_readable_frames_labelled_with_the_number(tiny_split):
    x, labels, groups = readable_crops(tiny_split, get_spec("easyocr-en-g2"), BASELINE, stride=1, seed=0)
    gt = {i: load_annotations(tiny_split, str(i))["number"] for i in range(6)}
    assert x.shape[1:] == (1, 64, 96) and len(labels) == len(groups) > 0
    assert all(lab == str(gt[g]) and gt[g] > 0 for lab, g in zip(labels, groups, strict=True))


def _split_without_annotations(tiny_split, tmp_path):
    import shutil

    dst = tmp_path / "real"
    shutil.copytree(tiny_split, dst, ignore=shutil.ignore_patterns("annotations"))
    return dst


def test_annotation_labels_need_annotations_and_labels_are_checked(tiny_split, tmp_path):
    from jnr.runtime.errors import JnrError

    real = _split_without_annotations(tiny_split, tmp_path)
    with pytest.raises(JnrError, match="use --labels easyocr"):
        torso_crops(real, get_spec("legibility-cnn"), BASELINE)
    with pytest.raises(JnrError, match="unknown labels"):
        torso_crops(tiny_split, get_spec("legibility-cnn"), BASELINE, labels="guess")


def test_easyocr_teacher_reads_digits_only(rendered_number):
    from jnr.train.legibility import easyocr_teacher

    teacher = easyocr_teacher()
    assert teacher(rendered_number("23")) and teacher(rendered_number("7"))
    assert not teacher(np.full((64, 64, 3), 200, np.uint8))


def test_teacher_labels_pose_crops_of_a_split_without_annotations(tiny_split, tmp_path):
    real = _split_without_annotations(tiny_split, tmp_path)
    data = torso_crops(real, get_spec("legibility-cnn"), BASELINE, stride=2, labels="easyocr")
    assert len(data.x) > 0 and data.truth is None and set(np.unique(data.y)) <= {0.0, 1.0}
    with_ann = torso_crops(tiny_split, get_spec("legibility-cnn"), BASELINE, stride=2, labels="easyocr")
    assert with_ann.truth is not None and len(with_ann.truth) == len(with_ann.y) == len(data.y)


def test_jnr_train_legibility_with_the_teacher_writes_weights_and_card(tiny_split, tmp_path):
    from typer.testing import CliRunner

    from jnr.train.cli import app

    out = tmp_path / "leg.pt"
    args = ["legibility", str(tiny_split), "--labels", "easyocr", "--epochs", "1", "--stride", "2"]
    r = CliRunner().invoke(app, [*args, "--held-out", "0.34", "--out", str(out)])
    assert r.exit_code == 0, r.output
    card = out.with_suffix(".md").read_text()
    assert out.stat().st_size > 1e6 and "EasyOCR teacher" in card
    assert "teacher_agreement_with_annotations" in card and "held_out_accuracy_vs_annotations" in card
    bad = CliRunner().invoke(app, [*args, "--rule", "nope", "--out", str(out)])
    assert bad.exit_code != 0 and "unknown torso rule" in str(bad.exception)
