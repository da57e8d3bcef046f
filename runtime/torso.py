"""Torso crop from COCO keypoints 5, 6, 11, 12 (shoulders, hips): both published rules."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from jnr.runtime.errors import lookup
from jnr.runtime.specs import StageSpec

TORSO = (5, 6, 11, 12)
HIPS = (11, 12)


@dataclass(frozen=True)
class TorsoRule:
    """How a pose result becomes a torso box, or None (the frame is dropped)."""

    name: str
    min_score: float  # every torso keypoint needs at least this confidence
    pad_x: int
    pad_top: int
    single_person: bool  # drop frames where pose finds != 1 person
    min_width_frac: float  # reject crops narrower than this share of the image width
    min_height_frac: float

    def box(self, people: np.ndarray, hw: tuple[int, int]) -> tuple[int, int, int, int] | None:
        """``people``: (P, 17, 3) keypoints (x, y, score) in image pixels, best person first.
        Returns (x0, y0, x1, y1) clamped to the image, or None."""
        if len(people) == 0 or (self.single_person and len(people) != 1):
            return None
        kp = people[0][list(TORSO)]
        if (kp[:, 2] < self.min_score).any():
            return None
        h, w = hw
        x0 = max(0, int(np.floor(kp[:, 0].min())) - self.pad_x)
        x1 = min(w, int(np.ceil(kp[:, 0].max())) + self.pad_x)
        y0 = max(0, int(np.floor(kp[:, 1].min())) - self.pad_top)
        y1 = min(h, int(np.ceil(people[0][list(HIPS), 1].max())))
        if x1 - x0 < max(2, self.min_width_frac * w) or y1 - y0 < max(2, self.min_height_frac * h):
            return None
        return x0, y0, x1, y1

    def pose_spec(self, spec: StageSpec) -> StageSpec:
        """The pose spec this rule needs: one that counts people needs the person boxes (NMS) that a
        keypoints head (StageSpec.head) is exported without."""
        return replace(spec, head="full") if self.single_person and spec.head == "keypoints" else spec

    def crop(self, people: np.ndarray, image: np.ndarray) -> np.ndarray | None:
        """The torso crop of ``image`` (a view) by :meth:`box`, or None."""
        box = self.box(people, image.shape[:2])
        if box is None:
            return None
        x0, y0, x1, y1 = box
        return image[y0:y1, x0:x1]


# The baseline: all four keypoints with score >= 0.4, 5 px padding, top = highest point - 5 px.
BASELINE = TorsoRule(
    "baseline",
    min_score=0.4,
    pad_x=5,
    pad_top=5,
    single_person=False,
    min_width_frac=0.0,
    min_height_frac=0.0,
)
# The seed: exactly one person, 2 px x-padding, shoulder top to lowest hip, size rejection.
SEED = TorsoRule(
    "seed", min_score=0.0, pad_x=2, pad_top=0, single_person=True, min_width_frac=0.25, min_height_frac=0.1
)
TORSO_RULES = {r.name: r for r in (BASELINE, SEED)}
DEFAULT_TORSO_RULE = "baseline"  # where neither the command nor the engines' preset names one


def get_torso_rule(name: str) -> TorsoRule:
    return lookup(TORSO_RULES, name, "torso rule")
