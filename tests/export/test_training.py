"""Training helpers on a tiny synthetic split: labels, leakage-free splits, a short run."""

import numpy as np
import pytest

pytest.importorskip("torch")

from jnr.export.train_legibility import held_out_mask, split_by_group, torso_crops
from jnr.export.train_str import readable_crops
from jnr.runtime.specs import get_spec
from jnr.runtime.torso import BASELINE
from jnr.synth.write import load_annotations


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
