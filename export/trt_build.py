"""TensorRT engine build: a strongly typed network from an (FP16) ONNX, the documented API only.

TensorRT 11 removed ``BuilderFlag.FP16``: precision comes from the ONNX itself (shared/TENSORRT.md).
Only runs where ``tensorrt`` and an NVIDIA GPU exist; its tests ``importorskip("tensorrt")``.
"""

from __future__ import annotations

import os
from pathlib import Path

from jnr.runtime.trt_runner import gpu_identity

__all__ = ["engine_from_onnx", "gpu_available", "gpu_identity"]

WORKSPACE_BYTES = 2 << 30
OPT_BATCH = 64


def gpu_available() -> tuple[bool, str]:
    """Whether a CUDA device answers, and what to say when it doesn't."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        return False, "cuda-python is not installed (pip install 'jnr[trt]')"
    err, count = cudart.cudaGetDeviceCount()
    if int(err) != 0 or count == 0:
        return False, "no NVIDIA GPU found"
    return True, ""


def engine_from_onnx(
    onnx_path: Path,
    engine_path: Path,
    input_name: str,
    chw: tuple[int, int, int],
    max_batch: int,
    cache_path: Path,
    version_compatible: bool = False,
    max_chw: tuple[int, int, int] | None = None,
) -> None:
    """Parse ONNX into a strongly typed network, one profile (1 / 64 / max_batch; ``chw`` up to ``max_chw``
    where the input is wider for some crops: StageSpec.tight_width), workspace limit, persisted timing cache;
    write the serialized engine atomically."""
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    if version_compatible:
        config.set_flag(trt.BuilderFlag.VERSION_COMPATIBLE)
        config.set_flag(trt.BuilderFlag.EXCLUDE_LEAN_RUNTIME)
    profile = builder.create_optimization_profile()
    top = max_chw or chw
    profile.set_shape(input_name, (1, *chw), (min(OPT_BATCH, max_batch), *chw), (max_batch, *top))
    config.add_optimization_profile(profile)
    cache = config.create_timing_cache(cache_path.read_bytes() if cache_path.exists() else b"")
    config.set_timing_cache(cache, ignore_mismatch=True)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build an engine from {onnx_path}")
    tmp = engine_path.with_name(f".{engine_path.name}.tmp{os.getpid()}")
    tmp.write_bytes(bytes(serialized))
    os.replace(tmp, engine_path)
    cache_tmp = cache_path.with_name(f".{cache_path.name}.tmp{os.getpid()}")
    cache_tmp.write_bytes(bytes(config.get_timing_cache().serialize()))
    os.replace(cache_tmp, cache_path)
