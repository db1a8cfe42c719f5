"""Domain-shifted looks of SynthFF for the cross-dataset tables.

Each variant changes the *population and capture conditions*, never the manipulation physics:
identity/skin-tone mix, background palette, default resolution and frame rate, lighting and pose
ranges, sensor noise/blur, and how carefully the fakes are blended (``artefact_scale`` multiplies
the difficulty-driven artefact strengths: Celeb-DF's improved synthesis has fewer visible
blending artefacts, DFDC's crowd-sourced clips are noisier and less uniform).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Skin albedos (linear RGB 0-1) spanning light to dark tones, roughly Fitzpatrick I-VI.
SKIN_TONES = np.array(
    [
        [0.92, 0.76, 0.66],
        [0.85, 0.66, 0.55],
        [0.78, 0.58, 0.45],
        [0.66, 0.47, 0.34],
        [0.52, 0.36, 0.25],
        [0.36, 0.24, 0.17],
    ]
)


@dataclass(frozen=True)
class VariantSpec:
    """Capture and population settings of one SynthFF look."""

    name: str
    resolution: int  # default frame side (px)
    fps: float  # default frame rate
    skin_weights: tuple[float, ...]  # sampling weight of each SKIN_TONES row
    background: str  # "indoor" | "studio" | "outdoor"
    face_frac: tuple[float, float]  # face width / frame side
    light_spread: float  # std of the light direction's lateral component
    pose_scale: float  # multiplies head-motion amplitudes
    read_noise: float  # sensor read noise (fraction of full scale)
    shot_noise: float  # shot-noise coefficient
    blur: float  # optical blur sigma (px at 256 px frames)
    artefact_scale: float  # multiplies manipulation artefact strengths
    exposure_drift: float  # std of the slow exposure gain drift

    def skin_tones(self) -> np.ndarray:
        """Skin tones repeated by weight (a palette to sample uniformly)."""
        reps = np.round(np.asarray(self.skin_weights) * 10).astype(int)
        return np.repeat(SKIN_TONES, reps, axis=0)


VARIANT_SPECS: dict[str, VariantSpec] = {
    # FaceForensics++: YouTube news/vlog speakers, mostly frontal, indoor, moderate quality.
    "ff": VariantSpec(
        "ff", 256, 25.0, (1, 1.2, 1, 0.8, 0.6, 0.5), "indoor", (0.29, 0.37), 0.3, 1.0, 0.006, 0.008, 0.5, 1.0, 0.02
    ),
    # Celeb-DF: celebrity interviews, higher quality, more pose, better-blended fakes.
    "celebdf": VariantSpec(
        "celebdf",
        320,
        30.0,
        (1.5, 1.5, 1, 0.6, 0.5, 0.5),
        "indoor",
        (0.26, 0.34),
        0.45,
        1.4,
        0.004,
        0.006,
        0.4,
        0.5,
        0.03,
    ),
    # DFD (Google/Jigsaw): paid actors in studio-like rooms, even lighting.
    "dfd": VariantSpec(
        "dfd", 256, 24.0, (1, 1, 1, 1, 1, 1), "studio", (0.24, 0.31), 0.15, 0.8, 0.005, 0.007, 0.6, 0.8, 0.01
    ),
    # DFDC: crowd-sourced phone videos, varied lighting, noisy, low quality, more diverse tones.
    "dfdc": VariantSpec(
        "dfdc", 192, 30.0, (0.8, 0.8, 1, 1.2, 1.4, 1.4), "outdoor", (0.23, 0.34), 0.6, 1.6, 0.012, 0.02, 0.9, 1.2, 0.05
    ),
}


def variant_spec(name: str) -> VariantSpec:
    """The spec of a variant name (validated by :class:`SynthFFConfig`)."""
    return VARIANT_SPECS[name]
