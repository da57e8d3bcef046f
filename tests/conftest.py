"""Shared fixtures: a tiny synthetic split generated once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from jnr.synth.write import write_split


@pytest.fixture(scope="session")
def rendered_number():
    """A 64x64 RGB crop with ``text`` printed dark on white (OpenCV's Hershey font): what any recognizer
    worth shipping reads."""
    import cv2
    import numpy as np

    def render(text: str) -> np.ndarray:
        img = np.full((64, 64, 3), 255, np.uint8)
        cv2.putText(img, text, (6, 46), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (20, 20, 140), 3, cv2.LINE_AA)
        return img

    return render


@pytest.fixture(scope="session")
def tiny_split(tmp_path_factory) -> Path:
    """6 synthetic tracklets of 6-10 frames, with gt and annotations."""
    root = tmp_path_factory.mktemp("synth")
    return write_split(root, "test", tracklets=6, frames=(6, 10), seed=7, workers=1)


@pytest.fixture(scope="session")
def engines(tmp_path_factory) -> Path:
    """A full FP16 export of the shipped models (needs the export extra: torch, ultralytics, easyocr)."""
    pytest.importorskip("torch")
    pytest.importorskip("ultralytics")
    from typer.testing import CliRunner

    from jnr.export.cli_export import app

    out = tmp_path_factory.mktemp("engines")
    r = CliRunner().invoke(app, ["--fp16", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out
