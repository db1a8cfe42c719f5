"""A synthetic face-like crop clip with a known pulse (NumPy only): the fixture of ``umcl pulse``'s
tests, the open-rppg reference inputs and the crop-size check of docs/results/default-sizing.md.

How the pulse enters the pixels (what makes it "physiologically plausible"):

* skin: an ellipse of a light-skin RGB reflectance (0.78, 0.57, 0.47) with a smooth top-lit shading
  and a low-frequency texture, darker eyes, brows and mouth, on a textured grey background;
* pulse: the blood-volume-pulse colour signature of de Haan & van Leest (Physiol. Meas. 35, 2014):
  the normalised skin colour varies along ``P_bv = (0.33, 0.77, 0.53)`` (green strongest), with a
  relative peak amplitude of ``amplitude`` in the green channel (default 0.4 %, about 0.6 grey
  levels: real rPPG amplitudes are a few tenths of a per cent of the skin's DC level);
* perfusion: the modulation is spatially weighted (forehead and cheeks 1.0, the rest of the face
  0.6, nothing off-skin), as blood perfusion is uneven over the face;
* waveform: a fundamental plus a second harmonic at 0.35 of its amplitude (a PPG's systolic peak and
  dicrotic shoulder), a slow 0.25 Hz respiratory baseline wander of the skin's DC level, and sensor
  noise (Gaussian, ``noise`` grey levels) before uint8 quantisation.
"""

from __future__ import annotations

import numpy as np

SKIN_RGB = np.array([0.78, 0.57, 0.47])
#: de Haan & van Leest (2014), normalised blood-volume-pulse signature in RGB
P_BV = np.array([0.33, 0.77, 0.53])


def pulse_waveform(frames: int, fps: float, bpm: float) -> np.ndarray:
    """Unit-peak PPG-like waveform (fundamental + second harmonic) at ``bpm``, one value per frame."""
    t = np.arange(frames) / fps
    phase = 2 * np.pi * bpm / 60.0 * t
    w = np.sin(phase) + 0.35 * np.sin(2 * phase + 0.8)
    return w / np.abs(w).max()


def pulse_face_clip(
    frames: int = 160,
    size: int = 128,
    bpm: float = 75.0,
    fps: float = 30.0,
    seed: int = 0,
    amplitude: float = 0.004,
    noise: float = 1.5,
) -> np.ndarray:
    """uint8 RGB clip ``[frames, size, size, 3]`` of a face-like crop whose skin carries a ``bpm`` pulse."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    face = ((xx - 0.5) / 0.36) ** 2 + ((yy - 0.52) / 0.46) ** 2 <= 1.0
    eyes = (((xx - 0.35) / 0.07) ** 2 + ((yy - 0.42) / 0.035) ** 2 <= 1) | (
        ((xx - 0.65) / 0.07) ** 2 + ((yy - 0.42) / 0.035) ** 2 <= 1
    )
    brows = (np.abs(yy - 0.34) < 0.015) & (np.abs(np.abs(xx - 0.5) - 0.15) < 0.08)
    mouth = ((xx - 0.5) / 0.12) ** 2 + ((yy - 0.75) / 0.03) ** 2 <= 1
    skin = face & ~eyes & ~brows & ~mouth
    shading = 0.85 + 0.15 * (1 - yy) - 0.25 * ((xx - 0.5) ** 2)
    coarse = rng.normal(0, 1, (size // 8 + 1, size // 8 + 1))
    texture = 0.03 * np.kron(coarse, np.ones((8, 8)))[:size, :size]
    base = np.where(face[..., None], SKIN_RGB * (shading + texture)[..., None], 0.35 + 2 * texture[..., None])
    base[eyes | brows] = 0.18
    base[mouth] = (0.55, 0.28, 0.28)
    perfusion = np.where(skin, 0.6, 0.0)
    perfusion[skin & ((yy < 0.38) | ((np.abs(xx - 0.5) > 0.15) & (yy > 0.5) & (yy < 0.7)))] = 1.0
    signature = P_BV / P_BV[1] * amplitude  # green peak = amplitude
    wave = pulse_waveform(frames, fps, bpm)
    breath = 0.003 * np.sin(2 * np.pi * 0.25 * np.arange(frames) / fps + 0.3)
    out = np.empty((frames, size, size, 3), np.uint8)
    for i in range(frames):
        rel = 1.0 + perfusion[..., None] * (signature * wave[i]) + breath[i] * face[..., None]
        frame = 255.0 * base * rel + rng.normal(0, noise, base.shape)
        out[i] = np.clip(np.round(frame), 0, 255).astype(np.uint8)
    return out
