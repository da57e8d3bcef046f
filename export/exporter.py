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


def stage_key(spec: StageSpec, weights: str, fp16: bool, opset: int) -> str:
    w = resolve_weights(weights)
    wid = sha256(w) if w.is_file() else weights
    recipe = sha256(Path(steps.__file__))  # a change to the export steps rebuilds, even within a version
    blob = json.dumps([spec.to_dict(), wid, fp16, opset, jnr.__version__, FORMAT, recipe], sort_keys=True)
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
) -> dict:
    """Export one stage; returns its manifest entry."""
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
    key = stage_key(spec, weights, fp16, opset)
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
    failed = [
        f"{p}: {v['decoded_identical']:.2%} identical < {v['target']:.1%}"
        for p, v in parity.items()
        if not v["passed"]
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
        "flops_per_item": steps.flops(fp32_path, (1, spec.channels, *spec.input_hw)),
        "build_seconds": round(time.perf_counter() - t0, 1),
    }


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
