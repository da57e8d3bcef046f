"""Static INT8 trials: quantize a stage's FP32 ONNX on part of the parity crops, check parity on the rest,
time it against FP32 on this CPU (jnr-export --int8 and jnr.benchmarks.int8_variants run the same trial)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

from jnr.export import steps
from jnr.export.parity import check
from jnr.runtime.manifest import MIN_GAIN
from jnr.runtime.specs import StageSpec

INT8_CALIBRATION = 256  # crops (or frames) that calibrate; parity runs on the others
INT8_MIN_GAIN = MIN_GAIN  # INT8 runs on CPU only where it takes at most this share of FP32 time


def cpu_ms(path: Path, spec: StageSpec, x: np.ndarray, repeat: int = 5) -> float:
    """Best-of-``repeat`` milliseconds for one batch on ONNX Runtime's CPU provider."""
    from jnr.runtime.ort_runner import OrtRunner

    return runner_ms(OrtRunner(path, "ort-cpu", spec.max_batch), x, repeat)


def runner_ms(runner, x: np.ndarray, repeat: int = 5) -> float:
    """Best-of-``repeat`` milliseconds for one batch on ``runner`` (after one warm-up run)."""
    runner.infer(x)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        runner.infer(x)
        best = min(best, time.perf_counter() - t)
    return best * 1000


def int8_inputs(spec: StageSpec, ims: list) -> tuple[list[np.ndarray], list, np.ndarray]:
    """Parity crops split for an INT8 trial: calibration batches (the first INT8_CALIBRATION, at most half),
    the crops parity compares on (the rest), and one batch of up to 64 of those to time."""
    from jnr.runtime import preprocess

    n_cal = min(INT8_CALIBRATION, len(ims) // 2)
    cal = [preprocess.batch(spec, ims[i : min(i + 32, n_cal)])[0] for i in range(0, n_cal, 32)]
    return cal, ims[n_cal:], preprocess.batch(spec, ims[n_cal : n_cal + 64])[0]


def int8_trial(spec: StageSpec, module, src: Path, dst: Path, inputs: tuple, **quant) -> tuple[dict, float]:
    """Quantize ``src`` to ``dst`` (``quant``: int8_from_onnx's options) on ``inputs`` (int8_inputs);
    returns its parity and its CPU milliseconds for the timing batch."""
    cal, rest, x = inputs
    int8_from_onnx(src, dst, cal, steps.io_info(src)["inputs"][0]["name"], **quant)
    return check(spec, module, dst, rest, "int8"), cpu_ms(dst, spec, x)


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
        tmp = steps.temp_path(dst)
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
