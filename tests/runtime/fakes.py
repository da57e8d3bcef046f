"""Fake model outputs shared by the pipeline and early-exit tests (no model, no engines)."""

import numpy as np


def pose_out(x):
    """One confident person whose torso spans the middle of the input."""
    n, _, h, w = x.shape
    out = np.zeros((n, 56, 1), np.float32)
    out[:, :4, 0] = (w / 2, h / 2, w * 0.8, h * 0.9)
    out[:, 4, 0] = 0.9
    kp = np.zeros((17, 3), np.float32)
    kp[:, 2] = 0.95
    kp[[5, 6, 11, 12], :2] = [
        (w * 0.7, h * 0.3),
        (w * 0.3, h * 0.3),
        (w * 0.65, h * 0.6),
        (w * 0.35, h * 0.6),
    ]
    out[:, 5:, 0] = kp.ravel()
    return out
