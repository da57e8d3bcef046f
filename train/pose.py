"""Train the offline-default pose model: ultralytics yolo11n-pose on synthetic crops, with its own trainer."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from jnr.runtime.data import open_split
from jnr.synth.figure import FLIP_IDX
from jnr.synth.write import load_annotations


def _yolo_label(ann: dict, w: int, h: int) -> str | None:
    """One YOLO-pose line: class, box (cx cy w h) and 17 x (x y v), all normalised."""
    kp = np.asarray(ann["keypoints"], dtype=float)
    if ann.get("person_box") is None:
        return None
    x0, y0, x1, y1 = ann["person_box"]
    bh, bw = y1 - y0, x1 - x0
    # keypoints span ears..ankles: widen to the head top, the feet and the arms' thickness
    x0, x1 = max(0.0, x0 - 0.12 * bw), min(w, x1 + 0.12 * bw)
    y0, y1 = max(0.0, y0 - 0.1 * bh), min(h, y1 + 0.05 * bh)
    parts = [f"0 {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}"]
    for x, y, v in kp:
        parts.append(f"{x / w:.6f} {y / h:.6f} {int(v)}")
    return " ".join(parts)


def prepare_dataset(splits: dict[str, Path], out: Path, per_tracklet: int, seed: int = 0) -> Path:
    """Convert synthetic splits (with annotations/) to an ultralytics pose dataset; returns its yaml."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for part, split_dir in splits.items():
        img_dir, lab_dir = out / "images" / part, out / "labels" / part
        img_dir.mkdir(parents=True, exist_ok=True)
        lab_dir.mkdir(parents=True, exist_ok=True)
        for t in open_split(split_dir).tracklets:
            anns = load_annotations(split_dir, t.id)["frames"]
            picks = rng.choice(len(t.frames), size=min(per_tracklet, len(t.frames)), replace=False)
            for i in sorted(picks):
                p = t.frames[int(i)]
                with Image.open(p) as im:
                    w, h = im.size
                line = _yolo_label(anns[p.name], w, h)
                if line is None:
                    continue
                shutil.copyfile(p, img_dir / p.name.replace(".jpg", f"_{t.id}.jpg"))
                (lab_dir / p.name.replace(".jpg", f"_{t.id}.txt")).write_text(line + "\n")
    yaml = out / "data.yaml"
    yaml.write_text(
        f"path: {out.resolve()}\ntrain: images/train\nval: images/val\n"
        f"kpt_shape: [17, 3]\nflip_idx: {list(FLIP_IDX)}\nnames:\n  0: person\n"
    )
    return yaml


def train(
    yaml: Path, out: Path, epochs: int, imgsz: int, batch: int, model: str = "yolo11n-pose.yaml"
) -> Path:
    """Run the ultralytics trainer on CPU from ``model`` (a .pt fine-tunes, a .yaml starts from scratch);
    returns the best weights."""
    from ultralytics import YOLO

    y = YOLO(model)
    y.train(
        data=str(yaml),
        epochs=epochs,
        imgsz=imgsz,
        batch=batch,
        device="cpu",
        workers=min(2, os.cpu_count() or 1),
        project=str(out.resolve()),
        name="pose",
        exist_ok=True,
        plots=False,
        mosaic=0.0,
        fliplr=0.5,
        scale=0.3,
        translate=0.1,
        degrees=3.0,
        amp=False,
        pretrained=not model.endswith(".yaml"),
        seed=0,
        deterministic=False,
        patience=100,
        verbose=False,
    )
    return out / "pose" / "weights" / "best.pt"
