"""``engines/manifest.json``: what jnr-export built, typed. This module alone reads and writes its fields."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from jnr.runtime.errors import JnrError
from jnr.runtime.specs import STAGES, StageSpec

MANIFEST = "manifest.json"
FORMAT = 1  # bump when the manifest layout changes incompatibly
# a lower precision, or OpenVINO instead of ONNX Runtime, is chosen only where it needs at most this share of
# the time of what it replaces (a gain within the timing's noise is none)
MIN_GAIN = 0.9


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def library_versions(modules: dict[str, str]) -> dict[str, str | None]:
    """``{key: module.__version__}`` for each importable module, None where it is missing."""
    import importlib

    out: dict[str, str | None] = {}
    for key, name in modules.items():
        try:
            out[key] = getattr(importlib.import_module(name), "__version__", None)
        except ImportError:
            out[key] = None
    return out


def atomic_write_json(path: Path, obj: object) -> None:
    """Write JSON via a temporary file and rename, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=False))
    os.replace(tmp, path)


@dataclass(frozen=True)
class OpenVinoTrial:
    """The export's OpenVINO trial of one stage: the precision chosen, milliseconds per timing batch (keys
    ``ort-cpu``, each precision tried, ``batch``) and the parity of each precision."""

    precision: str
    ms_per_batch: dict[str, float]
    parity: dict[str, dict]

    def faster(self) -> bool:
        """OpenVINO at its chosen precision took at most MIN_GAIN of ONNX Runtime's FP32 time."""
        return self.ms_per_batch[self.precision] <= MIN_GAIN * self.ms_per_batch["ort-cpu"]


@dataclass(frozen=True)
class StageEntry:
    """One stage of the manifest. ``precision``: what GPU backends run (the export's FP16 where it passed
    parity, else FP32, ``precision_why`` says why); ``cpu_precision``: what ONNX Runtime on CPU runs (INT8
    where the export's trial chose it, ``cpu_why``); ``openvino``: the OpenVINO trial, where one ran."""

    spec: StageSpec
    artifacts: dict[str, dict] = field(default_factory=dict)  # kind (onnx-fp32, onnx-fp16, ...) -> file
    key: str = ""
    weights: str = ""
    precision: str = "fp32"
    precision_why: str = ""
    cpu_precision: str = "fp32"
    cpu_ms_per_batch: dict | None = None
    cpu_why: str = ""
    openvino: OpenVinoTrial | None = None
    parity: dict[str, dict] = field(default_factory=dict)
    io: dict = field(default_factory=dict)
    opset: int | None = None
    flops_per_item: float = 0.0
    build_seconds: float | None = None
    reused: bool = False

    @property
    def stage(self) -> str:
        return self.spec.stage

    def runs_openvino(self) -> bool:
        """Whether ``--backend cpu`` runs this stage on OpenVINO: the trial found it faster than ONNX Runtime
        FP32 (an INT8 stage stays on ONNX Runtime: that choice was measured against FP32 only)."""
        return self.openvino is not None and self.cpu_precision != "int8" and self.openvino.faster()

    def file(self, root: Path, kind: str, verify: bool = True) -> Path:
        """The artifact's path, checked to exist and to match its recorded sha256."""
        if kind not in self.artifacts:
            raise JnrError(f"the manifest has no {kind} artifact for stage {self.stage}; re-run jnr-export")
        art = self.artifacts[kind]
        p = root / art["file"]
        if not p.is_file():
            raise JnrError(f"engine file missing: {p} (listed in {root / MANIFEST}); re-run jnr-export")
        if verify and sha256(p) != art["sha256"]:
            raise JnrError(
                f"engine file {p} does not match its sha256 in {root / MANIFEST}; re-run jnr-export"
            )
        return p

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["spec"] = self.spec.to_dict()
        out["openvino"] = None if self.openvino is None else vars(self.openvino).copy()
        out["why"] = out.pop("cpu_why")  # the key older manifests have
        return {k: v for k, v in out.items() if v is not None and k != "reused"} | (
            {"reused": True} if self.reused else {}
        )

    @classmethod
    def from_dict(cls, d: dict) -> StageEntry:
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        kw["spec"] = StageSpec.from_dict(d["spec"])
        kw["artifacts"] = dict(d.get("artifacts") or {})
        kw["cpu_why"] = d.get("why", "")
        ov = d.get("openvino")
        kw["openvino"] = (
            OpenVinoTrial(ov["precision"], dict(ov["ms_per_batch"]), dict(ov["parity"])) if ov else None
        )
        return cls(**kw)

    def reuse(self) -> StageEntry:
        return replace(self, reused=True)


@dataclass(frozen=True)
class Manifest:
    """The engines folder's manifest: a StageEntry per stage, the torso rule jnr-run takes by default with
    these engines (a preset's), the GPU engines were built for (None: none) and library versions."""

    root: Path
    stages: dict[str, StageEntry]
    rule: str | None = None
    gpu: dict | None = None
    versions: dict = field(default_factory=dict)
    jnr_version: str = ""
    created: str = ""

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "jnr_version": self.jnr_version,
            "created": self.created,
            "versions": self.versions,
            "gpu": self.gpu,
            "rule": self.rule,
            "stages": {s: e.to_dict() for s, e in self.stages.items()},
        }

    def write(self) -> None:
        """Atomically replace ``root/manifest.json``."""
        atomic_write_json(self.root / MANIFEST, self.to_dict())


def read_raw(root: Path) -> dict | None:
    """The manifest's JSON where it is this format, None where there is none; a one-line error otherwise."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise JnrError(f"{path} is corrupt (not JSON: {e}); re-run jnr-export") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        got = raw.get("format") if isinstance(raw, dict) else None
        raise JnrError(
            f"{path} has manifest format {got!r}, this jnr reads format {FORMAT}; re-run jnr-export"
        )
    return raw


def from_raw(root: Path, raw: dict, partial: bool = False) -> Manifest:
    """A Manifest from its JSON; ``partial``: stages may be missing (an export in progress)."""
    path = Path(root) / MANIFEST
    stages = {}
    try:
        for stage in STAGES:
            if stage not in raw["stages"]:
                if partial:
                    continue
                raise JnrError(f"{path} has no entry for stage {stage!r}; re-run jnr-export")
            stages[stage] = StageEntry.from_dict(raw["stages"][stage])
        keys = ("rule", "gpu", "versions", "jnr_version", "created")
        return Manifest(Path(root), stages, **{k: raw[k] for k in keys if raw.get(k) is not None})
    except (KeyError, TypeError, AttributeError) as e:
        raise JnrError(f"{path} is malformed (missing {e}); re-run jnr-export") from None


def load_manifest(root: Path) -> Manifest:
    """Read and validate ``root/manifest.json``; every problem is a one-line JnrError."""
    raw = read_raw(root)
    if raw is None:
        raise JnrError(f"no {MANIFEST} in {root}: run `jnr-export --out {root}` first")
    return from_raw(root, raw)
