"""Runners from a plan (jnr.runtime.plan): one opener per runtime, and ``auto``'s choice of backend.

A runner runs one model on one backend (Polygraphy's shape): ``infer(NCHW float32) -> first output as
numpy``, ``close()`` to release its session or GPU memory, and ``with`` for both. The PyTorch ones (the
per-image baseline and its batched and CUDA-graph forms) come with the export extra and are imported only
when opened, so the lean runtime imports neither torch nor jnr.export.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jnr.runtime.errors import JnrError, lookup
from jnr.runtime.manifest import Manifest, StageEntry
from jnr.runtime.plan import BACKENDS, Plan, StagePlan, default_entries, get_backend, plan
from jnr.runtime.stage import Runner, Stage


@dataclass(frozen=True)
class Opening:
    """What an opener gets besides the stage's plan and entry."""

    root: Path | None  # the engines folder (None: no manifest)
    threads: int | None = None
    profile_dir: Path | None = None  # ONNX Runtime writes its per-operator profile there
    pose_weights: str | None = None  # the torch backends' pose weights


def open_ort(p: StagePlan, e: StageEntry, o: Opening) -> Runner:
    from jnr.runtime.ort_runner import OrtRunner

    profile = None if o.profile_dir is None else o.profile_dir / p.stage
    path, cache = e.file(o.root, p.artifact), o.root / "ort-trt-cache"
    return OrtRunner(path, p.provider, e.spec.max_batch, o.threads, cache, p.precision == "fp16", profile)


def open_ov(p: StagePlan, e: StageEntry, o: Opening) -> Runner:
    from jnr.runtime.ov_runner import CACHE, OvRunner

    return OvRunner(e.file(o.root, p.artifact), p.precision, e.spec.max_batch, o.threads, o.root / CACHE)


def open_trt(p: StagePlan, e: StageEntry, o: Opening) -> Runner:
    from jnr.runtime.trt_runner import TrtRunner

    return TrtRunner(e.file(o.root, "engine"), e.spec.max_batch)


def open_torch(p: StagePlan, e: StageEntry, o: Opening) -> Runner:
    if not importlib.util.find_spec("torch"):
        raise JnrError(f"--backend {p.provider} needs PyTorch: pip install 'jnr[export]'")
    from jnr.export.baseline import torch_runner

    weights = (o.pose_weights if p.stage == "pose" else None) or e.weights or e.spec.weights
    return torch_runner(e.spec, weights, p.provider, o.threads, p.precision)


RUNTIMES: dict[str, Callable[[StagePlan, StageEntry, Opening], Runner]] = {
    "ort": open_ort,
    "ov": open_ov,
    "trt": open_trt,
    "torch": open_torch,
}


def torch_available(name: str) -> bool:
    """torch importable; the GPU-only ones (FP16, CUDA graphs) where CUDA is."""
    if not importlib.util.find_spec("torch"):
        return False
    if not BACKENDS[name].gpu:
        return True
    import torch

    return torch.cuda.is_available()


def trt_available(name: str = "trt") -> bool:
    return bool(importlib.util.find_spec("tensorrt") and importlib.util.find_spec("cuda"))


def pick_auto(manifest: Manifest | None) -> tuple[str, str]:
    """The first backend in ``auto``'s order that can run these engines here, with the reason: TensorRT
    engines built for this GPU, ORT's TensorRT EP, ORT CUDA, ``cpu`` (where OpenVINO is faster on some
    stage), ONNX Runtime on CPU."""
    has_engines = manifest is not None and any("engine" in e.artifacts for e in manifest.stages.values())
    why = []
    for b in sorted((b for b in BACKENDS.values() if b.auto), key=lambda b: b.auto):
        if b.kind == "engine" and not has_engines:
            why.append(f"{b.name}: no TensorRT engines in the manifest")
            continue
        if not b.available():
            why.append(f"{b.name} cannot run here")
            continue
        try:
            p = plan(b, manifest)
            if b.kind == "engine":
                from jnr.runtime.trt_runner import check_machine

                check_machine(manifest)
        except JnrError as e:
            why.append(f"{b.name}: {e}")
            continue
        if b.name == "cpu":
            why.append(str(p))
            if not any(s.runtime == "ov" for s in p.stages.values()):
                why.append("OpenVINO faster on no stage")
                continue
        return b.name, "; ".join(why)
    return "ort-cpu", "; ".join(why)


def open_stages(p: Plan, manifest: Manifest | None, opening: Opening) -> dict[str, Stage]:
    """A Stage per planned stage, its runner opened by the runtime the plan names."""
    entries = manifest.stages if manifest is not None else default_entries()
    if any(s.runtime == "trt" for s in p.stages.values()):
        from jnr.runtime.trt_runner import check_machine

        check_machine(manifest)
    return {
        s: Stage(entries[s].spec, None if sp.runtime == "none" else lookup(RUNTIMES, sp.runtime, "runtime")(
            sp, entries[s], opening))
        for s, sp in p.stages.items()
    }  # fmt: skip


def load_stages(
    backend: str,
    manifest: Manifest | Path | None,
    precision: str = "auto",
    threads: int | None = None,
    pose_weights: str | None = None,
    profile_dir: Path | None = None,
) -> dict[str, Stage]:
    """Runners for the three stages on ``backend`` from the engines ``manifest`` (a folder is read as its
    manifest; the torch backends build the default models without one), by ``plan``."""
    b = get_backend(backend)
    if isinstance(manifest, str | Path):
        from jnr.runtime.reader import read_manifest

        manifest = read_manifest(Path(manifest), needed=b.kind != "torch")
    root = manifest.root if manifest is not None else None
    return open_stages(
        plan(b, manifest, precision), manifest, Opening(root, threads, profile_dir, pose_weights)
    )
