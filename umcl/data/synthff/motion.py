"""Per-video head motion, facial actions and lighting over time.

Human motion is slow and smooth: head translation/rotation/scale are low-pass noise (< 0.4 Hz,
below the heart-rate band so they do not masquerade as a pulse); speech drives the mouth at the
syllable rate (3-5 Hz) inside phrases and slightly bobs the head and raises the brows (talking
people nod), which is the coupling Face2Face breaks; blinks are a Poisson process (~15/min,
100 ms close / 200 ms open); the light direction and exposure drift slowly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from umcl.data.synthff.variants import VariantSpec


def smooth_noise(rng: np.random.Generator, n: int, fps: float, cutoff_hz: float) -> np.ndarray:
    """Unit-std Gaussian noise low-passed below ``cutoff_hz`` (Gaussian kernel)."""
    pad = int(3 * fps / max(cutoff_hz, 1e-3)) + 1
    x = rng.standard_normal(n + 2 * pad)
    sigma = fps / (2 * np.pi * cutoff_hz)
    y = gaussian_filter1d(x, sigma)[pad : pad + n]
    return (y - y.mean()) / (y.std() + 1e-9)


@dataclass
class Motion:
    """Time series of one video (all arrays [T])."""

    dx: np.ndarray  # head centre offset / face size
    dy: np.ndarray
    scale: np.ndarray  # multiplicative face size
    roll: np.ndarray  # radians
    yaw: np.ndarray  # radians (rendered as parallax)
    blink: np.ndarray  # 0 open .. 1 closed
    mouth: np.ndarray  # 0 closed .. 1 wide open
    speech: np.ndarray  # 0 silent .. 1 speaking (phrase envelope)
    brow: np.ndarray  # brow raise 0..1
    gain: np.ndarray  # exposure gain around 1
    light: np.ndarray  # [T, 3] unit light direction in camera frame
    gaze: np.ndarray  # [T, 2] gaze offsets in [-1, 1]


def blink_track(rng: np.random.Generator, n: int, fps: float, rate_hz: float = 0.25) -> np.ndarray:
    """Eyelid closure from Poisson blinks: 0.1 s closing, 0.2 s opening."""
    t = np.arange(n) / fps
    out = np.zeros(n)
    onset = rng.uniform(0, 2.0)
    while onset < t[-1] + 1:
        d = t - onset
        close = np.clip(d / 0.1, 0, 1) * (d < 0.1)
        opening = np.clip(1 - (d - 0.1) / 0.2, 0, 1) * (d >= 0.1)
        out = np.maximum(out, np.where(d >= 0, close + opening, 0))
        onset += 0.35 + rng.exponential(1 / rate_hz)
    return out


def speech_tracks(rng: np.random.Generator, n: int, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Phrase envelope (1-4 s phrases, 0.3-1.2 s pauses) and syllabic mouth opening (3-5 Hz)."""
    t = np.arange(n) / fps
    env = np.zeros(n)
    s = rng.uniform(-1.0, 0.5)
    while s < t[-1]:
        length = rng.uniform(1.0, 4.0)
        env[(t >= s) & (t < s + length)] = 1.0
        s += length + rng.uniform(0.3, 1.2)
    env = gaussian_filter1d(env, max(1.0, 0.08 * fps))
    rate = rng.uniform(3.0, 5.0) + 0.5 * smooth_noise(rng, n, fps, 0.5)
    phase = 2 * np.pi * np.cumsum(rate) / fps + rng.uniform(0, 2 * np.pi)
    syll = 0.5 + 0.5 * np.sin(phase)
    mouth = env * syll * rng.uniform(0.35, 0.8)
    return np.clip(mouth, 0, 1), env


def sample_motion(rng: np.random.Generator, n: int, fps: float, spec: VariantSpec) -> Motion:
    """Draw all time series of one video."""
    k = spec.pose_scale
    mouth, speech = speech_tracks(rng, n, fps)
    nod = gaussian_filter1d(speech, max(1.0, 0.3 * fps))
    dx = 0.06 * k * smooth_noise(rng, n, fps, 0.25) + rng.normal(0, 0.05)
    dy = 0.04 * k * smooth_noise(rng, n, fps, 0.25) + 0.03 * nod + rng.normal(0, 0.03)
    scale = np.exp(0.04 * k * smooth_noise(rng, n, fps, 0.15))
    roll = 0.05 * k * smooth_noise(rng, n, fps, 0.2) + rng.normal(0, 0.03)
    yaw = 0.08 * k * smooth_noise(rng, n, fps, 0.2)
    lateral = rng.normal(0, spec.light_spread)
    lx = lateral + 0.05 * smooth_noise(rng, n, fps, 0.05)
    ly = -0.35 + 0.05 * smooth_noise(rng, n, fps, 0.05)
    light = np.stack([lx, ly, np.ones(n)], axis=1)
    light /= np.linalg.norm(light, axis=1, keepdims=True)
    gain = np.exp(spec.exposure_drift * smooth_noise(rng, n, fps, 0.05))
    gaze = np.stack([0.6 * smooth_noise(rng, n, fps, 0.3), 0.4 * smooth_noise(rng, n, fps, 0.3)], axis=1)
    return Motion(
        dx=dx,
        dy=dy,
        scale=scale,
        roll=roll,
        yaw=yaw,
        blink=blink_track(rng, n, fps),
        mouth=mouth,
        speech=speech,
        brow=np.clip(0.6 * nod, 0, 1),
        gain=gain,
        light=light,
        gaze=np.clip(gaze, -1, 1),
    )
