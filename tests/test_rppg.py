"""Weight-free rPPG (POS, CHROM, GREEN) and the NumPy heart-rate estimate on controlled traces."""

from __future__ import annotations

import numpy as np
import pytest

from umcl.errors import UmclError
from umcl.rppg import chrom, estimate_hr, green, pos


def _trace(hr_bpm: float, fps: float = 30.0, seconds: float = 12.0, seed: int = 0) -> np.ndarray:
    """Skin trace: BVP along the PPG direction + a strong common-mode intensity drift + noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(fps * seconds)) / fps
    bvp = np.sin(2 * np.pi * hr_bpm / 60 * t)
    drift = 1 + 0.05 * np.sin(2 * np.pi * 0.15 * t)  # illumination: same factor on all channels
    base = np.array([180.0, 120.0, 100.0])
    ppg = np.array([0.33, 0.77, 0.53])
    return base * drift[:, None] * (1 - 0.002 * bvp[:, None] * ppg) + rng.normal(0, 0.05, (len(t), 3))


@pytest.mark.parametrize("hr", [55.0, 72.0, 96.0, 110.0])
def test_methods_recover_heart_rate(hr):
    rgb = _trace(hr, seed=int(hr))
    for signal in (pos(rgb, 30.0), chrom(rgb, 30.0)):
        assert abs(estimate_hr(signal, 30.0) - hr) < 2.0
    assert abs(estimate_hr(green(rgb), 30.0) - hr) < 3.0


def test_pos_cancels_common_mode_intensity():
    """A pure illumination change (no pulse) leaves almost nothing after POS."""
    t = np.arange(300) / 30
    rgb = np.array([180.0, 120.0, 100.0]) * (1 + 0.05 * np.sin(2 * np.pi * 1.2 * t))[:, None]
    assert np.abs(pos(rgb, 30.0)).max() < 1e-9


def test_rppg_rejects_bad_input():
    with pytest.raises(UmclError):
        pos(np.zeros((10, 2)), 30.0)
    with pytest.raises(UmclError):
        chrom(np.ones((20, 3)), 30.0)  # shorter than one 1.6 s window
    with pytest.raises(UmclError):
        estimate_hr(np.zeros(4), 30.0)
