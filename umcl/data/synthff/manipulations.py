"""The four FaceForensics++ manipulations, each leaving the physical trace of its namesake.

A fake ``<target>_<source>`` keeps the target video's background, framing, head motion and the
target's pulse *outside* a soft mask; inside the mask it shows a re-rendered face:

* **Deepfakes** (autoencoder face swap): the source identity's inner face with the target's
  expression, decoded per frame at low resolution (blur), placed with a per-frame alignment jitter
  (temporal flicker) and partial colour correction. The decoder has no notion of blood flow:
  **no pulse inside the mask**.
* **FaceSwap** (graphics, landmark-driven): the source video's face texture warped onto the
  target's landmarks, colour-corrected, blended with a fairly sharp hull mask. The texture comes
  from the source frame, so **the source video's pulse (its own rate and phase)** is inside.
* **Face2Face** (expression reenactment): the target identity re-rendered from a face model with
  the *source* video's expression (blinks, mouth, brows), so expression dynamics are decoupled
  from the target's head motion. The re-rendered texture is a smoothed model texture: the live
  **pulse is attenuated to 20 %** inside.
* **NeuralTextures** (learned texture, mouth only): only the mouth region is re-rendered with the
  source's mouth motion and a subtly different (neural) lip/skin texture; **pulse suppressed to
  10 %** there.

Visible artefact strengths come from one number, ``art = variant.artefact_scale * (1.5 -
difficulty)``: blend-edge sharpness, colour mismatch, jitter and re-rendering blur all scale with
it. The pulse gains above are the methods' physics and do not depend on ``difficulty``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from umcl.data.synthff.camera import Pose, to_frame
from umcl.data.synthff.motion import Motion
from umcl.data.synthff.render import (
    MASK_SIZE,
    Actor,
    TargetLayers,
    base_ground_truth,
    canvas_for,
    composite,
    expression_pts,
    head_layers,
    pulse_factor,
    shoot,
)

PULSE_GAIN = {"Deepfakes": 0.0, "FaceSwap": 1.0, "Face2Face": 0.2, "NeuralTextures": 0.1}


@dataclass
class Strength:
    """Visible artefact strengths of one method (derived from ``art``; see module docstring)."""

    jitter: float  # per-frame alignment noise (fraction of face size / radians)
    blur: float  # re-rendering blur (fraction of face size, as Gaussian sigma)
    edge: float  # mask edge softness (fraction of face size, Gaussian sigma)
    colour: float  # residual colour mismatch after correction (0 = perfect correction)
    flicker: float  # per-frame colour noise of the re-rendered region


def artefact_level(difficulty: float, artefact_scale: float) -> float:
    """The single artefact knob: ``artefact_scale * 2`` at difficulty -0.5 (the strongest; the
    default, set by the difficulty sweep), ``* 1.5`` at 0, ``artefact_scale`` at 0.5, half of it
    at 1; lower = subtler. Clipped to [0, 2]."""
    return float(np.clip(artefact_scale * (1.5 - difficulty), 0.0, 2.0))


def strengths(method: str, art: float) -> Strength:
    """Artefact strengths of ``method`` at artefact level ``art``."""
    table = {
        "Deepfakes": Strength(
            jitter=0.008 * art, blur=0.008 * art, edge=0.05 / (1 + art), colour=0.35 * art, flicker=0.004 * art
        ),
        "FaceSwap": Strength(jitter=0.0, blur=0.004 * art, edge=0.02 / (1 + art), colour=0.25 * art, flicker=0.0),
        "Face2Face": Strength(jitter=0.0, blur=0.005 * art, edge=0.04 / (1 + art), colour=0.05 * art, flicker=0.0),
        "NeuralTextures": Strength(
            jitter=0.0, blur=0.004 * art, edge=0.03 / (1 + art), colour=0.06 * art, flicker=0.002 * art
        ),
    }
    return table[method]


def _mix_motion(a: Motion, b: Motion, eyes_from_b: bool, mouth_from_b: bool) -> Motion:
    """Target motion with the expression channels taken from the source where asked."""
    return dataclasses.replace(
        a,
        blink=b.blink if eyes_from_b else a.blink,
        brow=b.brow if eyes_from_b else a.brow,
        mouth=b.mouth if mouth_from_b else a.mouth,
        gaze=b.gaze if eyes_from_b else a.gaze,
    )


def _hull_mask(points: np.ndarray, res: int, sigma_px: float, erode: float = 1.0) -> np.ndarray:
    """Soft mask of the convex hull of frame-pixel points (scaled by ``erode`` about their centre)."""
    c = points.mean(axis=0)
    pts = c + (points - c) * erode
    hull = cv2.convexHull(np.round(pts * 16).astype(np.int32))
    m = np.zeros((res, res), np.float32)
    cv2.fillConvexPoly(m, hull, 1.0, cv2.LINE_AA, 4)
    return cv2.GaussianBlur(m, (0, 0), max(0.5, sigma_px)) if sigma_px > 0 else m


def _colour_gain(src: np.ndarray, dst: np.ndarray, m: np.ndarray, residual: float) -> np.ndarray:
    """Per-channel gain moving ``src``'s mean colour inside ``m`` towards ``dst``'s, leaving ``residual``.

    Computed on pulse-free layers so the correction never transfers one face's pulse to the other.
    """
    w = m[..., None]
    tot = w.sum() + 1e-6
    ms = (src * w).sum(axis=(0, 1)) / tot
    md = (dst * w).sum(axis=(0, 1)) / tot
    ratio = (md / np.maximum(ms, 1e-4)) ** (1 - min(residual, 1.0))
    return ratio.astype(np.float32)


@dataclass
class FakeFrame:
    """What a method contributes to one frame."""

    src_linear: np.ndarray  # re-rendered region, before blending (with its own pulse)
    mask: np.ndarray  # [H, W] soft blend mask
    landmarks: np.ndarray  # [68, 2] frame px of the visible face


def render_fake(
    method: str,
    target: Actor,
    source: Actor,
    amplitude: float,
    art: float,
    noise_rng: np.random.Generator,
    jitter_rng: np.random.Generator,
    progress: Callable[[], None] | None = None,
    layers: TargetLayers | None = None,
):
    """All frames of the fake ``target_source`` made with ``method``, and its ground truth (``layers``:
    the target's own frames, shared with its original and its other fakes)."""
    st = strengths(method, art)
    res = target.resolution
    n = min(target.n_frames, source.n_frames)
    layers = TargetLayers(target) if layers is None else layers
    own_canvas = layers.canvas
    if method == "Deepfakes":
        src_ident, src_canvas = source.ident, canvas_for(source.ident, source.neutral, target)
        motion = target.motion
    elif method == "FaceSwap":
        # Source texture on the target's geometry: source colours/texture, target's shape normals.
        src_ident = source.ident
        src_canvas = canvas_for(source.ident, target.neutral, target)
        motion = target.motion
    elif method == "Face2Face":
        src_ident, src_canvas = target.ident, own_canvas
        motion = _mix_motion(target.motion, source.motion, eyes_from_b=True, mouth_from_b=True)
    else:  # NeuralTextures
        lip = tuple(
            float(c) for c in np.clip(np.array(target.ident.lip) * (1 + 0.05 * art * np.array([1, -1, -1])), 0, 1)
        )
        src_ident = dataclasses.replace(target.ident, lip=lip)
        src_canvas = own_canvas
        motion = _mix_motion(target.motion, source.motion, eyes_from_b=False, mouth_from_b=True)
    inside_wave = {
        "Deepfakes": np.zeros(n, np.float32),
        "FaceSwap": source.pulse.wave[:n],
        "Face2Face": target.pulse.wave[:n] * PULSE_GAIN["Face2Face"],
        "NeuralTextures": target.pulse.wave[:n] * PULSE_GAIN["NeuralTextures"],
    }[method]

    frames = np.empty((n, res, res, 3), np.uint8)
    lms = np.empty((n, 68, 2), np.float32)
    masks = np.empty((n, MASK_SIZE, MASK_SIZE), np.uint8)
    for t in range(n):
        own = layers[t]
        pose, light, pts_t, tgt_base = own.pose, own.light, own.pts, own.base
        tgt = tgt_base * pulse_factor(own.skin, target.pulse.wave[t], amplitude)
        ff = _method_frame(
            method,
            target,
            source,
            motion,
            src_ident,
            src_canvas,
            pose,
            light,
            pts_t,
            t,
            st,
            jitter_rng,
            tgt_base,
            inside_wave[t],
            amplitude,
        )
        m = ff.mask[..., None]
        lin = tgt * (1 - m) + ff.src_linear * m
        frames[t] = shoot(lin, target, t, noise_rng)
        lms[t] = ff.landmarks
        masks[t] = np.round(cv2.resize(ff.mask, (MASK_SIZE, MASK_SIZE), interpolation=cv2.INTER_AREA) * 255)
        if progress is not None:
            progress()
    tgt_short = dataclasses.replace(target, n_frames=n)
    gt = base_ground_truth(tgt_short, lms, amplitude)
    gt.update(
        {
            "pulse": target.pulse.wave[:n],
            "hr_bpm": target.pulse.hr_bpm[:n],
            "mask": masks,
            "pulse_inside": np.asarray(inside_wave, np.float32),
            "pulse_inside_gain": np.float32(PULSE_GAIN[method]),
            "hr_inside": np.float32(
                source.pulse.hr_mean
                if method == "FaceSwap"
                else (np.nan if method == "Deepfakes" else target.pulse.hr_mean)
            ),
            "source_pulse": source.pulse.wave[:n],
            "source_hr": np.float32(source.pulse.hr_mean),
            "blink": motion.blink[:n].astype(np.float32),
            "mouth": motion.mouth[:n].astype(np.float32),
            "artefact_level": np.float32(art),
        }
    )
    return frames, gt


def _method_frame(
    method,
    target,
    source,
    motion,
    src_ident,
    src_canvas,
    pose: Pose,
    light,
    pts_t,
    t,
    st: Strength,
    jrng,
    tgt_base,
    inside_value,
    amplitude,
) -> FakeFrame:
    res, size = target.resolution, pose.size
    lm_t = to_frame(pts_t, pose)
    if method == "Deepfakes":
        jp = Pose(
            cx=pose.cx + jrng.normal(0, st.jitter) * size,
            cy=pose.cy + jrng.normal(0, st.jitter) * size,
            size=size * (1 + jrng.normal(0, st.jitter)),
            roll=pose.roll + jrng.normal(0, st.jitter),
            yaw=pose.yaw,
        )
        pts = expression_pts(source.neutral, target.motion, t, pose.yaw)
        rgb, skin, alpha = head_layers(src_ident, src_canvas, pts, jp, light, res, target.motion.gaze[t])
        lm = lm_t.copy()
        lm[17:] = to_frame(pts, jp)[17:]
        mask = _hull_mask(np.concatenate([lm_t[2:15], lm_t[17:27]]), res, st.edge * size, erode=0.92)
    elif method == "FaceSwap":
        rgb, skin, alpha = head_layers(src_ident, src_canvas, pts_t, pose, light, res, target.motion.gaze[t])
        lm = lm_t
        mask = _hull_mask(lm_t, res, st.edge * size, erode=0.95)
    elif method == "Face2Face":
        pts = expression_pts(target.neutral, motion, t, pose.yaw)
        rgb, skin, alpha = head_layers(src_ident, src_canvas, pts, pose, light, res, motion.gaze[t])
        lm = to_frame(pts, pose)
        mask = _hull_mask(np.concatenate([lm[1:16], lm[17:27]]), res, st.edge * size, erode=0.95)
    else:  # NeuralTextures
        pts = expression_pts(target.neutral, motion, t, pose.yaw)
        rgb, skin, alpha = head_layers(src_ident, src_canvas, pts, pose, light, res, target.motion.gaze[t])
        lm = to_frame(pts, pose)
        mouth = lm[48:60]
        c = mouth.mean(axis=0)
        region = c + (mouth - c) * [1.5, 2.2]
        mask = _hull_mask(np.concatenate([region, lm[[31, 35]]]), res, st.edge * size)
    src_base = composite(target.background, rgb, alpha)
    src = src_base * pulse_factor(skin, inside_value, amplitude) * _colour_gain(src_base, tgt_base, mask, st.colour)
    if st.blur > 0:
        src = cv2.GaussianBlur(src, (0, 0), max(0.3, st.blur * size))
    if st.flicker > 0:
        src = src * (1 + jrng.normal(0, st.flicker, 3)).astype(np.float32)
    return FakeFrame(src_linear=src.astype(np.float32), mask=mask, landmarks=lm)
