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
    ``precision`` bf16 or f16 needs the CPU's units for it (jnr.runtime.plan says where they are missing)."""

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
        if precision not in cpu_precisions():
            raise JnrError(f"this CPU has no {CAPABILITY[precision]} units for OpenVINO {precision}")
        from jnr.runtime.ort_runner import CPU_LANES, physical_cores

        cores = threads or physical_cores()
        # as OrtRunner on CPU: CPU_LANES streams take parts of a batch at once (docs/architecture.md)
        self.lanes = max(1, min(cores, CPU_LANES))
        config = {
            "INFERENCE_PRECISION_HINT": precision,
            "INFERENCE_NUM_THREADS": cores,
            "NUM_STREAMS": self.lanes,
        }
        core = ov.Core()
        if cache_dir is not None:
            # one folder per precision and threading: the CPU plugin keys a cached blob by the model alone
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
