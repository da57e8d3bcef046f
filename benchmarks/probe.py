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
    backends table that can run here (torch FP16 where CUDA is; INT8 where jnr-export --int8 made it;
    TensorRT where auto would pick it), the rows on exported engines only where there are some."""
    from jnr.benchmarks.rows import HEADLINE, VARIANTS
    from jnr.runtime.reader import read_manifest
    from jnr.runtime.runners import get_backend, pick_auto

    manifest = read_manifest(engines, needed=True) if (engines / "manifest.json").exists() else None
    out = []
    for name, (backend, precision) in VARIANTS.items():
        b = get_backend(backend) if name != HEADLINE else None
        if b is None or not b.available() or (b.kind != "torch" and manifest is None):
            continue
        if b.kind == "torch" and precision == "fp16" and not b.gpu and not _cuda():
            continue
        if precision == "int8" and not all("onnx-int8" in e.artifacts for e in manifest.stages.values()):
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
