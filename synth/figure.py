"""An articulated player figure: 3D joints, orthographic projection, depth-sorted drawing with OpenCV.

Coordinates are in body heights: y down from the top of the head, x to the player's left, z forward.
The camera looks along -Z; at facing angle 0 the front faces the camera, at pi the back does.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# COCO-17 order.
KEYPOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
FLIP_IDX = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)
FACE = (0, 1, 2, 3, 4)

SHOULDER_Y, HIP_Y, KNEE_Y, ANKLE_Y = 0.19, 0.52, 0.73, 0.95
SHOULDER_W, HIP_W, TORSO_D = 0.115, 0.08, 0.06
HEAD_Y, HEAD_R = 0.075, 0.068


@dataclass(frozen=True)
class Look:
    """Colours (BGR) and proportions of one player."""

    jersey: tuple[int, int, int]
    sleeve: tuple[int, int, int]
    shorts: tuple[int, int, int]
    socks: tuple[int, int, int]
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    build: float  # torso width multiplier
    long_sleeves: bool
    pattern: str = "plain"  # plain, vstripes, hoops, halves, sash (synth.styles.PATTERNS)
    trim: tuple[int, int, int] = (255, 255, 255)  # the pattern's second colour
    panels: bool = False  # contrasting side panels in ``trim`` along the torso's sides


def joints_3d(phase: float, swing: float, lean: float, arm_out: float = 0.05) -> np.ndarray:
    """17 COCO joints in body coordinates for a walking/running pose; ``arm_out``: how far the elbows stand
    out from the shoulders (about 0: arms hanging along the torso's sides)."""
    j = np.zeros((17, 3))
    j[0] = (0, HEAD_Y + 0.01, HEAD_R * 0.95)
    j[1], j[2] = (0.025, HEAD_Y - 0.012, HEAD_R * 0.8), (-0.025, HEAD_Y - 0.012, HEAD_R * 0.8)
    j[3], j[4] = (HEAD_R * 0.95, HEAD_Y, 0.0), (-HEAD_R * 0.95, HEAD_Y, 0.0)
    j[5], j[6] = (SHOULDER_W, SHOULDER_Y, 0), (-SHOULDER_W, SHOULDER_Y, 0)
    j[11], j[12] = (HIP_W, HIP_Y, 0), (-HIP_W, HIP_Y, 0)
    for side, sign in ((0, 1.0), (1, -1.0)):
        a = swing * np.sin(phase + np.pi * side)  # leg angle, arms opposite
        hip = j[11 + side]
        knee = hip + (0, (KNEE_Y - HIP_Y) * np.cos(a), (KNEE_Y - HIP_Y) * np.sin(a))
        bend = max(0.0, -a) * 1.2 + 0.05
        j[13 + side] = knee
        j[15 + side] = knee + (
            0,
            (ANKLE_Y - KNEE_Y) * np.cos(a - bend),
            (ANKLE_Y - KNEE_Y) * np.sin(a - bend),
        )
        sh = j[5 + side]
        b = -0.8 * a
        elbow = sh + (sign * arm_out, 0.15 * np.cos(b), 0.15 * np.sin(b))
        j[7 + side] = elbow
        j[9 + side] = elbow + (
            sign * 0.4 * arm_out,
            0.13 * np.cos(b + 0.5 * abs(swing)),
            0.13 * np.sin(b + 0.5 * abs(swing)),
        )
    # forward lean of the upper body around the hips
    up = j[:11].copy()
    rel = up - (0, HIP_Y, 0)
    j[:11, 1] = HIP_Y + rel[:, 1] * np.cos(lean) - rel[:, 2] * np.sin(lean)
    j[:11, 2] = rel[:, 1] * np.sin(lean) + rel[:, 2] * np.cos(lean)
    return j


def rotate(points: np.ndarray, theta: float) -> np.ndarray:
    """Rotate about the vertical axis: returns (image x, y, depth toward camera)."""
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    c, s = np.cos(theta), np.sin(theta)
    return np.stack([x * c + z * s, y, -x * s + z * c], axis=-1)


def torso_box(j3: np.ndarray, build: float) -> np.ndarray:
    """8 corners of the torso box (shoulder level first), body coordinates."""
    top_c = (j3[5] + j3[6]) / 2
    bot_c = (j3[11] + j3[12]) / 2 + (0, 0.03, 0)
    out = []
    for c, w in ((top_c, SHOULDER_W * 1.12 * build), (bot_c, HIP_W * 1.35 * build)):
        for dx, dz in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            out.append(c + (dx * w, 0, dz * TORSO_D * build))
    return np.array(out)


def back_quad(j3: np.ndarray, build: float) -> np.ndarray:
    """Where the number goes on the back, in body coordinates.

    Corners: player-right top, player-left top, player-left bottom, player-right bottom.
    """
    box = torso_box(j3, build)
    # back face: z = -d; from behind, the player's right (-x) is on the viewer's left
    tl, tr = box[0], box[1]
    bl, br = box[4], box[5]
    # SoccerNet: the number's centre at 0.31 of the thumbnail's height, its height 0.20 of it
    top = tl + (bl - tl) * 0.05
    top_r = tr + (br - tr) * 0.05
    bot = tl + (bl - tl) * 0.64
    bot_r = tr + (br - tr) * 0.64
    inset = 0.14
    q = np.array([top, top_r, bot_r, bot])
    mid_top, mid_bot = (q[0] + q[1]) / 2, (q[3] + q[2]) / 2
    q[0] = q[0] + (mid_top - q[0]) * inset * 2
    q[1] = q[1] + (mid_top - q[1]) * inset * 2
    q[3] = q[3] + (mid_bot - q[3]) * inset * 2
    q[2] = q[2] + (mid_bot - q[2]) * inset * 2
    return q


def front_quad(j3: np.ndarray, build: float) -> np.ndarray:
    """Where a (smaller) chest number goes, body coordinates; corners on screen order when facing the
    camera: player-right top, player-left top, player-left bottom, player-right bottom."""
    box = torso_box(j3, build)
    tl, tr, bl, br = box[3], box[2], box[7], box[6]  # the front face (z = +d)
    q = np.array([tl + (bl - tl) * 0.14, tr + (br - tr) * 0.14, tr + (br - tr) * 0.46, tl + (bl - tl) * 0.46])
    mid_top, mid_bot = (q[0] + q[1]) / 2, (q[3] + q[2]) / 2
    for i, mid in ((0, mid_top), (1, mid_top), (2, mid_bot), (3, mid_bot)):
        q[i] = q[i] + (mid - q[i]) * 0.5
    return q


def _pattern(canvas: np.ndarray, hull: np.ndarray, look: Look, scale: float) -> None:
    """Paint the jersey's pattern (and side panels) in ``look.trim`` inside the torso hull (fixed-point,
    shift 4)."""
    if look.pattern == "plain" and not look.panels:
        return
    mask = np.zeros(canvas.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, hull, 255, cv2.LINE_AA, shift=4)
    x, y, w, h = cv2.boundingRect(hull // 16)
    layer = canvas.copy()
    period = max(4, round(0.055 * scale))
    if look.pattern == "vstripes":
        for x0 in range(x, x + w + period, period):
            cv2.rectangle(layer, (x0, y), (x0 + period // 2, y + h), look.trim, -1)
    elif look.pattern == "hoops":
        for y0 in range(y, y + h + period, period):
            cv2.rectangle(layer, (x, y0), (x + w, y0 + period // 2), look.trim, -1)
    elif look.pattern == "halves":
        cv2.rectangle(layer, (x, y), (x + w // 2, y + h), look.trim, -1)
    elif look.pattern == "sash":
        cv2.line(layer, (x, y), (x + w, y + h), look.trim, max(2, round(0.06 * scale)), cv2.LINE_AA)
    if look.panels:  # a kit's side panels: what a torso crop shows at its edges
        pw = max(2, round(0.16 * w))
        cv2.rectangle(layer, (x, y), (x + pw, y + h), look.trim, -1)
        cv2.rectangle(layer, (x + w - pw, y), (x + w, y + h), look.trim, -1)
    a = mask[..., None].astype(np.float32) / 255.0
    canvas[:] = (canvas * (1 - a) + layer * a).astype(np.uint8)


def _limb(canvas: np.ndarray, a: np.ndarray, b: np.ndarray, width: float, colour) -> None:
    pa = tuple(round(v) for v in a[:2] * 16)
    pb = tuple(round(v) for v in b[:2] * 16)
    cv2.line(canvas, pa, pb, colour, max(1, round(width)), cv2.LINE_AA, shift=4)


def draw_player(
    canvas: np.ndarray, j2: np.ndarray, box2: np.ndarray, look: Look, scale: float, facing: float
) -> None:
    """Draw a player given projected joints j2 (17x3: x, y, depth) and torso box (8x3), in pixels."""
    parts: list[tuple[float, object]] = []
    lw = 0.045 * scale
    for side in (0, 1):
        hip, knee, ankle = j2[11 + side], j2[13 + side], j2[15 + side]
        sh, el, wr = j2[5 + side], j2[7 + side], j2[9 + side]
        mid_thigh = hip + (knee - hip) * 0.55
        calf = knee + (ankle - knee) * 0.25

        def leg(hip=hip, knee=knee, ankle=ankle, mid_thigh=mid_thigh, calf=calf):
            _limb(canvas, hip, knee, lw * 1.15, look.skin)
            _limb(canvas, hip, mid_thigh, lw * 1.45, look.shorts)
            _limb(canvas, knee, ankle, lw * 0.95, look.skin)
            _limb(canvas, calf, ankle, lw * 1.0, look.socks)
            foot = ankle + (0, 0.02 * scale, 0)
            _limb(
                canvas, ankle, foot + (0.035 * scale * np.sign(np.cos(facing) + 1e-6), 0, 0), lw, (20, 20, 20)
            )

        def arm(sh=sh, el=el, wr=wr):
            _limb(canvas, sh, el, lw * 0.95, look.skin)
            end = el if look.long_sleeves else sh + (el - sh) * 0.6
            _limb(canvas, sh, end, lw * 1.25, look.sleeve)
            if look.long_sleeves:
                _limb(canvas, el, wr, lw * 0.9, look.sleeve)
                _limb(canvas, wr - (wr - el) * 0.15, wr, lw * 0.8, look.skin)
            else:
                _limb(canvas, el, wr, lw * 0.8, look.skin)

        parts.append((float((hip[2] + knee[2] + ankle[2]) / 3), leg))
        parts.append((float((sh[2] + el[2] + wr[2]) / 3), arm))

    def torso():
        hull = cv2.convexHull((box2[:, :2] * 16).astype(np.int32))
        cv2.fillConvexPoly(canvas, hull, look.jersey, cv2.LINE_AA, shift=4)
        _pattern(canvas, hull, look, scale)
        neck = (j2[5] + j2[6]) / 2
        _limb(canvas, neck - (0, 0.05 * scale, 0), neck, lw * 1.2, look.skin)

    def head():
        c = (j2[3] + j2[4]) / 2
        c = c + (j2[0] - c) * 0.2
        r = HEAD_R * scale
        center = tuple(int(v * 16) for v in c[:2])
        cv2.circle(canvas, center, int(r * 16), look.skin, -1, cv2.LINE_AA, shift=4)
        back = np.cos(facing) < 0
        hair_c = tuple(int(v * 16) for v in (c[:2] - (0, r * (0.1 if back else 0.35))))
        cv2.ellipse(
            canvas,
            hair_c,
            (int(r * 16), int(r * (1.0 if back else 0.75) * 16)),
            0,
            180,
            360,
            look.hair,
            -1,
            cv2.LINE_AA,
            shift=4,
        )
        if back:
            cv2.circle(canvas, center, int(r * 0.9 * 16), look.hair, -1, cv2.LINE_AA, shift=4)

    parts.append((float(box2[:, 2].mean()), torso))
    parts.append((float(j2[:5, 2].mean()) + 1.0 * scale, head))  # the head is never hidden by arms
    for _, fn in sorted(parts, key=lambda p: p[0]):
        fn()
