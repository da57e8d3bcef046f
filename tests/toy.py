"""A toy recognizer for the tests that add a model (tests/test_add_one.py, tests/export/test_degrade.py): a
CTC head that reads "7" in every crop, registered as one SPECS entry and one BUILDERS entry."""

from dataclasses import replace

SEVEN = 7


def sevens_module():
    import torch

    class Sevens(torch.nn.Module):
        def forward(self, x):  # (N, 1, H, W) -> (N, T, 1 + 10) logits: "7" first, then blanks
            logits = torch.full((x.shape[0], 24, 11), -10.0) + 0 * x.mean()  # the input stays in the graph
            logits[:, :, 0] = 10.0
            logits[:, 0, 0], logits[:, 0, 1 + SEVEN] = -10.0, 10.0
            return logits

    return Sevens()


def register_sevens(monkeypatch):
    """The toy's spec (EasyOCR's preprocessing, a ten-digit charset) in SPECS and its builder in BUILDERS."""
    from jnr.export import models
    from jnr.runtime.specs import SPECS, get_spec

    toy = replace(get_spec("easyocr-en-g2"), name="toy-sevens", charset="0123456789", weights="none")
    monkeypatch.setitem(SPECS, toy.name, toy)
    monkeypatch.setitem(models.BUILDERS, toy.name, lambda spec, src: sevens_module())
    return toy
