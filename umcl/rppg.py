"""Weight-free remote photoplethysmography on a mean skin-colour trace, and heart-rate estimation.

* :func:`pos` — Plane-Orthogonal-to-Skin (Wang et al., IEEE TBME 2017): in 1.6 s sliding windows,
  normalise each channel by its temporal mean, project onto ``[[0, 1, -1], [-2, 1, 1]]``,
  combine the two projections with ``alpha = std(S1) / std(S2)`` and overlap-add the
  mean-removed window outputs.
* :func:`chrom` — CHROM (de Haan & Jeanne, IEEE TBME 2013): chrominance signals
  ``X = 3R - 2G`` and ``Y = 1.5R + G - 1.5B`` of the normalised trace, ``S = X - alpha Y``,
  Hann-windowed overlap-add.
* :func:`green` — the detrended, sign-flipped green channel (Verkruysse et al. 2008).
* :func:`estimate_hr` — linear detrend, zero-phase Butterworth band-pass, zero-padded
  periodogram peak in the heart-rate band. NumPy/SciPy only: ``umcl.losses.heart_rate`` is the
  torch (differentiable, batched) counterpart used inside training; this one serves data checks.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from umcl.errors import UmclError

HR_BAND_HZ = (0.7, 3.5)  # 42-210 bpm
_POS_P = np.array([[0.0, 1.0, -1.0], [-2.0, 1.0, 1.0]])


def _check_trace(rgb: np.ndarray, fps: float, window_s: float) -> tuple[np.ndarray, int]:
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.ndim != 2 or rgb.shape[1] != 3:
        raise UmclError(f"rPPG needs a mean-RGB trace of shape [T, 3], got {rgb.shape}")
    w = int(round(window_s * fps))
    if w < 2 or len(rgb) < w:
        raise UmclError(
            f"trace of {len(rgb)} frames is shorter than one {window_s} s window at {fps} fps", fix="use a longer clip"
        )
    return rgb, w


def pos(rgb: np.ndarray, fps: float, window_s: float = 1.6) -> np.ndarray:
    """POS pulse signal [T] from a mean skin RGB trace [T, 3]."""
    rgb, w = _check_trace(rgb, fps, window_s)
    out = np.zeros(len(rgb))
    for start in range(0, len(rgb) - w + 1):
        c = rgb[start : start + w]
        cn = c / np.maximum(c.mean(axis=0), 1e-9)
        s = cn @ _POS_P.T
        h = s[:, 0] + (s[:, 0].std() / (s[:, 1].std() + 1e-12)) * s[:, 1]
        out[start : start + w] += h - h.mean()
    return out


def chrom(rgb: np.ndarray, fps: float, window_s: float = 1.6, band: tuple[float, float] = HR_BAND_HZ) -> np.ndarray:
    """CHROM pulse signal [T] (Hann-windowed, half-overlapping windows)."""
    rgb, w = _check_trace(rgb, fps, window_s)
    w += w % 2
    step = w // 2
    b, a = _butter(fps, band)
    out = np.zeros(len(rgb))
    hann = np.hanning(w)
    starts = list(range(0, max(len(rgb) - w, 0) + 1, step))
    for start in starts:
        c = rgb[start : start + w]
        if len(c) < w:
            break
        cn = c / np.maximum(c.mean(axis=0), 1e-9)
        x = 3 * cn[:, 0] - 2 * cn[:, 1]
        y = 1.5 * cn[:, 0] + cn[:, 1] - 1.5 * cn[:, 2]
        if w > 3 * max(len(a), len(b)):
            x, y = sps.filtfilt(b, a, x), sps.filtfilt(b, a, y)
        s = x - (x.std() / (y.std() + 1e-12)) * y
        out[start : start + w] += hann * (s - s.mean())
    return out


def green(rgb: np.ndarray) -> np.ndarray:
    """Green-channel pulse (more blood = less green reflected, hence the sign flip)."""
    g = np.asarray(rgb, dtype=np.float64)[:, 1]
    return -sps.detrend(g / max(g.mean(), 1e-9))


def _butter(fps: float, band: tuple[float, float], order: int = 3):
    nyq = fps / 2
    lo, hi = band[0] / nyq, min(band[1] / nyq, 0.99)
    return sps.butter(order, [lo, hi], btype="bandpass")


def estimate_hr(
    pulse: np.ndarray, fps: float, band: tuple[float, float] = HR_BAND_HZ, resolution_bpm: float = 0.25
) -> float:
    """Heart rate (bpm) of a pulse signal: detrend, band-pass, periodogram peak in ``band``."""
    x = np.asarray(pulse, dtype=np.float64)
    if x.ndim != 1 or len(x) < 8:
        raise UmclError(f"heart rate needs a 1-D signal of >= 8 samples, got shape {x.shape}")
    x = sps.detrend(x)
    b, a = _butter(fps, band)
    if len(x) > 3 * max(len(a), len(b)):
        x = sps.filtfilt(b, a, x)
    n_fft = max(len(x), int(np.ceil(60.0 * fps / resolution_bpm)))
    freqs, power = sps.periodogram(x, fs=fps, nfft=n_fft, window="hann")
    sel = (freqs >= band[0]) & (freqs <= band[1])
    return float(freqs[sel][np.argmax(power[sel])] * 60.0)


def landmark_skin_mask(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """Boolean skin mask of one frame from 68 landmarks: face (jaw + brows) minus eyes and mouth."""
    import cv2

    m = np.zeros(shape, np.uint8)
    lm = np.round(np.asarray(landmarks)).astype(np.int32)
    cv2.fillPoly(m, [np.concatenate([lm[0:17], lm[26:16:-1]])], 1)
    for idx in (slice(36, 42), slice(42, 48), slice(48, 60), slice(17, 22), slice(22, 27)):
        cv2.fillPoly(m, [cv2.convexHull(lm[idx])], 0)
    return m.astype(bool)


def skin_trace(frames: np.ndarray, landmarks: np.ndarray, region: np.ndarray | None = None) -> np.ndarray:
    """Mean RGB [T, 3] over the landmark skin mask of each frame (optionally AND ``region`` [T, H, W])."""
    out = np.zeros((len(frames), 3))
    for t, (f, lm) in enumerate(zip(frames, landmarks, strict=True)):
        m = landmark_skin_mask(f.shape[:2], lm)
        if region is not None:
            m &= region[t]
        out[t] = f[m].mean(axis=0) if m.any() else np.nan
    return out
