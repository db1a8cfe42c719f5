"""Preprocessing speed on this machine, and key-frame detection against per-frame detection.

Run: ``.venv/bin/python -m pytest benchmarks/test_preprocess_bench.py --benchmark-only -s``
(``--benchmark-json out.json`` keeps the numbers; ``extra_info`` holds frames/s, the stage
breakdown and the box errors).

* ``test_preprocess_video_throughput[kf1|kf5]``: one SynthFF c23 video (64 frames, 256 px) through
  :func:`preprocess_video` at the paper's crop sizes (128 / 299), MTCNN on every frame or every
  5th; frames per second end to end (decode → cache), plus a per-stage breakdown.
* ``test_keyframe_detection_vs_per_frame[kf5|kf5-smooth5]``: MTCNN boxes on every 5th frame
  (interpolated in between, optionally smoothed over 5 frames) against MTCNN on every frame:
  detection frames/s side by side, and the box error between them (mean IoU, mean and max centre
  distance in px) on the frames that were interpolated and on all frames.

* ``test_side_by_side``: per-frame MTCNN against our pipeline end to end (``config/default.yaml``
  settings) at 256 px, 640x480 and 1280x720, frames/s (CPU and wall), ratio and box error, and a
  2-worker batch; the code is ``benchmarks/preprocess_speed.py`` (also a script).

Benchmarks only report; nothing here asserts a speed. Measured numbers: docs/preprocessing.md.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from umcl.data.preprocess.config import PreprocessConfig
from umcl.data.preprocess.faces import crop_faces, load_mtcnn, track_faces
from umcl.data.preprocess.geometry import box_iou

N_FRAMES = 64


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """One SynthFF original (64 frames, 256 px) encoded at c23, and its decoded frames."""
    from umcl.data.compression import encode_frames, read_video
    from umcl.data.synthff.config import SynthFFConfig
    from umcl.data.synthff.render import make_actor, render_original
    from umcl.seeding import numpy_rng

    gen = SynthFFConfig(n_identities=2, n_frames=N_FRAMES, resolution=256)
    actor = make_actor(gen, 0)
    frames, _ = render_original(actor, gen.pulse_amplitude, numpy_rng(gen.seed, "bench-noise", 0))
    path = encode_frames(frames, tmp_path_factory.mktemp("bench") / "000.mp4", "c23", actor.fps)
    decoded, _ = read_video(path)
    return path, decoded


def _stages(frames: np.ndarray, cfg: PreprocessConfig) -> dict[str, float]:
    """Seconds per stage for one video (models already loaded)."""
    from umcl.data.preprocess.calibration import calibrate_landmarks
    from umcl.data.preprocess.landmarks import DlibLandmarks, detect_landmarks

    lm = DlibLandmarks()
    out = {}
    t = time.perf_counter()
    track = track_faces(frames, cfg)
    out["mtcnn"] = time.perf_counter() - t
    t = time.perf_counter()
    raw = detect_landmarks(frames, track.boxes, lm)
    out["dlib"] = time.perf_counter() - t
    t = time.perf_counter()
    calibrate_landmarks(frames, raw)
    out["calibration"] = time.perf_counter() - t
    t = time.perf_counter()
    crop_faces(frames, track.boxes, 1.0, cfg.crop_size)
    crop_faces(frames[: cfg.xception_frames], track.boxes[: cfg.xception_frames], 1.3, cfg.xception_size)
    out["crops"] = time.perf_counter() - t
    return {k: round(v, 3) for k, v in out.items()}


@pytest.mark.parametrize("interval", [1, 5], ids=["kf1", "kf5"])
def test_preprocess_video_throughput(benchmark, video, tmp_path, interval):
    from umcl.data.preprocess.pipeline import preprocess_video

    path, frames = video
    cfg = PreprocessConfig(num_frames=N_FRAMES, keyframe_interval=interval)
    preprocess_video(path, tmp_path / "warm.npz", cfg.replace(num_frames=8, xception_frames=2))  # load models
    summary = benchmark.pedantic(preprocess_video, args=(path, tmp_path / "v.npz", cfg), rounds=1, iterations=1)
    fps = N_FRAMES / benchmark.stats.stats.mean
    stages = _stages(frames, cfg)
    benchmark.extra_info.update(
        {
            "frames_per_s": round(fps, 2),
            "keyframe_interval": interval,
            "stage_seconds": stages,
            "detection_rate": summary["detection_rate"],
        }
    )
    print(f"\npreprocess kf={interval}: {fps:.1f} frames/s end to end; stages (s/{N_FRAMES} frames): {stages}")


@pytest.mark.parametrize("smoothing", [1, 5], ids=["kf5", "kf5-smooth5"])
def test_keyframe_detection_vs_per_frame(benchmark, video, smoothing):
    _, frames = video
    frames = frames[:N_FRAMES]
    base = PreprocessConfig(num_frames=N_FRAMES)
    load_mtcnn(base.device, base.min_face_size)
    t = time.perf_counter()
    per_frame = track_faces(frames, base)
    per_frame_fps = N_FRAMES / (time.perf_counter() - t)
    cfg = base.replace(keyframe_interval=5, box_smoothing=smoothing, refine_boxes=False)  # plain interpolation
    track = benchmark.pedantic(track_faces, args=(frames, cfg), rounds=2, iterations=1)
    key_fps = N_FRAMES / benchmark.stats.stats.mean

    def errors(mask: np.ndarray) -> dict[str, float]:
        a, b = track.boxes[mask], per_frame.boxes[mask]
        centre = np.linalg.norm((a[:, :2] + a[:, 2:]) / 2 - (b[:, :2] + b[:, 2:]) / 2, axis=1)
        side = np.abs((a[:, 2] - a[:, 0]) - (b[:, 2] - b[:, 0]))
        return {
            "mean_iou": round(float(box_iou(a, b).mean()), 4),
            "centre_px_mean": round(float(centre.mean()), 2),
            "centre_px_max": round(float(centre.max()), 2),
            "side_px_mean": round(float(side.mean()), 2),
        }

    pf = per_frame.boxes
    jitter = {
        "centre_px": round(float(np.linalg.norm(np.diff((pf[:, :2] + pf[:, 2:]) / 2, axis=0), axis=1).mean()), 2),
        "side_px": round(float(np.abs(np.diff(pf[:, 2] - pf[:, 0])).mean()), 2),
    }
    info = {
        "per_frame_fps": round(per_frame_fps, 2),
        "per_frame_jitter": jitter,
        "keyframe_fps": round(key_fps, 2),
        "speedup": round(key_fps / per_frame_fps, 2),
        "box_smoothing": smoothing,
        "face_side_px": round(float((per_frame.boxes[:, 2] - per_frame.boxes[:, 0]).mean()), 1),
        "interpolated_frames": errors(~track.tried),
        "all_frames": errors(np.ones(N_FRAMES, bool)),
    }
    benchmark.extra_info.update(info)
    print(
        f"\nMTCNN every frame {per_frame_fps:.1f} fps vs every 5th (smoothing {smoothing}) {key_fps:.1f} fps; "
        f"box error vs per-frame: {info['interpolated_frames']} (interpolated), {info['all_frames']} (all); "
        f"per-frame MTCNN frame-to-frame change {jitter}"
    )


def _speed_module():
    """benchmarks/preprocess_speed.py (a script, not a package module)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("preprocess_speed", Path(__file__).with_name("preprocess_speed.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_side_by_side(benchmark):
    """Per-frame MTCNN vs our pipeline at 256 px, 640x480 and 1280x720, with box errors, in one run."""
    result = benchmark.pedantic(_speed_module().run, kwargs={"frames": 32, "batch": 4}, rounds=1, iterations=1)
    benchmark.extra_info.update(result)
