"""jnr's two TrackLab modules: jersey numbers read on every detection, and each track's number decided.

In a TrackLab / sn-gamestate pipeline config (``configs/`` here; README "TrackLab"):

    defaults:
      - modules/jersey_number_detect: jnr     # instead of mmocr / easyocr
      - modules/tracklet_agg: jnr             # instead of voting_role_jn (it votes role the same way)
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from tracklab.pipeline.detectionlevel_module import DetectionLevelModule
from tracklab.pipeline.videolevel_module import VideoLevelModule
from tracklab.utils.attribute_voting import select_highest_voted_att

from jnr.integrations.tracklab.reading import DetectionReader, DetectionReading, decide_track
from jnr.runtime.decision import DEFAULT_VOTE
from jnr.runtime.vote import ILLEGIBLE
from jnr.video.track import MIN_HEIGHT  # players shorter are not read, as in jnr-video

READ_COLUMNS = ["jersey_number_detection", "jersey_number_confidence", "jnr_where", "jnr_torso"]


def collate(batch: list) -> tuple[list, list[dict]]:
    """TrackLab's (detection index, preprocessed) pairs -> (indices, items): crops differ in size."""
    return [i for i, _ in batch], [item for _, item in batch]


def player_box(detection: pd.Series, image: np.ndarray) -> tuple[int, int, int, int]:
    """The detection's box (l, t, r, b) in image pixels, clamped to the image."""
    h, w = image.shape[:2]
    return detection.bbox.ltrb(image_shape=(w, h), rounded=True)


def player_crop(detection: pd.Series, image: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = player_box(detection, image)
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def keypoints(detection: pd.Series) -> np.ndarray | None:
    """The detection's COCO keypoints (17, 3) where an upstream pose module wrote them."""
    kp = detection.get("keypoints_xyc")
    if kp is None or not hasattr(kp, "__len__"):
        return None
    kp = np.asarray(kp, np.float32)
    return kp if kp.shape == (17, 3) and np.isfinite(kp).all() else None


class JnrJerseyNumber(DetectionLevelModule):
    """jnr's pipeline on each detection: the torso cut from the upstream pose module's keypoints where it gave
    them (else jnr's pose on the player crop), jnr's gate and recognizer, batched over the detections of many
    frames. Writes sn-gamestate's ``jersey_number_detection`` (digits, or none) and
    ``jersey_number_confidence``, and ``jnr_where`` / ``jnr_torso`` for JnrTrackletNumber."""

    # lists, as TrackLab's Pipeline.validate reads them (a tuple would read as no columns)
    input_columns = ["bbox_ltwh"]  # noqa: RUF012
    output_columns = READ_COLUMNS
    collate_fn = collate

    def __init__(
        self,
        engines: str = "engines",
        batch_size: int = 64,
        backend: str = "auto",
        use_keypoints: bool = True,
        min_height: int = MIN_HEIGHT,
        device: Any = None,
        tracking_dataset: Any = None,
        **options: Any,
    ) -> None:
        """``engines``: the folder jnr-export wrote; ``options``: jnr.RunConfig's (precision, threads, ...);
        ``device`` is TrackLab's and unused: jnr's backend is chosen from the engines (``backend``)."""
        super().__init__(batch_size=batch_size)
        self.reader = DetectionReader.open(engines, backend=backend, batch=batch_size, **options)
        self.rule = self.reader.pipe.torso  # the torso rule, used in TrackLab's data-loading workers
        self.use_keypoints, self.min_height = use_keypoints, min_height
        self.seconds = 0.0  # spent in process (jnr's stages)

    def preprocess(self, image: np.ndarray, detection: pd.Series, metadata: pd.Series) -> dict:
        x0, y0, x1, y1 = player_box(detection, image)
        if y1 - y0 < self.min_height or x1 - x0 < 2:
            return {"crop": None, "torso": False}
        kp = keypoints(detection) if self.use_keypoints else None
        if kp is None:
            return {"crop": player_crop(detection, image), "torso": False}
        torso = self.rule.crop(kp[None], image)
        return {"crop": None if torso is None else np.ascontiguousarray(torso), "torso": True}

    def process(self, batch: list[dict], detections: pd.DataFrame, metadatas: pd.DataFrame) -> pd.DataFrame:
        t0 = time.perf_counter()
        found = self.reader.read([b["crop"] for b in batch], [b["torso"] for b in batch])
        self.seconds += time.perf_counter() - t0
        return pd.DataFrame(
            {
                "jersey_number_detection": [None if r.number is None else str(r.number) for r in found],
                "jersey_number_confidence": [r.confidence for r in found],
                "jnr_where": [r.where for r in found],
                "jnr_torso": [r.torso for r in found],
            },
            index=detections.index,
        )


def _readings(track: pd.DataFrame) -> list[DetectionReading]:
    out = []
    for number, conf, where, torso in track[READ_COLUMNS].itertuples(index=False):
        n = None if pd.isna(number) else int(number)
        c = 0.0 if pd.isna(conf) else float(conf)
        w = None if pd.isna(where) else str(where)
        out.append(DetectionReading(n, c, w, not pd.isna(torso) and bool(torso)))
    return out


class JnrTrackletNumber(VideoLevelModule):
    """Each track's ``jersey_number`` (digits; none where jnr answers -1) and
    ``jersey_number_track_confidence`` (the decision's probability that the answer is right) by jnr's decision
    over the track's detections (``vote``: jnr.runtime.decision.DECISION_RULES); ``attributes`` (sn-gamestate:
    ``[role]``) by TrackLab's majority vote of ``<attribute>_detection`` weighted by
    ``<attribute>_confidence``, as its tracklet_agg module does."""

    def __init__(
        self, vote: str = DEFAULT_VOTE, attributes: tuple[str, ...] = (),
        device: Any = None, tracking_dataset: Any = None,
    ) -> None:  # fmt: skip
        self.vote = vote
        self.attributes = list(attributes)
        self.input_columns = ["track_id", *READ_COLUMNS]
        self.input_columns += [f"{a}_{k}" for a in self.attributes for k in ("detection", "confidence")]
        self.output_columns = ["jersey_number", "jersey_number_track_confidence", *self.attributes]
        self.seconds = 0.0
        self.decisions: dict[int, tuple[int, float]] = {}  # track id -> (number, confidence), last video

    def process(self, detections: pd.DataFrame, metadatas: pd.DataFrame) -> pd.DataFrame:
        t0 = time.perf_counter()
        detections["jersey_number"] = None
        detections["jersey_number_track_confidence"] = np.nan
        for a in self.attributes:
            detections[a] = None
        self.decisions = {}
        if "track_id" in detections.columns:
            for tid, track in detections.dropna(subset=["track_id"]).groupby("track_id"):
                d = decide_track(_readings(track), self.vote)
                self.decisions[int(tid)] = (d.number, d.confidence)
                number = None if d.number == ILLEGIBLE else str(d.number)
                detections.loc[track.index, "jersey_number"] = number
                detections.loc[track.index, "jersey_number_track_confidence"] = d.confidence
                for a in self.attributes:
                    value = select_highest_voted_att(track[f"{a}_detection"], track[f"{a}_confidence"])
                    detections.loc[track.index, a] = value
        self.seconds += time.perf_counter() - t0
        return detections
