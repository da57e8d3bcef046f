"""Numerical parity of an exported ONNX against PyTorch on real crops from a synthetic split.

Raw outputs are compared (max abs / max relative error) and so are decoded results: keypoints within
2 px, the legibility decision, the digit string. Targets: FP32 >= 99.9 % identical, FP16 and INT8 >= 99 %.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from jnr.runtime import decode as dec
from jnr.runtime import preprocess
from jnr.runtime.data import decode, open_split
from jnr.runtime.ort_runner import OrtRunner
from jnr.runtime.specs import StageSpec
from jnr.runtime.torso import BASELINE
from jnr.synth.crops import gt_people
from jnr.synth.write import load_annotations

TARGETS = {"fp32": 0.999, "fp16": 0.99, "int8": 0.99}
KEYPOINT_TOLERANCE_PX = 2.0


def parity_images(split_dir: Path, limit: int = 1000) -> dict[str, list[np.ndarray]]:
    """Frames for pose, and torso crops (from the annotations' keypoints) for legibility and STR."""
    frames, crops = [], []
    split = open_split(split_dir)
    for t in split.tracklets:
        anns = load_annotations(split_dir, t.id)["frames"]
        for p in t.frames:
            img = decode(p)
            if img is None:
                continue
            frames.append(img)
            crop = BASELINE.crop(gt_people(anns[p.name]), img)
            if crop is not None:
                crops.append(crop)
            if len(frames) >= limit:
                break
    return {"pose": frames, "legibility": crops, "str": crops}


def _same_pose(spec: StageSpec, a: np.ndarray, b: np.ndarray, place) -> bool:
    pa, pb = dec.yolo_pose(spec, a, place), dec.yolo_pose(spec, b, place)
    if len(pa) != len(pb):
        return False
    return bool(len(pa) == 0 or np.abs(pa[..., :2] - pb[..., :2]).max() <= KEYPOINT_TOLERANCE_PX)


def _decoded_equal(spec: StageSpec, ref: np.ndarray, got: np.ndarray, places) -> np.ndarray:
    if spec.decode == "yolo-pose":
        return np.array([_same_pose(spec, a, b, p) for a, b, p in zip(ref, got, places, strict=True)])
    if spec.decode == "sigmoid":
        return (dec.sigmoid(spec, ref) >= spec.threshold) == (dec.sigmoid(spec, got) >= spec.threshold)
    return np.array(
        [a[0] == b[0] for a, b in zip(dec.reading(spec, ref), dec.reading(spec, got), strict=True)]
    )


def check(
    spec: StageSpec,
    module: nn.Module,
    onnx_path: Path,
    images: list[np.ndarray],
    precision: str,
    batch: int = 64,
) -> dict:
    """Run both on the same batches; returns the figures recorded in the manifest."""
    ort = OrtRunner(onnx_path, "ort-cpu", spec.max_batch, fp16=precision == "fp16")
    max_abs, max_rel, same, n = 0.0, 0.0, 0, 0
    for i in range(0, len(images), batch):
        x, places = preprocess.batch(spec, images[i : i + batch])
        with torch.inference_mode():
            ref = module(torch.from_numpy(x)).float().numpy()
        got = ort.infer(x)
        diff = np.abs(ref - got)
        max_abs = max(max_abs, float(diff.max()))
        max_rel = max(max_rel, float((diff / (np.abs(ref) + 1e-3)).max()))
        same += int(_decoded_equal(spec, ref, got, places).sum())
        n += len(x)
    share = same / max(n, 1)
    return {
        "precision": precision,
        "samples": n,
        "max_abs_error": max_abs,
        "max_rel_error": max_rel,
        "decoded_identical": share,
        "target": TARGETS[precision],
        "passed": share >= TARGETS[precision],
    }
