"""The PyTorch runners for ``--backend torch`` (per image, PIL, FP32 eager), ``torch-batched`` (FP32, or FP16
on a GPU with ``--precision fp16``) and ``torch-cudagraph`` (batched, FP16 unless told fp32, CUDA graphs)."""

from __future__ import annotations

import torch

from jnr.export.models import build, complete_spec
from jnr.export.torch_runner import TorchRunner
from jnr.runtime.specs import StageSpec


def torch_runner(
    spec: StageSpec, weights: str, backend: str = "torch", threads: int | None = None, precision: str = "fp32"
) -> TorchRunner:
    """The stage's PyTorch module from its spec and weight source, as a runner of ``backend``."""
    if threads:
        torch.set_num_threads(threads)
    spec = complete_spec(spec, weights)
    max_batch = 1 if backend == "torch" else spec.max_batch
    return TorchRunner(
        build(spec, weights),
        backend,
        max_batch,
        fp16=precision == "fp16",
        graphs=backend == "torch-cudagraph",
    )
