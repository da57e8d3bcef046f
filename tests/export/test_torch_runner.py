"""TorchRunner's GPU paths: FP16 and CUDA graphs give the eager answers at every batch size, a module that
caches tensors per input shape (as ultralytics' pose head caches its anchors) stays right across captured
sizes, and a module with a host sync inside falls back to eager. The GPU tests skip where no CUDA GPU is
visible (CI); they ran on the lent GPU (benchmarks/README.md, "GPU")."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from jnr.export.torch_runner import TorchRunner  # noqa: E402
from jnr.runtime.errors import JnrError  # noqa: E402

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


class ShapeCache(nn.Module):
    """Conv + a per-input-shape cached tensor added to the output (like ultralytics' anchors)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.shape = None
        self.offset = None

    def forward(self, x):
        if self.shape != x.shape:
            self.shape = x.shape
            self.offset = torch.arange(x.shape[0], device=x.device, dtype=x.dtype)[:, None, None, None] * 0
            self.offset = self.offset + torch.arange(x.shape[-1], device=x.device, dtype=x.dtype)
        return self.conv(x) + self.offset


class HostSync(nn.Module):
    def forward(self, x):
        return x * float(x.abs().max().item() > -1)  # .item() syncs: CUDA graphs cannot capture it


def batches(rng, sizes, hw=(8, 8)):
    return [rng.standard_normal((n, 3, *hw)).astype(np.float32) for n in sizes]


def test_fp16_or_graphs_without_a_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    with pytest.raises(JnrError, match="needs a CUDA GPU"):
        TorchRunner(nn.Identity(), "torch-cudagraph", graphs=True)


@cuda
def test_fp16_matches_fp32():
    torch.manual_seed(0)
    m = ShapeCache()
    ref, half = TorchRunner(ShapeCache(), "torch-batched"), TorchRunner(m, "torch-batched", fp16=True)
    ref.module.load_state_dict(m.state_dict())
    for x in batches(np.random.default_rng(0), (1, 5, 64)):
        a, b = ref.infer(x), half.infer(x)
        assert b.dtype == np.float32 and b.shape == a.shape
        assert np.abs(a - b).max() < 2e-2 * (np.abs(a).max() + 1)


@cuda
def test_cuda_graphs_match_eager_at_every_size_and_reuse_their_capture():
    torch.manual_seed(0)
    eager, graphed = TorchRunner(ShapeCache(), "torch-batched"), TorchRunner(ShapeCache(), "g", graphs=True)
    graphed.module.load_state_dict(eager.module.state_dict())
    rng = np.random.default_rng(1)
    for x in batches(rng, (3, 64, 1, 3, 17, 64, 2)):  # sizes revisit captured graphs after others
        assert np.allclose(graphed.infer(x), eager.infer(x), atol=1e-5)
    assert graphed.graph_error is None
    assert sorted(graphed._captured) == [1, 2, 4, 32, 64]


@cuda
def test_a_module_that_cannot_be_captured_runs_eagerly():
    r = TorchRunner(HostSync(), "g", graphs=True)
    x = batches(np.random.default_rng(2), (4,))[0]
    assert np.allclose(r.infer(x), x)
    assert r.graph_error is not None
    assert np.allclose(r.infer(x), x)  # and stays eager
