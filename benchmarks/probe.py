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
    """The bench rows that can run on this machine with these engines."""
    from jnr.runtime.ort_runner import available
    from jnr.runtime.reader import read_manifest
    from jnr.runtime.runners import pick_auto

    names = ["torch", "torch-batched"] if importlib.util.find_spec("torch") else []
    if names:
        import torch

        names += ["torch-cuda-fp16", "torch-cudagraph"] if torch.cuda.is_available() else []
    if (engines / "manifest.json").exists():
        names += ["ort-cpu", "ort-cpu-fp16"]
        names += [b for b in ("ort-cuda", "ort-trt") if available(b)]
        if pick_auto(read_manifest(engines, needed=True))[0] == "trt":
            names.append("trt")
    return names


def matmul_peak(n: int = 2048, repeat: int = 5) -> float:
    """Measured FP32 FLOP/s of one large numpy matmul (best of ``repeat``)."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = a.T.copy()
    a @ b
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def floors(engines: Path, result: dict, n: int, peak: float) -> dict:
    """Seconds per tracklet at the measured matmul peak, per learned stage, from the ONNX FLOPs."""
    try:
        m = load_manifest(engines)
    except JnrError:
        return {}
    out = {}
    for stage, items in STAGE_ITEMS.items():
        fl = m.raw["stages"][stage].get("flops_per_item")
        if fl:
            out[stage] = fl * result["items"][items] / n / peak
    return out
