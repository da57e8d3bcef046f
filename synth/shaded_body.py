"""The shaded drawing's body (synth.shaded): tapered capsules and an elliptic-cylinder torso ray-cast per
pixel into a z-buffer and lit by a directional light; the kit's pattern, number, name and sponsor mapped
onto the curved torso by its surface coordinates."""

from __future__ import annotations

import cv2
import numpy as np

from jnr.synth.shaded_plan import Kit, ShadedPlan

# body model (body heights; y down from the head's top, x to the player's left, z forward)
NECK_Y, SHOULDER_Y, WAIST_Y, HIP_Y, KNEE_Y, ANKLE_Y = 0.155, 0.19, 0.40, 0.51, 0.73, 0.955
SHOULDER_W, HIP_W = 0.118, 0.072
TORSO_TOP, TORSO_BOTTOM = 0.175, 0.53


def skeleton(t: float, run: float, rng_phase: float, arm_out: float = 0.03) -> np.ndarray:
    """17 COCO joints for a running or jogging stride at time ``t``; ``arm_out``: how far the elbows stand
    out from the shoulders (about 0: arms hanging along the torso)."""
    ph = 2 * np.pi * (1.2 + run) * t + rng_phase
    j = np.zeros((17, 3))
    j[0] = (0, 0.085, 0.07)
    j[1], j[2] = (0.022, 0.07, 0.062), (-0.022, 0.07, 0.062)
    j[3], j[4] = (0.06, 0.078, 0.0), (-0.06, 0.078, 0.0)
    j[5], j[6] = (SHOULDER_W, SHOULDER_Y, 0), (-SHOULDER_W, SHOULDER_Y, 0)
    j[11], j[12] = (HIP_W, HIP_Y, 0), (-HIP_W, HIP_Y, 0)
    for side, sign in ((0, 1.0), (1, -1.0)):
        a = run * np.sin(ph + np.pi * side)
        knee = j[11 + side] + (0, (KNEE_Y - HIP_Y) * np.cos(a), (KNEE_Y - HIP_Y) * np.sin(a))
        bend = max(0.0, -a) * 1.5 + 0.1
        j[13 + side] = knee
        j[15 + side] = knee + (
            0,
            (ANKLE_Y - KNEE_Y) * np.cos(a - bend),
            (ANKLE_Y - KNEE_Y) * np.sin(a - bend),
        )
        b = -0.9 * a
        elbow = j[5 + side] + (sign * arm_out, 0.14 * np.cos(b), 0.14 * np.sin(b))
        j[7 + side] = elbow
        fb = b + 0.4 + 0.9 * run  # runners bend the elbow
        j[9 + side] = elbow + (sign * arm_out / 3, 0.12 * np.cos(fb), 0.12 * np.sin(fb))
    return j


def project(p: np.ndarray, theta: float, elevation: float) -> np.ndarray:
    """Body coordinates -> (image x, image y, depth toward the camera), unscaled: yaw by ``theta``, then the
    camera's tilt foreshortens heights."""
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    c, s = np.cos(theta), np.sin(theta)
    xi, zi = x * c + z * s, -x * s + z * c
    return np.stack([xi, y * np.cos(elevation), zi], axis=-1)


class Canvas:
    """Colour and depth buffers; parts are written where they are nearer than what is there."""

    def __init__(self, h: int, w: int) -> None:
        self.rgb = np.zeros((h, w, 3), np.float32)
        self.depth = np.full((h, w), -np.inf, np.float32)
        self.body = np.zeros((h, w), bool)

    def put(self, y0: int, x0: int, mask: np.ndarray, depth: np.ndarray, rgb: np.ndarray) -> None:
        h, w = mask.shape
        sl = (slice(y0, y0 + h), slice(x0, x0 + w))
        win = mask & (depth > self.depth[sl])
        self.depth[sl][win] = depth[win]
        self.rgb[sl][win] = rgb[win]
        self.body[sl] |= mask


def _shade(n: np.ndarray, light: np.ndarray, base: np.ndarray, gloss: float = 0.15) -> np.ndarray:
    """Lambert + ambient + a little specular; ``n``: (..., 3) unit normals."""
    lam = np.clip(n @ light, 0, 1)[..., None]
    spec = (
        np.clip(
            n[..., 2:3] * 0 + (n @ (light + [0, 0, 1]) / np.linalg.norm(light + [0, 0, 1]))[..., None], 0, 1
        )
        ** 20
    )
    return base * (0.35 + 0.7 * lam) + 255 * gloss * spec


def capsule(
    cv: Canvas, a: np.ndarray, b: np.ndarray, r0: float, r1: float, colour, light: np.ndarray
) -> None:
    """A tapered capsule between projected points ``a``, ``b`` (x, y, depth in pixels), radii in pixels."""
    lo = np.floor(np.minimum(a[:2], b[:2]) - max(r0, r1) - 1).astype(int)
    hi = np.ceil(np.maximum(a[:2], b[:2]) + max(r0, r1) + 1).astype(int)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, (cv.rgb.shape[1] - 1, cv.rgb.shape[0] - 1))
    if (hi <= lo).any():
        return
    ys, xs = np.mgrid[lo[1] : hi[1] + 1, lo[0] : hi[0] + 1].astype(np.float32)
    d = b[:2] - a[:2]
    ln2 = float(d @ d) + 1e-6
    s = np.clip(((xs - a[0]) * d[0] + (ys - a[1]) * d[1]) / ln2, 0, 1)
    cx, cy = a[0] + s * d[0], a[1] + s * d[1]
    dx, dy = xs - cx, ys - cy
    r = r0 + s * (r1 - r0)
    dist2 = dx * dx + dy * dy
    mask = dist2 <= r * r
    if not mask.any():
        return
    nz = np.sqrt(np.clip(1 - dist2 / (r * r), 0, 1))
    n = np.stack([dx / r, dy / r, nz], -1)
    depth = a[2] + s * (b[2] - a[2]) + nz * r
    rgb = _shade(n, light, np.asarray(colour, np.float32))
    cv.put(lo[1], lo[0], mask, depth, rgb)


def torso(
    cv: Canvas,
    plan_: ShadedPlan,
    kit: Kit,
    theta: float,
    s: float,
    off: np.ndarray,
    decor: bool,
    folds: float,
) -> dict[str, list[float]]:
    """The torso as an elliptic cylinder, width tapering from the shoulders to the waist, ray-cast row by
    row; the kit's pattern, the number, the name and the sponsor are mapped by surface coordinates (angle
    round the torso, height). Returns the image boxes of the number (and name) where they show."""
    ce = np.cos(plan_.elevation)
    y0 = int(np.floor(TORSO_TOP * ce * s + off[1]))
    y1 = int(np.ceil(TORSO_BOTTOM * ce * s + off[1]))
    ys = np.arange(max(0, y0), min(cv.rgb.shape[0], y1))
    yb = (ys - off[1]) / (ce * s)  # body height of each row
    prof = np.interp(yb, [TORSO_TOP, SHOULDER_Y + 0.02, WAIST_Y, TORSO_BOTTOM], [0.55, 1.0, 0.78, 0.82])
    w = SHOULDER_W * 1.05 * kit.build * prof
    dpt = 0.07 * kit.build * np.interp(yb, [TORSO_TOP, SHOULDER_Y + 0.03, TORSO_BOTTOM], [0.6, 1.0, 0.9])
    c, sn = np.cos(theta), np.sin(theta)
    amp = np.sqrt((w * c) ** 2 + (dpt * sn) ** 2)  # projected half-width per row
    alpha = np.arctan2(dpt * sn, w * c)
    xmax = int(np.ceil(amp.max() * s)) + 2
    xs = np.arange(int(off[0]) - xmax, int(off[0]) + xmax + 1)
    xs = xs[(xs >= 0) & (xs < cv.rgb.shape[1])]
    if len(ys) == 0 or len(xs) == 0:
        return {}
    X = (xs[None, :] - off[0]) / s
    ratio = X / amp[:, None]
    mask = np.abs(ratio) <= 1
    ac = np.arccos(np.clip(ratio, -1, 1))
    best_phi, best_z = None, None
    for sign in (1, -1):  # the two surface points on a row with this image x: keep the nearer
        phi = alpha[:, None] + sign * ac
        z = -w[:, None] * np.cos(phi) * sn + dpt[:, None] * np.sin(phi) * c
        if best_phi is None:
            best_phi, best_z = phi, z
        else:
            nearer = z > best_z
            best_phi, best_z = np.where(nearer, phi, best_phi), np.where(nearer, z, best_z)
    phi = np.arctan2(np.sin(best_phi), np.cos(best_phi))  # -pi..pi; -pi/2 is the middle of the back
    # surface normal of the ellipse, yawed; tilt a little toward the shoulders' slope
    nb = np.stack([np.cos(phi) / w[:, None], np.sin(phi) / dpt[:, None]], -1)
    nb /= np.linalg.norm(nb, axis=-1, keepdims=True)
    nx = nb[..., 0] * c + nb[..., 1] * sn
    nz = -nb[..., 0] * sn + nb[..., 1] * c
    ny = np.broadcast_to(np.interp(yb, [TORSO_TOP, SHOULDER_Y + 0.03], [-0.6, 0.0])[:, None], nx.shape)
    fold = folds * np.sin(yb[:, None] * 90 + phi * 3) * np.sin(phi * 7 + yb[:, None] * 20)
    n = np.stack([nx + fold, ny, nz], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    # arc length round the torso from the back's middle, in body heights, and height: the print's coordinates
    arc = (phi + np.pi / 2) * (w[:, None] + dpt[:, None]) / 2
    hgt = np.broadcast_to(yb[:, None], arc.shape)
    base = _pattern(kit, arc, hgt, phi)
    boxes: dict[str, list[float]] = {}
    if decor:
        # the number: centre at 0.3 of the body, 0.19 tall; the name above it; the sponsor on the chest
        half = 0.075
        for key, alpha_img, centre_arc, top, bottom, ink in (
            ("number", plan_.number_alpha, 0.0, 0.205, 0.395, kit.ink),
            ("name", plan_.name_alpha, 0.0, 0.18, 0.2, kit.ink),
            ("sponsor", plan_.sponsor_alpha, np.pi * (w.mean() + dpt.mean()) / 2, 0.25, 0.3, kit.second),
        ):
            if alpha_img is None:
                continue
            ah, aw = alpha_img.shape
            height_b = bottom - top
            width_b = min(height_b * aw / ah, 2 * 0.9 * SHOULDER_W * kit.build)
            width_b = width_b if key != "number" else min(width_b, 2 * half * 1.3 * kit.build)
            u = 0.5 - (arc - centre_arc) / width_b  # seen from behind (or in front), arc runs right to left
            v = (hgt - top) / height_b
            inside = (u >= 0) & (u < 1) & (v >= 0) & (v < 1) & mask
            if key == "number":
                inside &= np.cos(phi + np.pi / 2) > 0.05  # on the back half
            if not inside.any():
                continue
            cov = np.zeros(u.shape, np.float32)
            cov[inside] = (
                cv2.remap(
                    alpha_img.astype(np.float32),
                    (u[inside] * (aw - 1)).astype(np.float32).reshape(-1, 1),
                    (v[inside] * (ah - 1)).astype(np.float32).reshape(-1, 1),
                    cv2.INTER_LINEAR,
                ).ravel()
                / 255.0
            )
            if key == "number" and kit.edge is not None:
                grow = cv2.dilate((cov > 0.3).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
                base = base * (1 - grow[..., None]) + kit.edge * grow[..., None]
            base = base * (1 - cov[..., None]) + np.asarray(ink, np.float32) * cov[..., None]
            if key in ("number", "name"):
                yy, xx = np.nonzero(inside & (cov > 0.3))
                if len(xx):
                    boxes[key] = [
                        float(xs[xx.min()]),
                        float(ys[yy.min()]),
                        float(xs[xx.max()] + 1),
                        float(ys[yy.max()] + 1),
                    ]
                    boxes[f"{key}_u"] = [float(u[inside].min()), float(u[inside].max())]
    rgb = _shade(n, plan_.light, base, gloss=0.08)
    depth = best_z * s + off[2]
    y_lo, x_lo = int(ys[0]), int(xs[0])
    cv.put(y_lo, x_lo, mask, depth, rgb)
    return boxes


def _pattern(kit: Kit, arc: np.ndarray, hgt: np.ndarray, phi: np.ndarray) -> np.ndarray:
    base = np.broadcast_to(kit.jersey, (*arc.shape, 3)).copy()
    if kit.panels:  # side panels: the torso's flanks, where a back or front view's silhouette ends
        side = (np.abs(np.cos(phi)) > 0.8)[..., None]  # phi -pi/2: the back's middle
        base = np.where(side, kit.second, base)
    if kit.pattern == "plain":
        return base
    if kit.pattern == "pinstripes":
        m = (np.sin(arc * 220) > 0.85).astype(np.float32)
    elif kit.pattern == "vstripes":
        m = (np.sin(arc * 60) > 0).astype(np.float32)
    elif kit.pattern == "checks":
        m = ((np.sin(arc * 70) > 0) ^ (np.sin(hgt * 70) > 0)).astype(np.float32) * 0.5
    elif kit.pattern == "fade":
        m = np.clip((hgt - 0.2) / 0.33, 0, 1)
    else:  # band: a chest band
        m = ((hgt > 0.23) & (hgt < 0.28)).astype(np.float32)
    return base * (1 - m[..., None]) + kit.second * m[..., None]


def draw_figure(
    cv: Canvas,
    p: ShadedPlan,
    kit: Kit,
    j3: np.ndarray,
    theta: float,
    s: float,
    off: np.ndarray,
    decor: bool,
    folds: float,
) -> tuple[np.ndarray, dict]:
    """Every part of one player, depth-buffered; returns the projected joints (pixels) and print boxes."""
    j2 = project(j3, theta, p.elevation) * s + off
    light = p.light
    r = s * kit.build
    for side in (0, 1):
        hip, knee, ankle = j2[11 + side], j2[13 + side], j2[15 + side]
        sh, el, wr = j2[5 + side], j2[7 + side], j2[9 + side]
        mid = hip + (knee - hip) * 0.5
        capsule(cv, hip, knee, 0.05 * r, 0.037 * r, kit.skin, light)
        capsule(cv, hip, mid, 0.056 * r, 0.05 * r, kit.shorts, light)
        capsule(cv, knee, ankle, 0.036 * r, 0.026 * r, kit.socks, light)
        toe = ankle + project(np.array([0, 0.02, 0.06]), theta, p.elevation) * s
        capsule(cv, ankle, toe, 0.022 * r, 0.018 * r, (25, 25, 28), light)
        sleeve = el if kit.long_sleeves else sh + (el - sh) * 0.55
        capsule(cv, sh, el, 0.032 * r, 0.027 * r, kit.skin, light)
        capsule(cv, sh, sleeve, 0.042 * r, 0.036 * r, kit.jersey, light)
        capsule(cv, el, wr, 0.026 * r, 0.02 * r, kit.jersey if kit.long_sleeves else kit.skin, light)
        capsule(cv, wr, wr, 0.024 * r, 0.024 * r, kit.skin, light)
    pelvis = (j2[11] + j2[12]) / 2
    capsule(cv, pelvis - (0, 0.01 * s, 0), pelvis + (0, 0.03 * s, 0), 0.072 * r, 0.066 * r, kit.shorts, light)
    neck_top = project(np.array([0, 0.13, 0]), theta, p.elevation) * s + off
    neck_bot = project(np.array([0, 0.19, 0]), theta, p.elevation) * s + off
    capsule(cv, neck_top, neck_bot, 0.028 * r, 0.03 * r, kit.skin, light)
    centre = project(np.array([0, 0.085, 0]), theta, p.elevation) * s + off
    boxes = torso(cv, p, kit, theta, s, np.array([centre[0], off[1], off[2]]), decor, folds)
    capsule(cv, centre, centre, 0.062 * s, 0.062 * s, kit.skin, light)
    crown = project(np.array([0, 0.07, -0.012]), theta, p.elevation) * s + off
    capsule(cv, crown, crown, 0.06 * s, 0.06 * s, kit.hair, light)
    if np.cos(theta) > 0:  # the face shows: draw it in front of the hair
        face = project(np.array([0, 0.095, 0.03]), theta, p.elevation) * s + off
        capsule(cv, face, face, 0.05 * s, 0.05 * s, kit.skin, light)
    return j2, boxes
