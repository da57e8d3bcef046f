"""Numerical parity of an exported ONNX against PyTorch on real crops from a synthetic split.

Raw outputs are compared (max abs / max relative error) and so are decoded results: the torso box within
1 px (under each torso rule: what the pipeline takes from pose), the legibility decision (a text box within
1 px), the digit string the vote counts (none where its confidence is under the vote's 0.2 floor).
Targets: FP32 >= 99.9 % identical, FP16 and INT8 >= 99 %.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from jnr.runtime import preprocess
from jnr.runtime.data import decode, open_split
from jnr.runtime.kinds import kind_of
from jnr.runtime.ort_runner import OrtRunner
from jnr.runtime.specs import StageSpec
from jnr.runtime.torso import BASELINE
from jnr.synth.crops import gt_people
from jnr.synth.write import load_annotations

TARGETS = {"fp32": 0.999, "fp16": 0.99, "int8": 0.99, "ov-f32": 0.999, "ov-bf16": 0.99, "ov-f16": 0.99}


def parity_images(split_dir: Path, limit: int = 1000) -> dict[str, list[np.ndarray]]:
    """Frames for pose, torso crops (from the annotations' keypoints) for legibility, and for STR both the
    torso crops and tight crops of the readable numbers (what a text-detector gate hands on)."""
    frames, crops, numbers = [], [], []
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
            box = anns[p.name]["number_box"] if anns[p.name]["readable"] else None
            if box is not None:
                x0, y0, x1, y1 = (round(v) for v in box)
                if x1 - x0 >= 2 and y1 - y0 >= 2:
                    numbers.append(img[max(0, y0) : y1, max(0, x0) : x1])
            if len(frames) >= limit:
                break
    return {"pose": frames, "legibility": crops, "str": crops + numbers}


def decoded_equal(spec: StageSpec, ref: np.ndarray, got: np.ndarray, places, sizes) -> np.ndarray:
    """Per item, whether the two raw outputs decode to the same answer (the stage kind's comparator)."""
    return kind_of(spec).same(spec, ref, got, places, sizes)


def check(
    spec: StageSpec,
    module: nn.Module,
    onnx_path: Path,
    images: list[np.ndarray],
    precision: str,
    batch: int = 64,
    runner=None,
    reference: dict | None = None,
) -> dict:
    """Run both on the same batches; returns the figures recorded in the manifest. ``runner``: what runs
    the ONNX file (default ONNX Runtime on the CPU; OpenVINO's trial passes its own). ``reference``: a dict
    kept for this module and these images, where PyTorch's outputs are stored on the first check and read
    on the next (an export checks FP32, FP16 and each OpenVINO precision against the same outputs)."""
    ort = runner or OrtRunner(onnx_path, "ort-cpu", spec.max_batch, fp16=precision == "fp16")
    max_abs, max_rel, same, n = 0.0, 0.0, 0, 0
    # a recognizer read at two widths (StageSpec.tight_width) is checked at both, on every crop
    for s in (spec, spec.tight()) if spec.tight_width else (spec,):
        for i in range(0, len(images), batch):
            x, places = preprocess.batch(s, images[i : i + batch])
            key = (s.input_hw, i, batch)
            ref = None if reference is None else reference.get(key)
            if ref is None:
                with torch.inference_mode():
                    ref = module(torch.from_numpy(x)).float().numpy()
                if reference is not None:
                    reference[key] = ref
            got = ort.infer(x)
            diff = np.abs(ref - got)
            max_abs = max(max_abs, float(diff.max()))
            max_rel = max(max_rel, float((diff / (np.abs(ref) + 1e-3)).max()))
            sizes = [im.shape[:2] for im in images[i : i + batch]]
            same += int(decoded_equal(s, ref, got, places, sizes).sum())
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
