"""Actors (one original video's content) and the per-frame image formation shared by all videos.

An :class:`Actor` is everything random about one original video: identity, motion, pulse,
framing and background, drawn from ``numpy_rng(seed, "actor", index)`` so a fake that needs the
same person as target or source re-creates it exactly. :func:`head_layers` renders one head into
frame coordinates; :func:`shoot` applies the pulse to skin, exposure and sensor noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from umcl.data.synthff.camera import Pose, expose, make_background, to_frame, warp_layers
from umcl.data.synthff.config import SynthFFConfig
from umcl.data.synthff.faces import DEPTH_68, Identity, apply_expression, neutral_landmarks, sample_identity
from umcl.data.synthff.head import Canvas, make_canvas, render_head
from umcl.data.synthff.motion import Motion, sample_motion
from umcl.data.synthff.pulse import PPG_RGB_WEIGHTS, PulseTrack, sample_pulse
from umcl.data.synthff.variants import VariantSpec, variant_spec
from umcl.seeding import numpy_rng

MASK_SIZE = 64  # side of the stored manipulation masks


@dataclass
class Actor:
    """One synthetic original video's content (deterministic for (seed, index))."""

    index: int
    ident: Identity
    neutral: np.ndarray  # [68, 2] face units
    motion: Motion
    pulse: PulseTrack
    base: tuple[float, float, float]  # face-box centre x, y and width (px)
    background: np.ndarray  # [H, W, 3] float32
    n_frames: int
    fps: float
    resolution: int
    spec: VariantSpec


def resolved(cfg: SynthFFConfig) -> tuple[int, float, VariantSpec]:
    """Resolution, fps and variant spec after applying the variant defaults."""
    spec = variant_spec(cfg.variant)
    return cfg.resolution or spec.resolution, float(cfg.fps or spec.fps), spec


def make_actor(cfg: SynthFFConfig, index: int) -> Actor:
    """Create original video ``index`` of the dataset described by ``cfg``."""
    res, fps, spec = resolved(cfg)
    rng = numpy_rng(cfg.seed, "actor", cfg.variant, index)
    ident = sample_identity(rng, index, spec.skin_tones(), spec.background)
    motion = sample_motion(rng, cfg.n_frames, fps, spec)
    pulse = sample_pulse(rng, cfg.n_frames, fps, cfg.hr_min, cfg.hr_max)
    size = rng.uniform(*spec.face_frac) * res
    cx = res / 2 + rng.normal(0, 0.04) * res
    cy = res * 0.47 + rng.normal(0, 0.03) * res
    bg = make_background(ident, rng, (res, res))
    return Actor(
        index=index,
        ident=ident,
        neutral=neutral_landmarks(ident),
        motion=motion,
        pulse=pulse,
        base=(float(cx), float(cy), float(size)),
        background=bg,
        n_frames=cfg.n_frames,
        fps=fps,
        resolution=res,
        spec=spec,
    )


def canvas_scale(actor: Actor) -> float:
    """Canvas pixels per face unit: ~1.4x the on-screen face size (supersampled edges)."""
    return max(60.0, 1.4 * actor.base[2])


def canvas_for(ident: Identity, neutral: np.ndarray, actor: Actor) -> Canvas:
    """The per-video canvas of ``ident`` at the scale of ``actor``'s framing."""
    return make_canvas(ident, neutral, canvas_scale(actor))


def pose_at(actor: Actor, t: int) -> Pose:
    """Head pose of frame ``t`` (kept inside the frame)."""
    m = actor.motion
    cx, cy, size = actor.base
    s = size * m.scale[t]
    lim = actor.resolution
    x = float(np.clip(cx + m.dx[t] * size, 0.45 * s, lim - 0.45 * s))
    y = float(np.clip(cy + m.dy[t] * size, 0.55 * s, lim - 0.5 * s))
    return Pose(cx=x, cy=y, size=float(s), roll=float(m.roll[t]), yaw=float(m.yaw[t]))


def expression_pts(neutral: np.ndarray, motion: Motion, t: int, yaw: float) -> np.ndarray:
    """Landmarks (face units) of ``neutral`` with ``motion``'s expression at ``t`` and yaw parallax."""
    pts = apply_expression(neutral, float(motion.blink[t]), float(motion.mouth[t]), 0.0, float(motion.brow[t]))
    pts[:, 0] += np.sin(yaw) * 0.5 * DEPTH_68
    return pts


def face_light(motion: Motion, t: int, roll: float) -> np.ndarray:
    """Camera-frame light direction rotated into the (rolled) face frame."""
    lx, ly, lz = motion.light[t]
    c, s = np.cos(-roll), np.sin(-roll)
    return np.array([c * lx - s * ly, s * lx + c * ly, lz])


def head_layers(
    ident: Identity, canvas: Canvas, pts: np.ndarray, pose: Pose, light: np.ndarray, res: int, gaze=(0.0, 0.0)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render a head from face-unit landmarks and warp it into the frame (rgb, skin, alpha)."""
    rgb, skin, alpha = render_head(ident, pts, light, canvas, gaze=tuple(gaze))
    return warp_layers(rgb, skin, alpha, pose, canvas.scale, (res, res))


def composite(background: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Head over background (rgb is already premultiplied by coverage)."""
    return background * (1 - alpha[..., None]) + rgb


def pulse_factor(skin: np.ndarray, value: float | np.ndarray, amplitude: float) -> np.ndarray:
    """Per-pixel multiplicative BVP factor: 1 - a * w_c * p * skin (``value`` scalar or [H, W])."""
    p = np.asarray(value, np.float32)
    mod = (skin * p)[..., None] * (amplitude * PPG_RGB_WEIGHTS.astype(np.float32))
    return 1.0 - mod


def shoot(linear: np.ndarray, actor: Actor, t: int, rng: np.random.Generator) -> np.ndarray:
    """Camera: exposure drift, optical blur, shot/read noise, 8-bit quantisation."""
    spec = actor.spec
    blur = spec.blur * actor.resolution / 256
    return expose(linear, float(actor.motion.gain[t]), rng, spec.read_noise, spec.shot_noise, blur)


@dataclass
class TargetFrame:
    """One frame of an actor's own head over its background, before the pulse and the camera: what
    its original shows and what every fake with it as target blends the manipulated region into."""

    pose: Pose
    pts: np.ndarray  # [68, 2] face units, with the frame's expression
    light: np.ndarray
    base: np.ndarray  # [H, W, 3] head composited over the background (linear)
    skin: np.ndarray  # [H, W] skin coverage (where the pulse shows)


class TargetLayers:
    """An actor's :class:`TargetFrame` per frame, each rendered on first use and then kept, so an
    original and the fakes made on it render the actor's head once (the results are the same
    arrays as rendering it each time)."""

    def __init__(self, actor: Actor):
        self.actor = actor
        self.canvas = canvas_for(actor.ident, actor.neutral, actor)
        self._frames: dict[int, TargetFrame] = {}

    def __getitem__(self, t: int) -> TargetFrame:
        frame = self._frames.get(t)
        if frame is None:
            a = self.actor
            pose = pose_at(a, t)
            light = face_light(a.motion, t, pose.roll)
            pts = expression_pts(a.neutral, a.motion, t, pose.yaw)
            rgb, skin, alpha = head_layers(a.ident, self.canvas, pts, pose, light, a.resolution, a.motion.gaze[t])
            frame = self._frames[t] = TargetFrame(pose, pts, light, composite(a.background, rgb, alpha), skin)
        return frame


def render_original(
    actor: Actor,
    amplitude: float,
    noise_rng: np.random.Generator,
    progress=None,
    layers: TargetLayers | None = None,
):
    """All frames of an original video plus its ground truth dict (``layers``: the actor's, shared
    with the fakes made on it)."""
    layers = TargetLayers(actor) if layers is None else layers
    frames = np.empty((actor.n_frames, actor.resolution, actor.resolution, 3), np.uint8)
    lms = np.empty((actor.n_frames, 68, 2), np.float32)
    for t in range(actor.n_frames):
        own = layers[t]
        lin = own.base * pulse_factor(own.skin, actor.pulse.wave[t], amplitude)
        frames[t] = shoot(lin, actor, t, noise_rng)
        lms[t] = to_frame(own.pts, own.pose)
        if progress is not None:
            progress()
    gt = base_ground_truth(actor, lms, amplitude)
    return frames, gt


def base_ground_truth(actor: Actor, landmarks: np.ndarray, amplitude: float) -> dict:
    """Ground-truth arrays every video has (originals: no manipulation mask)."""
    n = actor.n_frames
    return {
        "pulse": actor.pulse.wave.astype(np.float32),
        "hr_bpm": actor.pulse.hr_bpm.astype(np.float32),
        "hr": np.float32(actor.pulse.hr_mean),
        "pulse_amplitude": np.float32(amplitude),
        "pulse_rgb_weights": PPG_RGB_WEIGHTS.astype(np.float32),
        "landmarks": landmarks.astype(np.float32),
        "mask": np.zeros((n, MASK_SIZE, MASK_SIZE), np.uint8),
        "pulse_inside": actor.pulse.wave.astype(np.float32),
        "pulse_inside_gain": np.float32(1.0),
        "hr_inside": np.float32(actor.pulse.hr_mean),
        "blink": actor.motion.blink.astype(np.float32),
        "mouth": actor.motion.mouth.astype(np.float32),
        "fps": np.float32(actor.fps),
        "pose": poses(actor),
    }


def poses(actor: Actor) -> np.ndarray:
    """Head pose per frame [T, 5]: face-box centre x, y (px), face size (px), roll, yaw (rad)."""
    return np.array(
        [[p.cx, p.cy, p.size, p.roll, p.yaw] for p in map(lambda t: pose_at(actor, t), range(actor.n_frames))],
        np.float32,
    )
