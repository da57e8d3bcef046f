"""jnr-export's work: per stage, ONNX -> (FP16 ONNX) -> parity -> (TensorRT engine), then the manifest.

Artifacts are named by a key hashed from everything that determines them (spec, weights sha256,
precision, opset, jnr version, the export steps' source), so an unchanged re-run reuses them, and a
killed export never leaves the manifest pointing at half-written files: the manifest is replaced last,
atomically.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import jnr
from jnr.export import steps
from jnr.export.models import build, complete_spec, resolve_weights
from jnr.export.parity import check
from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import FORMAT, MANIFEST, atomic_write_json, library_versions, sha256
from jnr.runtime.specs import StageSpec

PARITY_SEED = 4242


def versions() -> dict:
    return {
        "jnr": jnr.__version__,
        "python": platform.python_version(),
        **library_versions(
            {
                "onnx": "onnx",
                "onnxruntime": "onnxruntime",
                "tensorrt": "tensorrt",
                "cuda_python": "cuda.bindings",
            }
        ),
    }


def stage_key(spec: StageSpec, weights: str, fp16: bool, opset: int, int8: bool = False) -> str:
    w = resolve_weights(weights)
    wid = sha256(w) if w.is_file() else weights
    recipe = sha256(Path(steps.__file__))  # a change to the export steps rebuilds, even within a version
    parts = [spec.to_dict(), wid, fp16, opset, jnr.__version__, FORMAT, recipe] + (["int8"] if int8 else [])
    blob = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def read_previous(out: Path, force: bool) -> dict:
    """The existing manifest, if compatible; an incompatible one is an error unless ``force``."""
    path = out / MANIFEST
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError:
        raw = None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        if force:
            return {}
        got = raw.get("jnr_version") if isinstance(raw, dict) else "unknown"
        raise JnrError(
            f"{path} was written by an incompatible jnr ({got}, manifest format "
            f"{raw.get('format') if isinstance(raw, dict) else '?'}; this is format {FORMAT}): "
            "use another --out, or --force to replace it"
        )
    return raw


def _reusable(prev: dict, key: str, out: Path) -> dict | None:
    if prev.get("key") != key:
        return None
    for art in prev.get("artifacts", {}).values():
        p = out / art["file"]
        if not p.is_file() or sha256(p) != art["sha256"]:
            return None
    return prev


def artifact(path: Path, **extra) -> dict:
    """A manifest artifact entry: file name (relative to the output folder), sha256, size, extras."""
    return {"file": path.name, "sha256": sha256(path), "bytes": path.stat().st_size, **extra}


def export_stage(
    spec: StageSpec,
    weights: str,
    out: Path,
    fp16: bool,
    opset: int,
    images: Callable[[], dict],
    prev: dict,
    engine: Callable[[Path, StageSpec, str], dict] | None,
    say: Callable[[str], None],
    int8: bool = False,
) -> dict:
    """Export one stage; returns its manifest entry. ``int8``: also a static INT8 ONNX, used on CPU where
    it passes parity and is faster (``cpu_precision``)."""
    if spec.decode == "none":  # a model-less stage: nothing to export, nothing to check
        return {
            "key": "none",
            "spec": spec.to_dict(),
            "weights": "",
            "precision": "none",
            "artifacts": {},
            "parity": {},
            "flops_per_item": 0.0,
        }
    spec = complete_spec(spec, weights)
    key = stage_key(spec, weights, fp16, opset, int8)
    old = _reusable(prev, key, out)
    if old is not None and (engine is None or "engine" in old["artifacts"]):
        say(
            f"{spec.stage}: unchanged ({key[:12]}), reusing "
            + ", ".join(a["file"] for a in old["artifacts"].values())
        )
        return {
            **old,
            "reused": True,
            "flops_per_item": steps.flops(
                out / old["artifacts"]["onnx-fp32"]["file"], (1, spec.channels, *spec.input_hw)
            ),
        }
    t0 = time.perf_counter()
    module = build(spec, weights)
    stem = f"{spec.stage}-{key[:12]}"
    fp32_path = out / f"{stem}.fp32.onnx"
    local = resolve_weights(weights)
    if spec.decode == "yolo-pose":
        steps.onnx_from_ultralytics(local if local.exists() else weights, spec, fp32_path, opset)
    elif local.suffix == ".onnx":
        steps.onnx_from_file(local, spec, fp32_path)
    else:
        steps.onnx_from_torch(module, spec, fp32_path, opset)
    steps.slim_and_check(fp32_path)
    arts = {"onnx-fp32": artifact(fp32_path)}
    parity = {"fp32": check(spec, module, fp32_path, images()[spec.stage], "fp32")}
    run_path, precision = fp32_path, "fp32"
    if fp16:
        fp16_path = steps.fp16_from_onnx(fp32_path, out / f"{stem}.fp16.onnx")
        arts["onnx-fp16"] = artifact(fp16_path)
        parity["fp16"] = check(spec, module, fp16_path, images()[spec.stage], "fp16")
        run_path, precision = fp16_path, "fp16"
    cpu: dict = {"cpu_precision": "fp32"}
    if int8:
        arts["onnx-int8"], parity["int8"], cpu = _int8(
            spec, module, fp32_path, out / f"{stem}.int8.onnx", images
        )
        say(f"{spec.stage}: INT8 {parity['int8']['decoded_identical']:.2%} identical, {cpu['why']}")
    failed = [
        f"{p}: {v['decoded_identical']:.2%} identical < {v['target']:.1%}"
        for p, v in parity.items()
        if not v["passed"] and p != "int8"  # INT8 is optional: it is just not used
    ]
    if failed:
        raise JnrError(
            f"{spec.stage} misses its parity target ({'; '.join(failed)}); artifacts kept in {out}"
        )
    io = steps.io_info(run_path)
    if engine is not None:
        arts["engine"] = engine(run_path, spec, io["inputs"][0]["name"])
    return {
        "key": key,
        "spec": spec.to_dict(),
        "weights": weights,
        "precision": precision,
        "opset": io["opset"],
        "io": io,
        "artifacts": arts,
        "parity": parity,
        **cpu,
        "flops_per_item": steps.flops(fp32_path, (1, spec.channels, *spec.input_hw)),
        "build_seconds": round(time.perf_counter() - t0, 1),
    }


INT8_CALIBRATION = 256  # crops (or frames) that calibrate; parity runs on the others
INT8_MIN_GAIN = 0.9  # INT8 is used on CPU only when it takes at most this share of FP32's time


def _cpu_ms(path: Path, spec: StageSpec, x: np.ndarray, repeat: int = 5) -> float:
    """Best-of-``repeat`` milliseconds for one batch on ONNX Runtime's CPU provider."""
    from jnr.runtime.ort_runner import OrtRunner

    runner = OrtRunner(path, "ort-cpu", spec.max_batch)
    runner.infer(x)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        runner.infer(x)
        best = min(best, time.perf_counter() - t)
    return best * 1000


def int8_inputs(spec: StageSpec, ims: list) -> tuple[list[np.ndarray], list, np.ndarray]:
    """Parity crops split for an INT8 trial: calibration batches (the first INT8_CALIBRATION, at most half),
    the crops parity compares on (the rest), and one batch of up to 64 of those to time."""
    from jnr.runtime import preprocess

    n_cal = min(INT8_CALIBRATION, len(ims) // 2)
    cal = [preprocess.batch(spec, ims[i : min(i + 32, n_cal)])[0] for i in range(0, n_cal, 32)]
    return cal, ims[n_cal:], preprocess.batch(spec, ims[n_cal : n_cal + 64])[0]


def int8_trial(spec: StageSpec, module, src: Path, dst: Path, inputs: tuple, **quant) -> tuple[dict, float]:
    """Quantize ``src`` to ``dst`` (``quant``: int8_from_onnx's options) on ``inputs`` (int8_inputs);
    returns its parity and its CPU milliseconds for the timing batch."""
    cal, rest, x = inputs
    steps.int8_from_onnx(src, dst, cal, steps.io_info(src)["inputs"][0]["name"], **quant)
    return check(spec, module, dst, rest, "int8"), _cpu_ms(dst, spec, x)


def _int8(spec: StageSpec, module, fp32_path: Path, dst: Path, images: Callable[[], dict]):
    """Static INT8 (QDQ) calibrated on part of the parity crops, parity on the rest, timed against FP32 on
    this CPU; returns (artifact, parity, {cpu_precision, cpu_ms_per_batch, why})."""
    inputs = int8_inputs(spec, images()[spec.stage])
    par, int8_ms = int8_trial(spec, module, fp32_path, dst, inputs)
    x = inputs[2]
    ms = {"fp32": round(_cpu_ms(fp32_path, spec, x), 2), "int8": round(int8_ms, 2), "batch": len(x)}
    faster = ms["int8"] <= INT8_MIN_GAIN * ms["fp32"]
    use = par["passed"] and faster
    why = f"{ms['int8']:.1f} vs {ms['fp32']:.1f} ms per batch of {len(x)}: " + (
        "used on CPU" if use else "not used (" + ("parity" if not par["passed"] else "not faster") + ")"
    )
    return (
        artifact(dst),
        par,
        {"cpu_precision": "int8" if use else "fp32", "cpu_ms_per_batch": ms, "why": why},
    )


def parity_split(out: Path) -> Path:
    """A cached synthetic split (about 1000 frames) for parity checks."""
    from jnr.synth.write import write_split

    root = out / ".parity"
    split = root / "test"
    if not (split / "test_gt.json").exists():
        write_split(root, "test", tracklets=20, frames=(40, 60), seed=PARITY_SEED, workers=2)
    return split


def write_manifest(
    out: Path, entries: dict, gpu: dict | None, keep_files: set[str], rule: str | None = None
) -> dict:
    """``rule``: the torso rule jnr-run uses by default with these engines (a preset's)."""
    manifest = {
        "format": FORMAT,
        "jnr_version": jnr.__version__,
        "created": dt.datetime.now(dt.UTC).isoformat(),
        "versions": versions(),
        "gpu": gpu,
        "rule": rule,
        "stages": entries,
    }
    atomic_write_json(out / MANIFEST, manifest)
    for p in out.glob("*-*.*"):  # artifacts of earlier builds no longer listed
        if p.suffix in (".onnx", ".engine") and p.name not in keep_files:
            p.unlink()
    return manifest


def replace_batch(spec: StageSpec, max_batch: int) -> StageSpec:
    return dataclasses.replace(spec, max_batch=max_batch)
