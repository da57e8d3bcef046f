"""OpenVINO backend on the CPU: the FP32 ONNX files jnr-export writes, compiled at f32 or bf16 (the CPU's
AMX / AVX512-BF16 units), compiled models cached on disk so a second run starts fast."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jnr.runtime.errors import JnrError
from jnr.runtime.lifecycle import Lifecycle

PRECISIONS = ("f32", "bf16")
MIN_GAIN = 0.9  # auto takes OpenVINO only where it needs at most this share of ONNX Runtime's time


def available(name: str = "ov-cpu") -> bool:
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


def cpu_has_bf16() -> bool:
    """Whether OpenVINO's CPU plugin reports BF16 (AMX or AVX512-BF16) on this machine."""
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


class OvRunner(Lifecycle):
    """``infer(NCHW float32) -> first output`` on OpenVINO's CPU plugin; ``close()`` drops the model.
    ``precision`` bf16 on a CPU without BF16 units runs f32 (``note`` says so)."""

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
        if precision == "bf16" and not cpu_has_bf16():
            self.note = "this CPU has no BF16 units (AMX, AVX512-BF16): OpenVINO runs f32"
            precision = "f32"
        from jnr.runtime.ort_runner import physical_cores

        config = {
            "INFERENCE_PRECISION_HINT": precision,
            "INFERENCE_NUM_THREADS": threads or physical_cores(),
            "PERFORMANCE_HINT": "LATENCY",
        }
        core = ov.Core()
        if cache_dir is not None:
            core.set_property({"CACHE_DIR": str(cache_dir)})
        self.path, self.precision, self.max_batch, self.backend = Path(path), precision, max_batch, "ov-cpu"
        try:
            self.model = core.compile_model(str(path), "CPU", config)
        except Exception as e:
            raise JnrError(f"OpenVINO could not compile {path}: {str(e).splitlines()[0]}") from None
        self.request = self.model.create_infer_request()

    def infer(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        self.request.infer({0: x})
        return np.array(self.request.get_output_tensor(0).data, copy=True)

    def close(self) -> None:
        self.request = None
        self.model = None


def stage_precision(entry: dict) -> str:
    """The OpenVINO precision jnr-export chose for a stage (its parity and timing), f32 where none."""
    return (entry.get("openvino") or {}).get("precision", "f32")


def faster_than_ort(manifest) -> tuple[bool, str]:
    """Whether jnr-export measured OpenVINO (at its chosen precision per stage) faster than ONNX Runtime on
    this kind of CPU for a batch of every stage, by MIN_GAIN (a gain within the timing's noise is none);
    with the reason."""
    if manifest is None:
        return False, "no manifest"
    ov_ms = ort_ms = 0.0
    for e in manifest.stages.values():
        if e.spec.decode == "none":
            continue
        trial = e.raw.get("openvino")
        if not trial:
            return False, "jnr-export made no OpenVINO trial (jnr-export --openvino)"
        ov_ms += trial["ms_per_batch"][trial["precision"]]
        ort_ms += trial["ms_per_batch"]["ort-cpu"]
    figures = f"OpenVINO {ov_ms:.0f} ms vs ONNX Runtime {ort_ms:.0f} ms for a batch of every stage"
    faster = ov_ms <= MIN_GAIN * ort_ms
    return faster, figures + ("" if faster else f": OpenVINO not {1 - MIN_GAIN:.0%} faster")
