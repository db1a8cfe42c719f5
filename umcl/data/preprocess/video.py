"""Decoding the first frames of a video inside this process (OpenCV's FFmpeg), ffmpeg's CLI as fallback.

:func:`umcl.data.compression.decode_video` runs one ffmpeg process per video; its start-up and
stream probing cost about 25 ms of CPU per video and the RGB frames pass through a file (about
2 ms per 256 px frame in all). OpenCV's FFmpeg backend decodes in this process with the same
libav* conversion to RGB: on SynthFF's raw, c23 and c40 videos the frames are identical
(tests/test_preprocess.py::test_in_process_decoding_matches_ffmpeg). Videos with a display
rotation, and anything OpenCV cannot read to the needed length, go through ``decode_video``,
which applies the rotation and raises the one-line errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from umcl.data.compression import VideoInfo, decode_video


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
        for t in range(num_frames):
            ok, bgr = cap.read()
            if not ok or bgr is None or bgr.shape != (h, w, 3):
                return None
            cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=frames[t])
        return frames, VideoInfo(w, h, ffmpeg_fps(cap.get(cv2.CAP_PROP_FPS)), 0.0)
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
