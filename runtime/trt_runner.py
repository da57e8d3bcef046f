"""TensorRT backend: named-tensor API on one CUDA stream, pinned host buffers, device buffers sized
from the profile maximum. Needs ``tensorrt`` (or ``tensorrt_lean``) and cuda-python; only tested where
both and an NVIDIA GPU exist (tests/runtime/test_trt.py)."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from jnr.runtime.errors import JnrError
from jnr.runtime.lifecycle import Lifecycle


def _trt():
    try:
        import tensorrt as trt
    except ImportError:
        try:
            import tensorrt_lean as trt
        except ImportError:
            raise JnrError("--backend trt needs TensorRT: pip install 'jnr[trt]'") from None
    return trt


def _cudart():
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        raise JnrError("--backend trt needs cuda-python: pip install 'jnr[trt]'") from None
    return cudart


def _check(result):
    """cuda-python returns (err, *values): raise on a non-zero error, return the values."""
    err, *rest = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise RuntimeError(f"CUDA error {err}")
    return rest[0] if len(rest) == 1 else rest


def gpu_identity() -> dict:
    """Name and compute capability of CUDA device 0."""
    cudart = _cudart()
    prop = _check(cudart.cudaGetDeviceProperties(0))
    name = prop.name.decode() if isinstance(prop.name, bytes) else str(prop.name)
    return {"name": name.strip("\x00 "), "compute_capability": f"{prop.major}.{prop.minor}"}


def check_machine(manifest) -> None:
    """The engines of ``manifest`` (jnr.runtime.manifest.Manifest) were built for this GPU and TensorRT
    version, or a one-line JnrError."""
    built, here = manifest.gpu or {}, gpu_identity()
    for key in ("name", "compute_capability"):
        if built.get(key) != here[key]:
            raise JnrError(
                f"engines in the manifest were built for GPU {built.get('name')} "
                f"(sm {built.get('compute_capability')}), this is {here['name']} "
                f"(sm {here['compute_capability']}): re-run jnr-export on this machine"
            )
    trt_built = manifest.versions.get("tensorrt")
    trt_here = _trt().__version__
    compatible = all(
        e.artifacts.get("engine", {}).get("version_compatible") for e in manifest.stages.values()
    )
    if trt_built != trt_here and not compatible:
        raise JnrError(
            f"engines were built with TensorRT {trt_built}, this is {trt_here}: re-run jnr-export "
            "(or export with --version-compatible)"
        )


class TrtRunner(Lifecycle):
    """``infer(NCHW float32) -> first output`` through a deserialized engine; ``close()`` frees its device
    and pinned host buffers and its stream."""

    def __init__(self, engine_path: Path, max_batch: int) -> None:
        trt, self.cudart = _trt(), _cudart()
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.engine = trt.Runtime(self.logger).deserialize_cuda_engine(Path(engine_path).read_bytes())
        if self.engine is None:
            raise JnrError(
                f"TensorRT could not load {engine_path}: built for another GPU or version? "
                "re-run jnr-export on this machine"
            )
        self.ctx = self.engine.create_execution_context()
        self.stream = _check(self.cudart.cudaStreamCreate())
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(self.inputs) != 1:
            raise JnrError(f"{engine_path}: expected one input tensor, found {self.inputs}")
        self.input = self.inputs[0]
        _, _, pmax = self.engine.get_tensor_profile_shape(self.input, 0)
        self.max_batch = min(max_batch, pmax[0])
        self.backend = "trt"
        self.buffers: dict[str, tuple[int, np.ndarray]] = {}
        # buffers for the profile's largest input: the outputs' shapes as the context resolves them for it (an
        # input of dynamic width, StageSpec.tight_width, makes the recognizer's sequence axis dynamic too)
        top = (self.max_batch, *pmax[1:])
        self.ctx.set_input_shape(self.input, top)
        for n in names:
            shape = list(top) if n == self.input else list(self.ctx.get_tensor_shape(n))
            shape[0] = self.max_batch
            dtype = np.dtype(trt.nptype(self.engine.get_tensor_dtype(n)))
            size = int(np.prod([max(d, 1) for d in shape])) * dtype.itemsize
            dev = _check(self.cudart.cudaMalloc(size))
            host_ptr = _check(self.cudart.cudaMallocHost(size))
            host = np.ctypeslib.as_array(ctypes.cast(host_ptr, ctypes.POINTER(ctypes.c_uint8)), (size,))
            self.buffers[n] = (dev, host.view(dtype))
            self.ctx.set_tensor_address(n, dev)

    def infer(self, x: np.ndarray) -> np.ndarray:
        n = len(x)
        if n > self.max_batch:
            raise ValueError(f"batch {n} exceeds the engine profile maximum {self.max_batch}")
        dev_in, host_in = self.buffers[self.input]
        flat = host_in[: x.size]
        flat[:] = x.astype(host_in.dtype, copy=False).ravel()
        self.ctx.set_input_shape(self.input, x.shape)
        kind = self.cudart.cudaMemcpyKind
        _check(
            self.cudart.cudaMemcpyAsync(
                dev_in, flat.ctypes.data, flat.nbytes, kind.cudaMemcpyHostToDevice, self.stream
            )
        )
        if not self.ctx.execute_async_v3(self.stream):
            raise RuntimeError("TensorRT execution failed")
        name = self.outputs[0]
        shape = tuple(self.ctx.get_tensor_shape(name))
        dev_out, host_out = self.buffers[name]
        out = host_out[: int(np.prod(shape))]
        _check(
            self.cudart.cudaMemcpyAsync(
                out.ctypes.data, dev_out, out.nbytes, kind.cudaMemcpyDeviceToHost, self.stream
            )
        )
        _check(self.cudart.cudaStreamSynchronize(self.stream))
        return out.reshape(shape).astype(np.float32)

    def close(self) -> None:
        for dev, host in getattr(self, "buffers", {}).values():
            self.cudart.cudaFree(dev)
            self.cudart.cudaFreeHost(host.ctypes.data)
        self.buffers = {}
        if getattr(self, "stream", None) is not None:
            self.cudart.cudaStreamDestroy(self.stream)
            self.stream = None
        self.ctx = self.engine = None

    def __del__(self) -> None:
        self.close()
