"""Runners and backends: one table from a backend's name to how its stages' runners are made.

A runner runs one model on one backend (Polygraphy's shape): ``infer(NCHW float32) -> first output as
numpy``, ``close()`` to release its session or GPU memory, and ``with`` for both. ONNX Runtime and TensorRT
runners live in this package; the PyTorch ones (the per-image baseline and its batched and CUDA-graph
forms) come with the export extra and are loaded lazily by name, so the lean runtime imports neither torch
nor jnr.export.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import Manifest
from jnr.runtime.pipeline import Stage
from jnr.runtime.specs import DEFAULTS, get_spec


@dataclass(frozen=True)
class Backend:
    name: str
    kind: Literal["engine", "onnx", "torch"]  # what it runs: TensorRT engines, ONNX files, PyTorch modules
    per_image: bool = False  # the published baseline's way: one image at a time, PIL preprocessing
    gpu: bool = False  # precision auto means FP16 here
    loader: str = ""  # torch: "module:function" building its stages, imported only when used


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("trt", "engine", gpu=True),
        Backend("ort-trt", "onnx", gpu=True),
        Backend("ort-cuda", "onnx", gpu=True),
        Backend("ort-cpu", "onnx"),
        Backend("torch", "torch", per_image=True, loader="jnr.export.baseline:torch_stages"),
        Backend("torch-batched", "torch", loader="jnr.export.baseline:torch_stages"),
        Backend("torch-cudagraph", "torch", gpu=True, loader="jnr.export.baseline:torch_stages"),
    )
}
CHOICES = ("auto", *BACKENDS)


def get_backend(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        raise JnrError(f"unknown backend {name!r}; known: {', '.join(CHOICES)}") from None


def pick_auto(manifest: Manifest | None) -> tuple[str, str]:
    """TensorRT engines, then ORT's TensorRT EP, then ORT CUDA, then ORT CPU; with the reason."""
    from jnr.runtime.ort_runner import available

    has_engines = manifest is not None and any("engine" in e.artifacts for e in manifest.stages.values())
    if has_engines and importlib.util.find_spec("tensorrt") and importlib.util.find_spec("cuda"):
        return "trt", "TensorRT engines in the manifest and tensorrt + cuda-python installed"
    why = (
        "no TensorRT engines in the manifest" if not has_engines else "tensorrt or cuda-python not installed"
    )
    for b, prov in (("ort-trt", "TensorRT"), ("ort-cuda", "CUDA")):
        if available(b):
            return b, f"{why}; ONNX Runtime has the {prov} provider"
    return "ort-cpu", f"{why}; ONNX Runtime has no GPU provider"


def load_stages(
    backend: str,
    manifest: Manifest | Path | None,
    precision: str = "auto",
    threads: int | None = None,
    pose_weights: str | None = None,
    profile_dir: Path | None = None,
) -> dict[str, Stage]:
    """Runners for the three stages on ``backend`` from the engines ``manifest`` (the torch backends build
    the models it was exported from, or the defaults without one). ``precision``: auto (ONNX: FP16 on a GPU,
    FP32 or the export's INT8 choice on CPU; torch: FP32, torch-cudagraph FP16), fp32, fp16, int8 (ONNX
    Runtime on CPU). ``profile_dir``: ONNX Runtime writes its per-operator profile there. A folder is read
    as its manifest (where it has one)."""
    b = get_backend(backend)
    if isinstance(manifest, str | Path):
        from jnr.runtime.reader import read_manifest

        manifest = read_manifest(Path(manifest), needed=b.kind != "torch")
    if b.kind == "torch":
        return _torch_stages(b, manifest, precision, threads, pose_weights)
    if manifest is None:
        raise JnrError(f"--backend {backend} runs exported engines: run jnr-export first")
    if b.kind == "engine":
        from jnr.runtime.trt_runner import TrtRunner, check_machine

        check_machine(manifest.raw)
        return {
            s: Stage(
                e.spec,
                None
                if e.spec.decode == "none"
                else TrtRunner(e.file(manifest.root, "engine"), e.spec.max_batch),
            )
            for s, e in manifest.stages.items()
        }
    return _ort_stages(b, manifest, precision, threads, profile_dir)


def _ort_stages(b: Backend, m: Manifest, precision: str, threads: int | None, profile_dir: Path | None):
    from jnr.runtime.ort_runner import OrtRunner

    fp16 = precision == "fp16" or (precision == "auto" and b.gpu)
    out = {}
    for s, e in m.stages.items():
        if e.spec.decode == "none":
            out[s] = Stage(e.spec, None)
            continue
        kind = "onnx-fp16" if fp16 and "onnx-fp16" in e.artifacts else "onnx-fp32"
        # INT8 on CPU: where jnr-export --int8 found it passes parity and is faster (auto), or when asked
        int8 = precision == "int8" or (precision == "auto" and e.raw.get("cpu_precision") == "int8")
        if not b.gpu and int8 and "onnx-int8" in e.artifacts:
            kind = "onnx-int8"
        runner = OrtRunner(
            e.file(m.root, kind),
            b.name,
            e.spec.max_batch,
            threads,
            cache_dir=m.root / "ort-trt-cache",
            fp16=kind == "onnx-fp16",
            profile=None if profile_dir is None else profile_dir / s,
        )
        out[s] = Stage(e.spec, runner)
    return out


def _torch_stages(b: Backend, m: Manifest | None, precision: str, threads: int | None, pose: str | None):
    if not importlib.util.find_spec("torch"):
        raise JnrError(f"--backend {b.name} needs PyTorch: pip install 'jnr[export]'")
    module, _, fn = b.loader.partition(":")
    build = getattr(importlib.import_module(module), fn)
    # the same models and weights the engines were exported from; the defaults where none exist yet
    if m is not None:
        chosen = {s: (e.spec, e.raw.get("weights") or e.spec.weights) for s, e in m.stages.items()}
    else:
        chosen = {s: (get_spec(n), get_spec(n).weights) for s, n in DEFAULTS.items()}
    if pose:
        chosen["pose"] = (chosen["pose"][0], pose)
    return build(chosen, b.name, threads, precision)
