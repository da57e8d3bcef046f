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
from dataclasses import replace
from pathlib import Path

import jnr
from jnr.export import int8 as quant
from jnr.export import ov_trial, rewrites, steps
from jnr.export.int8 import INT8_MIN_GAIN, cpu_ms, int8_inputs, int8_trial
from jnr.export.models import build, complete_spec, resolve_weights
from jnr.export.parity import check
from jnr.runtime import ov_runner
from jnr.runtime.errors import JnrError
from jnr.runtime.kinds import has_model, kind_of
from jnr.runtime.manifest import (
    FORMAT,
    Manifest,
    OpenVinoTrial,
    StageEntry,
    from_raw,
    library_versions,
    read_raw,
    sha256,
)
from jnr.runtime.specs import StageSpec

PARITY_SEED = 4242


# the libraries an export's artifacts depend on (manifest "versions")
LIBRARIES = {
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
    "tensorrt": "tensorrt",
    "cuda_python": "cuda.bindings",
}


def versions() -> dict:
    return {"jnr": jnr.__version__, "python": platform.python_version(), **library_versions(LIBRARIES)}


def stage_key(
    spec: StageSpec, weights: str, fp16: bool, opset: int, int8: bool = False, openvino: bool = False
) -> str:
    w = resolve_weights(weights)
    wid = sha256(w) if w.is_file() else weights
    # a change to the export steps (or the graph rewrites, or INT8) rebuilds, even within a version
    recipe = [sha256(Path(m.__file__)) for m in (steps, rewrites, quant)]
    parts = [spec.to_dict(), wid, fp16, opset, jnr.__version__, FORMAT, recipe] + (["int8"] if int8 else [])
    # and a change to how OpenVINO runs redoes its trial (one under the cache bug timed f32 as f16)
    parts += ["openvino", *(sha256(Path(m.__file__)) for m in (ov_runner, ov_trial))] if openvino else []
    blob = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def read_previous(out: Path, force: bool) -> Manifest | None:
    """The existing manifest (stages may be missing), if compatible; an incompatible one is an error
    unless ``force``."""
    try:
        raw = read_raw(out)
        return None if raw is None else from_raw(out, raw, partial=True)
    except JnrError as e:
        if force:
            return None
        raise JnrError(f"{e}; or use another --out, or --force to replace it") from None


def _reusable(prev: StageEntry | None, key: str, out: Path) -> StageEntry | None:
    if prev is None or prev.key != key:
        return None
    for art in prev.artifacts.values():
        p = out / art["file"]
        if not p.is_file() or sha256(p) != art["sha256"]:
            return None
    return prev


def artifact(path: Path, **extra) -> dict:
    """A manifest artifact entry: file name (relative to the output folder), sha256, size, extras."""
    return {"file": path.name, "sha256": sha256(path), "bytes": path.stat().st_size, **extra}


class Exporter:
    """One output folder's export: it owns the folder, the precisions asked for, the previous manifest (what
    is unchanged is reused), the parity crops (made once, when first needed) and the TensorRT builder; one
    method per artifact. ``stage`` exports one stage model; ``finish`` writes the manifest, last.
    ``strict``: a lower precision that misses parity is an error (else that stage keeps FP32)."""

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
        strict: bool = False,
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
        self.strict = strict
        self.previous = read_previous(out, force)
        self._images: dict = {}
        self._reference: dict = {}  # per stage model: PyTorch's outputs on the parity crops (parity.check)

    def images(self) -> dict:
        """Parity inputs per stage, from the cached synthetic parity split."""
        if not self._images:
            from jnr.export.parity import parity_images

            self._images.update(parity_images(parity_split(self.out)))
        return self._images

    def previous_entries(self) -> dict[str, StageEntry]:
        return dict(self.previous.stages) if self.previous is not None else {}

    def stage(self, spec: StageSpec, weights: str) -> StageEntry:
        """Export one stage (or reuse it, unchanged); returns its manifest entry. FP32 parity below its
        target is an error naming the figures (the artifacts stay for a look); FP16's keeps that stage at
        FP32 (the engine too) unless ``strict``."""
        if not has_model(spec):  # a model-less stage: nothing to export, nothing to check
            return StageEntry(spec, key="none", precision="none", cpu_precision="none")
        spec = complete_spec(spec, weights)
        key = stage_key(spec, weights, self.fp16, self.opset, self.int8, self.openvino)
        old = _reusable(self.previous_entries().get(spec.stage), key, self.out)
        if old is not None and (self.engine is None or "engine" in old.artifacts):
            self.say(
                f"{spec.stage}: unchanged ({key[:12]}), reusing "
                + ", ".join(a["file"] for a in old.artifacts.values())
            )
            fp32 = self.out / old.artifacts["onnx-fp32"]["file"]
            return replace(old.reuse(), flops_per_item=steps.flops(fp32, (1, spec.channels, *spec.input_hw)))
        t0 = time.perf_counter()
        module = build(spec, weights)
        stem = self.out / f"{spec.stage}-{key[:12]}"
        fp32_path = self.onnx(spec, weights, module, stem.with_suffix(".fp32.onnx"))
        arts = {"onnx-fp32": artifact(fp32_path)}
        self._reference = {}  # a new stage model: new reference outputs
        parity = {"fp32": self.check(spec, module, fp32_path, "fp32")}
        _check_parity(spec, parity, self.out)
        run_path, precision, why, cpu = fp32_path, "fp32", "", {}
        if self.fp16:
            arts["onnx-fp16"], parity["fp16"], fp16_path = self.half(
                spec, module, fp32_path, stem.with_suffix(".fp16.onnx")
            )
            if parity["fp16"]["passed"] or self.strict:
                _check_parity(spec, parity, self.out)
                run_path, precision, why = fp16_path, "fp16", "FP16 passed parity"
            else:
                why = f"FP16 missed parity ({_missed(parity['fp16'])}): kept at FP32"
                self.say(f"[yellow]{spec.stage}[/yellow]: {why}; --strict makes this an error")
        if self.int8:
            arts["onnx-int8"], parity["int8"], cpu = self.quantized(
                spec, module, fp32_path, stem.with_suffix(".int8.onnx")
            )
        if self.openvino:
            cpu["openvino"] = self.openvino_trial(spec, module, fp32_path)
        io = steps.io_info(run_path)
        if self.engine is not None:
            arts["engine"] = self.engine(run_path, spec, io["inputs"][0]["name"])
        return StageEntry(
            spec, arts, key, weights, precision, why, parity=parity, io=io, opset=io["opset"],
            flops_per_item=steps.flops(fp32_path, (1, spec.channels, *spec.input_hw)),
            build_seconds=round(time.perf_counter() - t0, 1), **cpu,
        )  # fmt: skip

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
        ms = {"fp32": round(cpu_ms(fp32_path, spec, x), 2), "int8": round(int8_ms, 2), "batch": len(x)}
        use = par["passed"] and ms["int8"] <= INT8_MIN_GAIN * ms["fp32"]
        why = f"{ms['int8']:.1f} vs {ms['fp32']:.1f} ms per batch of {len(x)}: " + (
            "used on CPU" if use else "not used (" + ("parity" if not par["passed"] else "not faster") + ")"
        )
        self.say(f"{spec.stage}: INT8 {par['decoded_identical']:.2%} identical, {why}")
        return (
            artifact(dst),
            par,
            {"cpu_precision": "int8" if use else "fp32", "cpu_ms_per_batch": ms, "cpu_why": why},
        )

    def openvino_trial(self, spec: StageSpec, module, fp32_path: Path) -> OpenVinoTrial | None:
        """The stage on OpenVINO at each precision this CPU has units for (jnr.export.ov_trial)."""
        from jnr.export.ov_trial import openvino_trial

        def check(runner, precision: str) -> dict:
            return self.check(spec, module, fp32_path, precision, runner=runner)

        return openvino_trial(spec, fp32_path, self.images()[spec.stage], check, self.out, self.say)

    def finish(self, entries: dict[str, StageEntry], gpu: dict | None, rule: str | None = None) -> Manifest:
        """The manifest, written atomically last; artifacts of earlier builds no longer listed go."""
        rule = rule or (self.previous.rule if self.previous is not None else None)
        created = dt.datetime.now(dt.UTC).isoformat()
        manifest = Manifest(self.out, entries, rule, gpu, versions(), jnr.__version__, created)
        manifest.write()
        keep = {a["file"] for e in entries.values() for a in e.artifacts.values()}
        for p in self.out.glob("*-*.*"):  # artifacts of earlier builds no longer listed
            if p.suffix in (".onnx", ".engine") and p.name not in keep:
                p.unlink()
        return manifest


def source_kind(spec: StageSpec, weights: str) -> str:
    """Where a model's ONNX comes from: an ONNX file given as weights, its entry in models.SOURCES, else
    its stage kind's (jnr.runtime.kinds)."""
    from jnr.export.models import SOURCES

    if resolve_weights(weights).suffix == ".onnx":
        return "onnx"
    return SOURCES.get(spec.name, kind_of(spec).source)


def _missed(v: dict) -> str:
    return f"{v['decoded_identical']:.2%} identical < {v['target']:.1%}"


def _check_parity(spec: StageSpec, parity: dict, out: Path) -> None:
    failed = [
        f"{p}: {_missed(v)}"
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
