"""jnr-export's work: per stage, ONNX -> (FP16 ONNX) -> parity -> (TensorRT engine), then the manifest.

Artifacts are named by a key hashed from everything that determines them (spec, weights sha256,
precision, opset, jnr version, the export steps' source), so an unchanged re-run reuses them, and a
killed export never leaves the manifest pointing at half-written files: the manifest is replaced last,
atomically.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import jnr
from jnr.export import int8 as quant
from jnr.export import rewrites, steps
from jnr.export.int8 import INT8_MIN_GAIN, _cpu_ms, int8_inputs, int8_trial, runner_ms
from jnr.export.models import build, complete_spec, resolve_weights
from jnr.export.parity import check
from jnr.runtime import ov_runner, preprocess
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


def stage_key(
    spec: StageSpec, weights: str, fp16: bool, opset: int, int8: bool = False, openvino: bool = False
) -> str:
    w = resolve_weights(weights)
    wid = sha256(w) if w.is_file() else weights
    # a change to the export steps (or the graph rewrites, or INT8) rebuilds, even within a version
    recipe = [sha256(Path(m.__file__)) for m in (steps, rewrites, quant)]
    parts = [spec.to_dict(), wid, fp16, opset, jnr.__version__, FORMAT, recipe] + (["int8"] if int8 else [])
    # and a change to how OpenVINO runs redoes its trial (one under the cache bug timed f32 as f16)
    parts += ["openvino", sha256(Path(ov_runner.__file__))] if openvino else []
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


NO_MODEL = {
    "key": "none",
    "weights": "",
    "precision": "none",
    "artifacts": {},
    "parity": {},
    "flops_per_item": 0.0,
}


class Exporter:
    """One output folder's export: it owns the folder, the precisions asked for, the previous manifest (what
    is unchanged is reused), the parity crops (made once, when first needed) and the TensorRT builder; one
    method per artifact. ``stage`` exports one stage model; ``finish`` writes the manifest, last."""

    def __init__(
        self,
        out: Path,
        fp16: bool = True,
        int8: bool = False,
        opset: int = steps.OPSET,
        engine: Callable[[Path, StageSpec, str], dict] | None = None,
        say: Callable[[str], None] = print,
        force: bool = False,
        openvino: bool = False,
    ) -> None:
        self.out, self.fp16, self.int8, self.opset, self.engine, self.say = (
            out,
            fp16,
            int8,
            opset,
            engine,
            say,
        )
        self.openvino = openvino  # the OpenVINO trial per stage (jnr-export --openvino)
        self.previous = read_previous(out, force)
        self._images: dict = {}
        self._reference: dict = {}  # per stage model: PyTorch's outputs on the parity crops (parity.check)

    def images(self) -> dict:
        """Parity inputs per stage, from the cached synthetic parity split."""
        if not self._images:
            from jnr.export.parity import parity_images

            self._images.update(parity_images(parity_split(self.out)))
        return self._images

    def stage(self, spec: StageSpec, weights: str) -> dict:
        """Export one stage (or reuse it, unchanged); returns its manifest entry. Parity below its target is
        an error naming the figures (the artifacts stay for a look)."""
        if spec.decode == "none":  # a model-less stage: nothing to export, nothing to check
            return {**NO_MODEL, "spec": spec.to_dict()}
        spec = complete_spec(spec, weights)
        key = stage_key(spec, weights, self.fp16, self.opset, self.int8, self.openvino)
        old = _reusable(self.previous.get("stages", {}).get(spec.stage, {}), key, self.out)
        if old is not None and (self.engine is None or "engine" in old["artifacts"]):
            self.say(
                f"{spec.stage}: unchanged ({key[:12]}), reusing "
                + ", ".join(a["file"] for a in old["artifacts"].values())
            )
            fp32 = self.out / old["artifacts"]["onnx-fp32"]["file"]
            return {
                **old,
                "reused": True,
                "flops_per_item": steps.flops(fp32, (1, spec.channels, *spec.input_hw)),
            }
        t0 = time.perf_counter()
        module = build(spec, weights)
        stem = self.out / f"{spec.stage}-{key[:12]}"
        fp32_path = self.onnx(spec, weights, module, stem.with_suffix(".fp32.onnx"))
        arts = {"onnx-fp32": artifact(fp32_path)}
        self._reference = {}  # a new stage model: new reference outputs
        parity = {"fp32": self.check(spec, module, fp32_path, "fp32")}
        run_path, precision, cpu = fp32_path, "fp32", {"cpu_precision": "fp32"}
        if self.fp16:
            arts["onnx-fp16"], parity["fp16"], run_path = self.half(
                spec, module, fp32_path, stem.with_suffix(".fp16.onnx")
            )
            precision = "fp16"
        if self.int8:
            arts["onnx-int8"], parity["int8"], cpu = self.quantized(
                spec, module, fp32_path, stem.with_suffix(".int8.onnx")
            )
        _check_parity(spec, parity, self.out)
        if self.openvino:
            cpu.update(self.openvino_trial(spec, module, fp32_path))
        io = steps.io_info(run_path)
        if self.engine is not None:
            arts["engine"] = self.engine(run_path, spec, io["inputs"][0]["name"])
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

    def onnx(self, spec: StageSpec, weights: str, module, dst: Path) -> Path:
        """The FP32 ONNX from the model's source (models.SOURCES), simplified and checked."""
        local = resolve_weights(weights)
        kind = source_kind(spec, weights)
        if kind == "ultralytics":
            steps.onnx_from_ultralytics(local if local.exists() else weights, spec, dst, self.opset)
        elif kind == "onnx":
            steps.onnx_from_file(local, spec, dst)
        else:
            steps.onnx_from_torch(module, spec, dst, self.opset)
        return steps.slim_and_check(dst)

    def half(self, spec: StageSpec, module, fp32_path: Path, dst: Path) -> tuple[dict, dict, Path]:
        """FP16 ONNX with its parity."""
        path = steps.fp16_from_onnx(fp32_path, dst)
        return artifact(path), self.check(spec, module, path, "fp16"), path

    def check(self, spec: StageSpec, module, path: Path, precision: str, runner=None) -> dict:
        """Parity of ``path`` (or ``runner``) against ``module`` on the stage's parity crops; PyTorch's
        outputs are computed once per stage model and reused by each precision's check."""
        ims = self.images()[spec.stage]
        return check(spec, module, path, ims, precision, runner=runner, reference=self._reference)

    def quantized(self, spec: StageSpec, module, fp32_path: Path, dst: Path) -> tuple[dict, dict, dict]:
        """Static INT8 (QDQ) calibrated on part of the parity crops, parity on the rest, timed against FP32
        on this CPU; used on CPU (``cpu_precision``) where it passes parity and is faster."""
        inputs = int8_inputs(spec, self.images()[spec.stage])
        par, int8_ms = int8_trial(spec, module, fp32_path, dst, inputs)
        x = inputs[2]
        ms = {"fp32": round(_cpu_ms(fp32_path, spec, x), 2), "int8": round(int8_ms, 2), "batch": len(x)}
        use = par["passed"] and ms["int8"] <= INT8_MIN_GAIN * ms["fp32"]
        why = f"{ms['int8']:.1f} vs {ms['fp32']:.1f} ms per batch of {len(x)}: " + (
            "used on CPU" if use else "not used (" + ("parity" if not par["passed"] else "not faster") + ")"
        )
        self.say(f"{spec.stage}: INT8 {par['decoded_identical']:.2%} identical, {why}")
        return (
            artifact(dst),
            par,
            {"cpu_precision": "int8" if use else "fp32", "cpu_ms_per_batch": ms, "why": why},
        )

    def openvino_trial(self, spec: StageSpec, module, fp32_path: Path) -> dict:
        """Where OpenVINO is installed: the FP32 ONNX compiled at f32 and at each lower precision the CPU has
        units for (bf16: AMX or AVX512-BF16; f16: AVX512-FP16 or AMX-FP16),
        each checked for parity like the other artifacts and timed against ONNX Runtime on this CPU; the
        manifest records the fastest that passes (``openvino.precision``), which ``--backend ov-cpu`` and
        ``auto`` use; a lower precision only where it takes at most MIN_GAIN of f32's time (f16 on
        AVX512-FP16 without AMX-FP16 passes parity and runs no faster than f32: 2-core Xeon, STR 217
        against 144 ms per 64)."""
        from jnr.runtime.ov_runner import CACHE, MIN_GAIN, OvRunner, available, cpu_precisions

        if not available():
            self.say(f"{spec.stage}: no OpenVINO trial: pip install 'jnr[openvino]'")
            return {}
        ims = self.images()[spec.stage]
        x = preprocess.batch(spec, ims[:64])[0]
        ms = {"ort-cpu": round(_cpu_ms(fp32_path, spec, x), 2), "batch": len(x)}
        parity = {}
        for prec in cpu_precisions():
            runner = OvRunner(fp32_path, prec, spec.max_batch, cache_dir=self.out / CACHE)
            parity[prec] = self.check(spec, module, fp32_path, f"ov-{prec}", runner=runner)
            ms[prec] = round(runner_ms(runner, x), 2)
            runner.close()
        faster = {"f32"} | {p for p in parity if ms[p] <= MIN_GAIN * ms["f32"]}
        passed = [p for p, v in parity.items() if v["passed"] and p in faster]
        choice = min(passed, key=lambda p: ms[p]) if passed else "f32"
        figures = ", ".join(f"{p} {v['decoded_identical']:.2%}, {ms[p]:.1f} ms" for p, v in parity.items())
        self.say(f"{spec.stage}: OpenVINO {figures} (ONNX Runtime {ms['ort-cpu']:.1f} ms): {choice}")
        return {"openvino": {"precision": choice, "ms_per_batch": ms, "parity": parity}}

    def finish(self, entries: dict, gpu: dict | None, rule: str | None = None) -> dict:
        """The manifest, written atomically last; artifacts of earlier builds no longer listed go."""
        keep = {a["file"] for e in entries.values() for a in e["artifacts"].values()}
        return write_manifest(self.out, entries, gpu, keep, rule or self.previous.get("rule"))


def source_kind(spec: StageSpec, weights: str) -> str:
    """Where a model's ONNX comes from: its spec's entry in models.SOURCES, or an ONNX file as weights."""
    from jnr.export.models import SOURCES

    return "onnx" if resolve_weights(weights).suffix == ".onnx" else SOURCES.get(spec.name, "torch")


def _check_parity(spec: StageSpec, parity: dict, out: Path) -> None:
    failed = [
        f"{p}: {v['decoded_identical']:.2%} identical < {v['target']:.1%}"
        for p, v in parity.items()
        if not v["passed"] and p != "int8"  # INT8 is optional: it is just not used
    ]
    if failed:
        raise JnrError(
            f"{spec.stage} misses its parity target ({'; '.join(failed)}); artifacts kept in {out}"
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
