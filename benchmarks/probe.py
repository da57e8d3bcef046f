"""What jnr-bench measures the machine and the engines by: the CPU and libraries, the FP32 matmul peak, the
FLOP floor of each stage, which backends can run here."""

from __future__ import annotations

import importlib.util
import os
import platform
import time
from pathlib import Path

import numpy as np

from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import library_versions, load_manifest

STAGE_ITEMS = {"pose": "frames", "legibility": "torso_crops", "str": "legible"}


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    libs = {m: m for m in ("onnxruntime", "numpy", "torch", "tensorrt")}
    out = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), **library_versions(libs)}
    out["gpu"] = None
    if out["torch"]:
        import torch

        out["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return out


def available_variants(engines: Path) -> list[str]:
    """The bench rows that can run on this machine with these engines: every backend and precision of the
    backends table that can run here and that the plan can honour with these engines (torch FP16 where
    CUDA is; INT8 where jnr-export --int8 made it; TensorRT where auto would pick it)."""
    from jnr.benchmarks.rows import HEADLINE, VARIANTS
    from jnr.runtime.plan import get_backend, plan
    from jnr.runtime.reader import read_manifest
    from jnr.runtime.runners import pick_auto

    manifest = read_manifest(engines, needed=True) if (engines / "manifest.json").exists() else None
    out = []
    for name, (backend, precision) in VARIANTS.items():
        b = get_backend(backend) if name != HEADLINE else None
        if b is None or not b.available():
            continue
        if b.kind == "torch" and precision == "fp16" and not b.gpu and not _cuda():
            continue
        try:
            plan(b, manifest, precision)
        except JnrError:
            continue
        if b.kind == "engine" and pick_auto(manifest)[0] != "trt":
            continue
        out.append(name)
    return out


def _cuda() -> bool:
    if not importlib.util.find_spec("torch"):
        return False
    import torch

    return torch.cuda.is_available()


def _rate(run, ops: float, repeat: int = 5) -> float:
    """``ops`` per second of ``run()``: best of ``repeat`` after one warm-up run."""
    run()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t)
    return ops / best


def matmul_peak(n: int = 2048, repeat: int = 5) -> float:
    """Measured FP32 FLOP/s of one large numpy matmul (best of ``repeat``)."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = a.T.copy()
    return _rate(lambda: a @ b, 2 * n**3, repeat)


def _matmul_onnx(path: Path, op: str, a, b, y, n: int) -> Path:
    """A one-node ONNX file: ``op`` of two n x n inputs of element types ``a`` and ``b`` into ``y``."""
    import onnx
    from onnx import helper

    graph = helper.make_graph(
        [helper.make_node(op, ["a", "b"], ["y"])], "mm",
        [helper.make_tensor_value_info("a", a, [n, n]), helper.make_tensor_value_info("b", b, [n, n])],
        [helper.make_tensor_value_info("y", y, [n, n])],
    )  # fmt: skip
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def matmul_peaks(n: int = 2048) -> dict[str, float]:
    """FLOP/s (or int ops/s) of one large matmul at each precision the CPU backends run: ``fp32`` numpy;
    ``int8`` ONNX Runtime's MatMulInteger (u8 x s8 -> s32, what a QDQ graph's integer kernels run);
    ``bf16`` / ``f16`` an OpenVINO MatMul compiled at that precision, where OpenVINO is installed and the
    CPU has units for it (``ov-f32`` where it has neither)."""
    import tempfile

    import onnxruntime as ort
    from onnx import TensorProto as T

    out = {"fp32": matmul_peak(n)}
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = _matmul_onnx(Path(tmp) / "mm-int8.onnx", "MatMulInteger", T.UINT8, T.INT8, T.INT32, n)
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feeds = {
            "a": rng.integers(0, 255, (n, n), dtype=np.uint8),
            "b": rng.integers(-127, 127, (n, n), dtype=np.int8),
        }
        out["int8"] = _rate(lambda: sess.run(None, feeds), 2 * n**3)
        if importlib.util.find_spec("openvino"):
            import openvino as ov

            from jnr.runtime.ov_runner import cpu_precisions

            path = _matmul_onnx(Path(tmp) / "mm-f32.onnx", "MatMul", T.FLOAT, T.FLOAT, T.FLOAT, n)
            a = rng.random((n, n), dtype=np.float32)
            for prec in [p for p in cpu_precisions() if p != "f32"] or ["f32"]:
                model = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": prec})
                out["ov-f32" if prec == "f32" else prec] = _rate(lambda m=model: m([a, a]), 2 * n**3)
    return out


def row_precisions(engines: Path, backend: str, precision: str) -> dict[str, str]:
    """The precision each stage of a bench row computes at on the CPU (a key of matmul_peaks), from the
    plan: OpenVINO's bf16 / f16, INT8 where the row runs INT8 artifacts, else fp32."""
    from jnr.runtime.plan import plan

    try:
        p = plan(backend, load_manifest(engines), precision)
    except JnrError:
        return {s: "fp32" for s in STAGE_ITEMS}
    peak = {("ov", "bf16"): "bf16", ("ov", "f16"): "f16", ("ort", "int8"): "int8"}
    return {s: peak.get((sp.runtime, sp.precision), "fp32") for s, sp in p.stages.items()}


def ms_per_item(result: dict, n: int) -> dict[str, float]:
    """Milliseconds per item each learned stage took in a bench row (pose a frame, the gate a torso crop, STR
    a crop it read; preprocessing and decoding included), from its seconds per tracklet and item counts: the
    figure to compare across splits whose frames fed differ."""
    return {
        stage: result["sec_per_tracklet"][stage] * n / result["items"][items] * 1000
        for stage, items in STAGE_ITEMS.items()
        if result["items"].get(items)
    }


def floors(engines: Path, result: dict, n: int, peaks: dict[str, float] | float, precisions=None) -> dict:
    """Seconds per tracklet at the measured matmul peak of each stage's own precision (``precisions``:
    stage -> key of ``peaks``; fp32 where not given), per learned stage, from the ONNX FLOPs."""
    if not isinstance(peaks, dict):
        peaks = {"fp32": peaks}
    try:
        m = load_manifest(engines)
    except JnrError:
        return {}
    out = {}
    for stage, items in STAGE_ITEMS.items():
        fl = m.stages[stage].flops_per_item
        peak = peaks.get((precisions or {}).get(stage, "fp32")) or peaks["fp32"]
        if fl:
            out[stage] = fl * result["items"][items] / n / peak
    return out
