"""ONNX Runtime backend: one session per stage, tuned for throughput, I/O binding on GPU providers."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from jnr.runtime.errors import JnrError
from jnr.runtime.lifecycle import Lifecycle

PROVIDERS = {
    "ort-trt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
    "ort-cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "ort-cpu": ["CPUExecutionProvider"],
}
CPU_LANES = 2  # concurrent runs per CPU session (OrtRunner)


def physical_cores() -> int:
    try:
        import psutil

        return psutil.cpu_count(logical=False) or os.cpu_count() or 1
    except ImportError:
        return os.cpu_count() or 1


def available(backend: str) -> bool:
    import onnxruntime as ort

    return PROVIDERS[backend][0] in ort.get_available_providers()


class OrtRunner(Lifecycle):
    """``infer(NCHW float32) -> first output`` on ONNX Runtime; ``close()`` drops the session."""

    def __init__(
        self,
        path: Path,
        backend: str = "ort-cpu",
        max_batch: int = 256,
        threads: int | None = None,
        cache_dir: Path | None = None,
        fp16: bool = False,
        profile: Path | None = None,
    ) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if backend not in PROVIDERS:
            raise JnrError(f"unknown ONNX Runtime backend {backend!r}; known: {', '.join(PROVIDERS)}")
        so = ort.SessionOptions()
        # ORT 1.32's CPU layout optimisations (ENABLE_ALL) crash on FP16 graphs with FP32 islands:
        # stop at EXTENDED there
        cpu_fp16 = fp16 and backend == "ort-cpu"
        so.graph_optimization_level = (
            ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
            if cpu_fp16
            else ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        )
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        cores = threads or physical_cores()
        # on CPU, CPU_LANES runs (fewer where there are fewer cores) split each batch and run at once, each on
        # cores // lanes threads: small convolutions scale badly across threads, so two single-threaded runs
        # beat one two-threaded run (2-core CPU: 11% less wall end to end, benchmarks/README.md)
        self.lanes = max(1, min(cores, CPU_LANES)) if backend == "ort-cpu" else 1
        so.intra_op_num_threads = max(1, cores // self.lanes)
        self.pool = ThreadPoolExecutor(self.lanes) if self.lanes > 1 else None
        if backend == "ort-cpu":
            # spinning idle threads steal cores from the decode workers (12 tracklets: 11.5-12.2 s -> 10.4 s)
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.log_severity_level = 3
        if profile is not None:  # per-operator times, written by session.end_profiling()
            so.enable_profiling = True
            so.profile_file_prefix = str(profile)
        providers: list = list(PROVIDERS[backend])
        if backend == "ort-trt" and cache_dir is not None:
            providers[0] = (
                "TensorrtExecutionProvider",
                {
                    "trt_fp16_enable": fp16,
                    "trt_engine_cache_enable": True,
                    "trt_engine_cache_path": str(cache_dir),
                    "trt_timing_cache_enable": True,
                    "trt_timing_cache_path": str(cache_dir),
                },
            )
        try:
            self.session = ort.InferenceSession(str(path), so, providers=providers)
        except Exception as e:
            raise JnrError(f"ONNX Runtime could not load {path}: {str(e).splitlines()[0]}") from None
        self.backend = backend
        self.max_batch = max_batch
        self.input = self.session.get_inputs()[0]
        self.output = self.session.get_outputs()[0].name
        self.on_gpu = self.session.get_providers()[0] != "CPUExecutionProvider"

    def infer(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if not self.on_gpu:
            if self.pool is None or len(x) < 2 * self.lanes:
                return self._run(x)
            return np.concatenate(list(self.pool.map(self._run, np.array_split(x, self.lanes))))
        b = self.session.io_binding()
        b.bind_cpu_input(self.input.name, x)
        b.bind_output(self.output, "cuda")
        self.session.run_with_iobinding(b)
        return b.copy_outputs_to_cpu()[0]

    def _run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run([self.output], {self.input.name: x})[0]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None
        self.session = None
