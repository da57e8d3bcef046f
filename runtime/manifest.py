"""``engines/manifest.json``: what jnr-export built, with specs, files and checksums. Read by the runtime."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from jnr.runtime.errors import JnrError
from jnr.runtime.specs import STAGES, StageSpec

MANIFEST = "manifest.json"
FORMAT = 1  # bump when the manifest layout changes incompatibly


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
class StageEntry:
    spec: StageSpec
    artifacts: dict[str, dict]  # kind ("onnx-fp32", "onnx-fp16", "engine") -> {"file", "sha256", ...}
    raw: dict

    def file(self, root: Path, kind: str, verify: bool = True) -> Path:
        """The artifact's path, checked to exist and to match its recorded sha256."""
        if kind not in self.artifacts:
            raise JnrError(
                f"the manifest has no {kind} artifact for stage {self.spec.stage}; re-run jnr-export"
            )
        art = self.artifacts[kind]
        p = root / art["file"]
        if not p.is_file():
            raise JnrError(f"engine file missing: {p} (listed in {root / MANIFEST}); re-run jnr-export")
        if verify and sha256(p) != art["sha256"]:
            raise JnrError(
                f"engine file {p} does not match its sha256 in {root / MANIFEST}; re-run jnr-export"
            )
        return p


@dataclass(frozen=True)
class Manifest:
    root: Path
    stages: dict[str, StageEntry]
    raw: dict


def load_manifest(root: Path) -> Manifest:
    """Read and validate ``root/manifest.json``; every problem is a one-line JnrError."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise JnrError(f"no {MANIFEST} in {root}: run `jnr-export --out {root}` first")
    try:
        raw = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise JnrError(f"{path} is corrupt (not JSON: {e}); re-run jnr-export") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        got = raw.get("format") if isinstance(raw, dict) else None
        raise JnrError(
            f"{path} has manifest format {got!r}, this jnr reads format {FORMAT}; re-run jnr-export"
        )
    stages = {}
    try:
        for stage in STAGES:
            if stage not in raw["stages"]:
                raise JnrError(f"{path} has no entry for stage {stage!r}; re-run jnr-export")
            e = raw["stages"][stage]
            stages[stage] = StageEntry(StageSpec.from_dict(e["spec"]), dict(e["artifacts"]), e)
    except (KeyError, TypeError) as e:
        raise JnrError(f"{path} is malformed (missing {e}); re-run jnr-export") from None
    return Manifest(Path(root), stages, raw)
