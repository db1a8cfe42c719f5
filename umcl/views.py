"""Synthetic low-quality views for UMCL's cross-quality learning (§4.2, eqs. 1–2).

* :func:`make_lq_video`: "downsampling the HQ sequence by a factor of four in both spatial
  dimensions". The same P-encoder then reads HQ and LQ "face regions of size 128x128", so the
  downsampled frames are brought back to the input size. Choice: area (box-average) downsampling,
  which is what a low-resolution sensor/encoder keeps, then bilinear upsampling
  (``align_corners=False``); the LQ view therefore carries only the 32x32 information of a
  128x128 crop.
* :func:`perturb_landmarks`: eq. 2, ``L_LQ = L_HQ + ΔL`` with i.i.d. Gaussian ΔL per coordinate and
  frame. The paper gives no training σ; it evaluates robustness at σ = 0.01 and 0.05 in the
  normalised landmark units ``(p - 200) / 200`` (Table 7). We default to σ = 0.01 (2 px in the
  400 px calibration crop, the mild level), see ``UMCLConfig.landmark_sigma``.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

DEFAULT_LQ_FACTOR = 4
DEFAULT_LANDMARK_SIGMA = 0.01


def fit_frames(frames: torch.Tensor, size: int) -> torch.Tensor:
    """``frames`` [B, C, T, H, W] resized to ``size`` x ``size`` (trilinear, time unchanged); as they are
    when already that size. Lets a detector built for smaller crops read the profile's crops."""
    if frames.shape[-2:] == (size, size):
        return frames
    return F.interpolate(frames, size=(frames.shape[2], size, size), mode="trilinear", align_corners=False)


def make_lq_video(frames: torch.Tensor, factor: int = DEFAULT_LQ_FACTOR, upsample: bool = True) -> torch.Tensor:
    """LQ view of ``frames`` [B, C, T, H, W]: area-downsample H and W by ``factor``, then bilinear back.

    With ``upsample=False`` the [B, C, T, H/factor, W/factor] downsampled video is returned.
    """
    if frames.ndim != 5:
        raise ValueError(f"frames must be [B, C, T, H, W], got {tuple(frames.shape)}")
    b, c, t, h, w = frames.shape
    if factor < 1 or h % factor or w % factor:
        raise ValueError(f"LQ factor {factor} must divide the frame size {h}x{w}")
    if factor == 1:
        return frames
    flat = frames.transpose(1, 2).reshape(b * t, c, h, w)
    small = F.avg_pool2d(flat, factor)  # area downsampling for an integer factor
    out = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False) if upsample else small
    return out.reshape(b, t, c, *out.shape[-2:]).transpose(1, 2)


def perturb_landmarks(
    landmarks: torch.Tensor, sigma: float = DEFAULT_LANDMARK_SIGMA, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Eq. 2: ``landmarks + N(0, sigma^2)`` element-wise (normalised units); ``sigma = 0`` is identity."""
    if sigma < 0:
        raise ValueError(f"landmark sigma must be >= 0, got {sigma}")
    if sigma == 0:
        return landmarks
    noise = torch.randn(landmarks.shape, generator=generator, dtype=landmarks.dtype, device=landmarks.device)
    return landmarks + sigma * noise


__all__ = ["make_lq_video", "perturb_landmarks", "DEFAULT_LQ_FACTOR", "DEFAULT_LANDMARK_SIGMA"]
