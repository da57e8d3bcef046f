"""Tiny ONNX models shared by the export tests."""

import onnx
from onnx import TensorProto, helper


def tiny_onnx(path, character=None, dims=("n", 3, "h", "w")):
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
