"""A stage whose FP16 misses parity keeps FP32 in that export (the manifest says why, the plan's GPU
backends run it at FP32 and say so once); ``--strict`` keeps the error."""

import shutil

import pytest

pytest.importorskip("torch")

from toy import register_sevens
from typer.testing import CliRunner

from jnr.export import parity
from jnr.export.cli_export import app
from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import load_manifest
from jnr.runtime.plan import plan


@pytest.fixture
def missing_fp16(engines, tmp_path, monkeypatch):
    """A copy of the engines and a toy recognizer whose FP16 cannot pass (a target above 100%)."""
    toy = register_sevens(monkeypatch)
    monkeypatch.setitem(parity.TARGETS, "fp16", 1.01)
    out = tmp_path / "engines"
    shutil.copytree(engines, out)
    return out, ["--fp16", "--stages", "str", "--str", toy.name, "--no-openvino", "--out", str(out)]


def test_fp16_missing_parity_keeps_that_stage_at_fp32(missing_fp16):
    out, args = missing_fp16
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "FP16 missed parity" in r.output and "kept" in r.output
    e = load_manifest(out).stages["str"]
    assert e.precision == "fp32" and "FP16 missed parity (" in e.precision_why
    assert "onnx-fp16" in e.artifacts and not e.parity["fp16"]["passed"]
    p = plan("ort-cuda", load_manifest(out))  # what a GPU backend would run: FP32, said once
    assert p.stages["str"].precision == "fp32" and p.stages["str"].artifact == "onnx-fp32"
    assert p.notes() == [f"str runs FP32: {e.precision_why}"]
    assert p.stages["pose"].precision == "fp16"  # the other stages as they passed


def test_strict_keeps_the_parity_error(missing_fp16):
    out, args = missing_fp16
    before = (out / "manifest.json").read_text()
    r = CliRunner().invoke(app, [*args, "--strict"])  # jnr-export prints this one line and exits 2
    assert isinstance(r.exception, JnrError) and "misses its parity target (fp16:" in str(r.exception)
    assert (out / "manifest.json").read_text() == before  # the manifest is not touched
