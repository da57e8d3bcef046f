"""The export's OpenVINO trial of one stage: the FP32 ONNX compiled at f32 and at each lower precision the
CPU has units for (bf16: AMX or AVX512-BF16; f16: AVX512-FP16 or AMX-FP16), each checked for parity like the
other artifacts and timed against ONNX Runtime on this CPU. The manifest records the fastest that passes,
which ``--backend ov-cpu`` and ``auto`` run; a lower precision only where it takes at most MIN_GAIN of f32's
time (docs/architecture.md, "Why these settings")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from jnr.export.int8 import cpu_ms, runner_ms
from jnr.runtime import preprocess
from jnr.runtime.manifest import MIN_GAIN, OpenVinoTrial
from jnr.runtime.specs import StageSpec

TIMING_BATCH = 64


def openvino_trial(
    spec: StageSpec,
    fp32_path: Path,
    images: list[np.ndarray],
    check: Callable[[object, str], dict],
    out: Path,
    say: Callable[[str], None] = print,
) -> OpenVinoTrial | None:
    """The trial (see the module's docstring), or None where OpenVINO is not installed. ``check(runner,
    "ov-PRECISION")``: the export's parity of that runner."""
    from jnr.runtime.ov_runner import CACHE, OvRunner, available, cpu_precisions

    if not available():
        say(f"{spec.stage}: no OpenVINO trial: pip install 'jnr[openvino]'")
        return None
    x = preprocess.batch(spec, images[:TIMING_BATCH])[0]
    ms = {"ort-cpu": round(cpu_ms(fp32_path, spec, x), 2), "batch": len(x)}
    parity = {}
    for prec in cpu_precisions():
        runner = OvRunner(fp32_path, prec, spec.max_batch, cache_dir=out / CACHE)
        parity[prec] = check(runner, f"ov-{prec}")
        ms[prec] = round(runner_ms(runner, x), 2)
        runner.close()
    faster = {"f32"} | {p for p in parity if ms[p] <= MIN_GAIN * ms["f32"]}
    passed = [p for p, v in parity.items() if v["passed"] and p in faster]
    choice = min(passed, key=lambda p: ms[p]) if passed else "f32"
    figures = ", ".join(f"{p} {v['decoded_identical']:.2%}, {ms[p]:.1f} ms" for p, v in parity.items())
    say(f"{spec.stage}: OpenVINO {figures} (ONNX Runtime {ms['ort-cpu']:.1f} ms): {choice}")
    return OpenVinoTrial(choice, ms, parity)
