"""The PyTorch stages for ``--backend torch`` (per image, PIL, FP32 eager), ``torch-batched`` (FP32, or FP16
on a GPU with ``--precision fp16``) and ``torch-cudagraph`` (batched, FP16 unless told fp32, CUDA graphs)."""

from __future__ import annotations

import torch

from jnr.export.models import build, complete_spec
from jnr.export.torch_runner import TorchRunner
from jnr.runtime.pipeline import Stage
from jnr.runtime.specs import StageSpec


def torch_stages(
    chosen: dict[str, tuple[StageSpec, str]],
    backend: str = "torch",
    threads: int | None = None,
    precision: str = "auto",
) -> dict[str, Stage]:
    """One Stage per pipeline stage from (spec, weight source) pairs."""
    graphs = backend == "torch-cudagraph"
    fp16 = precision == "fp16" or (precision == "auto" and graphs)
    if threads:
        torch.set_num_threads(threads)
    out = {}
    for stage, (spec, weights) in chosen.items():
        if spec.decode == "none":
            out[stage] = Stage(spec, None)
            continue
        spec = complete_spec(spec, weights)
        max_batch = 1 if backend == "torch" else spec.max_batch
        out[stage] = Stage(
            spec, TorchRunner(build(spec, weights), backend, max_batch, fp16=fp16, graphs=graphs)
        )
    return out
