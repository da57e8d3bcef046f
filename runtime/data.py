"""The SoccerNet jersey-2023 split layout: ``<split>/images/<tracklet_id>/*.jpg`` + ``<split>_gt.json`` (or
``gt.json``).

Reading streams: tracklets are listed up front (paths only) and images are decoded on demand by a
thread pool with a bounded number of frames in flight.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from jnr.runtime.errors import JnrError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
_FRAME = re.compile(r"^(?P<tid>.+)_(?P<frame>\d+)$")
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """'a10' sorts after 'a9'."""
    return tuple(int(p) if p.isdigit() else p for p in _DIGITS.split(name))


def frame_key(path: Path) -> tuple:
    """Order frames by the integer in ``<id>_<frame>``; other names sort naturally after them."""
    m = _FRAME.match(path.stem)
    if m:
        return (0, int(m.group("frame")), path.name)
    return (1, natural_key(path.stem), path.name)


@dataclass(frozen=True)
class Tracklet:
    """One player's crops, in frame order. The id is the folder name, exactly as on disk. ``images``:
    the crops already in memory (RGB uint8, one per entry of ``frames``, which then only name them), as
    jnr-video cuts them from a clip."""

    id: str
    frames: tuple[Path, ...]
    images: tuple[np.ndarray, ...] | None = None

    def subset(self, positions: Iterable[int]) -> Tracklet:
        """The tracklet of these frames only, in the order given."""
        pos = list(positions)
        images = tuple(self.images[i] for i in pos) if self.images is not None else None
        return Tracklet(self.id, tuple(self.frames[i] for i in pos), images)


@dataclass
class Split:
    root: Path
    tracklets: list[Tracklet]
    gt: dict[str, int] | None = None
    gt_path: Path | None = None
    skipped: list[str] = field(default_factory=list)


def load_labels(path: Path, what: str = "ground truth") -> dict[str, int]:
    """Read ``{"tracklet_id": number}``; anything else is a JnrError naming the file."""
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise JnrError(f"{what} file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise JnrError(f"{what} file {path} is not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise JnrError(
            f"{what} file {path} must be a JSON object {{tracklet_id: number}}, got {type(raw).__name__}"
        )
    out: dict[str, int] = {}
    for k, v in raw.items():
        if isinstance(v, bool) or not isinstance(v, int | str):
            raise JnrError(f"{what} file {path}: value for tracklet {k!r} is {v!r}, expected an integer")
        try:
            n = int(v)
        except ValueError:
            raise JnrError(
                f"{what} file {path}: value for tracklet {k!r} is {v!r}, expected an integer"
            ) from None
        if n != -1 and not 0 <= n <= 99:
            raise JnrError(f"{what} file {path}: value for tracklet {k!r} is {n}, expected -1 or 0..99")
        out[str(k)] = n
    return out


def open_split(root: str | Path) -> Split:
    """List a split folder. Raises JnrError for a missing folder or ``images/``."""
    root = Path(root)
    if not root.is_dir():
        raise JnrError(f"split folder not found: {root}")
    images = root / "images"
    if not images.is_dir():
        raise JnrError(f"no images/ folder in {root}: expected {root}/images/<tracklet_id>/*.jpg")
    tracklets = []
    for d in sorted((p for p in images.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name)):
        frames = sorted(
            (f for f in d.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()), key=frame_key
        )
        tracklets.append(Tracklet(d.name, tuple(frames)))
    gt_path = root / f"{root.name}_gt.json"
    if not gt_path.exists() and (root / "gt.json").exists():  # a split laid out as shared/real's
        gt_path = root / "gt.json"
    gt = load_labels(gt_path) if gt_path.exists() else None
    return Split(root, tracklets, gt, gt_path if gt is not None else None)


def decode(path: Path) -> np.ndarray | None:
    """RGB uint8 HxWx3, or None (with a warning) for an empty, corrupt or unreadable file."""
    try:
        buf = np.fromfile(path, np.uint8)
    except OSError as e:
        warnings.warn(f"skipping unreadable image {path}: {e}", stacklevel=2)
        return None
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None
    if img is None or img.size == 0:
        warnings.warn(f"skipping corrupt or empty image {path}", stacklevel=2)
        return None
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class Frame:
    tracklet: str
    index: int  # position in the tracklet
    path: Path
    image: np.ndarray | None  # None: could not be decoded
    last: bool  # the tracklet's last frame
    prepared: object = None  # what ``transform`` made of the image in the worker thread


def _load(
    source: Path | np.ndarray, transform: Callable[[np.ndarray], object] | None
) -> tuple[np.ndarray | None, object]:
    img = source if isinstance(source, np.ndarray) else decode(source)
    return img, (transform(img) if transform is not None and img is not None else None)


def _frame(tid: str, index: int, path: Path, last: bool, future) -> Frame:
    image, prepared = future.result()
    return Frame(tid, index, path, image, last, prepared)


def iter_frames(
    tracklets: Iterable[Tracklet],
    workers: int = 4,
    prefetch: int = 256,
    transform: Callable[[np.ndarray], object] | None = None,
) -> Iterator[Frame]:
    """Decode frames in a thread pool, in order, with at most ``prefetch`` frames in flight;
    ``transform`` (e.g. the first stage's preprocessing) also runs in the workers."""

    def jobs():
        for t in tracklets:
            for i, p in enumerate(t.frames):
                yield t.id, i, p, i == len(t.frames) - 1, p if t.images is None else t.images[i]

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending: deque = deque()
        for tid, i, p, last, source in jobs():
            pending.append((tid, i, p, last, pool.submit(_load, source, transform)))
            if len(pending) >= prefetch:
                yield _frame(*pending.popleft())
        while pending:
            yield _frame(*pending.popleft())
