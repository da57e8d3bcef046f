"""Runners and backends: one table from a backend's name to how its stages' runners are made.

A runner runs one model on one backend (Polygraphy's shape): ``infer(NCHW float32) -> first output as
numpy``, ``close()`` to release its session or GPU memory, and ``with`` for both. ONNX Runtime and TensorRT
runners live in this package; the PyTorch ones (the per-image baseline and its batched and CUDA-graph
forms) come with the export extra and are imported only when opened, so the lean runtime imports neither torch
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
    """One backend: what it runs, how its stages open, when it can run, its precisions (the bench's rows:
    the first is the plain name's, the others NAME-PRECISION) and its place in ``auto``'s order (1 first;
    0: never picked)."""

    name: str
    kind: Literal["engine", "onnx", "torch"]  # what it runs: TensorRT engines, ONNX files, PyTorch modules
    opener: str  # "module:function" (backend, manifest, precision, threads, options) -> stages
    precisions: tuple[str, ...] = ("fp32",)
    auto: int = 0
    per_image: bool = False  # the published baseline's way: one image at a time, PIL preprocessing
    gpu: bool = False  # precision auto means FP16 here
    probe: str = ""  # "module:function" -> bool: can it run on this machine ("" always)

    def available(self) -> bool:
        if not self.probe:
            return True
        module, _, fn = self.probe.partition(":")
        try:
            return bool(getattr(importlib.import_module(module), fn)(self.name))
        except ImportError:
            return False

    def open(self, manifest, precision: str, threads: int | None, **options) -> dict[str, Stage]:
        module, _, fn = self.opener.partition(":")
        return getattr(importlib.import_module(module), fn)(self, manifest, precision, threads, **options)


TORCH, TORCH_PROBE = "jnr.runtime.runners:torch_stages", "jnr.runtime.runners:torch_available"
BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("trt", "engine", "jnr.runtime.runners:trt_stages", ("fp16",), auto=1, gpu=True,
                probe="jnr.runtime.runners:trt_available"),
        Backend("ort-trt", "onnx", "jnr.runtime.runners:ort_stages", ("fp16",), auto=2, gpu=True,
                probe="jnr.runtime.ort_runner:available"),
        Backend("ort-cuda", "onnx", "jnr.runtime.runners:ort_stages", ("fp16",), auto=3, gpu=True,
                probe="jnr.runtime.ort_runner:available"),
        Backend("cpu", "onnx", "jnr.runtime.runners:cpu_stages", ("auto",), auto=4,
                probe="jnr.runtime.ov_runner:available"),
        Backend("ov-cpu", "onnx", "jnr.runtime.runners:ov_stages", ("auto", "f32", "bf16", "f16"),
                probe="jnr.runtime.ov_runner:available"),
        Backend("ort-cpu", "onnx", "jnr.runtime.runners:ort_stages", ("fp32", "fp16", "int8"), auto=5),
        Backend("torch", "torch", TORCH, ("fp32",), per_image=True, probe=TORCH_PROBE),
        Backend("torch-batched", "torch", TORCH, ("fp32", "fp16"), probe=TORCH_PROBE),
        Backend("torch-cudagraph", "torch", TORCH, ("fp16",), gpu=True, probe=TORCH_PROBE),
    )
}  # fmt: skip
CHOICES = ("auto", *BACKENDS)


def get_backend(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        raise JnrError(f"unknown backend {name!r}; known: {', '.join(CHOICES)}") from None


def torch_available(name: str) -> bool:
    """torch importable; the GPU-only ones (FP16, CUDA graphs) where CUDA is."""
    if not importlib.util.find_spec("torch"):
        return False
    if not BACKENDS[name].gpu:
        return True
    import torch

    return torch.cuda.is_available()


def trt_available(name: str = "trt") -> bool:
    return bool(importlib.util.find_spec("tensorrt") and importlib.util.find_spec("cuda"))


def pick_auto(manifest: Manifest | None) -> tuple[str, str]:
    """The first backend in ``auto``'s order that can run here on these engines, with the reason: TensorRT
    engines, ORT's TensorRT EP, ORT CUDA, ``cpu`` (each stage on OpenVINO where jnr-export found it faster
    than ONNX Runtime on this CPU, on ONNX Runtime elsewhere; where OpenVINO is faster on some stage), ONNX
    Runtime on CPU."""
    has_engines = manifest is not None and any("engine" in e.artifacts for e in manifest.stages.values())
    why = []
    for b in sorted((b for b in BACKENDS.values() if b.auto), key=lambda b: b.auto):
        if b.name == "trt" and not has_engines:
            why.append("no TensorRT engines in the manifest")
            continue
        if not b.available():
            why.append(f"{b.name} cannot run here")
            continue
        if b.name == "cpu":
            from jnr.runtime.ov_runner import cpu_choices

            choices, reason = cpu_choices(manifest)
            why.append(reason)
            if not any(c != "ort" for c in choices.values()):
                why.append("OpenVINO faster on no stage")
                continue
        return b.name, "; ".join(why)
    return "ort-cpu", "; ".join(why)


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
    FP32 or the export's INT8 choice on CPU; OpenVINO: the export's choice per stage; torch: FP32,
    torch-cudagraph FP16), or one of the backend's precisions. ``profile_dir``: ONNX Runtime writes its
    per-operator profile there. A folder is read as its manifest (where it has one)."""
    b = get_backend(backend)
    if isinstance(manifest, str | Path):
        from jnr.runtime.reader import read_manifest

        manifest = read_manifest(Path(manifest), needed=b.kind != "torch")
    if b.kind != "torch" and manifest is None:
        raise JnrError(f"--backend {backend} runs exported engines: run jnr-export first")
    return b.open(manifest, precision, threads, pose_weights=pose_weights, profile_dir=profile_dir)


def trt_stages(b: Backend, m: Manifest, precision: str, threads: int | None, **_) -> dict[str, Stage]:
    from jnr.runtime.trt_runner import TrtRunner, check_machine

    check_machine(m.raw)
    return {
        s: Stage(
            e.spec, None if e.spec.decode == "none" else TrtRunner(e.file(m.root, "engine"), e.spec.max_batch)
        )
        for s, e in m.stages.items()
    }


def _ort_stage(b: Backend, m: Manifest, s: str, e, precision: str, threads: int | None,
               profile_dir: Path | None = None) -> Stage:  # fmt: skip
    from jnr.runtime.ort_runner import OrtRunner

    fp16 = precision == "fp16" or (precision == "auto" and b.gpu)
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
    return Stage(e.spec, runner)


def _ov_stage(m: Manifest, e, precision: str, threads: int | None) -> Stage:
    from jnr.runtime.ov_runner import CACHE, OvRunner, stage_precision

    prec = stage_precision(e.raw) if precision == "auto" else precision.replace("fp32", "f32")
    runner = OvRunner(e.file(m.root, "onnx-fp32"), prec, e.spec.max_batch, threads, m.root / CACHE)
    return Stage(e.spec, runner)


def _each(m: Manifest, make) -> dict[str, Stage]:
    """``make(stage, entry)`` for every stage that runs a model (a stage without one: no runner)."""
    return {s: Stage(e.spec, None) if e.spec.decode == "none" else make(s, e) for s, e in m.stages.items()}


def ort_stages(b: Backend, m: Manifest, precision: str, threads: int | None, profile_dir: Path | None = None,
               **_) -> dict[str, Stage]:  # fmt: skip
    return _each(m, lambda s, e: _ort_stage(b, m, s, e, precision, threads, profile_dir))


def ov_stages(b: Backend, m: Manifest, precision: str, threads: int | None, **_) -> dict[str, Stage]:
    """OpenVINO on the FP32 ONNX files; precision auto: the export's choice per stage (f32 where none)."""
    if precision not in ("auto", "fp32", "f32", "bf16", "f16"):
        raise JnrError(f"--backend ov-cpu runs f32, bf16 or f16 (or auto), not {precision}")
    return _each(m, lambda s, e: _ov_stage(m, e, precision, threads))


def cpu_stages(b: Backend, m: Manifest, precision: str, threads: int | None, profile_dir: Path | None = None,
               **_) -> dict[str, Stage]:  # fmt: skip
    """Each stage on what jnr-export measured faster on this CPU (jnr.runtime.ov_runner.cpu_choices):
    OpenVINO at its chosen precision, or ONNX Runtime at its CPU precision."""
    from jnr.runtime.ov_runner import stage_runs_ov

    if precision != "auto":
        raise JnrError(f"--backend cpu chooses each stage's precision (auto), not {precision}: see ov-cpu")
    ort = BACKENDS["ort-cpu"]
    return _each(m, lambda s, e: _ov_stage(m, e, "auto", threads) if stage_runs_ov(e.raw)
                 else _ort_stage(ort, m, s, e, "auto", threads, profile_dir))  # fmt: skip


def torch_stages(b: Backend, m: Manifest | None, precision: str, threads: int | None,
                 pose_weights: str | None = None, **_) -> dict[str, Stage]:  # fmt: skip
    """The PyTorch stage models (jnr.export.baseline, imported only here): the models and weights the
    engines were exported from, the defaults where there are none."""
    if not importlib.util.find_spec("torch"):
        raise JnrError(f"--backend {b.name} needs PyTorch: pip install 'jnr[export]'")
    from jnr.export.baseline import torch_stages as build

    if m is not None:
        chosen = {s: (e.spec, e.raw.get("weights") or e.spec.weights) for s, e in m.stages.items()}
    else:
        chosen = {s: (get_spec(n), get_spec(n).weights) for s, n in DEFAULTS.items()}
    if pose_weights:
        chosen["pose"] = (chosen["pose"][0], pose_weights)
    return build(chosen, b.name, threads, precision)
