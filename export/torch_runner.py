"""PyTorch backend: eager FP32 (the baseline) with the same runner contract as ONNX Runtime and TensorRT;
on a CUDA GPU also FP16 and CUDA graphs (``--backend torch-cudagraph``)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from jnr.runtime.errors import JnrError
from jnr.runtime.lifecycle import Lifecycle


class TorchRunner(Lifecycle):
    """``infer(NCHW float32 numpy) -> first output as numpy``, synchronised so stage timings are honest.

    ``fp16``: the module and its input in half precision (CUDA only). ``graphs``: each batch is padded up to
    a power of two and replayed from a CUDA graph captured once per size (CUDA only): one launch per batch
    instead of one per kernel. A module that cannot be captured (host syncs inside its forward) runs eagerly,
    and ``graph_error`` says why.
    """

    def __init__(
        self,
        module: nn.Module,
        backend: str = "torch",
        max_batch: int = 256,
        device: str | None = None,
        fp16: bool = False,
        graphs: bool = False,
    ) -> None:
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if (fp16 or graphs) and self.device.type != "cuda":
            raise JnrError(f"--backend {backend} with FP16 or CUDA graphs needs a CUDA GPU; none is visible")
        self.dtype = torch.float16 if fp16 else torch.float32
        self.module = module.to(self.device, self.dtype).eval()
        self.backend = backend
        self.max_batch = max_batch
        self.graphs = graphs
        self.graph_error: str | None = None
        self._captured: dict[int, tuple] = {}

    @torch.inference_mode()
    def infer(self, x: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.ascontiguousarray(x)).to(self.device, self.dtype, non_blocking=False)
        y = self._replay(t) if self.graphs and self.graph_error is None else self.module(t)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return y.float().cpu().numpy()

    def _replay(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        size = 1 << max(0, n - 1).bit_length()  # the next power of two
        if size not in self._captured:
            try:
                self._captured[size] = self._capture(size, x.shape[1:])
            except Exception as e:  # e.g. a host sync inside forward: run this module eagerly
                self.graph_error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                torch.cuda.synchronize(self.device)
                return self.module(x)
        static_in, static_out, graph, _ = self._captured[size]
        static_in[:n].copy_(x)
        graph.replay()
        return static_out[:n].clone()

    def _capture(self, size: int, chw: torch.Size) -> tuple:
        static_in = torch.zeros((size, *chw), device=self.device, dtype=self.dtype)
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):  # warm-up off the capture (cuDNN picks its kernels, caches fill)
            for _ in range(2):
                self.module(static_in)
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = self.module(static_in)
        # tensors the module caches between calls (ultralytics' anchors, per input shape) are read by the
        # graph from their memory at capture time: keep them alive even when a later size replaces them
        keep = [v for m in self.module.modules() for v in vars(m).values() if isinstance(v, torch.Tensor)]
        return static_in, static_out, graph, keep

    def close(self) -> None:
        """Drop the module and its CUDA graphs (and their memory pool)."""
        self._captured.clear()
        self.module = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
