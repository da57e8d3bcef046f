"""Shared fixtures: a tiny synthetic split generated once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from jnr.synth.write import write_split


@pytest.fixture(scope="session")
def tiny_split(tmp_path_factory) -> Path:
    """6 synthetic tracklets of 6-10 frames, with gt and annotations."""
    root = tmp_path_factory.mktemp("synth")
    return write_split(root, "test", tracklets=6, frames=(6, 10), seed=7, workers=1)
