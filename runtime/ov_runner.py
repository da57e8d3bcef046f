"""OpenVINO backend on the CPU: the FP32 ONNX files jnr-export writes, compiled at f32, bf16 (the CPU's
AMX / AVX512-BF16 units) or f16 (AVX512-FP16 / AMX-FP16), compiled models cached on disk so a second run
starts fast."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jnr.runtime.errors import JnrError
from jnr.runtime.lifecycle import Lifecycle

PRECISIONS = ("f32", "bf16", "f16")
# what OpenVINO's CPU plugin reports (OPTIMIZATION_CAPABILITIES) where the CPU has units for a precision
CAPABILITY = {"f32": "FP32", "bf16": "BF16", "f16": "FP16"}
MIN_GAIN = 0.9  # auto takes OpenVINO only where it needs at most this share of ONNX Runtime's time
CACHE = "ov-cache"  # compiled models, in the engines folder (a subfolder per precision: OvRunner)


def available(name: str = "ov-cpu") -> bool:
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


def cpu_capabilities() -> list[str]:
    """What OpenVINO's CPU plugin reports it can compute in on this machine (FP32, BF16, FP16, INT8...)."""
    import openvino as ov

    return list(ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))


def cpu_precisions() -> tuple[str, ...]:
    """The PRECISIONS this CPU has units for: f32 always, bf16 (AMX or AVX512-BF16), f16 (AVX512-FP16 or
    AMX-FP16)."""
    caps = cpu_capabilities()
    return tuple(p for p in PRECISIONS if p == "f32" or CAPABILITY[p] in caps)


class OvRunner(Lifecycle):
    """``infer(NCHW float32) -> first output`` on OpenVINO's CPU plugin; ``close()`` drops the model.
    ``precision`` bf16 or f16 on a CPU without units for it runs f32 (``note`` says so)."""

    def __init__(
        self,
        path: Path,
        precision: str = "f32",
        max_batch: int = 256,
        threads: int | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        try:
            import openvino as ov
        except ImportError:
            raise JnrError("--backend ov-cpu needs OpenVINO: pip install 'jnr[openvino]'") from None
        if precision not in PRECISIONS:
            raise JnrError(f"OpenVINO precision {precision!r}; known: {', '.join(PRECISIONS)}")
        self.note = ""
        if precision not in cpu_precisions():
            self.note = f"this CPU has no {CAPABILITY[precision]} units: OpenVINO runs f32"
            precision = "f32"
        from jnr.runtime.ort_runner import CPU_LANES, physical_cores

        cores = threads or physical_cores()
        # as OrtRunner on CPU: CPU_LANES streams, each on cores // lanes threads, take halves of a batch at
        # once (small convolutions scale badly across threads; 2 cores, pose per 64: f32 78 -> 70 ms, bf16
        # 55 -> 40 ms)
        self.lanes = max(1, min(cores, CPU_LANES))
        config = {
            "INFERENCE_PRECISION_HINT": precision,
            "INFERENCE_NUM_THREADS": cores,
            "NUM_STREAMS": self.lanes,
        }
        core = ov.Core()
        if cache_dir is not None:
            # one folder per precision and threading: OpenVINO 2026.4's CPU plugin keys a cached blob by the
            # model alone (CACHING_PROPERTIES is the device name only), so a shared folder handed an f16 or
            # bf16 compile the blob an f32 compile had written: the export's f16 trial timed and checked
            # f32, and its bf16 recognizer read half its parity crops wrong (benchmarks/README.md)
            core.set_property({"CACHE_DIR": str(Path(cache_dir) / f"{precision}-{cores}t{self.lanes}s")})
        self.path, self.precision, self.max_batch, self.backend = Path(path), precision, max_batch, "ov-cpu"
        try:
            self.model = core.compile_model(str(path), "CPU", config)
        except Exception as e:
            raise JnrError(f"OpenVINO could not compile {path}: {str(e).splitlines()[0]}") from None
        self.requests = [self.model.create_infer_request() for _ in range(self.lanes)]

    def infer(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        parts = np.array_split(x, self.lanes) if len(x) >= 2 * self.lanes else [x]
        for request, part in zip(self.requests, parts, strict=False):
            request.start_async({0: part})
        outs = []
        for request, _ in zip(self.requests, parts, strict=False):
            request.wait()
            outs.append(np.array(request.get_output_tensor(0).data, copy=True))
        return outs[0] if len(outs) == 1 else np.concatenate(outs)

    def close(self) -> None:
        self.requests = []
        self.model = None


def stage_precision(entry: dict) -> str:
    """The OpenVINO precision jnr-export chose for a stage (its parity and timing), f32 where none."""
    return (entry.get("openvino") or {}).get("precision", "f32")


def stage_runs_ov(entry: dict) -> bool:
    """Whether jnr-export measured OpenVINO (at its chosen precision) faster than ONNX Runtime FP32 on this
    stage, by MIN_GAIN (a gain within the timing's noise is none). A stage ONNX Runtime runs at the export's
    INT8 stays there (that choice was measured against FP32 only)."""
    trial = entry.get("openvino")
    if not trial or entry.get("cpu_precision") == "int8":
        return False
    ms = trial["ms_per_batch"]
    return ms[trial["precision"]] <= MIN_GAIN * ms["ort-cpu"]


def cpu_choices(manifest) -> tuple[dict[str, str], str]:
    """Per stage, what ``--backend cpu`` runs it on: ``ov-f32`` / ``ov-bf16`` where stage_runs_ov, else
    ``ort``; with the figures that chose it."""
    if manifest is None:
        return {}, "no manifest"
    out, figures = {}, []
    for s, e in manifest.stages.items():
        if e.spec.decode == "none":
            continue
        trial = e.raw.get("openvino")
        if not trial:
            return {}, "jnr-export made no OpenVINO trial (jnr-export --openvino)"
        ms = trial["ms_per_batch"]
        out[s] = f"ov-{trial['precision']}" if stage_runs_ov(e.raw) else "ort"
        ov_ms, ort_ms = ms[trial["precision"]], ms["ort-cpu"]
        figures.append(f"{s} {out[s]} (OpenVINO {ov_ms:.0f} vs ONNX Runtime {ort_ms:.0f} ms)")
    return out, "; ".join(figures)
