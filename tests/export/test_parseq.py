"""PARSeq and the baseline's ResNet legibility checkpoints: jnr's modules against the reference code
(strhub itself where installed, strhub's recorded outputs otherwise), export, parity, jnr-run, bad files."""

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("timm")

import torch

from jnr.export.cli_export import app
from jnr.export.models import build, resolve_weights
from jnr.export.parseq import load_parseq
from jnr.runtime import decode as dec
from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import load_manifest
from jnr.runtime.specs import get_spec

DATA = Path(__file__).resolve().parent.parent / "data"
sys.path.insert(0, str(DATA))
import make_parseq_reference as ref  # noqa: E402

HAS_STRHUB = importlib.util.find_spec("strhub") is not None and importlib.util.find_spec("pytorch_lightning")


def _strhub_model(**over):
    return ref.strhub_parseq(**over)  # installed but not importable is a failure, not a skip


def test_matches_strhubs_recorded_outputs_on_the_first_three_positions():
    """The committed checkpoint and the outputs strhub gave for it (tests/data/make_parseq_reference.py)."""
    saved = np.load(DATA / "parseq-tiny-ref.npz")
    model = load_parseq(DATA / "parseq-tiny.ckpt")
    with torch.inference_mode():
        got = model(torch.from_numpy(ref.normalise(saved["images"]))).numpy()
    kept = model.kept.numpy()
    np.testing.assert_allclose(got, saved["max_length_2"][..., kept], atol=1e-5)
    eos = (saved["default"].argmax(-1) == 0).any(-1)
    assert eos.all()  # every reading ends within 3 positions: the truncation is exact
    np.testing.assert_allclose(got, saved["default"][..., kept], atol=1e-5)


@pytest.mark.skipif(
    not HAS_STRHUB, reason="strhub (ORE-strhub + pytorch-lightning 1.9.5) is in the dev extra"
)
@pytest.mark.parametrize(
    ("over", "prefix"),
    [
        ({}, ""),  # the 2022-23 layout the baseline vendors
        ({}, "model."),  # newer strhub wraps the model
        ({"refine_iters": 0}, ""),
        ({"refine_iters": 2, "eos_bias": 4.0}, ""),
        ({"decode_ar": False}, ""),
        ({"embed_dim": 64, "dec_num_heads": 4, "enc_depth": 2}, ""),
        # readings that are not all digits: letters before the first EOS, EOS first, no EOS in 3 positions
        ({"seed": 9, "eos_bias": 0.5}, ""),
        ({"seed": 10, "eos_bias": 0.0}, ""),
        ({"seed": 4, "eos_bias": -1.0, "refine_iters": 2}, ""),
    ],
)
def test_reproduces_strhub_live(tmp_path, over, prefix):
    """Every row: the first 3 positions of strhub's ``model(images)``, and the baseline's reading of them."""
    over = {"seed": 3, **over}
    model = _strhub_model(**over)
    path = ref.save_checkpoint(model, tmp_path / "p.ckpt", prefix)
    mine = load_parseq(path)
    x = torch.from_numpy(ref.normalise(ref.images(32, seed=over["seed"] + 10)))
    with torch.inference_mode():
        got = mine(x)
        full = model(x)
    k = min(3, full.shape[1])  # strhub stops once every reading has ended: without refinement maybe < 3
    default = full[:, :k][..., mine.kept]
    torch.testing.assert_close(got[:, :k], default, atol=1e-5, rtol=1e-4)
    spec = get_spec("parseq")
    baseline = dec.parseq_digits(spec, full[:, :k, :11].numpy())  # the baseline's rule on strhub's logits
    assert [t for t, _ in dec.parseq_digits(spec, got[:, :k].numpy())] == [t for t, _ in baseline]
    if over.get("eos_bias", 2.0) <= 0.5:  # the rows this case is for: a letter (or symbol) read
        assert (full[:, :3].argmax(-1) > 10).any()


def test_decoder_follows_the_baselines_rule():
    def logits(*classes):  # one position per class, confident
        z = np.full((len(classes), 11), -8.0)
        for i, c in enumerate(classes):
            z[i, c] = 8.0
        return z

    batch = np.stack([logits(3, 8, 0), logits(1, 6, 0), logits(0, 5, 5), logits(10, 10, 10)])
    out = dec.parseq_digits(get_spec("parseq"), batch)
    assert [t for t, _ in out] == ["27", "05", "", "999"]
    p = np.exp(8) / (np.exp(8) + 10 * np.exp(-8))
    assert out[0][1] == pytest.approx(p * p) and out[2][1] == 0.0  # EOS excluded from the product


@pytest.fixture(scope="module")
def parseq_engines(engines, tmp_path_factory):
    """The default export with its STR stage replaced by a PARSeq checkpoint made by strhub's code."""
    out = tmp_path_factory.mktemp("pq") / "engines"
    shutil.copytree(engines, out)
    args = ["--fp16", "--no-openvino", "--stages", "str", "--str", f"parseq={DATA / 'parseq-tiny.ckpt'}"]
    args += ["--out", str(out)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    return out


def test_parseq_exports_with_parity_and_a_dynamic_batch(parseq_engines):
    e = load_manifest(parseq_engines).stages["str"]
    assert e.spec.name == "parseq" and e.spec.decode == "parseq-digits"
    assert e.io["inputs"][0]["shape"] == ["batch", 3, 32, 128]
    assert e.io["outputs"][0]["shape"][1:] == [3, 11]
    for precision in ("fp32", "fp16"):
        p = e.parity[precision]
        assert p["passed"] and p["samples"] > 500, p
    assert e.parity["fp32"]["max_abs_error"] < 1e-3
    import onnxruntime as ort

    s = ort.InferenceSession(str(e.file(parseq_engines, "onnx-fp32")), providers=["CPUExecutionProvider"])
    for n in (1, 3):  # batch 1 works (no squeeze)
        x = ref.normalise(ref.images(n))
        assert s.run(None, {s.get_inputs()[0].name: x})[0].shape == (n, 3, 11)


def test_jnr_run_with_parseq(parseq_engines, tiny_split, tmp_path, run_cli, api_answers):
    out = tmp_path / "pred.json"
    r = run_cli("jnr-run", tiny_split, "--engines", parseq_engines, "--backend", "ort-cpu", "--out", out)
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text()) == api_answers(parseq_engines, tiny_split, backend="ort-cpu")


def _write(path: Path, obj) -> Path:
    torch.save(obj, path)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: _write(p, {"fc.weight": torch.zeros(1, 2)}), "not a Lightning checkpoint"),
        (
            lambda p: _write(p, {"state_dict": {"fc.weight": torch.zeros(1)}, "hyper_parameters": {}}),
            "not a PARSeq",
        ),
        (lambda p: p.write_bytes((DATA / "parseq-tiny.ckpt").read_bytes()[:5000]) and p, "does not load"),
        (lambda p: p, "not found"),
    ],
)
def test_bad_parseq_files_are_one_line_errors(tmp_path, make, message):
    path = make(tmp_path / "bad.ckpt")
    with pytest.raises(JnrError, match=message):
        load_parseq(path)


def test_a_charset_without_digits_is_refused(tmp_path):
    ckpt = torch.load(DATA / "parseq-tiny.ckpt", weights_only=True)
    ckpt["hyper_parameters"]["charset_train"] = (
        "abcdefghijklmnopqrstuvwxyz" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~0123"
    )
    with pytest.raises(JnrError, match="no 456789"):
        load_parseq(_write(tmp_path / "c.ckpt", ckpt))


def test_export_names_the_missing_parseq_weights(engines, tmp_path):
    out = tmp_path / "e"
    shutil.copytree(engines, out)
    r = CliRunner().invoke(app, ["--stages", "str", "--str", "parseq", "--out", str(out)])
    assert r.exit_code != 0 and "parseq ships no weights" in str(r.exception)


class LegibilityClassifier(torch.nn.Module):
    """The baseline's module (legibility_classifier.py): ``model_ft`` = a torchvision ResNet with fc -> 1,
    forward = sigmoid(model_ft(x))."""

    def __init__(self, arch: str) -> None:
        import torchvision

        super().__init__()
        self.model_ft = getattr(torchvision.models, arch)(weights=None)
        self.model_ft.fc = torch.nn.Linear(self.model_ft.fc.in_features, 1)

    def forward(self, x):
        return torch.sigmoid(self.model_ft(x))


@pytest.mark.parametrize("name", ["legibility-resnet34", "legibility-resnet18"])
def test_baseline_resnet_checkpoints_load_and_agree_with_the_baseline_module(tmp_path, name):
    torch.manual_seed(1)
    base = LegibilityClassifier(name.removeprefix("legibility-")).eval()
    path = _write(tmp_path / "leg.pth", base.state_dict())
    spec = get_spec(name)
    mine = build(spec, str(path))
    x = torch.randn(4, 3, 256, 256)
    with torch.inference_mode():
        np.testing.assert_allclose(dec.sigmoid(spec, mine(x).numpy()), base(x)[:, 0].numpy(), atol=1e-6)
    wrong = _write(tmp_path / "w.pth", LegibilityClassifier("resnet18").state_dict())
    if name == "legibility-resnet34":
        with pytest.raises(JnrError, match="does not fit legibility-resnet34"):
            build(spec, str(wrong))


@pytest.mark.parametrize(
    ("preset", "explicit", "weights", "expected", "rule"),
    [
        ("baseline", {}, {"legibility": "r34.pth", "str": "p.ckpt"},
         {"pose": None, "legibility": "legibility-resnet34=r34.pth", "str": "parseq=p.ckpt"}, "baseline"),
        ("seed", {}, {"str": "p.ckpt"},
         {"pose": "yolo11s-pose.pt", "legibility": "legibility-cnn", "str": "parseq=p.ckpt"}, "seed"),
        ("baseline", {"legibility": "none"}, {},
         {"pose": None, "legibility": "none", "str": "parseq"}, "baseline"),
        (None, {}, {"str": "my.onnx"},
         {"pose": None, "legibility": None, "str": "ppocr-v6-rec=my.onnx"}, None),
    ],
)  # fmt: skip
def test_presets_pick_models_and_the_torso_rule(preset, explicit, weights, expected, rule):
    from jnr.export.cli_export import apply_preset

    args = {"pose": None, "legibility": None, "str_": None, **explicit}
    got, got_rule = apply_preset(preset, args["pose"], args["legibility"], args["str_"], weights)
    assert got == expected and got_rule == rule


def test_unknown_preset_is_an_error():
    from jnr.export.cli_export import apply_preset

    with pytest.raises(JnrError, match="unknown preset"):
        apply_preset("nope", None, None, None, {})


def test_preset_records_its_torso_rule_for_jnr_run(parseq_engines, tmp_path):
    out = tmp_path / "seed"
    shutil.copytree(parseq_engines, out)
    args = [
        "--preset",
        "seed",
        "--no-openvino",
        "--str-weights",
        str(DATA / "parseq-tiny.ckpt"),
    ]
    # the seed rule counts people: the pose these engines have was exported without person boxes
    r = CliRunner().invoke(app, [*args, "--stages", "str", "--out", str(out)])
    assert isinstance(r.exception, JnrError) and "add pose to --stages" in str(r.exception)
    # the same with pose rebuilt (the engines' own COCO weights: the preset's yolo11s-pose downloads)
    pose = ["--stages", "pose,str", "--pose", str(resolve_weights(get_spec("yolo11n-pose").weights))]
    r = CliRunner().invoke(app, [*args, *pose, "--out", str(out)])
    assert r.exit_code == 0, r.output
    m = load_manifest(out)
    assert m.rule == "seed" and m.stages["str"].spec.name == "parseq"
    assert m.stages["pose"].spec.head == "full"
    import jnr

    with jnr.load(out, backend="ort-cpu") as reader:  # jnr-run's default rule: the manifest's preset
        assert reader.config.rule == "seed"
    with jnr.load(out, backend="ort-cpu", rule="baseline") as reader:
        assert reader.config.rule == "baseline"
