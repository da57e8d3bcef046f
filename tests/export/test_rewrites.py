"""The ONNX graph rewrites (jnr.export.rewrites): PaddleOCR's affines folded and hard-swish shrunk, digit
heads cut from a classifier, a pose head without boxes, stride-1 SAME pads made explicit."""

import shutil
from dataclasses import replace

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

torch = pytest.importorskip("torch")

from tiny import tiny_onnx  # noqa: E402

from jnr.export import models, rewrites, steps  # noqa: E402
from jnr.runtime.errors import JnrError  # noqa: E402
from jnr.runtime.specs import PPOCR_V4_REC  # noqa: E402


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


def _cut(tmp_path, softmax, cut):
    """A classifier's full output, the model ``cut`` to classes (0, 3, 7) and the cut's output."""
    src = _classifier(tmp_path / "c.onnx", softmax)
    x = np.random.default_rng(3).normal(size=(2, 5, 6)).astype(np.float32)
    full = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    model = onnx.load(str(src))
    cut(model, (0, 3, 7))
    dst = tmp_path / "d.onnx"
    onnx.save(model, str(dst))
    got = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    return full, model, got


@pytest.mark.parametrize("softmax", [True, False])
def test_digit_head_keeps_the_classes_it_names(tmp_path, softmax):
    full, model, got = _cut(tmp_path, softmax, rewrites.keep_classes)
    want = full[..., [0, 3, 7]]
    if softmax:  # a softmax over the kept logits = the kept probabilities renormalised
        want = want / want.sum(-1, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim][-1] == 3


def test_digit_head_needs_a_classifier_at_the_end(tmp_path):
    with pytest.raises(ValueError, match="final MatMul"):
        rewrites.keep_classes(onnx.load(str(tiny_onnx(tmp_path / "t.onnx"))), (0, 1))


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
    p = tiny_onnx(tmp_path / "rec.onnx", "a\nb\nc")
    with pytest.raises(JnrError, match="no digits"):
        models.complete_spec(replace(PPOCR_V4_REC, charset=""), str(p))


def test_charset_head_keeps_the_softmax_columns_unrenormalised(tmp_path):
    full, model, got = _cut(tmp_path, True, rewrites.gather_classes)
    onnx.checker.check_model(model, full_check=True)
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
    assert rewrites.explicit_same_pads(model) == 2
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
