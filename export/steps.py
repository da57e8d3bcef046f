"""Export steps that compose: ``onnx_from_torch`` / ``onnx_from_ultralytics`` -> ``slim_and_check`` ->
``fp16_from_onnx``. Each writes one single-file ONNX with a dynamic batch axis."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from jnr.export import rewrites
from jnr.runtime.errors import JnrError
from jnr.runtime.specs import StageSpec

OPSET = 18
# Ops kept in FP32 by the FP16 conversion: recurrent cells and reductions lose too much in half precision.
FP16_BLOCK_OPS = (
    "LSTM",
    "GRU",
    "Softmax",
    "LogSoftmax",
    "ReduceMean",
    "ReduceSum",
    "Sigmoid",
    "Exp",
    "Pow",
    "Sqrt",
    "Div",
    "Range",
    "Resize",
    "TopK",
)


def temp_path(dst: Path) -> Path:
    """A temporary path beside ``dst``; rename it over ``dst`` when complete."""
    return dst.with_name(f".{dst.stem}.tmp{os.getpid()}{dst.suffix}")


def onnx_from_torch(module: nn.Module, spec: StageSpec, dst: Path, opset: int = OPSET) -> Path:
    """torch.onnx.export (dynamo) with a dynamic batch axis, as one file."""
    x = torch.zeros(2, spec.channels, *spec.input_hw)
    batch = torch.export.Dim("batch", min=1, max=max(spec.max_batch, 2))
    tmp = temp_path(dst)
    with contextlib.redirect_stdout(io.StringIO()):
        torch.onnx.export(
            module.eval(),
            (x,),
            str(tmp),
            input_names=["input"],
            output_names=["output"],
            opset_version=opset,
            dynamic_shapes=({0: batch},),
            external_data=False,
            dynamo=True,
        )
    os.replace(tmp, dst)
    return dst


def onnx_from_ultralytics(weights: Path | str, spec: StageSpec, dst: Path, opset: int = OPSET) -> Path:
    """Ultralytics' own exporter (dynamic batch, onnxslim, metadata) at the spec's input size; a keypoints
    head (StageSpec.head) without the person boxes."""
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / Path(str(weights)).name
        if Path(str(weights)).exists():
            shutil.copyfile(weights, src)
        else:
            src = Path(str(weights))  # an ultralytics name: downloaded where a network exists
        out = YOLO(str(src)).export(
            format="onnx",
            dynamic=True,
            simplify=True,
            imgsz=spec.input_hw,
            opset=opset,
            batch=spec.max_batch,
            device="cpu",
            verbose=False,
        )
        tmp_dst = temp_path(dst)
        shutil.copyfile(out, tmp_dst)
    if spec.head == "keypoints":  # the person boxes' branch goes at slim_and_check
        model = onnx.load(str(tmp_dst))
        try:
            rewrites.drop_pose_boxes(model)
        except ValueError as e:
            tmp_dst.unlink()
            raise JnrError(f"{weights}: {e}; `jnr-export --rule seed` keeps the whole head") from None
        onnx.save(model, str(tmp_dst))
    os.replace(tmp_dst, dst)
    return dst


def onnx_from_file(src: Path, spec: StageSpec, dst: Path) -> Path:
    """An ONNX-only model (no PyTorch source) taken as it ships, its input fixed to the spec's (C, H, W)
    with a dynamic ``batch`` axis (and a dynamic width where the spec has a ``tight_width``), its classifier
    cut to the spec's digit head if it has one; the opset stays the model's own."""
    model = onnx.load(str(src))
    inits = {i.name for i in model.graph.initializer}
    inp = next(v for v in model.graph.input if v.name not in inits)
    dims = inp.type.tensor_type.shape.dim
    if len(dims) != 4:
        raise JnrError(f"{src}: input {inp.name} has rank {len(dims)}, expected NCHW")
    h, w = spec.input_hw
    width = "width" if spec.tight_width else w  # read at two widths (StageSpec.tight_width)
    for d, n in zip(dims, ("batch", spec.channels, h, width), strict=True):
        d.Clear()
        if isinstance(n, str):
            d.dim_param = n
        else:
            d.dim_value = n
    for out in model.graph.output:  # stale symbolic names; shape inference in onnxslim refills them
        for i, d in enumerate(out.type.tensor_type.shape.dim):
            d.Clear()
            if i == 0:
                d.dim_param = "batch"
    del model.graph.value_info[:]
    if spec.classes:  # onnxslim first: paddle2onnx keeps weights in Constant nodes, not initializers
        import onnxslim

        model = onnxslim.slim(model)
        cut = rewrites.gather_classes if spec.confidence == "charset" else rewrites.keep_classes
        try:
            cut(model, spec.classes)
        except ValueError as e:  # a file that is not this spec's kind of model
            raise JnrError(f"{src} does not fit {spec.name}: {e}") from None
    tmp = temp_path(dst)
    onnx.save(model, str(tmp))
    os.replace(tmp, dst)
    return dst


def slim_and_check(path: Path) -> Path:
    """Simplify in place with onnxslim (again after each round of the rewrites below that found something:
    exported-elsewhere graphs carry patterns onnxslim does not fold) and validate with onnx.checker."""
    import onnxslim

    model = onnxslim.slim(onnx.load(str(path)))
    for _ in range(4):
        if not (rewrites.conv_affines_per_channel(model) + rewrites.hardswish_as_hardsigmoid(model)):
            break
        model = onnxslim.slim(model)
    onnx.checker.check_model(model, full_check=True)
    tmp = temp_path(path)
    onnx.save(model, str(tmp))
    os.replace(tmp, path)
    return path


def fp16_from_onnx(src: Path, dst: Path, block_ops: tuple[str, ...] = FP16_BLOCK_OPS) -> Path:
    """FP16 weights and compute, FP32 inputs/outputs, with ``block_ops`` left in FP32."""
    import onnxslim
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True, op_block_list=list(block_ops))
    model = onnxslim.slim(model)  # the converter leaves I/O casts out of topological order; slim re-sorts
    onnx.checker.check_model(model)
    tmp = temp_path(dst)
    onnx.save(model, str(tmp))
    os.replace(tmp, dst)
    return dst


def io_info(path: Path) -> dict:
    """Input/output names, shapes (symbolic dims as names) and element types."""
    m = onnx.load(str(path), load_external_data=False)

    def desc(v) -> dict:
        t = v.type.tensor_type
        shape = [d.dim_param or d.dim_value for d in t.shape.dim]
        return {
            "name": v.name,
            "shape": shape,
            "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name,
        }

    inits = {i.name for i in m.graph.initializer}
    return {
        "inputs": [desc(v) for v in m.graph.input if v.name not in inits],
        "outputs": [desc(v) for v in m.graph.output],
        "opset": max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")),
    }


def flops(path: Path, input_shape: tuple[int, ...]) -> float:
    """Multiply-adds x 2 of Conv, Gemm/MatMul and LSTM nodes for one input of ``input_shape`` (N, C, H, W),
    from ONNX shape inference with the input's symbolic dimensions fixed."""
    m = onnx.load(str(path))
    inits = {i.name for i in m.graph.initializer}
    first = next(v for v in m.graph.input if v.name not in inits)
    for d, n in zip(first.type.tensor_type.shape.dim, input_shape, strict=True):
        d.ClearField("dim_param")
        d.dim_value = n
    del m.graph.value_info[:]
    m = onnx.shape_inference.infer_shapes(m, data_prop=True)
    shapes: dict[str, list[int]] = {}
    for v in list(m.graph.value_info) + list(m.graph.input) + list(m.graph.output):
        shapes[v.name] = [d.dim_value if d.dim_value else 1 for d in v.type.tensor_type.shape.dim]
    for i in m.graph.initializer:
        shapes[i.name] = list(i.dims)
    total = 0.0
    for n in m.graph.node:
        out = shapes.get(n.output[0]) if n.output else None
        if n.op_type == "Conv" and out and n.input[1] in shapes:
            w = shapes[n.input[1]]
            total += 2 * np.prod(out) * np.prod(w[1:])
        elif n.op_type in ("Gemm", "MatMul") and out and n.input[1] in shapes:
            trans_b = any(a.name == "transB" and a.i for a in n.attribute)
            k = shapes[n.input[1]][1 if trans_b else 0] if n.op_type == "Gemm" else shapes[n.input[1]][-2]
            total += 2 * np.prod(out) * k
        elif n.op_type == "LSTM" and n.input[1] in shapes and n.input[0] in shapes:
            seq = shapes[n.input[0]]
            w, r = shapes[n.input[1]], shapes[n.input[2]]
            total += 2 * seq[0] * seq[1] * (np.prod(w) + np.prod(r))
    return float(total)
