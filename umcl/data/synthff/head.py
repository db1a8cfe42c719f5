"""Draw one head on a canonical canvas (face units -> pixels) from its 68 landmarks.

Outputs three layers that the frame renderer warps into the video frame with the head pose:
``rgb`` (albedo x Lambertian shading, no pulse), ``skin`` (where blood perfuses visible skin, the
only place the pulse may appear) and ``alpha`` (coverage of head, hair, neck and shoulders).
Shading uses a per-identity height field (head ellipsoid, nose ridge and tip, eye sockets, lips),
so a light direction gives the soft gradients real faces have; every edge is anti-aliased
(sub-pixel polygons + a blur matched to the later down-sampling).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from umcl.data.synthff.faces import Identity

# Canvas extent in face units: wide enough for hair, ears, neck and shoulders.
X0, X1, Y0, Y1 = -0.6, 1.6, -0.8, 2.3
_SHIFT = 4  # sub-pixel bits for cv2 polygon drawing


@dataclass
class Canvas:
    """Static per-(identity, video) buffers at ``scale`` canvas pixels per face unit."""

    scale: float
    width: int
    height: int
    normals: np.ndarray    # float32 [H, W, 3]
    texture: np.ndarray    # float32 [H, W] multiplicative skin texture around 1

    def to_px(self, pts: np.ndarray) -> np.ndarray:
        """Face units -> canvas pixels."""
        return (np.asarray(pts, dtype=np.float64) - [X0, Y0]) * self.scale


def make_canvas(ident: Identity, neutral: np.ndarray, scale: float) -> Canvas:
    """Precompute the height-field normals and skin texture for one identity at one scale."""
    w = int(round((X1 - X0) * scale))
    h = int(round((Y1 - Y0) * scale))
    xs = X0 + (np.arange(w) + 0.5) / scale
    ys = Y0 + (np.arange(h) + 0.5) / scale
    u, v = np.meshgrid(xs, ys)
    half = (neutral[16, 0] - neutral[0, 0]) / 2 + 0.06
    # Head ellipsoid, then facial relief (all heights in face units).
    r2 = ((u - 0.5) / half) ** 2 + ((v - 0.42) / 0.72) ** 2
    height = 0.45 * np.sqrt(np.clip(1 - r2, 0, 1))
    # Neck cylinder below the jaw.
    neck = 0.22 * np.sqrt(np.clip(1 - ((u - 0.5) / 0.3) ** 2, 0, 1)) * (v > 0.85)
    height = np.maximum(height, neck)

    def bump(cx, cy, sx, sy, amp):
        return amp * np.exp(-(((u - cx) / sx) ** 2 + ((v - cy) / sy) ** 2) / 2)

    top, tip = neutral[27], neutral[30]
    ridge_t = np.clip((v - top[1]) / max(tip[1] - top[1], 1e-3), 0, 1)
    ridge_x = top[0] + (tip[0] - top[0]) * ridge_t
    in_ridge = (v > top[1] - 0.03) & (v < neutral[33, 1] + 0.01)
    height += in_ridge * (0.04 + 0.09 * ridge_t) * np.exp(-((u - ridge_x) / (0.028 + 0.03 * ridge_t)) ** 2 / 2)
    height += bump(tip[0], tip[1] + 0.03, 0.045, 0.035, 0.04)
    for eye in (slice(36, 42), slice(42, 48)):
        c = neutral[eye].mean(axis=0)
        height -= bump(c[0], c[1] - 0.01, 0.075, 0.05, 0.045)
    mc = neutral[48:60].mean(axis=0)
    height += bump(mc[0], mc[1], 0.12, 0.05, 0.02)
    height += bump(neutral[8, 0], neutral[8, 1] - 0.06, 0.09, 0.05, 0.015)
    for side in (neutral[3], neutral[13]):
        height += bump((side[0] + 0.5) / 2, 0.55, 0.09, 0.08, 0.015)
    gy, gx = np.gradient(height, 1 / scale)
    n = np.stack([-gx, -gy, np.ones_like(gx)], axis=-1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    rng = np.random.default_rng(ident.texture_seed)
    fine = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), max(0.6, scale / 250))
    blotch = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), scale / 30)
    texture = 1 + 0.025 * fine / (fine.std() + 1e-6) + 0.02 * blotch / (blotch.std() + 1e-6)
    return Canvas(scale=scale, width=w, height=h, normals=n.astype(np.float32), texture=texture)


def _poly_mask(canvas: Canvas, pts: np.ndarray, thickness: float = 0.0, closed: bool = True) -> np.ndarray:
    """Anti-aliased float mask of a filled polygon (or a polyline of ``thickness`` face units)."""
    m = np.zeros((canvas.height, canvas.width), np.uint8)
    ip = np.round(canvas.to_px(pts) * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)
    if thickness > 0:
        t = max(1, int(round(thickness * canvas.scale)))
        cv2.polylines(m, [ip], closed, 255, t, cv2.LINE_AA, _SHIFT)
    else:
        cv2.fillPoly(m, [ip], 255, cv2.LINE_AA, _SHIFT)
    return m.astype(np.float32) / 255.0


def _ellipse_pts(cx: float, cy: float, ax: float, ay: float, a0: float, a1: float, n: int = 40) -> np.ndarray:
    t = np.linspace(a0, a1, n)
    return np.stack([cx + ax * np.cos(t), cy + ay * np.sin(t)], axis=1)


def _blend(dst: np.ndarray, mask: np.ndarray, color) -> None:
    m = mask[..., None]
    dst *= 1 - m
    dst += m * np.asarray(color, np.float32)


def _soft(mask: np.ndarray, canvas: Canvas, sigma_units: float) -> np.ndarray:
    return cv2.GaussianBlur(mask, (0, 0), max(0.3, sigma_units * canvas.scale))


def face_outline(pts: np.ndarray, ident: Identity) -> np.ndarray:
    """Jaw contour closed by a forehead arc at the hairline (face units)."""
    left, right = pts[0], pts[16]
    cx, cy = (left[0] + right[0]) / 2, (left[1] + right[1]) / 2
    ax = (right[0] - left[0]) / 2
    ay = cy - min(ident.hairline, -0.05)
    arc = _ellipse_pts(cx, cy, ax, ay, 0.0, -np.pi, 30)[1:-1]
    return np.concatenate([pts[:17], arc], axis=0)


def render_head(ident: Identity, pts: np.ndarray, light: np.ndarray, canvas: Canvas,
                gaze: tuple[float, float] = (0.0, 0.0)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render one head from its (expressive) 68 landmarks in face units.

    ``light`` is the unit light direction in the face frame (x right, y down, z towards camera).
    Returns ``rgb`` float32 [H, W, 3], ``skin`` float32 [H, W] and ``alpha`` float32 [H, W].
    """
    H, W = canvas.height, canvas.width
    skin_c = np.asarray(ident.skin, np.float32)
    rgb = np.zeros((H, W, 3), np.float32)
    alpha = np.zeros((H, W), np.float32)
    left, right = pts[0], pts[16]
    half = (right[0] - left[0]) / 2
    cx = (left[0] + right[0]) / 2

    def put(mask, color):
        _blend(rgb, mask, color)
        np.maximum(alpha, mask, out=alpha)

    # Shoulders and shirt, neck, hair behind the head, ears.
    shoulders = np.array([[cx - 0.35, 1.25], [cx + 0.35, 1.25], [cx + 1.2, 1.75], [cx + 1.3, Y1 + 0.1],
                          [cx - 1.3, Y1 + 0.1], [cx - 1.2, 1.75]])
    put(_poly_mask(canvas, shoulders), ident.shirt)
    neck = np.array([[cx - 0.29, 0.55], [cx + 0.29, 0.55], [cx + 0.31, 1.42], [cx, 1.5], [cx - 0.31, 1.42]])
    neck_m = _poly_mask(canvas, neck)
    put(neck_m, skin_c * 0.92)
    hair_ax = half + (0.05, 0.09, 0.12)[ident.hair_style]
    hair_pts = _ellipse_pts(cx, 0.22, hair_ax, 0.66, 0, 2 * np.pi, 60)
    if ident.hair_style == 2:
        hair_pts = np.concatenate([_ellipse_pts(cx, 0.22, hair_ax, 0.66, np.pi, 2 * np.pi, 30),
                                   [[cx + hair_ax, 1.2], [cx - hair_ax, 1.2]]])
    hair_m = _soft(_poly_mask(canvas, hair_pts), canvas, 0.01)
    put(hair_m, ident.hair)
    ears_m = np.zeros((H, W), np.float32)
    for ex in (left[0] + 0.01, right[0] - 0.01):
        ears_m = np.maximum(ears_m, _poly_mask(canvas, _ellipse_pts(ex, 0.42, 0.055, 0.11, 0, 2 * np.pi, 24)))
    put(ears_m * (1 - hair_m * (ident.hair_style == 2)), skin_c * 0.9)

    # Face skin.
    face_m = _poly_mask(canvas, face_outline(pts, ident))
    face_m = np.maximum(face_m * 1.0, 0)
    put(face_m, skin_c)
    skin = np.clip(np.maximum(face_m, neck_m), 0, 1)
    skin = np.maximum(skin, ears_m * (1 - hair_m * (ident.hair_style == 2)))
    # Cheeks and nose carry a little more haemoglobin (redder albedo).
    red = np.zeros((H, W), np.float32)
    for c in (pts[[2, 3, 31, 48]].mean(axis=0) * [1, 1], pts[[14, 13, 35, 54]].mean(axis=0)):
        red += _soft(_poly_mask(canvas, _ellipse_pts(c[0], c[1] - 0.03, 0.07, 0.05, 0, 2 * np.pi, 16)), canvas, 0.04)
    rgb *= (1 + 0.06 * red[..., None] * np.array([0.4, -0.6, -0.5], np.float32))

    # Brows: semi-transparent dark hair strokes along 17-21 and 22-26.
    brow_m = np.zeros((H, W), np.float32)
    for b in (pts[17:22], pts[22:27]):
        thick = b.copy()
        lower = b + [0, ident.brow_thickness]
        lower[0, 1] -= ident.brow_thickness * 0.6
        lower[-1, 1] -= ident.brow_thickness * 0.3 if b[0, 0] < 0.5 else -0.0
        poly = np.concatenate([thick - [0, ident.brow_thickness * 0.15], lower[::-1]])
        brow_m = np.maximum(brow_m, _poly_mask(canvas, poly))
    brow_m = _soft(brow_m, canvas, 0.006) * 0.85
    _blend(rgb, brow_m, np.asarray(ident.hair, np.float32) * 0.8)

    # Eyes: sclera, iris, pupil, highlight, lid line and lashes.
    eye_m_all = np.zeros((H, W), np.float32)
    for eye in (pts[36:42], pts[42:48]):
        em = _poly_mask(canvas, eye)
        eye_m_all = np.maximum(eye_m_all, em)
        width = np.linalg.norm(eye[3] - eye[0])
        c = (eye[0] + eye[3]) / 2 + [gaze[0] * width * 0.15, gaze[1] * width * 0.05]
        sclera = np.zeros((H, W, 3), np.float32) + np.array([0.86, 0.82, 0.78], np.float32)
        iris_r = 0.21 * width
        yy, xx = np.mgrid[0:H, 0:W]
        cp = canvas.to_px(c)
        d = np.hypot(xx + 0.5 - cp[0], yy + 0.5 - cp[1]) / canvas.scale
        iris = np.clip((iris_r - d) * canvas.scale + 0.5, 0, 1)
        pupil = np.clip((iris_r * 0.42 - d) * canvas.scale + 0.5, 0, 1)
        ring = np.clip(1 - d / iris_r, 0, 1)[..., None]
        sclera = sclera * (1 - iris[..., None]) + iris[..., None] * np.asarray(ident.iris, np.float32) * (0.7 + 0.6 * ring)
        sclera = sclera * (1 - pupil[..., None]) + pupil[..., None] * 0.03
        hl = np.clip((iris_r * 0.15 - np.hypot(xx + 0.5 - cp[0] - 0.3 * iris_r * canvas.scale,
                                               yy + 0.5 - cp[1] + 0.3 * iris_r * canvas.scale) / canvas.scale)
                     * canvas.scale + 0.5, 0, 1)
        sclera = sclera * (1 - hl[..., None]) + hl[..., None] * 0.95
        # The upper lid shadows the top of the eyeball.
        top = min(eye[1, 1], eye[2, 1])
        shadow = np.clip(1 - 0.35 * np.exp(-np.clip((yy + 0.5) / canvas.scale + Y0 - top, 0, None) / 0.02), 0, 1)
        rgb[:] = rgb * (1 - em[..., None]) + em[..., None] * sclera * shadow[..., None]
        lid = _poly_mask(canvas, eye[[0, 1, 2, 3]], thickness=0.014, closed=False)
        lower_lid = _poly_mask(canvas, eye[[3, 4, 5, 0]], thickness=0.006, closed=False)
        _blend(rgb, _soft(lid, canvas, 0.003) * 0.9, (0.06, 0.04, 0.035))
        _blend(rgb, _soft(lower_lid, canvas, 0.004) * 0.35, skin_c * 0.5)
        # Upper eyelid crease a little above the lid.
        crease = eye[[0, 1, 2, 3]] + [[0.004, -0.012], [0, -0.028], [0, -0.028], [-0.004, -0.012]]
        _blend(rgb, _soft(_poly_mask(canvas, crease, thickness=0.006, closed=False), canvas, 0.006) * 0.35,
               skin_c * 0.55)

    # Nose: nostrils, alar creases and the shadow under the base.
    nb = pts[31:36]
    nost = np.zeros((H, W), np.float32)
    for a, b in ((nb[0], nb[1]), (nb[4], nb[3])):
        c = (a * 0.45 + b * 0.55) + [0, -0.008]
        nost = np.maximum(nost, _poly_mask(canvas, _ellipse_pts(c[0], c[1], 0.022, 0.011, 0, 2 * np.pi, 16)))
    _blend(rgb, _soft(nost, canvas, 0.004) * 0.85, skin_c * 0.25)
    for side, k in ((nb[0], -1), (nb[4], 1)):
        crease = np.array([side + [0, 0.0], side + [-k * 0.012, -0.03], side + [-k * 0.005, -0.06]])
        _blend(rgb, _soft(_poly_mask(canvas, crease, thickness=0.008, closed=False), canvas, 0.008) * 0.4,
               skin_c * 0.55)
    base = np.array([nb[0], nb[1], nb[2], nb[3], nb[4]]) + [0, 0.012]
    _blend(rgb, _soft(_poly_mask(canvas, base, thickness=0.012, closed=False), canvas, 0.01) * 0.35, skin_c * 0.6)

    # Mouth: lips, dark oral cavity with teeth when open, lip line.
    lips_m = _soft(_poly_mask(canvas, pts[48:60]), canvas, 0.004)
    _blend(rgb, lips_m, ident.lip)
    inner = pts[60:68]
    opening = float(inner[[5, 6, 7], 1].mean() - inner[[1, 2, 3], 1].mean())
    cav = _poly_mask(canvas, inner)
    if opening > 0.006:
        teeth_poly = np.concatenate([inner[[0, 1, 2, 3, 4]], inner[[3, 2, 1]] + [0, min(opening * 0.45, 0.02)]])
        _blend(rgb, cav, (0.16, 0.05, 0.05))
        _blend(rgb, _poly_mask(canvas, teeth_poly) * cav, (0.8, 0.78, 0.72))
    line = _poly_mask(canvas, inner[[0, 1, 2, 3, 4]], thickness=0.008, closed=False)
    _blend(rgb, _soft(line, canvas, 0.003) * 0.7, np.asarray(ident.lip, np.float32) * 0.35)
    lips_m = np.maximum(lips_m, cav)

    # Skin texture on skin only, then Lambertian shading (+ a faint specular sheen) everywhere.
    rgb *= (1 + (canvas.texture - 1) * skin)[..., None]
    ndl = np.clip(canvas.normals @ light.astype(np.float32), 0, None)
    shade = 0.42 + 0.72 * ndl
    half_v = light + np.array([0, 0, 1.0])
    half_v = (half_v / np.linalg.norm(half_v)).astype(np.float32)
    spec = 0.06 * np.clip(canvas.normals @ half_v, 0, 1) ** 24 * face_m
    rgb = rgb * shade[..., None] + spec[..., None]
    skin = skin * (1 - eye_m_all) * (1 - brow_m) * (1 - lips_m) * (1 - nost * 0.8)
    return rgb, skin.astype(np.float32), alpha
