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


def _atomic(dst: Path) -> Path:
    """A temporary path beside ``dst``; rename it over ``dst`` when complete."""
    return dst.with_name(f".{dst.stem}.tmp{os.getpid()}{dst.suffix}")


def onnx_from_torch(module: nn.Module, spec: StageSpec, dst: Path, opset: int = OPSET) -> Path:
    """torch.onnx.export (dynamo) with a dynamic batch axis, as one file."""
    x = torch.zeros(2, spec.channels, *spec.input_hw)
    batch = torch.export.Dim("batch", min=1, max=max(spec.max_batch, 2))
    tmp = _atomic(dst)
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
    """Ultralytics' own exporter (dynamic batch, onnxslim, metadata) at the spec's input size."""
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
        tmp_dst = _atomic(dst)
        shutil.copyfile(out, tmp_dst)
    os.replace(tmp_dst, dst)
    return dst


def onnx_from_file(src: Path, spec: StageSpec, dst: Path) -> Path:
    """An ONNX-only model (no PyTorch source) taken as it ships, its input fixed to the spec's (C, H, W)
    with a dynamic ``batch`` axis, its classifier cut to the spec's digit head if it has one; the opset
    stays the model's own."""
    model = onnx.load(str(src))
    inits = {i.name for i in model.graph.initializer}
    inp = next(v for v in model.graph.input if v.name not in inits)
    dims = inp.type.tensor_type.shape.dim
    if len(dims) != 4:
        raise ValueError(f"{src}: input {inp.name} has rank {len(dims)}, expected NCHW")
    for d, n in zip(dims, ("batch", spec.channels, *spec.input_hw), strict=True):
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
        if spec.confidence == "charset":
            gather_classes(model, spec.classes)
        else:
            keep_classes(model, spec.classes)
    tmp = _atomic(dst)
    onnx.save(model, str(tmp))
    os.replace(tmp, dst)
    return dst


def keep_classes(model: onnx.ModelProto, classes: tuple[int, ...]) -> None:
    """Cut a recognizer's final classifier ``MatMul(x, W) + b [-> Softmax]`` to ``classes`` (columns of W
    and b), in place: with a softmax after it this is the renormalised subset of the probabilities."""
    from onnx import numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    out = model.graph.output[0]
    node = producer.get(out.name)
    if node is not None and node.op_type == "Softmax":
        node = producer.get(node.input[0])
    add = node if node is not None and node.op_type == "Add" else None
    bias = next((i for i in add.input if i in inits), None) if add else None
    mm = next((producer.get(i) for i in add.input if i != bias), None) if add else None
    if bias is None or mm is None or mm.op_type != "MatMul" or mm.input[1] not in inits:
        raise ValueError("a digit head needs a final MatMul + Add classifier (with an optional Softmax)")
    keep = list(classes)
    for name, axis in ((mm.input[1], 1), (bias, 0)):
        arr = numpy_helper.to_array(inits[name])
        inits[name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(arr.take(keep, axis=axis)), name))
    dims = out.type.tensor_type.shape.dim
    dims[len(dims) - 1].Clear()
    dims[len(dims) - 1].dim_value = len(keep)


def gather_classes(model: onnx.ModelProto, classes: tuple[int, ...]) -> None:
    """Keep ``classes`` of a recognizer's final softmax, in place: the probabilities stay the model's own over
    its whole charset (a Gather on the last axis after the Softmax)."""
    from onnx import numpy_helper

    out = model.graph.output[0]
    producer = {o: n for n in model.graph.node for o in n.output}
    node = producer.get(out.name)
    if node is None or node.op_type != "Softmax":
        raise ValueError("a digit head with charset confidence needs a final Softmax")
    full, idx = f"{out.name}_charset", f"{out.name}_classes"
    node.output[list(node.output).index(out.name)] = full
    model.graph.initializer.append(numpy_helper.from_array(np.asarray(classes, np.int64), idx))
    model.graph.node.append(onnx.helper.make_node("Gather", [full, idx], [out.name], axis=-1))
    dims = out.type.tensor_type.shape.dim
    dims[len(dims) - 1].Clear()
    dims[len(dims) - 1].dim_value = len(classes)


def conv_affines_per_channel(model: onnx.ModelProto) -> int:
    """Rewrite ``Conv -> Mul(scalar) / Add(scalar)`` (a paddle2onnx habit: learnable scale and shift as
    one-element constants, often as the first input) into the per-channel, constant-second form that
    onnxslim's Conv+Mul and Conv+Add fusions fold into the Conv. The values are unchanged. Returns how many
    nodes were rewritten."""
    from onnx import numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    users: dict[str, int] = {}
    for n in model.graph.node:
        for i in n.input:
            users[i] = users.get(i, 0) + 1
    done = 0
    for n in model.graph.node:
        if n.op_type not in ("Mul", "Add") or len(n.input) != 2:
            continue
        for k in (0, 1):
            const, data = n.input[k], n.input[1 - k]
            conv = producer.get(data)
            if (
                const not in inits
                or conv is None
                or users.get(data) != 1
                or conv.op_type != "Conv"
                or len(conv.input) < 2
                or conv.input[1] not in inits
            ):
                continue
            value = numpy_helper.to_array(inits[const])
            if value.size != 1:
                continue
            channels = inits[conv.input[1]].dims[0]
            name = f"{n.output[0]}_per_channel"
            model.graph.initializer.append(
                numpy_helper.from_array(np.full((1, channels, 1, 1), value.item(), value.dtype), name)
            )
            n.input[0], n.input[1] = data, name
            done += 1
            break
    return done


def _scalar(inits: dict, name: str, value: float) -> bool:
    from onnx import numpy_helper

    if name not in inits:
        return False
    a = numpy_helper.to_array(inits[name])
    return a.size == 1 and float(a.reshape(-1)[0]) == value


def hardswish_as_hardsigmoid(model: onnx.ModelProto) -> int:
    """Rewrite the unfused hard-swish ``x * Clip(x + 3, 0, 6) / 6`` (four elementwise passes) as
    ``x * HardSigmoid(x, 1/6, 0.5)`` (two; HardSigmoid exists since opset 6). Returns how many."""
    inits = {i.name: i for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    replace: dict[int, list] = {}
    for div in model.graph.node:
        mul = producer.get(div.input[0]) if div.op_type == "Div" else None
        if mul is None or mul.op_type != "Mul" or not _scalar(inits, div.input[1], 6.0):
            continue
        for k in (0, 1):
            clip, x = producer.get(mul.input[k]), mul.input[1 - k]
            if clip is None or clip.op_type != "Clip" or len(clip.input) != 3:
                continue
            add = producer.get(clip.input[0])
            if add is None or add.op_type != "Add" or x not in add.input:
                continue
            three = add.input[1] if add.input[0] == x else add.input[0]
            if not (
                _scalar(inits, three, 3.0)
                and _scalar(inits, clip.input[1], 0.0)
                and _scalar(inits, clip.input[2], 6.0)
            ):
                continue
            gate = f"{div.output[0]}_hardsigmoid"
            replace[id(div)] = [
                onnx.helper.make_node("HardSigmoid", [x], [gate], alpha=1 / 6, beta=0.5),
                onnx.helper.make_node("Mul", [x, gate], [div.output[0]]),
            ]
            break
    if replace:  # the old Add/Clip/Mul lose their last user and onnxslim drops them
        nodes = [m for n in model.graph.node for m in replace.get(id(n), [n])]
        del model.graph.node[:]
        model.graph.node.extend(nodes)
    return len(replace)


def slim_and_check(path: Path) -> Path:
    """Simplify in place with onnxslim (again after each round of the rewrites below that found something:
    exported-elsewhere graphs carry patterns onnxslim does not fold) and validate with onnx.checker."""
    import onnxslim

    model = onnxslim.slim(onnx.load(str(path)))
    for _ in range(4):
        if not (conv_affines_per_channel(model) + hardswish_as_hardsigmoid(model)):
            break
        model = onnxslim.slim(model)
    onnx.checker.check_model(model, full_check=True)
    tmp = _atomic(path)
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
    tmp = _atomic(dst)
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


def int8_from_onnx(
    src: Path,
    dst: Path,
    calibration: list[np.ndarray],
    input_name: str,
    op_types: list[str] | None = None,
    keep_final: bool = False,
) -> Path:
    """Static INT8 in QDQ form with onnxruntime.quantization: weights int8 per channel, activations uint8
    calibrated (MinMax) on ``calibration`` batches of preprocessed crops; inputs/outputs stay float32.
    ``op_types``: only these operators are quantized (None: every one ONNX Runtime can); ``keep_final``:
    the final layers (of ``op_types``, with none of them downstream: the output convolutions) stay float."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(calibration)

        def get_next(self) -> dict | None:
            x = next(self.batches, None)
            return None if x is None else {input_name: x}

    opset = next(
        o.version
        for o in onnx.load(str(src), load_external_data=False).opset_import
        if o.domain in ("", "ai.onnx")
    )
    with tempfile.TemporaryDirectory() as d:
        pre = Path(d) / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        exclude = (
            _final_layers(onnx.load(str(pre), load_external_data=False).graph, op_types) if keep_final else []
        )
        tmp = _atomic(dst)
        quantize_static(
            str(pre),
            str(tmp),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=opset >= 13,  # DequantizeLinear's axis needs opset 13 (PP-OCRv4's ONNX is older)
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=op_types,
            nodes_to_exclude=exclude,
        )
    os.replace(tmp, dst)
    return dst


def _final_layers(graph: onnx.GraphProto, op_types: list[str] | None) -> list[str]:
    """Names of the nodes of ``op_types`` (default Conv, MatMul, Gemm) from which no other such node is
    reachable downstream."""
    kinds = set(op_types or ("Conv", "MatMul", "Gemm"))
    users: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            users.setdefault(i, []).append(n)

    def feeds_another(node) -> bool:
        seen, todo = set(), list(node.output)
        while todo:
            for u in users.get(todo.pop(), []):
                if u.op_type in kinds:
                    return True
                if id(u) not in seen:
                    seen.add(id(u))
                    todo.extend(u.output)
        return False

    return [n.name for n in graph.node if n.op_type in kinds and not feeds_another(n)]
