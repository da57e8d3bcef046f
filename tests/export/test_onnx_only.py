"""ONNX-only models: charset from metadata, input fixing; the
default gate and recognizer (PP-OCRv6 det and rec) on rendered numbers; the PP-OCRv4 option end to end."""

import importlib.util
import json
import shutil
from dataclasses import replace

import numpy as np
import onnxruntime as ort
import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")

from tiny import tiny_onnx

from jnr.export import models, steps
from jnr.export.cli_export import app
from jnr.runtime import preprocess
from jnr.runtime.errors import JnrError
from jnr.runtime.kinds import kind_of, read
from jnr.runtime.manifest import load_manifest
from jnr.runtime.runners import load_stages
from jnr.runtime.specs import DEFAULTS, PPOCR_V4_REC


def test_charset_comes_from_onnx_metadata_with_the_space_appended(tmp_path):
    p = tiny_onnx(tmp_path / "rec.onnx", "a\n1\n2\n€")
    spec = models.complete_spec(replace(PPOCR_V4_REC, charset="", head="full"), str(p))
    assert spec.charset == "a12€ " and spec.classes == ()
    given = replace(PPOCR_V4_REC, charset="0123456789", head="full")
    assert models.complete_spec(given, str(p)) is given  # a spec's own charset wins
    # the digit head keeps the blank and the digit classes, and names their characters
    digits = models.complete_spec(replace(PPOCR_V4_REC, charset=""), str(p))
    assert digits.classes == (0, 2, 3) and digits.charset == "12"
    assert models.complete_spec(digits, str(p)) is digits  # completing twice changes nothing


@pytest.mark.parametrize(
    ("character", "message"),
    [(None, "no 'character' metadata"), ("ab\nc", "not one character per line")],
)
def test_bad_charset_metadata_is_a_clear_error(tmp_path, character, message):
    p = tiny_onnx(tmp_path / "rec.onnx", character)
    with pytest.raises(JnrError, match=message):
        models.complete_spec(replace(PPOCR_V4_REC, charset=""), str(p))


def test_weight_packages_say_what_to_install(monkeypatch):
    with pytest.raises(JnrError, match="unknown weight package"):
        models.resolve_weights("nosuchpkg:w.onnx")
    from jnr.export import weights

    monkeypatch.setattr(weights, "_package_dir", lambda module: None)
    with pytest.raises(JnrError, match="pip install rapidocr-onnxruntime"):
        models.resolve_weights(PPOCR_V4_REC.weights)


def test_onnx_from_file_fixes_chw_and_keeps_a_dynamic_batch(tmp_path):
    src = tiny_onnx(tmp_path / "src.onnx")
    dst = steps.slim_and_check(steps.onnx_from_file(src, PPOCR_V4_REC, tmp_path / "dst.onnx"))
    io = steps.io_info(dst)
    assert io["inputs"][0]["shape"] == ["batch", 3, 48, 96]
    assert io["opset"] == 12
    s = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])
    for n in (1, 3):
        x = np.ones((n, 3, 48, 96), np.float32)
        assert np.array_equal(s.run(None, {"x": x})[0], 2 * x)
    with pytest.raises(JnrError, match="rank 3"):
        steps.onnx_from_file(tiny_onnx(tmp_path / "r3.onnx", dims=("n", 3, "w")), PPOCR_V4_REC, dst)


def test_a_recognizer_with_a_tight_width_keeps_its_width_dynamic(tmp_path):
    """Read at 96 for whole torso crops and at tight_width for number crops: one ONNX, both widths."""
    spec = replace(PPOCR_V4_REC, tight_width=160)
    src = tiny_onnx(tmp_path / "s.onnx")
    dst = steps.slim_and_check(steps.onnx_from_file(src, spec, tmp_path / "d.onnx"))
    assert steps.io_info(dst)["inputs"][0]["shape"] == ["batch", 3, 48, "width"]
    s = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])
    for w in (96, 160):
        x = np.ones((2, 3, 48, w), np.float32)
        assert s.run(None, {"x": x})[0].shape == x.shape
    assert spec.tight().input_hw == (48, 160) and PPOCR_V4_REC.tight() is PPOCR_V4_REC


needs_rapidocr = pytest.mark.skipif(
    not (importlib.util.find_spec("rapidocr_onnxruntime") and importlib.util.find_spec("onnx2torch")),
    reason="PP-OCRv4 needs the export extra (rapidocr-onnxruntime, onnx2torch)",
)


@pytest.fixture(scope="module")
def pp_engines(engines, tmp_path_factory):
    """The shipped export with its STR stage replaced by PP-OCRv4 (pose and legibility reused)."""
    out = tmp_path_factory.mktemp("pp") / "engines"
    shutil.copytree(engines, out)
    r = CliRunner().invoke(
        app, ["--fp16", "--no-openvino", "--stages", "str", "--str", "ppocr-v4-rec", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    return out


@needs_rapidocr
def test_ppocr_export_records_its_charset_and_passes_parity(engines, pp_engines):
    m = load_manifest(pp_engines)
    e = m.stages["str"]
    assert e.spec.name == "ppocr-v4-rec" and e.spec.output == "probs" and e.spec.color == "BGR"
    # the digit head: the 6625-way classifier cut to the blank and the ten ASCII digits, in charset order
    assert e.spec.head == "digits" and len(e.spec.classes) == 11 and e.spec.classes[0] == 0
    assert sorted(e.spec.charset) == list("0123456789")
    assert e.io["outputs"][0]["shape"][-1] == 11
    assert e.io["inputs"][0]["shape"] == ["batch", 3, 48, 96]
    for precision in ("fp32", "fp16"):
        p = e.parity[precision]
        assert p["passed"] and p["decoded_identical"] >= p["target"] and p["samples"] > 500, p
    old = load_manifest(engines)
    assert m.stages["pose"].key == old.stages["pose"].key  # untouched stages reused


@needs_rapidocr
@pytest.mark.parametrize("backend", ["ort-cpu", "torch-batched"])
def test_ppocr_reads_rendered_numbers(pp_engines, backend, rendered_number):
    stage = load_stages(backend, pp_engines, "fp32")["str"]
    assert stage.spec.name == "ppocr-v4-rec"
    texts = ["7", "10", "23", "58", "96"]
    x, _ = preprocess.batch(stage.spec, [rendered_number(t) for t in texts])
    got = [t for t, _ in read(stage.spec, stage.runner.infer(x))]
    assert sum(g == t for g, t in zip(got, texts, strict=True)) >= 4, got


@needs_rapidocr
def test_jnr_run_with_ppocr_on_onnx_runtime(pp_engines, tiny_split, tmp_path, run_cli, api_answers):
    out = tmp_path / "pred.json"
    r = run_cli("jnr-run", tiny_split, "--engines", pp_engines, "--backend", "ort-cpu", "--out", out)
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text()) == api_answers(pp_engines, tiny_split, backend="ort-cpu")
    assert "accuracy" in r.stdout


def test_the_default_gate_passes_numbers_stops_blank_shirts_and_the_recognizer_reads(
    engines, rendered_number
):
    """The shipped PP-OCRv6 detector and recognizer, as exported: printed numbers go on, cut to their box,
    and are read; plain and striped shirts stop at the gate (no box, and no trace of text in the detector's
    map), and were they read whole, the recognizer's charset confidence would not reach the 0.9 floor."""
    m = load_manifest(engines)
    assert (m.stages["legibility"].spec.name, m.stages["str"].spec.name) == (
        DEFAULTS["legibility"],
        DEFAULTS["str"],
    )
    assert (
        m.stages["str"].spec.confidence == "charset" and m.stages["str"].io["outputs"][0]["shape"][-1] == 11
    )
    stages = load_stages("ort-cpu", engines, "fp32")
    gate, rec = stages["legibility"], stages["str"]
    texts = ["7", "10", "23", "58", "96"]
    numbers = [rendered_number(t) for t in texts]
    plain = np.full((64, 64, 3), (40, 90, 200), np.uint8)
    stripes = plain.copy()
    stripes[:, ::8] = 255
    crops = [*numbers, plain, stripes]
    x, places = preprocess.batch(gate.spec, crops)
    passed = kind_of(gate.spec).decode(gate.spec, gate.runner.infer(x), places, crops)
    assert all(g.crop is not None and g.floor == 0.0 for g in passed[:5])
    assert [g.crop is None for g in passed[5:]] == [True, True]
    assert all(g.score < gate.spec.extra["unboxed_trace"] for g in passed[5:])
    cut = [g.crop for g in passed[:5]]
    assert cut[0].shape[0] < 56 and cut[0].shape[1] < 48  # cut to the text (the one-digit "7": 49 x 37)
    xr, _ = preprocess.batch(rec.spec, cut)
    got = read(rec.spec, rec.runner.infer(xr))
    assert sum(t == want and c > 0.5 for (t, c), want in zip(got, texts, strict=True)) >= 4, got
    xb, _ = preprocess.batch(rec.spec, [plain, stripes])  # were they passed whole, nothing would count
    assert all(c < 0.9 for _, c in read(rec.spec, rec.runner.infer(xb)))
