"""Blood-volume pulse (BVP) of one synthetic person and how it colours the skin.

Each heartbeat raises the blood volume in the dermis; haemoglobin absorbs most in green, then
blue, then red, so the reflected light dims slightly, most in green. We modulate the linear RGB
of every *skin* pixel by ``1 - a * w_c * p(t)`` with ``w = [0.33, 0.77, 0.53] / 0.77`` (relative
PPG absorption per channel, as used by the POS/CHROM skin-reflection model) and ``a`` a fraction
of a percent; the same ``p(t)`` everywhere on the skin (the cardiac wave reaches the face within
milliseconds, so it is coherent at video rates). The heart rate is drawn per video in
[hr_min, hr_max] bpm and wanders slowly (~2-3 bpm, < 0.05 Hz); the waveform has a systolic peak
and a dicrotic notch (first three harmonics) with respiratory amplitude modulation (~0.25 Hz).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from umcl.data.synthff.motion import smooth_noise

PPG_RGB_WEIGHTS = np.array([0.33, 0.77, 0.53]) / 0.77


@dataclass
class PulseTrack:
    """One video's pulse: unit-std waveform per frame and instantaneous/mean heart rate."""

    wave: np.ndarray  # [T] unit-std BVP (positive = more blood = darker skin)
    hr_bpm: np.ndarray  # [T] instantaneous heart rate
    hr_mean: float  # mean heart rate over the video (bpm)


def sample_pulse(rng: np.random.Generator, n: int, fps: float, hr_min: float, hr_max: float) -> PulseTrack:
    """Draw a heart rate and synthesise the per-frame BVP waveform."""
    hr0 = rng.uniform(hr_min, hr_max)
    hr = hr0 + 2.5 * smooth_noise(rng, n, fps, 0.04)
    phase = 2 * np.pi * np.cumsum(hr / 60.0) / fps + rng.uniform(0, 2 * np.pi)
    notch = rng.uniform(0.25, 0.45)
    wave = np.cos(phase) + notch * np.cos(2 * phase - 0.9) + 0.12 * np.cos(3 * phase - 1.6)
    resp = 1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.2, 0.3) * np.arange(n) / fps + rng.uniform(0, 6.3))
    wave = wave * resp
    wave = (wave - wave.mean()) / (wave.std() + 1e-9)
    return PulseTrack(wave=wave.astype(np.float32), hr_bpm=hr.astype(np.float32), hr_mean=float(hr.mean()))
