"""Place a rendered head into a video frame: pose warp, background, lighting gain, sensor noise.

Everything here is the camera side of the scene: a similarity transform (translation, in-plane
rotation, scale) maps the canonical head canvas into the frame; the background is a static room
(vertical gradient plus soft out-of-focus shapes); exposure drifts slowly; the sensor adds
signal-dependent (shot) and read noise before 8-bit quantisation, which also dithers the
sub-level pulse signal the way a real camera does.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from umcl.data.synthff.faces import Identity
from umcl.data.synthff.head import X0, Y0


@dataclass(frozen=True)
class Pose:
    """Head pose of one frame in frame pixels."""

    cx: float  # face-box centre x (px)
    cy: float  # face-box centre y (px)
    size: float  # face-box width in px (one face unit)
    roll: float  # in-plane rotation (radians, positive = clockwise on screen)
    yaw: float  # small out-of-plane rotation rendered as depth parallax (radians)


def pose_matrix(pose: Pose, canvas_scale: float) -> np.ndarray:
    """2x3 affine from canvas pixels to frame pixels."""
    c, s = np.cos(pose.roll), np.sin(pose.roll)
    rot = np.array([[c, -s], [s, c]])
    a = rot * (pose.size / canvas_scale)
    b = np.array([pose.cx, pose.cy]) + pose.size * rot @ np.array([X0 - 0.5, Y0 - 0.5])
    return np.concatenate([a, b[:, None]], axis=1)


def to_frame(pts: np.ndarray, pose: Pose) -> np.ndarray:
    """Face-unit points -> frame pixels for this pose."""
    c, s = np.cos(pose.roll), np.sin(pose.roll)
    rot = np.array([[c, -s], [s, c]])
    return (np.asarray(pts) - 0.5) @ rot.T * pose.size + [pose.cx, pose.cy]


def warp_layers(
    rgb: np.ndarray, skin: np.ndarray, alpha: np.ndarray, pose: Pose, canvas_scale: float, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Warp the canvas layers into a frame of ``size`` = (H, W), anti-aliased for the down-scaling."""
    h, w = size
    ratio = canvas_scale / pose.size
    if ratio > 1.2:
        sigma = 0.45 * ratio
        rgb = cv2.GaussianBlur(rgb, (0, 0), sigma)
        skin = cv2.GaussianBlur(skin, (0, 0), sigma)
        alpha = cv2.GaussianBlur(alpha, (0, 0), sigma)
    m = pose_matrix(pose, canvas_scale)
    kw = dict(dsize=(w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return cv2.warpAffine(rgb, m, **kw), cv2.warpAffine(skin, m, **kw), cv2.warpAffine(alpha, m, **kw)


def make_background(ident: Identity, rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A static, out-of-focus room behind the speaker (float32 [H, W, 3] in 0-1)."""
    h, w = size
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    bg = np.asarray(ident.bg_a, np.float32) * (1 - t) + np.asarray(ident.bg_b, np.float32) * t
    bg = np.repeat(bg, w, axis=1).copy()
    for _ in range(int(rng.integers(2, 6))):
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * [w, h]
        bw, bh = rng.uniform(0.1, 0.5, 2) * [w, h]
        m = np.zeros((h, w), np.float32)
        cv2.rectangle(m, (int(x0), int(y0)), (int(x0 + bw), int(y0 + bh)), 1.0, -1)
        m = cv2.GaussianBlur(m, (0, 0), max(1.0, 0.02 * w))
        _col = rng.uniform(0.05, 0.95, 3).astype(np.float32)
        bg = bg * (1 - 0.6 * m[..., None]) + 0.6 * m[..., None] * _col
    return bg


def expose(
    linear: np.ndarray, gain: float, rng: np.random.Generator, read_noise: float, shot_noise: float, blur: float
) -> np.ndarray:
    """Camera: exposure gain, optical blur, shot + read noise, gamma-free 8-bit quantisation."""
    img = linear * gain
    if blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    sigma = np.sqrt(read_noise**2 + shot_noise**2 * np.clip(img, 0, 1))
    img = img + sigma * rng.standard_normal(img.shape).astype(np.float32)
    return np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
