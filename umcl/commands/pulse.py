"""``umcl pulse``: BVP and heart rate of a face video or a crop array with a pre-trained PhysFormer."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from umcl.errors import UmclError
from umcl.logs import get_logger, setup_logging

HELP = "BVP and heart rate of a face video or .npy crop array (open-rppg PhysFormer, PURE/RLAP weights)"
log = get_logger("pulse")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="a face video, or a .npy uint8 array [T, H, W, 3] of RGB face crops")
    parser.add_argument("--weights", default="pure", help="pure, rlap, or a PhysFormer .h5 file (default pure)")
    parser.add_argument(
        "--fps", type=float, default=None, help="frame rate (default: the video's; 30 for a .npy array)"
    )
    parser.add_argument("--max-frames", type=int, default=1800, help="decode at most this many video frames")
    parser.add_argument("--out", type=Path, required=True, help="output folder: bvp.csv, pulse.json, pulse.png")
    parser.add_argument("--log", type=Path, default=None, help="append the log to this file")


def load_array(path: Path) -> np.ndarray:
    """A .npy uint8 [T, H, W, 3] crop array; one line for anything else."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise UmclError(
            f"not a readable NumPy .npy array ({type(exc).__name__})",
            path,
            "save the crops with numpy.save as a uint8 array [T, H, W, 3]",
        ) from exc
    if not isinstance(arr, np.ndarray) or arr.ndim != 4 or arr.shape[-1] != 3 or min(arr.shape) == 0:
        raise UmclError(
            f"crop array has shape {getattr(arr, 'shape', None)}, not [T, H, W, 3]",
            path,
            "save RGB face crops as a uint8 array [T, H, W, 3]",
        )
    if arr.dtype != np.uint8:
        raise UmclError(
            f"crop array is {arr.dtype}, not uint8",
            path,
            "save the crops as uint8 RGB values 0-255 (e.g. (x * 255).round().astype('uint8'))",
        )
    return arr


def load_video_crops(path: Path, max_frames: int, fps: float | None) -> tuple[np.ndarray, float]:
    """128 px face crops of a video (faces found as preprocessing finds them) and its frame rate
    (``fps`` when given); a video too short for one window fails before the face search."""
    from umcl.data.preprocess.config import PreprocessConfig
    from umcl.data.preprocess.faces import crop_faces
    from umcl.data.preprocess.pipeline import track_or_fail
    from umcl.data.preprocess.video import read_first_frames
    from umcl.pulse import CROP, check_length

    frames, info = read_first_frames(path, max_frames)
    fps = fps or info.fps
    check_length(len(frames), fps, str(path))
    cfg = PreprocessConfig(num_frames=len(frames), crop_size=CROP, xception_frames=1)
    track = track_or_fail(frames, cfg, path)
    return crop_faces(frames, track.boxes, cfg.face_scale, CROP), fps


def plot(path: Path, bvp: np.ndarray, fps: float, hr: float) -> None:
    """BVP over time and its periodogram (40-210 bpm) with the heart rate marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import signal as sps

    freqs, power = sps.periodogram(bvp - bvp.mean(), fs=fps, nfft=max(len(bvp), int(60 * fps / 0.25)), window="hann")
    bpm = freqs * 60
    sel = (bpm >= 40) & (bpm <= 210)
    fig, (a, b) = plt.subplots(2, 1, figsize=(7, 5), constrained_layout=True)
    a.plot(np.arange(len(bvp)) / fps, bvp, lw=0.8)
    a.set(xlabel="time (s)", ylabel="BVP (standardised)", title="pulse")
    b.plot(bpm[sel], power[sel], lw=0.8)
    b.axvline(hr, color="C3", ls="--", label=f"{hr:.1f} bpm")
    b.set(xlabel="heart rate (bpm)", ylabel="power")
    b.legend()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    from umcl.io_utils import atomic_path, check_output_path
    from umcl.models.open_rppg import build_physformer
    from umcl.pulse import MODEL_FPS, check_length, estimate_pulse, physformer_fn

    setup_logging(args.log)
    check_output_path(args.out, is_dir=True, kind="pulse")
    if args.fps is not None and not (math.isfinite(args.fps) and args.fps > 0):
        raise UmclError(f"--fps {args.fps} is not a positive frame rate", args.input, "pass e.g. --fps 30")
    if args.max_frames < 1:
        raise UmclError(f"--max-frames {args.max_frames} must be >= 1", args.input, "pass e.g. --max-frames 1800")
    if not args.input.exists():
        raise UmclError("input not found", args.input, "pass a face video or a .npy crop array")
    if args.input.is_dir():
        raise UmclError("input is a folder, not a video or .npy file", args.input, "pass one video or .npy file")
    if args.input.suffix.lower() == ".npy":
        crops, fps = load_array(args.input), args.fps or MODEL_FPS
    else:
        crops, fps = load_video_crops(args.input, args.max_frames, args.fps)
    check_length(len(crops), fps, str(args.input))
    model, source = build_physformer(args.weights)
    result = estimate_pulse(crops, fps, physformer_fn(model), str(args.input))
    with atomic_path(args.out, kind="pulse") as tmp:
        tmp.mkdir()
        lines = ["frame,bvp"] + [f"{i},{v:.6f}" for i, v in enumerate(result.bvp)]
        (tmp / "bvp.csv").write_text("\n".join(lines) + "\n")
        meta = {
            "hr_bpm": round(result.hr_bpm, 2),
            "fps": fps,
            "frames": len(crops),
            "windows": result.windows,
            "weights": source.identity(),
            "input": str(args.input),
        }
        (tmp / "pulse.json").write_text(json.dumps(meta, indent=2) + "\n")
        plot(tmp / "pulse.png", result.bvp, fps, result.hr_bpm)
    log.info(
        "%s: %.1f bpm (%d frames at %g fps, %s weights) -> %s",
        args.input,
        result.hr_bpm,
        len(crops),
        fps,
        source.name,
        args.out,
    )
    print(f"{result.hr_bpm:.1f} bpm")
    return 0
