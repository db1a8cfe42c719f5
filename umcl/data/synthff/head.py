"""Draw one head on a canonical canvas (face units -> pixels) from its 68 landmarks.

Outputs three layers that the frame renderer warps into the video frame with the head pose:
``rgb`` (albedo x Lambertian shading, no pulse), ``skin`` (where blood perfuses visible skin, the
only place the pulse may appear) and ``alpha`` (coverage of head, hair, neck and shoulders).
Shading uses a per-identity height field (head ellipsoid, nose ridge and tip, eye sockets, lips),
so a light direction gives the soft gradients real faces have; every edge is anti-aliased
(sub-pixel polygons + a blur matched to the later down-sampling).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    normals: np.ndarray  # float32 [H, W, 3]
    texture: np.ndarray  # float32 [H, W] multiplicative skin texture around 1
    body: dict = field(default_factory=dict)  # cache: (identity, jaw ends) -> static body layers

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
    r2 = ((u - 0.5) / half) ** 2 + ((v - 0.3) / 0.8) ** 2
    height = 0.45 * np.sqrt(np.clip(1 - r2, 0, 1))
    # Neck cylinder below the jaw.
    neck = 0.22 * np.sqrt(np.clip(1 - ((u - 0.5) / 0.3) ** 2, 0, 1)) * ((v > 0.85) & (v < 1.4))
    torso = 0.5 * np.sqrt(np.clip(1 - ((u - 0.5) / 1.4) ** 2, 0, 1)) * (v >= 1.4)
    height = np.maximum(height, neck + torso)

    def bump(cx, cy, sx, sy, amp):
        return amp * np.exp(-(((u - cx) / sx) ** 2 + ((v - cy) / sy) ** 2) / 2)

    top, tip = neutral[27], neutral[30]
    ridge_t = np.clip((v - top[1]) / max(tip[1] - top[1], 1e-3), 0, 1)
    ridge_x = top[0] + (tip[0] - top[0]) * ridge_t
    in_ridge = (v > top[1] - 0.03) & (v < neutral[33, 1] + 0.01)
    height += in_ridge * (0.02 + 0.05 * ridge_t) * np.exp(-(((u - ridge_x) / (0.04 + 0.035 * ridge_t)) ** 2) / 2)
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


class Roi:
    """A float mask on a sub-rectangle of the canvas (features are drawn and blended locally)."""

    __slots__ = ("y0", "x0", "m")

    def __init__(self, y0: int, x0: int, m: np.ndarray):
        self.y0, self.x0, self.m = y0, x0, m

    def sl(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y0 + self.m.shape[0]), slice(self.x0, self.x0 + self.m.shape[1])

    def full(self, canvas: Canvas) -> np.ndarray:
        out = np.zeros((canvas.height, canvas.width), np.float32)
        out[self.sl()] = self.m
        return out


def _poly_roi(canvas: Canvas, pts: np.ndarray, thickness: float = 0.0, closed: bool = True, blur: float = 0.0) -> Roi:
    """Anti-aliased float mask of a filled polygon (or polyline of ``thickness`` face units),
    optionally blurred by ``blur`` face units, on the polygon's bounding box only."""
    px = canvas.to_px(pts)
    t = max(1, int(round(thickness * canvas.scale))) if thickness > 0 else 0
    pad = int(3 * blur * canvas.scale) + t + 3
    x0 = max(0, int(np.floor(px[:, 0].min())) - pad)
    y0 = max(0, int(np.floor(px[:, 1].min())) - pad)
    x1 = min(canvas.width, int(np.ceil(px[:, 0].max())) + pad + 1)
    y1 = min(canvas.height, int(np.ceil(px[:, 1].max())) + pad + 1)
    if x1 <= x0 or y1 <= y0:
        return Roi(0, 0, np.zeros((1, 1), np.float32))
    m = np.zeros((y1 - y0, x1 - x0), np.uint8)
    ip = np.round((px - [x0, y0]) * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)
    if t:
        cv2.polylines(m, [ip], closed, 255, t, cv2.LINE_AA, _SHIFT)
    else:
        cv2.fillPoly(m, [ip], 255, cv2.LINE_AA, _SHIFT)
    mf = m.astype(np.float32) / 255.0
    if blur > 0:
        mf = cv2.GaussianBlur(mf, (0, 0), max(0.3, blur * canvas.scale))
    return Roi(y0, x0, mf)


def _ellipse_pts(cx: float, cy: float, ax: float, ay: float, a0: float, a1: float, n: int = 40) -> np.ndarray:
    t = np.linspace(a0, a1, n)
    return np.stack([cx + ax * np.cos(t), cy + ay * np.sin(t)], axis=1)


def _blend(dst: np.ndarray, roi: Roi, color, strength: float = 1.0) -> None:
    """dst = dst * (1 - m) + m * color on the ROI (``color`` a 3-vector or an ROI-sized image)."""
    sl = roi.sl()
    m = (roi.m * strength)[..., None]
    d = dst[sl]
    d *= 1 - m
    d += m * np.asarray(color, np.float32)


def face_outline(pts: np.ndarray, ident: Identity) -> np.ndarray:
    """Jaw contour closed by a forehead arc at the hairline (face units)."""
    left, right = pts[0], pts[16]
    cx, cy = (left[0] + right[0]) / 2, (left[1] + right[1]) / 2
    ax = (right[0] - left[0]) / 2
    ay = cy - min(ident.hairline, -0.05)
    arc = _ellipse_pts(cx, cy, ax, ay, 0.0, -np.pi, 30)[1:-1]
    return np.concatenate([pts[:17], arc], axis=0)


def _body_layers(ident: Identity, canvas: Canvas, left: np.ndarray, right: np.ndarray):
    """Shoulders and shirt, neck, hair behind the head and ears (painter's order): rgb, alpha, skin."""
    H, W = canvas.height, canvas.width
    skin_c = np.asarray(ident.skin, np.float32)
    rgb = np.zeros((H, W, 3), np.float32)
    alpha = np.zeros((H, W), np.float32)
    skin = np.zeros((H, W), np.float32)
    half = (right[0] - left[0]) / 2
    cx = (left[0] + right[0]) / 2

    def put(roi: Roi, color, is_skin: bool = False) -> None:
        _paint(rgb, alpha, skin, roi, color, is_skin)

    shoulders = np.array(
        [
            [cx - 0.35, 1.25],
            [cx + 0.35, 1.25],
            [cx + 1.2, 1.75],
            [cx + 1.3, Y1 + 0.1],
            [cx - 1.3, Y1 + 0.1],
            [cx - 1.2, 1.75],
        ]
    )
    put(_poly_roi(canvas, shoulders), ident.shirt)
    neck = np.array([[cx - 0.27, 0.55], [cx + 0.27, 0.55], [cx + 0.29, 1.35], [cx, 1.42], [cx - 0.29, 1.35]])
    put(_poly_roi(canvas, neck), skin_c * 0.92, is_skin=True)
    hair_ax = half + (0.05, 0.09, 0.12)[ident.hair_style]
    hair_pts = _ellipse_pts(cx, 0.14, hair_ax, 0.74, 0, 2 * np.pi, 60)
    if ident.hair_style == 2:
        hair_pts = np.concatenate(
            [_ellipse_pts(cx, 0.14, hair_ax, 0.74, np.pi, 2 * np.pi, 30), [[cx + hair_ax, 1.2], [cx - hair_ax, 1.2]]]
        )
    put(_poly_roi(canvas, hair_pts, blur=0.01), ident.hair)
    if ident.hair_style != 2:
        for ex in (left[0] + 0.01, right[0] - 0.01):
            put(_poly_roi(canvas, _ellipse_pts(ex, 0.34, 0.05, 0.11, 0, 2 * np.pi, 24)), skin_c * 0.9, True)
    return rgb, alpha, skin


def _paint(rgb, alpha, skin, roi: Roi, color, is_skin: bool) -> None:
    """Opaque paint: colour, coverage, and whether the new surface is perfused skin."""
    _blend(rgb, roi, color)
    sl = roi.sl()
    np.maximum(alpha[sl], roi.m, out=alpha[sl])
    s = skin[sl]
    s *= 1 - roi.m
    if is_skin:
        s += roi.m


def render_head(
    ident: Identity, pts: np.ndarray, light: np.ndarray, canvas: Canvas, gaze: tuple[float, float] = (0.0, 0.0)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render one head from its (expressive) 68 landmarks in face units.

    ``light`` is the unit light direction in the face frame (x right, y down, z towards camera).
    Returns ``rgb`` float32 [H, W, 3] (premultiplied by coverage), ``skin`` and ``alpha`` [H, W].
    """
    skin_c = np.asarray(ident.skin, np.float32)
    left, right = pts[0], pts[16]
    # Shoulders, neck, hair and ears depend only on the identity and the jaw ends (0, 16), which
    # expressions do not move: draw them once per canvas and copy.
    key = (ident, tuple(np.round(left, 6)), tuple(np.round(right, 6)))
    if key not in canvas.body:
        canvas.body[key] = _body_layers(ident, canvas, left, right)
    rgb, alpha, skin = (layer.copy() for layer in canvas.body[key])
    face = _poly_roi(canvas, face_outline(pts, ident))
    _paint(rgb, alpha, skin, face, skin_c, True)
    # Cheeks and nose carry a little more haemoglobin (redder albedo).
    for c in (pts[[2, 3, 31, 48]].mean(axis=0), pts[[14, 13, 35, 54]].mean(axis=0)):
        red = _poly_roi(canvas, _ellipse_pts(c[0], c[1] - 0.03, 0.07, 0.05, 0, 2 * np.pi, 16), blur=0.04)
        rgb[red.sl()] *= 1 + 0.06 * red.m[..., None] * np.array([0.4, -0.6, -0.5], np.float32)
    # Skin texture (pores, blotches) on skin only.
    rgb *= (1 + (canvas.texture - 1) * skin)[..., None]
    holes: list[Roi] = []

    # Brows: semi-transparent dark hair strokes along 17-21 and 22-26.
    for b in (pts[17:22], pts[22:27]):
        lower = b + [0, ident.brow_thickness]
        lower[0, 1] -= ident.brow_thickness * 0.6
        poly = np.concatenate([b - [0, ident.brow_thickness * 0.15], lower[::-1]])
        brow = _poly_roi(canvas, poly, blur=0.006)
        brow.m *= 0.85
        _blend(rgb, brow, np.asarray(ident.hair, np.float32) * 0.8)
        holes.append(brow)

    # Eyes: sclera, iris, pupil, highlight, lid shadow, lid line with lashes, crease.
    for eye in (pts[36:42], pts[42:48]):
        em = _poly_roi(canvas, eye)
        holes.append(em)
        width = np.linalg.norm(eye[3] - eye[0])
        c = (eye[0] + eye[3]) / 2 + [gaze[0] * width * 0.15, gaze[1] * width * 0.05]
        h, w = em.m.shape
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        cp = canvas.to_px(c) - [em.x0, em.y0]
        iris_r = 0.21 * width * canvas.scale
        d = np.hypot(xx + 0.5 - cp[0], yy + 0.5 - cp[1])
        iris = np.clip(iris_r - d + 0.5, 0, 1)[..., None]
        pupil = np.clip(0.42 * iris_r - d + 0.5, 0, 1)[..., None]
        ring = np.clip(1 - d / iris_r, 0, 1)[..., None]
        hl = np.clip(
            0.15 * iris_r - np.hypot(xx + 0.5 - cp[0] - 0.3 * iris_r, yy + 0.5 - cp[1] + 0.3 * iris_r) + 0.5, 0, 1
        )[..., None]
        col = np.array([0.86, 0.82, 0.78], np.float32) * (1 - iris) + iris * np.asarray(ident.iris, np.float32) * (
            0.7 + 0.6 * ring
        )
        col = col * (1 - pupil) + pupil * 0.03
        col = col * (1 - hl) + hl * 0.95
        top = (min(eye[1, 1], eye[2, 1]) - Y0) * canvas.scale - em.y0
        shadow = 1 - 0.35 * np.exp(-np.clip(yy + 0.5 - top, 0, None) / (0.02 * canvas.scale))
        _blend(rgb, em, col * shadow[..., None])
        _blend(rgb, _poly_roi(canvas, eye[[0, 1, 2, 3]], 0.014, False, 0.003), (0.06, 0.04, 0.035), 0.9)
        _blend(rgb, _poly_roi(canvas, eye[[3, 4, 5, 0]], 0.006, False, 0.004), skin_c * 0.5, 0.35)
        crease = eye[[0, 1, 2, 3]] + [[0.004, -0.012], [0, -0.028], [0, -0.028], [-0.004, -0.012]]
        _blend(rgb, _poly_roi(canvas, crease, 0.006, False, 0.006), skin_c * 0.55, 0.35)

    # Nose: nostrils, alar creases and the shadow under the base.
    nb = pts[31:36]
    for a, b in ((nb[0], nb[1]), (nb[4], nb[3])):
        c = a * 0.45 + b * 0.55 + [0, -0.008]
        nost = _poly_roi(canvas, _ellipse_pts(c[0], c[1], 0.022, 0.011, 0, 2 * np.pi, 16), blur=0.004)
        _blend(rgb, nost, skin_c * 0.25, 0.85)
        holes.append(nost)
    for side, k in ((nb[0], -1), (nb[4], 1)):
        crease = np.array([side, side + [-k * 0.012, -0.03], side + [-k * 0.005, -0.06]])
        _blend(rgb, _poly_roi(canvas, crease, 0.008, False, 0.008), skin_c * 0.55, 0.4)
    _blend(rgb, _poly_roi(canvas, nb + [0, 0.012], 0.012, False, 0.01), skin_c * 0.6, 0.35)

    # Mouth: lips, dark oral cavity with teeth when open, lip line.
    lips = _poly_roi(canvas, pts[48:60], blur=0.004)
    _blend(rgb, lips, ident.lip)
    holes.append(lips)
    inner = pts[60:68]
    opening = float(inner[[5, 6, 7], 1].mean() - inner[[1, 2, 3], 1].mean())
    if opening > 0.006:
        cav = _poly_roi(canvas, inner)
        _blend(rgb, cav, (0.16, 0.05, 0.05))
        teeth_poly = np.concatenate([inner[[0, 1, 2, 3, 4]], inner[[3, 2, 1]] + [0, min(opening * 0.45, 0.02)]])
        teeth = _poly_roi(canvas, teeth_poly)
        teeth_full = teeth.full(canvas)[cav.sl()] * cav.m
        _blend(rgb, Roi(cav.y0, cav.x0, teeth_full), (0.8, 0.78, 0.72))
    _blend(
        rgb,
        _poly_roi(canvas, inner[[0, 1, 2, 3, 4]], 0.008, False, 0.003),
        np.asarray(ident.lip, np.float32) * 0.35,
        0.7,
    )

    # Lambertian shading (+ a faint specular sheen on the face).
    ndl = np.clip(canvas.normals @ light.astype(np.float32), 0, None)
    shade = 0.42 + 0.72 * ndl
    half_v = light + np.array([0, 0, 1.0])
    half_v = (half_v / np.linalg.norm(half_v)).astype(np.float32)
    spec = 0.06 * np.clip(canvas.normals @ half_v, 0, 1) ** 24 * face.full(canvas)
    rgb = rgb * shade[..., None] + (spec * alpha)[..., None]
    for roi in holes:
        s = skin[roi.sl()]
        s *= 1 - roi.m
    return rgb, skin, alpha
