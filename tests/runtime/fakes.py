"""Fake model outputs and a fake runner shared by the pipeline and early-exit tests (no model, no engines)."""

import numpy as np


class Fake:
    """A runner (jnr.runtime.stage.Runner) whose output is ``fn(x)``; ``calls``: the batch sizes it ran."""

    backend = "fake"

    def __init__(self, fn, max_batch=256):
        self.fn, self.max_batch, self.calls = fn, max_batch, []

    def infer(self, x):
        self.calls.append(len(x))
        return self.fn(x)

    def close(self):
        pass


def pose_out(x, head="keypoints"):
    """One confident person whose torso spans the middle of the input, in the rows ``head`` gives
    (StageSpec.head: "keypoints" score + 17 x 3, "full" box first)."""
    n, _, h, w = x.shape
    kp = np.zeros((17, 3), np.float32)
    kp[:, 2] = 0.95
    kp[[5, 6, 11, 12], :2] = [
        (w * 0.7, h * 0.3),
        (w * 0.3, h * 0.3),
        (w * 0.65, h * 0.6),
        (w * 0.35, h * 0.6),
    ]
    box = head == "full"
    out = np.zeros((n, 56 if box else 52, 1), np.float32)
    if box:
        out[:, :4, 0] = (w / 2, h / 2, w * 0.8, h * 0.9)
    out[:, 4 if box else 0, 0] = 0.9
    out[:, -51:, 0] = kp.ravel()
    return out
