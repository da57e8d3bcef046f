"""TensorRT build and runner: runs only where tensorrt, cuda-python and an NVIDIA GPU exist."""

import numpy as np
import pytest

trt = pytest.importorskip("tensorrt")
pytest.importorskip("cuda.bindings")

from jnr.export.trt_build import engine_from_onnx, gpu_available  # noqa: E402
from jnr.runtime.manifest import load_manifest  # noqa: E402
from jnr.runtime.ort_runner import OrtRunner  # noqa: E402
from jnr.runtime.trt_runner import TrtRunner, check_machine  # noqa: E402

if not gpu_available()[0]:
    pytest.skip("no NVIDIA GPU", allow_module_level=True)


@pytest.mark.parametrize("stage", ["pose", "legibility", "str"])
def test_fp16_engine_matches_onnx_runtime(engines, tmp_path, stage):
    e = load_manifest(engines).stages[stage]
    onnx_path = e.file(engines, "onnx-fp16")
    engine = tmp_path / f"{stage}.engine"
    engine_from_onnx(
        onnx_path,
        engine,
        e.io["inputs"][0]["name"],
        (e.spec.channels, *e.spec.input_hw),
        32,
        tmp_path / "timing.cache",
    )
    assert engine.stat().st_size > 0 and (tmp_path / "timing.cache").stat().st_size > 0
    x = np.random.default_rng(0).standard_normal((5, e.spec.channels, *e.spec.input_hw)).astype(np.float32)
    ref = OrtRunner(e.file(engines, "onnx-fp32")).infer(x)
    got = TrtRunner(engine, 32).infer(x)
    assert got.shape == ref.shape and np.abs(got - ref).max() < 0.5


def test_engine_for_another_gpu_is_refused(engines):
    from dataclasses import replace

    m = replace(load_manifest(engines), gpu={"name": "Some Other GPU", "compute_capability": "1.0"})
    with pytest.raises(Exception, match="re-run jnr-export"):
        check_machine(m)
