"""Shared fixtures: a tiny synthetic split generated once per session."""

from __future__ import annotations

import os
import subprocess
import sys
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


# how the session's engines are exported: FP16, and (jnr-export's default) the OpenVINO trial where OpenVINO
# is installed (the ov-cpu tests read it)
EXPORT_ARGS = ["--fp16"]


@pytest.fixture(scope="session")
def engines(tmp_path_factory) -> Path:
    """A full FP16 export of the shipped models (needs the export extra: torch, ultralytics, easyocr)."""
    pytest.importorskip("torch")
    pytest.importorskip("ultralytics")
    from typer.testing import CliRunner

    from jnr.export.cli_export import app

    out = tmp_path_factory.mktemp("engines")
    r = CliRunner().invoke(app, [*EXPORT_ARGS, "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


ENTRIES = {
    "jnr-run": "jnr.runtime.run_cli:main",
    "jnr-eval": "jnr.runtime.cli:eval_main",
    "jnr-data": "jnr.runtime.cli:data_main",
    "jnr-video": "jnr.video.cli:main",
    "jnr-bench": "jnr.benchmarks.bench:main",
    "jnr-train": "jnr.train.cli:main",
    "jnr-export": "jnr.export.cli_export:main",
}


def cli(
    command: str,
    *args,
    env: dict | None = None,
    block_torch: Path | None = None,
    timeout: int = 600,
) -> subprocess.CompletedProcess:
    """``command`` (a name of ENTRIES) with ``args`` in a fresh interpreter; ``block_torch``: a folder where a
    shim makes ``import torch`` fail, as on a lean install."""
    module, _, fn = ENTRIES[command].partition(":")
    code = f"from {module} import {fn}; {fn}()"
    if block_torch is not None:
        shim = Path(block_torch) / "shim"
        (shim / "torch").mkdir(parents=True, exist_ok=True)
        (shim / "torch" / "__init__.py").write_text("raise ImportError('torch is blocked in this test')\n")
        code = f"import sys; sys.path.insert(0, {str(shim)!r}); " + code
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="session")
def run_cli():
    """The one way tests run a jnr command: ``run_cli("jnr-run", *args, env=..., block_torch=tmp_path)``."""
    return cli


@pytest.fixture(scope="session")
def api_answers():
    """{tracklet: number} as ``jnr.load(engines, **options).run(split)`` gives them: what jnr-run writes."""

    def answers(engines: Path, split: Path, **options) -> dict[str, int]:
        import jnr

        with jnr.load(engines, **options) as reader:
            return {r.tracklet: r.number for r in reader.run(split)}

    return answers
