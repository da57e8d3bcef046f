"""The backends table and one plan: for a backend, the engines' manifest and a precision asked for, what each
stage runs on (runtime, precision, file) and why. Opening the runners (jnr.runtime.runners), ``auto``'s
choice, jnr-bench's rows and jnr-export's summary all read the plan; a precision a backend cannot honour is
a one-line error here, never a silent fallback.

A backend is one entry of BACKENDS: its name, the precisions it takes (the first is its plain name's bench
row), its place in ``auto``'s order, and a planner ``(backend, entry, precision) -> StagePlan``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from jnr.runtime.errors import JnrError, lookup
from jnr.runtime.kinds import has_model
from jnr.runtime.manifest import Manifest, StageEntry
from jnr.runtime.specs import DEFAULTS, STAGES, get_spec


@dataclass(frozen=True)
class StagePlan:
    """What one stage runs: ``runtime`` (a key of jnr.runtime.runners.RUNTIMES: ort, ov, trt, torch, or none
    for a model-less stage), ``precision``, the manifest ``artifact`` it reads (None: none, or the torch
    backends' own modules), ``provider`` (ONNX Runtime's backend name), ``why``, and ``note``: what a run
    tells the user once (a stage kept at FP32 because its FP16 missed parity)."""

    stage: str
    runtime: str
    precision: str
    artifact: str | None
    why: str = ""
    provider: str = ""
    note: str = ""

    def __str__(self) -> str:
        return f"{self.stage} {self.runtime} {self.precision}" + (f" ({self.why})" if self.why else "")


@dataclass(frozen=True)
class Plan:
    backend: str
    stages: dict[str, StagePlan]

    def __str__(self) -> str:
        return "; ".join(str(p) for p in self.stages.values())

    def notes(self) -> list[str]:
        return [p.note for p in self.stages.values() if p.note]


Planner = Callable[["Backend", StageEntry, str], StagePlan]


@dataclass(frozen=True)
class Backend:
    """One backend (see the module's docstring). ``kind``: what it runs (TensorRT engines, ONNX files or
    PyTorch modules); ``per_image``: the published baseline's way (one image at a time, PIL); ``gpu``: it
    runs on a GPU; ``probe``: "module:function" -> bool, can it run on this machine ("" always)."""

    name: str
    kind: str  # engine | onnx | torch
    planner: Planner
    precisions: tuple[str, ...] = ("fp32",)
    auto: int = 0  # place in auto's order (1 first; 0 never picked)
    per_image: bool = False
    gpu: bool = False
    probe: str = ""

    def available(self) -> bool:
        if not self.probe:
            return True
        module, _, fn = self.probe.partition(":")
        try:
            return bool(getattr(importlib.import_module(module), fn)(self.name))
        except ImportError:
            return False

    def check(self, precision: str) -> str:
        """``precision`` where this backend takes it (fp32 and f32 name the same), else a one-line error."""
        if precision == "auto" or precision in self.precisions:
            return precision
        alias = {"fp32": "f32", "f32": "fp32"}.get(precision)
        if alias in self.precisions:
            return alias
        raise JnrError(f"--backend {self.name} runs {'|'.join(('auto', *self.precisions))}, not {precision}")


def _artifact(e: StageEntry, precision: str, asked: str, backend: str) -> str:
    """The ONNX artifact of ``precision``; an explicit precision the export did not make is an error."""
    kind = {"fp32": "onnx-fp32", "fp16": "onnx-fp16", "int8": "onnx-int8"}[precision]
    if kind not in e.artifacts:
        flag = {"fp16": "--fp16", "int8": "--int8"}.get(precision, "")
        raise JnrError(f"--backend {backend} --precision {asked}: {e.stage} has no {kind}; re-export {flag}")
    return kind


def plan_trt(b: Backend, e: StageEntry, precision: str) -> StagePlan:
    """The engine as built (FP16 where its parity passed, else FP32: the manifest's ``precision``)."""
    if "engine" not in e.artifacts:
        raise JnrError(
            f"{e.stage}: no TensorRT engine in the manifest; run jnr-export where TensorRT and a GPU are"
        )
    if precision not in ("auto", e.precision):
        raise JnrError(f"--backend trt runs the engines as built ({e.stage}: {e.precision}), not {precision}")
    return StagePlan(e.stage, "trt", e.precision, "engine", e.precision_why, note=_kept(e))


def _kept(e: StageEntry) -> str:
    """The note for a stage the export kept at FP32 although it made FP16 (its parity missed)."""
    return (
        f"{e.stage} runs FP32: {e.precision_why}"
        if e.precision == "fp32" and "onnx-fp16" in e.artifacts
        else ""
    )


def plan_ort_gpu(b: Backend, e: StageEntry, precision: str) -> StagePlan:
    """ONNX Runtime's CUDA or TensorRT provider: auto runs the export's GPU precision (FP16 where parity)."""
    want = e.precision if precision == "auto" else precision
    why, note = (e.precision_why, _kept(e)) if precision == "auto" else ("asked", "")
    return StagePlan(e.stage, "ort", want, _artifact(e, want, precision, b.name), why, b.name, note)


def plan_ort_cpu(b: Backend, e: StageEntry, precision: str) -> StagePlan:
    """ONNX Runtime on CPU: auto runs the export's CPU precision (INT8 where its trial chose it, or FP32)."""
    want = e.cpu_precision if precision == "auto" else precision
    why = (e.cpu_why if want == "int8" else "") if precision == "auto" else "asked"
    return StagePlan(e.stage, "ort", want, _artifact(e, want, precision, b.name), why, provider="ort-cpu")


def _ov_units() -> tuple[str, ...]:
    from jnr.runtime.ov_runner import cpu_precisions

    return cpu_precisions()


def plan_ov(b: Backend, e: StageEntry, precision: str) -> StagePlan:
    """OpenVINO on the FP32 ONNX: auto runs the trial's choice where this CPU has its units (else f32)."""
    if precision == "auto":
        chosen = e.openvino.precision if e.openvino else "f32"
        if chosen not in _ov_units():
            return StagePlan(e.stage, "ov", "f32", "onnx-fp32", f"this CPU has no {chosen} units")
        return StagePlan(e.stage, "ov", chosen, "onnx-fp32", "the export's trial" if e.openvino else "")
    if precision not in _ov_units():
        raise JnrError(f"--backend {b.name} --precision {precision}: this CPU has no {precision} units")
    return StagePlan(e.stage, "ov", precision, "onnx-fp32", "asked")


def plan_cpu(b: Backend, e: StageEntry, precision: str) -> StagePlan:
    """Each stage where the export measured it faster on this CPU: OpenVINO, or ONNX Runtime."""
    if e.runs_openvino():
        ms = e.openvino.ms_per_batch
        p = plan_ov(b, e, "auto")
        return StagePlan(
            e.stage, "ov", p.precision, p.artifact, f"{ms[p.precision]:.0f} vs ORT {ms['ort-cpu']:.0f} ms"
        )
    p = plan_ort_cpu(BACKENDS["ort-cpu"], e, "auto")
    if e.openvino is None:
        return p
    ms = e.openvino.ms_per_batch
    why = f"OpenVINO {ms[e.openvino.precision]:.0f} vs {ms['ort-cpu']:.0f} ms" + (
        f"; {p.why}" if p.why else ""
    )
    return StagePlan(p.stage, p.runtime, p.precision, p.artifact, why, p.provider)


def plan_torch(b: Backend, e: StageEntry, precision: str) -> StagePlan:
    """The PyTorch modules the engines were exported from: FP32, FP16 where asked (torch-cudagraph: auto)."""
    want = precision if precision != "auto" else b.precisions[0]
    return StagePlan(e.stage, "torch", want, None, "", provider=b.name)


_TORCH = "jnr.runtime.runners:torch_available"
_TRT = "jnr.runtime.runners:trt_available"
_ORT = "jnr.runtime.ort_runner:available"
_OV = "jnr.runtime.ov_runner:available"
BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("trt", "engine", plan_trt, ("fp16", "fp32"), auto=1, gpu=True, probe=_TRT),
        Backend("ort-trt", "onnx", plan_ort_gpu, ("fp16", "fp32"), auto=2, gpu=True, probe=_ORT),
        Backend("ort-cuda", "onnx", plan_ort_gpu, ("fp16", "fp32"), auto=3, gpu=True, probe=_ORT),
        Backend("cpu", "onnx", plan_cpu, ("auto",), auto=4, probe=_OV),
        Backend("ov-cpu", "onnx", plan_ov, ("auto", "f32", "bf16", "f16"), probe=_OV),
        Backend("ort-cpu", "onnx", plan_ort_cpu, ("fp32", "fp16", "int8"), auto=5),
        Backend("torch", "torch", plan_torch, ("fp32",), per_image=True, probe=_TORCH),
        Backend("torch-batched", "torch", plan_torch, ("fp32", "fp16"), probe=_TORCH),
        Backend("torch-cudagraph", "torch", plan_torch, ("fp16", "fp32"), gpu=True, probe=_TORCH),
    )
}  # fmt: skip
CHOICES = ("auto", *BACKENDS)


def get_backend(name: str) -> Backend:
    return lookup(BACKENDS, name, "backend")


def default_entries() -> dict[str, StageEntry]:
    """The default models as manifest entries, for the torch backends where no engines were exported."""
    return {s: StageEntry(get_spec(DEFAULTS[s]), weights=get_spec(DEFAULTS[s]).weights) for s in STAGES}


def plan(backend: str | Backend, manifest: Manifest | None, precision: str = "auto") -> Plan:
    """What each stage of ``manifest`` (the default models where None, torch backends only) runs on
    ``backend`` at ``precision``; a one-line JnrError where the backend cannot honour it."""
    b = backend if isinstance(backend, Backend) else get_backend(backend)
    if manifest is None and b.kind != "torch":
        raise JnrError(f"--backend {b.name} runs exported engines: run jnr-export first")
    precision = b.check(precision)
    entries = manifest.stages if manifest is not None else default_entries()
    stages = {
        s: b.planner(b, e, precision) if has_model(e.spec) else StagePlan(s, "none", "none", None, "no model")
        for s, e in entries.items()
    }
    return Plan(b.name, stages)
