"""ONNX-only models: charset from metadata, input fixing, digit heads, PaddleOCR's stride-1 SAME pads; the
default gate and recognizer (PP-OCRv6 det and rec) on rendered numbers; the PP-OCRv4 option end to end."""

import importlib.util
import json
import shutil
from dataclasses import replace

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from typer.testing import CliRunner

pytest.importorskip("torch")

from jnr.export import models, rewrites, steps
from jnr.export.cli_export import app
from jnr.runtime import decode as dec
from jnr.runtime import preprocess
from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import load_manifest
from jnr.runtime.runners import load_stages
from jnr.runtime.specs import DEFAULTS, PPOCR_V4_REC


def _tiny_onnx(path, character=None, dims=("n", 3, "h", "w")):
    """Identity-like model (input * 2) with PaddleOCR-style symbolic dims and optional charset metadata."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(dims))
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    g = helper.make_graph([helper.make_node("Mul", ["x", "two"], ["y"])], "g", [x], [y], [two])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 12)])
    if character is not None:
        helper.set_model_props(m, {"character": character})
    onnx.save(m, str(path))
    return path


def test_charset_comes_from_onnx_metadata_with_the_space_appended(tmp_path):
    p = _tiny_onnx(tmp_path / "rec.onnx", "a\n1\n2\n€")
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
    p = _tiny_onnx(tmp_path / "rec.onnx", character)
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
    src = _tiny_onnx(tmp_path / "src.onnx")
    dst = steps.slim_and_check(steps.onnx_from_file(src, PPOCR_V4_REC, tmp_path / "dst.onnx"))
    io = steps.io_info(dst)
    assert io["inputs"][0]["shape"] == ["batch", 3, 48, 96]
    assert io["opset"] == 12
    s = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])
    for n in (1, 3):
        x = np.ones((n, 3, 48, 96), np.float32)
        assert np.array_equal(s.run(None, {"x": x})[0], 2 * x)
    with pytest.raises(ValueError, match="rank 3"):
        steps.onnx_from_file(_tiny_onnx(tmp_path / "r3.onnx", dims=("n", 3, "w")), PPOCR_V4_REC, dst)


def test_a_recognizer_with_a_tight_width_keeps_its_width_dynamic(tmp_path):
    """Read at 96 for whole torso crops and at tight_width for number crops: one ONNX, both widths."""
    spec = replace(PPOCR_V4_REC, tight_width=160)
    src = _tiny_onnx(tmp_path / "s.onnx")
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
    assert e.raw["io"]["outputs"][0]["shape"][-1] == 11
    assert e.raw["io"]["inputs"][0]["shape"] == ["batch", 3, 48, 96]
    for precision in ("fp32", "fp16"):
        p = e.raw["parity"][precision]
        assert p["passed"] and p["decoded_identical"] >= p["target"] and p["samples"] > 500, p
    old = load_manifest(engines)
    assert m.stages["pose"].raw["key"] == old.stages["pose"].raw["key"]  # untouched stages reused


@needs_rapidocr
@pytest.mark.parametrize("backend", ["ort-cpu", "torch-batched"])
def test_ppocr_reads_rendered_numbers(pp_engines, backend, rendered_number):
    stage = load_stages(backend, pp_engines, "fp32")["str"]
    assert stage.spec.name == "ppocr-v4-rec"
    texts = ["7", "10", "23", "58", "96"]
    x, _ = preprocess.batch(stage.spec, [rendered_number(t) for t in texts])
    got = [t for t, _ in dec.reading(stage.spec, stage.runner.infer(x))]
    assert sum(g == t for g, t in zip(got, texts, strict=True)) >= 4, got


@needs_rapidocr
def test_jnr_run_with_ppocr_on_onnx_runtime(pp_engines, tiny_split, tmp_path, run_cli, api_answers):
    out = tmp_path / "pred.json"
    r = run_cli("jnr-run", tiny_split, "--engines", pp_engines, "--backend", "ort-cpu", "--out", out)
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text()) == api_answers(pp_engines, tiny_split, backend="ort-cpu")
    assert "accuracy" in r.stdout


def _paddle_style_block(path):
    """Conv -> scalar scale (constant first) -> scalar shift -> unfused hard-swish, as paddle2onnx writes."""
    rng = np.random.default_rng(0)
    inits = [
        onnx.numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w"),
        onnx.numpy_helper.from_array(rng.normal(size=(4,)).astype(np.float32), "b"),
        onnx.numpy_helper.from_array(np.array([1.7], np.float32), "scale"),
        onnx.numpy_helper.from_array(np.array([-0.3], np.float32), "shift"),
        onnx.numpy_helper.from_array(np.array([3.0], np.float32), "three"),
        onnx.numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        onnx.numpy_helper.from_array(np.array(6.0, np.float32), "six"),
        onnx.numpy_helper.from_array(np.array([6.0], np.float32), "six_b"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["scale", "c"], ["s"]),
        helper.make_node("Add", ["s", "shift"], ["a"]),
        helper.make_node("Add", ["a", "three"], ["a3"]),
        helper.make_node("Clip", ["a3", "zero", "six"], ["cl"]),
        helper.make_node("Mul", ["a", "cl"], ["m"]),
        helper.make_node("Div", ["m", "six_b"], ["y"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    g = helper.make_graph(nodes, "g", [x], [y], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 12)]), str(path))
    return path


def test_paddle_style_affines_fold_into_the_conv_and_hardswish_shrinks(tmp_path):
    src = _paddle_style_block(tmp_path / "src.onnx")
    x = np.random.default_rng(1).normal(0, 2, (2, 3, 8, 8)).astype(np.float32)
    ref = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    dst = tmp_path / "dst.onnx"
    shutil.copyfile(src, dst)
    steps.slim_and_check(dst)
    ops = [n.op_type for n in onnx.load(str(dst)).graph.node]
    assert sorted(ops) == ["Conv", "HardSigmoid", "Mul"], ops
    got = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, ref, atol=1e-5)
    assert np.abs(ref).max() > 1 and (ref == 0).any()  # both sides of the hard-swish knee were exercised


def _classifier(path, softmax=True):
    """x (n, T, 6) -> MatMul W (6, 9) -> Add b (9) [-> Softmax]: a recognizer's last layers."""
    rng = np.random.default_rng(2)
    inits = [
        onnx.numpy_helper.from_array(rng.normal(size=(6, 9)).astype(np.float32), "W"),
        onnx.numpy_helper.from_array(rng.normal(size=(9,)).astype(np.float32), "b"),
    ]
    nodes = [helper.make_node("MatMul", ["x", "W"], ["m"]), helper.make_node("Add", ["m", "b"], ["z"])]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["z"], ["y"], axis=-1))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 5, 6])
    y = helper.make_tensor_value_info("y" if softmax else "z", TensorProto.FLOAT, ["n", 5, 9])
    onnx.save(helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits)), str(path))
    return path


@pytest.mark.parametrize("softmax", [True, False])
def test_digit_head_keeps_the_classes_it_names(tmp_path, softmax):
    src = _classifier(tmp_path / "c.onnx", softmax)
    x = np.random.default_rng(3).normal(size=(2, 5, 6)).astype(np.float32)
    full = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    model = onnx.load(str(src))
    rewrites.keep_classes(model, (0, 3, 7))
    dst = tmp_path / "d.onnx"
    onnx.save(model, str(dst))
    got = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    want = full[..., [0, 3, 7]]
    if softmax:  # a softmax over the kept logits = the kept probabilities renormalised
        want = want / want.sum(-1, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert [d.dim_value for d in onnx.load(str(dst)).graph.output[0].type.tensor_type.shape.dim][-1] == 3


def test_digit_head_needs_a_classifier_at_the_end(tmp_path):
    with pytest.raises(ValueError, match="final MatMul"):
        rewrites.keep_classes(onnx.load(str(_tiny_onnx(tmp_path / "t.onnx"))), (0, 1))


def _pose_head(path):
    """f (n, 8, a) -> boxes (a Conv branch, 4 rows), score (Sigmoid, 1), keypoints (Conv, 51), concatenated
    on the channel axis: an ultralytics pose head's output, in small."""
    rng = np.random.default_rng(4)
    inits = [
        onnx.numpy_helper.from_array(rng.normal(size=(4, 8, 1)).astype(np.float32), "Wb"),
        onnx.numpy_helper.from_array(rng.normal(size=(1, 8, 1)).astype(np.float32), "Ws"),
        onnx.numpy_helper.from_array(rng.normal(size=(51, 8, 1)).astype(np.float32), "Wk"),
    ]
    nodes = [
        helper.make_node("Conv", ["f", "Wb"], ["b0"], name="box_conv"),
        helper.make_node("Softmax", ["b0"], ["b"], axis=1, name="box_dfl"),
        helper.make_node("Conv", ["f", "Ws"], ["s0"]),
        helper.make_node("Sigmoid", ["s0"], ["s"]),
        helper.make_node("Conv", ["f", "Wk"], ["k"]),
        helper.make_node("Concat", ["b", "s", "k"], ["y"], axis=1),
    ]
    f = helper.make_tensor_value_info("f", TensorProto.FLOAT, ["n", 8, "a"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 56, "a"])
    onnx.save(helper.make_model(helper.make_graph(nodes, "g", [f], [y], inits)), str(path))
    return path


def test_a_pose_head_without_boxes_keeps_score_and_keypoints_and_drops_the_box_branch(tmp_path):
    src = _pose_head(tmp_path / "p.onnx")
    f = np.random.default_rng(5).normal(size=(2, 8, 7)).astype(np.float32)
    full = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, {"f": f})[0]
    model = onnx.load(str(src))
    rewrites.drop_pose_boxes(model)
    dst = tmp_path / "cut.onnx"
    onnx.save(model, str(dst))
    steps.slim_and_check(dst)
    cut = onnx.load(str(dst))
    assert not {"box_conv", "box_dfl"} & {n.name for n in cut.graph.node}  # the branch is gone
    assert [n.op_type for n in cut.graph.node].count("Conv") == 2
    got = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"]).run(None, {"f": f})[0]
    assert got.shape == (2, 52, 7)
    np.testing.assert_array_equal(got, full[:, 4:])
    with pytest.raises(ValueError, match="boxes, score and keypoints"):
        rewrites.drop_pose_boxes(cut)  # no box rows left to drop


def test_a_digit_head_on_a_charset_without_digits_is_an_error(tmp_path):
    p = _tiny_onnx(tmp_path / "rec.onnx", "a\nb\nc")
    with pytest.raises(JnrError, match="no digits"):
        models.complete_spec(replace(PPOCR_V4_REC, charset=""), str(p))


def test_charset_head_keeps_the_softmax_columns_unrenormalised(tmp_path):
    src = _classifier(tmp_path / "c.onnx", softmax=True)
    x = np.random.default_rng(3).normal(size=(2, 5, 6)).astype(np.float32)
    full = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    model = onnx.load(str(src))
    rewrites.gather_classes(model, (0, 3, 7))
    dst = tmp_path / "g.onnx"
    onnx.save(model, str(dst))
    onnx.checker.check_model(model, full_check=True)
    got = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, full[..., [0, 3, 7]], rtol=1e-6)  # the model's own probabilities
    with pytest.raises(ValueError, match="final Softmax"):
        rewrites.gather_classes(onnx.load(str(_classifier(tmp_path / "n.onnx", softmax=False))), (0, 1))


def _same_upper(path):
    """Conv (2x2, stride 1) and MaxPool (2x2, stride 1) with auto_pad SAME_UPPER, as PP-OCRv6's stem."""
    w = onnx.numpy_helper.from_array(
        np.random.default_rng(4).normal(size=(2, 3, 2, 2)).astype(np.float32), "w"
    )
    nodes = [
        helper.make_node(
            "Conv", ["x", "w"], ["c"], kernel_shape=[2, 2], strides=[1, 1], auto_pad="SAME_UPPER"
        ),
        helper.make_node("MaxPool", ["c"], ["y"], kernel_shape=[2, 2], strides=[1, 1], auto_pad="SAME_UPPER"),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 7, 6])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2, 7, 6])
    g = helper.make_graph(nodes, "g", [x], [y], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)]), str(path))
    return path


def test_same_upper_pads_become_explicit_with_the_same_output(tmp_path):
    src = _same_upper(tmp_path / "s.onnx")
    x = np.random.default_rng(5).normal(size=(2, 3, 7, 6)).astype(np.float32)
    ref = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    model = onnx.load(str(src))
    assert models.explicit_same_pads(model) == 2
    pads = [list(a.ints) for n in model.graph.node for a in n.attribute if a.name == "pads"]
    assert pads == [[0, 0, 1, 1], [0, 0, 1, 1]]  # the extra pad goes to the end (UPPER)
    dst = tmp_path / "e.onnx"
    onnx.save(model, str(dst))
    got = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    import torch
    from onnx2torch import convert

    with torch.inference_mode():  # what the eager PyTorch reference needed (onnx2torch refuses auto_pad)
        eager = convert(model)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(eager, ref, rtol=1e-5, atol=1e-6)


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
        m.stages["str"].spec.confidence == "charset"
        and m.raw["stages"]["str"]["io"]["outputs"][0]["shape"][-1] == 11
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
    passed = dec.gate(gate.spec, gate.runner.infer(x), places, crops)
    assert all(g.crop is not None and g.floor == 0.0 for g in passed[:5])
    assert [g.crop is None for g in passed[5:]] == [True, True]
    assert all(g.score < gate.spec.extra["unboxed_trace"] for g in passed[5:])
    cut = [g.crop for g in passed[:5]]
    assert cut[0].shape[0] < 56 and cut[0].shape[1] < 48  # cut to the text (the one-digit "7": 49 x 37)
    xr, _ = preprocess.batch(rec.spec, cut)
    got = dec.reading(rec.spec, rec.runner.infer(xr))
    assert sum(t == want and c > 0.5 for (t, c), want in zip(got, texts, strict=True)) >= 4, got
    xb, _ = preprocess.batch(rec.spec, [plain, stripes])  # were they passed whole, nothing would count
    assert all(c < 0.9 for _, c in dec.reading(rec.spec, rec.runner.infer(xb)))
