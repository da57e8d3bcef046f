"""PyTorch backend: eager FP32 (the baseline) with the same runner contract as ONNX Runtime and TensorRT."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class TorchRunner:
    """``infer(NCHW float32 numpy) -> first output as numpy``, synchronised so stage timings are honest."""

    def __init__(
        self, module: nn.Module, backend: str = "torch", max_batch: int = 256, device: str | None = None
    ) -> None:
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.module = module.to(self.device).eval()
        self.backend = backend
        self.max_batch = max_batch

    @torch.inference_mode()
    def infer(self, x: np.ndarray) -> np.ndarray:
        y = self.module(torch.from_numpy(np.ascontiguousarray(x)).to(self.device))
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return y.float().cpu().numpy()
