"""A pulse (BVP and heart rate) from face crops with open-rppg's pre-trained PhysFormer.

The weights (:mod:`umcl.models.open_rppg`) were trained on 160-frame clips of 128 px face crops at
30 fps. :func:`estimate_pulse` therefore

1. resizes crops to 128 px (``cv2.INTER_AREA``) and resamples time to 30 fps (linear interpolation
   between frames) when the input has another rate;
2. runs the model on 160-frame windows every 80 frames (the last window ends on the last frame),
   each window's output standardised over time by the model;
3. overlap-adds the windows with Hann weights, maps the 30 fps signal back onto the input's frames
   and reads the heart rate with :func:`umcl.rppg.estimate_hr` (band-pass, periodogram peak).

Shorter inputs than one window fail with one line (:class:`UmclError`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from umcl.errors import UmclError
from umcl.rppg import estimate_hr

MODEL_FPS = 30.0
WINDOW = 160
STRIDE = 80
CROP = 128


@dataclass
class Pulse:
    """BVP (one value per input frame), its heart rate, the input's rate and the window count."""

    bvp: np.ndarray
    hr_bpm: float
    fps: float
    windows: int


def resample_time(x: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """``x`` [T, ...] sampled at ``fps_in`` -> at ``fps_out`` over the same span (linear in time)."""
    if abs(fps_in - fps_out) < 1e-9:
        return x
    t_in = np.arange(len(x)) / fps_in
    n_out = int(np.floor(t_in[-1] * fps_out + 1e-9)) + 1
    pos = np.arange(n_out) / fps_out * fps_in
    lo = np.minimum(np.floor(pos).astype(int), len(x) - 1)
    hi = np.minimum(lo + 1, len(x) - 1)
    w = (pos - lo).reshape(-1, *([1] * (x.ndim - 1)))
    return (1 - w) * x[lo].astype(np.float32) + w * x[hi].astype(np.float32)


def window_starts(n: int, window: int = WINDOW, stride: int = STRIDE) -> list[int]:
    """Starts of ``window``-frame windows every ``stride`` frames, the last one ending at ``n``."""
    starts = list(range(0, n - window + 1, stride))
    if starts[-1] + window < n:
        starts.append(n - window)
    return starts


def overlap_add(n: int, starts: list[int], outputs: list[np.ndarray]) -> np.ndarray:
    """Hann-weighted mean of the window ``outputs`` placed at ``starts`` over ``n`` frames."""
    acc, weight = np.zeros(n), np.zeros(n)
    hann = np.hanning(len(outputs[0]) + 2)[1:-1]  # no zero weights at the ends
    for s, y in zip(starts, outputs, strict=True):
        acc[s : s + len(y)] += hann * y
        weight[s : s + len(y)] += hann
    return acc / weight


def to_model_input(crops: np.ndarray, fps: float) -> np.ndarray:
    """uint8 crops [T, H, W, 3] at ``fps`` -> float32 [T', 128, 128, 3] in [0, 1] at 30 fps."""
    import cv2

    if crops.shape[1:3] != (CROP, CROP):
        crops = np.stack([cv2.resize(f, (CROP, CROP), interpolation=cv2.INTER_AREA) for f in crops])
    return resample_time(crops.astype(np.float32) / 255.0, fps, MODEL_FPS).astype(np.float32)


def check_length(frames: int, fps: float, source: str) -> None:
    """One line when ``frames`` at ``fps`` give fewer than one 160-frame window at 30 fps."""
    need = int(np.ceil((WINDOW - 1) * fps / MODEL_FPS)) + 1
    if frames < need:
        raise UmclError(
            f"input has {frames} frames ({frames / fps:.1f} s at {fps:g} fps); a pulse needs at least "
            f"{need} ({WINDOW} frames at {MODEL_FPS:g} fps, {WINDOW / MODEL_FPS:.1f} s)",
            source,
            f"use a clip of at least {WINDOW / MODEL_FPS:.1f} s",
        )


def estimate_pulse(
    crops: np.ndarray, fps: float, model: Callable[[torch.Tensor], torch.Tensor], source: str = "<crops>"
) -> Pulse:
    """BVP and heart rate of RGB face crops uint8 [T, H, W, 3] at ``fps`` (module docstring).

    ``model`` maps frames [1, 3, 160, 128, 128] in [0, 1] to a BVP [1, 160] (e.g. a PhysFormer's
    ``lambda x: m(m.prepare(x))``)."""
    check_length(len(crops), fps, source)
    x = to_model_input(crops, fps)
    starts = window_starts(len(x))
    outputs = []
    with torch.no_grad():
        for s in starts:
            clip = torch.from_numpy(np.ascontiguousarray(x[s : s + WINDOW])).permute(3, 0, 1, 2)[None]
            outputs.append(model(clip)[0].double().numpy())
    bvp = overlap_add(len(x), starts, outputs)
    bvp = np.interp(np.arange(len(crops)) / fps, np.arange(len(x)) / MODEL_FPS, bvp)
    return Pulse(bvp, estimate_hr(bvp, fps), fps, len(starts))


def physformer_fn(model: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``frames in [0, 1] -> BVP`` of a PhysFormer in eval mode (its own input convention)."""
    model.eval()
    return lambda clip: model(model.prepare(clip))
