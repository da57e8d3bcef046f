"""Fetch a SoccerNet jersey-2023 split with the official ``SoccerNet`` package; unzip it into the layout."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

from jnr.runtime.errors import JnrError

TASK = "jersey-2023"


def unpack(zip_path: Path, out: Path, split: str) -> Path:
    """Unzip ``split.zip`` so that ``out/split/images/<id>/`` exists; returns ``out/split``.

    Accepts archives whose top folder is the split (``test/images/...``), or ``images/`` at the top.
    """
    if not zipfile.is_zipfile(zip_path):
        raise JnrError(f"{zip_path} is not a zip archive (an interrupted download? delete it and retry)")
    dest = out / split
    out.mkdir(parents=True, exist_ok=True)
    if (dest / "images").is_dir():
        raise JnrError(f"{dest}/images already exists: remove it to unpack again")
    with tempfile.TemporaryDirectory(dir=out) as tmp, zipfile.ZipFile(zip_path) as zf:
        for name in zf.namelist():
            if name.startswith("/") or ".." in Path(name).parts:
                raise JnrError(f"{zip_path} holds an unsafe path: {name}")
        zf.extractall(tmp)
        found = [p.parent for p in Path(tmp).rglob("images") if p.is_dir()]
        if not found:
            raise JnrError(f"{zip_path} has no images/ folder: not a {TASK} split")
        root = min(found, key=lambda p: len(p.parts))
        dest.mkdir(parents=True, exist_ok=True)
        for child in root.iterdir():
            target = dest / child.name
            if child.suffix == ".json" and child.name.endswith("_gt.json"):
                target = dest / f"{split}_gt.json"
            shutil.move(str(child), target)
    return dest


def download(split: str, out: Path) -> Path:
    """Download with ``SoccerNetDownloader.downloadDataTask(task="jersey-2023")`` then unpack."""
    try:
        from SoccerNet.Downloader import SoccerNetDownloader
    except ImportError:
        raise JnrError("downloading needs the SoccerNet package: pip install 'jnr[data]'") from None
    out.mkdir(parents=True, exist_ok=True)
    try:
        SoccerNetDownloader(LocalDirectory=str(out)).downloadDataTask(task=TASK, split=[split])
    except Exception as e:
        raise JnrError(
            f"SoccerNet download of {TASK}/{split} failed (no network?): "
            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from None
    zip_path = out / TASK / f"{split}.zip"
    if not zip_path.exists():
        raise JnrError(
            f"the SoccerNet downloader finished but {zip_path} is missing (no network, or no access)"
        )
    return unpack(zip_path, out, split)
