"""The PyTorch stages for ``--backend torch`` (per image, PIL, FP32 eager) and ``torch-batched``."""

from __future__ import annotations

import torch

from jnr.export.models import build
from jnr.export.torch_runner import TorchRunner
from jnr.runtime.pipeline import Stage
from jnr.runtime.specs import get_spec


def torch_stages(
    models: dict[str, str], weights: dict[str, str | None], backend: str = "torch", threads: int | None = None
) -> dict[str, Stage]:
    """One Stage per pipeline stage from registry names and optional weight overrides."""
    if threads:
        torch.set_num_threads(threads)
    out = {}
    for stage, name in models.items():
        spec = get_spec(name)
        max_batch = 1 if backend == "torch" else spec.max_batch
        out[stage] = Stage(spec, TorchRunner(build(spec, weights.get(stage)), backend, max_batch))
    return out
