"""Backend choice and stage loading: one table from backend name to how its runners are made."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import MANIFEST, load_manifest
from jnr.runtime.pipeline import Stage
from jnr.runtime.specs import DEFAULTS, get_spec

BACKENDS = ("auto", "trt", "ort-trt", "ort-cuda", "ort-cpu", "torch", "torch-batched", "torch-cudagraph")
TORCH_BACKENDS = ("torch", "torch-batched", "torch-cudagraph")


def pick_auto(engines: Path) -> tuple[str, str]:
    """TensorRT engines, then ORT's TensorRT EP, then ORT CUDA, then ORT CPU; with the reason."""
    from jnr.runtime.ort_runner import available

    has_engines = (engines / "manifest.json").is_file() and any(
        "engine" in e.get("artifacts", {}) for e in _stages_raw(engines)
    )
    if has_engines and importlib.util.find_spec("tensorrt") and importlib.util.find_spec("cuda"):
        return "trt", "TensorRT engines in the manifest and tensorrt + cuda-python installed"
    why = (
        "no TensorRT engines in the manifest" if not has_engines else "tensorrt or cuda-python not installed"
    )
    for b, prov in (("ort-trt", "TensorRT"), ("ort-cuda", "CUDA")):
        if available(b):
            return b, f"{why}; ONNX Runtime has the {prov} provider"
    return "ort-cpu", f"{why}; ONNX Runtime has no GPU provider"


def _stages_raw(engines: Path) -> list[dict]:
    try:
        return list(load_manifest(engines).raw["stages"].values())
    except JnrError:
        return []


def load_stages(
    backend: str,
    engines: Path,
    precision: str = "auto",
    threads: int | None = None,
    pose_weights: str | None = None,
    profile_dir: Path | None = None,
) -> dict[str, Stage]:
    """Runners for the three stages on ``backend``; precision: auto (ONNX: fp16 on GPU, fp32 or the export's
    INT8 choice on CPU; torch: fp32, torch-cudagraph fp16), fp32, fp16, int8 (ONNX Runtime on CPU).
    ``profile_dir``: ONNX Runtime writes its per-operator profile there (jnr.benchmarks.profile)."""
    if backend in TORCH_BACKENDS:
        if not importlib.util.find_spec("torch"):
            raise JnrError(f"--backend {backend} needs PyTorch: pip install 'jnr[export]'")
        from jnr.export.baseline import torch_stages

        # the same models and weights the engines were exported from; the defaults where none exist yet
        if (Path(engines) / MANIFEST).is_file():
            m = load_manifest(engines)
            chosen = {s: (e.spec, e.raw.get("weights") or e.spec.weights) for s, e in m.stages.items()}
        else:
            chosen = {s: (get_spec(n), get_spec(n).weights) for s, n in DEFAULTS.items()}
        if pose_weights:
            chosen["pose"] = (chosen["pose"][0], pose_weights)
        return torch_stages(chosen, backend, threads, precision)
    m = load_manifest(engines)
    if backend == "trt":
        from jnr.runtime.trt_runner import TrtRunner, check_machine

        check_machine(m.raw)
        return {
            s: Stage(
                e.spec,
                None if e.spec.decode == "none" else TrtRunner(e.file(engines, "engine"), e.spec.max_batch),
            )
            for s, e in m.stages.items()
        }
    from jnr.runtime.ort_runner import OrtRunner

    if backend not in ("ort-trt", "ort-cuda", "ort-cpu"):
        raise JnrError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    fp16 = precision == "fp16" or (precision == "auto" and backend != "ort-cpu")
    out = {}
    for s, e in m.stages.items():
        if e.spec.decode == "none":
            out[s] = Stage(e.spec, None)
            continue
        kind = "onnx-fp16" if fp16 and "onnx-fp16" in e.artifacts else "onnx-fp32"
        # INT8 on CPU: where jnr-export --int8 found it passes parity and is faster (auto), or when asked
        int8 = precision == "int8" or (precision == "auto" and e.raw.get("cpu_precision") == "int8")
        if backend == "ort-cpu" and int8 and "onnx-int8" in e.artifacts:
            kind = "onnx-int8"
        out[s] = Stage(
            e.spec,
            OrtRunner(
                e.file(engines, kind),
                backend,
                e.spec.max_batch,
                threads,
                cache_dir=engines / "ort-trt-cache",
                fp16=kind == "onnx-fp16",
                profile=None if profile_dir is None else profile_dir / s,
            ),
        )
    return out
