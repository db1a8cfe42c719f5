"""Decoding the first frames of a video inside this process (OpenCV's FFmpeg), ffmpeg's CLI as fallback.

:func:`umcl.data.compression.decode_video` runs one ffmpeg process per video; its start-up and
stream probing cost CPU time for every video and the RGB frames pass through a file (costs in
docs/preprocessing.md). OpenCV's FFmpeg backend decodes in this process with the same
libav* conversion to RGB: on SynthFF's raw, c23 and c40 videos the frames are identical
(tests/test_preprocess.py::test_in_process_decoding_matches_ffmpeg). Videos with a display
rotation, and anything OpenCV cannot read to the needed length, go through ``decode_video``,
which applies the rotation and raises the one-line errors.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np

from umcl.data.compression import VideoInfo, decode_video, ffmpeg_exe

#: frame intervals that differ by more than this share of their median make a clip variable-frame-rate
VFR_SPREAD = 0.1


def ffmpeg_fps(fps: float) -> float:
    """``fps`` as ffmpeg prints it in its stream description (two decimals), which decode_video parses."""
    return round(float(fps), 2) if round(float(fps) * 100) % 100 else float(round(float(fps)))


def _opencv_frames(path: Path, num_frames: int) -> tuple[np.ndarray, VideoInfo] | None:
    """The first ``num_frames`` RGB frames via OpenCV, or None when this path cannot be used."""
    import cv2

    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    try:
        if not cap.isOpened() or cap.get(cv2.CAP_PROP_ORIENTATION_META) != 0:
            return None
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if w <= 0 or h <= 0:
            return None
        frames = np.empty((num_frames, h, w, 3), dtype=np.uint8)
        times = []
        for t in range(num_frames):
            ok, bgr = cap.read()
            if not ok or bgr is None or bgr.shape != (h, w, 3):
                return None
            times.append(float(cap.get(cv2.CAP_PROP_POS_MSEC)))
            cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=frames[t])
        return frames, VideoInfo(w, h, ffmpeg_fps(cap.get(cv2.CAP_PROP_FPS)), 0.0, tuple(times))
    finally:
        cap.release()


def read_first_frames(path: str | Path, num_frames: int) -> tuple[np.ndarray, VideoInfo]:
    """Up to ``num_frames`` upright RGB frames uint8 [T, H, W, 3] and the stream's info.

    In-process decoding when possible; otherwise (rotation, unreadable or shorter video)
    :func:`decode_video`, whose errors name the file.
    """
    path = Path(path)
    fast = _opencv_frames(path, num_frames) if path.is_file() else None
    return fast if fast is not None else decode_video(path, max_frames=num_frames)


def variable_frame_rate(times_ms: tuple[float, ...] | None) -> tuple[float, float] | None:
    """(shortest, longest) frame interval in ms when they differ by more than :data:`VFR_SPREAD` of
    their median (a variable-frame-rate clip), else None (also when no frame times are known)."""
    if not times_ms or len(times_ms) < 3:
        return None
    gaps = np.diff(np.asarray(times_ms, dtype=float))
    median = float(np.median(gaps))
    if median <= 0 or float(gaps.max() - gaps.min()) <= VFR_SPREAD * median:
        return None
    return float(gaps.min()), float(gaps.max())


def stream_damage(path: str | Path) -> str | None:
    """ffmpeg's first complaint while reading every packet of the video stream without decoding it
    (cheap: no frame is decoded), e.g. "partial file" for a file cut short; None for an intact stream."""
    proc = subprocess.run(
        [
            ffmpeg_exe(),
            "-nostdin",
            "-hide_banner",
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:v:0",
            "-c",
            "copy",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
    )
    lines = [re.sub(r"^(\[[^]]*\] )+", "", ln).strip() for ln in proc.stderr.decode(errors="replace").splitlines()]
    lines = [ln for ln in lines if ln]
    return lines[0][:160] if lines else None


def clip_warnings(path: str | Path, info: VideoInfo, num_frames: int) -> list[str]:
    """What is wrong with a video whose first ``num_frames`` frames decoded anyway: a variable frame rate
    (the cache stores one fps, and the pulse is read as if the frames were evenly spaced: the frame
    times are known on the in-process decoding path only) and a damaged or cut-short stream."""
    notes = []
    vfr = variable_frame_rate(info.frame_times_ms)
    if vfr is not None:
        notes.append(
            f"variable frame rate (frame intervals {vfr[0]:.0f} to {vfr[1]:.0f} ms, {info.fps:g} fps on "
            "average): the clip is used as if its frames were evenly spaced, which shifts its pulse "
            "frequency; re-encode it at a constant rate (ffmpeg -fps_mode cfr) to avoid that"
        )
    damage = stream_damage(path)
    if damage is not None:
        notes.append(
            f"the file is damaged or cut short (ffmpeg: {damage}), though its first {num_frames} frames "
            "decode: check the copy"
        )
    return notes
