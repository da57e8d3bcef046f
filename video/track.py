"""A clip's players: ultralytics' tracker on the COCO pose model gives each person a track id, a box and
keypoints; each track is one runtime TrackState, fed chunk by chunk through the same batched pipeline.

By default the torso crop is cut with the pipeline's torso rule from the tracker's own keypoints and goes
straight to the gate and the recognizer: the pose model already ran on the full frame, and a second pass on a
small person crop finds less (a person in 0 of 268 crops of a 960x540 clip, issue 20) at 97% of the cost.
``second_pose`` keeps the second pass, for trackers that give boxes only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from jnr.runtime import early
from jnr.runtime.data import Tracklet
from jnr.runtime.errors import JnrError
from jnr.runtime.pipeline import Pipeline
from jnr.runtime.tracks import Result, TrackState
from jnr.runtime.vote import ILLEGIBLE


@dataclass(frozen=True)
class Detection:
    """One tracked person in one frame: track id, box (x0, y0, x1, y1) and COCO keypoints (17, 3) in frame
    pixels, or None where the tracker gives boxes only."""

    track: int
    box: tuple[int, int, int, int]
    keypoints: np.ndarray | None


def open_video(path: Path) -> tuple[cv2.VideoCapture, float, int]:
    """The capture, its frame rate and frame count (0 where the container does not say)."""
    if not path.is_file():
        raise JnrError(f"no such video: {path}")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise JnrError(f"cannot read {path}: not a video OpenCV can decode")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    return cap, float(fps), max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))


def tracker_model(weights: str | None):
    """ultralytics' YOLO on the COCO pose weights (offline from the weight package by default)."""
    try:
        import lap  # noqa: F401  (ultralytics' trackers need it; without it they try to pip install)
        from ultralytics import YOLO
    except ImportError as e:
        raise JnrError(
            f"jnr-video needs ultralytics and lap ({e.name} missing): pip install 'jnr[video]'"
        ) from None
    from jnr.export.weights import resolve_weights
    from jnr.runtime.specs import DEFAULTS, get_spec

    source = weights or get_spec(DEFAULTS["pose"]).weights
    path = resolve_weights(source)
    return YOLO(str(path) if path.exists() else source)


def detections(res, hw: tuple[int, int]) -> list[Detection]:
    """An ultralytics tracking result as Detections (boxes clamped to the frame, tiny ones dropped)."""
    if res.boxes is None or res.boxes.id is None:
        return []
    h, w = hw
    xyxy = res.boxes.xyxy.cpu().numpy().round().astype(int)
    kps = None
    if getattr(res, "keypoints", None) is not None and res.keypoints.data is not None:
        kps = res.keypoints.data.cpu().numpy()  # (n, 17, 3): x, y, confidence
    out = []
    for i, (tid, (x0, y0, x1, y1)) in enumerate(zip(res.boxes.id.int().tolist(), xyxy, strict=True)):
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            out.append(Detection(tid, (x0, y0, x1, y1), None if kps is None else kps[i]))
    return out


def frames(cap: cv2.VideoCapture) -> Iterator[np.ndarray]:
    """BGR frames one at a time: nothing is held beyond the frame being worked on."""
    while True:
        ok, frame = cap.read()
        if not ok or frame is None:
            return
        yield frame


MIN_HEIGHT = 40  # px: player crops shorter than this are not read


class Tracks:
    """Every track of the clip: crops waiting to be read, and its state (readings, funnel, number)."""

    def __init__(
        self, pipe: Pipeline, policy: early.Policy, second_pose: bool = False, min_height: int = MIN_HEIGHT
    ):
        self.pipe, self.policy, self.second_pose, self.min_height = pipe, policy, second_pose, min_height
        self.states: dict[int, TrackState] = {}
        self.seen: dict[int, int] = {}  # frames each track was tracked in
        self.waiting: dict[int, list[np.ndarray]] = {}
        self.numbers: dict[int, int] = {}
        self.settled: set[int] = set()

    def add(self, frame_rgb: np.ndarray, det: Detection) -> np.ndarray | None:
        """Note a detection; queue its crop for reading unless the track is settled; returns the player."""
        tid = det.track
        self.seen[tid] = self.seen.get(tid, 0) + 1
        if tid not in self.states:
            # people tracked in full frames: never the ball
            self.states[tid] = self.pipe.state(Tracklet(str(tid), ()), [], ball_filter=False)
            self.numbers[tid] = ILLEGIBLE
        x0, y0, x1, y1 = det.box
        player = frame_rgb[y0:y1, x0:x1]
        if tid in self.settled or y1 - y0 < self.min_height:
            return player
        crop = player if self.second_pose else self._torso(frame_rgb, det)
        st = self.states[tid]
        if crop is None:  # the tracker's keypoints give no torso here
            st.funnel.frames += 1
            st.funnel.person += 1
        else:
            self.waiting.setdefault(tid, []).append(np.ascontiguousarray(crop))
        return player

    def _torso(self, frame_rgb: np.ndarray, det: Detection) -> np.ndarray | None:
        if det.keypoints is None:
            raise JnrError("this tracker gives no keypoints: use a pose model, or --second-pose")
        return self.pipe.torso.crop(det.keypoints[None], frame_rgb)

    def read(self) -> None:
        """Read every waiting crop (one batched pass over all tracks), then update numbers and settled."""
        jobs = []
        for tid, crops in self.waiting.items():
            names = tuple(Path(f"{tid}_{i}") for i in range(len(crops)))
            jobs.append((self.states[tid], Tracklet(str(tid), names, tuple(crops))))
        self.waiting = {}
        if not jobs:
            return
        self.pipe.feed(jobs, start="pose" if self.second_pose else "legibility")
        for st, _ in jobs:
            tid = int(st.tracklet.id)
            self.numbers[tid] = st.decide()
            if self.policy.settled_open(st):
                self.settled.add(tid)

    def results(self) -> list[Result]:
        return [st.result() for _, st in sorted(self.states.items())]
