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

    dst = tmp_path / "real" / "test"  # SoccerNet's layout: test/test_gt.json beside test/images/
    shutil.copytree(tiny_split, dst, ignore=shutil.ignore_patterns("annotations"))
    return dst


def test_annotation_labels_need_annotations_and_labels_are_checked(tiny_split, tmp_path):
    from jnr.runtime.errors import JnrError

    real = _split_without_annotations(tiny_split, tmp_path)
    with pytest.raises(JnrError, match="use --labels teacher"):
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


@pytest.mark.parametrize(
    ("reading", "gt", "legible", "number"),
    [
        (("23", 0.9), None, 1.0, None),  # no ground truth: a confident plausible number is legible
        (("23", 0.3), None, 0.0, None),  # not confident
        (("0", 0.99), None, 0.0, None),  # not a jersey number
        (("", 0.0), None, 0.0, None),
        (("23", 0.9), 23, 1.0, "23"),  # the teacher confirms the tracklet's number
        (("05", 0.9), 5, 1.0, "5"),
        (("23", 0.9), 28, None, None),  # another number: legible or misread, left out
        (("23", 0.4), 23, 0.0, None),
        (("", 0.0), 23, 0.0, None),
        (("23", 0.9), -1, 0.0, None),  # every crop of a -1 tracklet is a negative
    ],
)
def test_weak_labels_follow_the_teacher_and_the_ground_truth(reading, gt, legible, number):
    from jnr.train.teacher import legibility_label, str_label

    assert legibility_label(reading, gt) == legible
    assert str_label(reading, gt) == number


def test_teacher_labels_use_the_tracklet_ground_truth(tiny_split, tmp_path, monkeypatch):
    from jnr.runtime.data import open_split
    from jnr.train import teacher

    real = _split_without_annotations(tiny_split, tmp_path)
    gt = open_split(real).gt
    # a stand-in teacher that reads every crop as 7: positives only in tracklets whose number is 7
    monkeypatch.setattr(teacher, "ocr_teacher", lambda *a, **k: lambda crops: [("7", 0.9)] * len(crops))
    data = torso_crops(real, get_spec("legibility-cnn"), BASELINE, stride=2, labels="teacher")
    tids = [t.id for t in open_split(real).tracklets]
    assert len(data.y) > 0 and data.truth is None
    for y, g in zip(data.y, data.group, strict=True):
        assert (gt[tids[g]], y) in ((-1, 0.0), (7, 1.0))


def test_jnr_train_str_on_a_split_without_annotations_uses_teacher_labels(tiny_split, tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from jnr.train import teacher
    from jnr.train.cli import app

    real = _split_without_annotations(tiny_split, tmp_path)
    gt_path = real / "test_gt.json"
    gt = {k: (7 if v != -1 else -1) for k, v in json.loads(gt_path.read_text()).items()}
    gt_path.write_text(json.dumps(gt))
    # a stand-in teacher reading 7 everywhere: every crop of a numbered tracklet becomes an example of "7"
    monkeypatch.setattr(teacher, "ocr_teacher", lambda *a, **k: lambda crops: [("7", 0.9)] * len(crops))
    out = tmp_path / "str.pt"
    args = ["str", str(real), "--epochs", "1", "--stride", "2", "--held-out", "0.34", "--out", str(out)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    card = out.with_suffix(".md").read_text()
    assert "**labels**: teacher" in card and out.stat().st_size > 1e6


def test_style_keys_hold_out_whole_font_families(tmp_path):
    from jnr.synth.write import write_split
    from jnr.train.legibility import style_keys

    split = write_split(tmp_path, "train", 12, (1, 2), seed=4, workers=1, styles="train")
    groups = np.repeat(np.arange(12), 3)
    keys = style_keys(split, groups)
    fams = [load_annotations(split, str(i))["style"]["family"] for i in range(12)]
    assert list(keys) == [fams[g] for g in groups]
    m = held_out_mask(keys, 0.3, seed=0)
    assert set(keys[m]).isdisjoint(keys[~m]) and m.any() and (~m).any()


def test_parseq_trainer_learns_and_writes_a_strhub_layout_checkpoint(tiny_split, tmp_path, monkeypatch):
    pytest.importorskip("timm")
    import torch

    from jnr.export.parseq import load_parseq
    from jnr.train import parseq as tq
    from jnr.train.str_ import exact

    monkeypatch.setitem(tq.SMALL, "embed_dim", 48)
    monkeypatch.setitem(tq.SMALL, "enc_depth", 1)
    monkeypatch.setitem(tq.SMALL, "enc_num_heads", 2)
    monkeypatch.setitem(tq.SMALL, "dec_num_heads", 2)
    spec = get_spec("parseq")
    x, labels, _ = readable_crops(tiny_split, spec, BASELINE, stride=1, seed=0)
    x, labels = x[:24], labels[:24]
    model, hp = tq.train(x, labels, epochs=40, seed=0, batch=12)
    assert exact(model, spec, x, labels) >= 0.9  # it memorises what it saw
    path = tmp_path / "p.ckpt"
    tq.save(model, hp, path)
    loaded = load_parseq(path)
    with torch.inference_mode():
        assert torch.equal(loaded(torch.from_numpy(x)), model(torch.from_numpy(x)))


def test_digit_crop_stream_draws_fresh_labelled_crops_from_one_side_of_the_style_table():
    from jnr.synth import styles
    from jnr.synth.digits import digit_crop, digit_crops

    crops, labels = digit_crops(40, seed=3)
    assert all(c.dtype == np.uint8 and c.ndim == 3 and c.shape[2] == 3 for c in crops)
    assert all(lab.isdigit() and 1 <= int(lab) <= 99 for lab in labels)
    assert len({c.tobytes() for c in crops}) == 40  # no two alike
    again, labels2 = digit_crops(40, seed=3)
    assert labels2 == labels and all(np.array_equal(a, b) for a, b in zip(crops, again, strict=True))
    # train and unseen draw from disjoint font families
    train_fonts = {f for _, f in styles.fonts("train")}
    unseen_fonts = {f for _, f in styles.fonts("unseen")}
    assert train_fonts.isdisjoint(unseen_fonts)
    tight, _ = digit_crop(np.random.default_rng(0), kind="tight")
    torso, _ = digit_crop(np.random.default_rng(0), kind="torso")
    assert torso.shape[0] / torso.shape[1] > tight.shape[0] / tight.shape[1]  # torso crops are taller


def test_jnr_train_parseq_on_the_stream_alone_writes_a_checkpoint_and_card(tmp_path, monkeypatch):
    pytest.importorskip("timm")
    from typer.testing import CliRunner

    from jnr.export.parseq import load_parseq
    from jnr.train import parseq as tq
    from jnr.train.cli import app

    monkeypatch.setitem(tq.SMALL, "embed_dim", 32)
    monkeypatch.setitem(tq.SMALL, "enc_depth", 1)
    monkeypatch.setitem(tq.SMALL, "enc_num_heads", 2)
    monkeypatch.setitem(tq.SMALL, "dec_num_heads", 2)
    out = tmp_path / "pq.ckpt"
    r = CliRunner().invoke(
        app, ["parseq", "--synthetic", "64", "--epochs", "1", "--check", "32", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    load_parseq(out)
    card = out.with_suffix(".md").read_text()
    assert "unseen_families_stream_exact_match" in card and "fresh synth.digits crops" in card
    r = CliRunner().invoke(app, ["parseq", "--out", str(out)])
    assert r.exit_code != 0 and "nothing to train on" in str(r.exception)


def test_finetune_ppocr_v6_rec_on_a_few_generated_number_crops_and_export_it(tmp_path, run_cli):
    """jnr-train str --init ppocr-v6-rec on a handful of generated tight number crops (a real split's layout:
    images/<id>/*.jpg + gt.json), two epochs: it writes an ONNX file the export takes like the shipped one,
    with the charset in its metadata, and a card with the held-out figures."""
    import json

    import cv2
    import numpy as np
    import onnx

    rng = np.random.default_rng(0)
    gt = {}
    for t, number in enumerate((7, 23, 48, 90)):
        d = tmp_path / "real" / "images" / str(t)
        d.mkdir(parents=True)
        gt[str(t)] = number
        for k in range(3):
            img = np.full((64, 40 * len(str(number)) + 16, 3), rng.integers(0, 120, 3), np.uint8)
            cv2.putText(img, str(number), (6, 54), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (255, 255, 255), 6)
            cv2.imwrite(str(d / f"{t}_{k}.jpg"), cv2.resize(img, (img.shape[1] * 26 // 64, 26)))
    (tmp_path / "real" / "gt.json").write_text(json.dumps(gt))
    out = tmp_path / "ft.onnx"
    r = run_cli("jnr-train", "str", tmp_path / "real", "--init", "ppocr-v6-rec", "--epochs", "1",
                "--held-out", "0.5", "--out", out)  # fmt: skip
    assert r.returncode == 0, r.stderr
    model = onnx.load(str(out))
    assert any(p.key == "character" for p in model.metadata_props)
    card = out.with_suffix(".md").read_text()
    assert "held_out_read_before" in card and "held_out_read_per_epoch" in card
    e = run_cli(
        "jnr-export",
        "--no-openvino",
        "--stages",
        "str",
        "--str",
        f"ppocr-v6-rec={out}",
        "--out",
        tmp_path / "E",
    )
    assert e.returncode == 0, e.stderr
    manifest = json.loads((tmp_path / "E" / "manifest.json").read_text())
    assert manifest["stages"]["str"]["parity"]["fp32"]["passed"]
