"""Decoding the first frames of a video inside this process (PyAV or OpenCV's FFmpeg), ffmpeg's CLI as fallback.

:func:`umcl.data.compression.decode_video` runs one ffmpeg process per video; its start-up and
stream probing cost CPU time for every video and the RGB frames pass through a file (costs in
docs/preprocessing.md). OpenCV's FFmpeg backend decodes in this process with the same
libav* conversion to RGB: on SynthFF's raw, c23 and c40 videos the frames are identical
(tests/test_preprocess.py::test_in_process_decoding_matches_ffmpeg). Videos with a display
rotation, and anything OpenCV cannot read to the needed length, go through ``decode_video``,
which applies the rotation and raises the one-line errors.

Before OpenCV, videos in ``yuv444p`` or ``gbrp`` (x264 from an RGB source, as SynthFF's) are decoded
by PyAV into the decoder's planes and converted to RGB by :mod:`umcl.data.preprocess.yuv`, which
gives swscale's bytes without swscale's whole-frame pass and without the BGR to RGB swap: the same
frames, for less CPU time (tests/test_preprocess_yuv.py; docs/preprocessing.md).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np

from umcl.data.compression import VideoInfo, decode_video, ffmpeg_exe

#: frame intervals that differ by more than this share of their median make a clip variable-frame-rate
VFR_SPREAD = 0.1


def ffmpeg_fps(fps: float) -> float:
    """``fps`` as ffmpeg prints it in its stream description (two decimals), which decode_video parses."""
    return round(float(fps), 2) if round(float(fps) * 100) % 100 else float(round(float(fps)))


#: colour tags (FFmpeg's range: unspecified 0, limited 1; matrix: unspecified 2, BT.470BG 5,
#: SMPTE 170M 6) of the frames decoded by PyAV: those OpenCV's reader converts with swscale's BT.601
#: limited-range arithmetic, as :mod:`umcl.data.preprocess.yuv` does (tests/test_preprocess_yuv.py).
#: OpenCV honours the others (a BT.709 tag changes its output), so they are left to it.
PYAV_COLOUR_TAGS = {(r, m) for r in (0, 1) for m in (2, 5, 6)}


def _pyav_frames(path: Path, num_frames: int, reuse: bool = False) -> tuple[np.ndarray, VideoInfo] | None:
    """The first ``num_frames`` RGB frames decoded by PyAV (one thread) and converted by
    :class:`~umcl.data.preprocess.yuv.PlaneConverter`, or None when this path cannot be used
    (no PyAV, another pixel format or colour tag, a display rotation, a shorter or unreadable video).

    The rest of the stream's packets are then read without decoding, as :func:`stream_damage` has
    ffmpeg read them, and FFmpeg's complaints meanwhile (error level) are the info's ``stream_errors``:
    no ffmpeg process per video for that check. ``reuse``: decode into :func:`frame_buffer`.
    """
    try:
        import av
        import av.logging
    except ImportError:
        return None
    level = av.logging.get_level()
    av.logging.set_level(av.logging.ERROR)
    try:
        with av.logging.Capture() as logs:
            got = _pyav_decode(av, path, num_frames, reuse)
    finally:
        av.logging.set_level(level)
    if got is None:
        return None
    frames, info, failure = got
    complaints = [msg.strip() for lvl, _, msg in logs if lvl <= av.logging.ERROR and msg.strip()]
    return frames, replace(info, stream_errors=tuple(complaints + ([failure] if failure else [])))


def _pyav_decode(av, path: Path, num_frames: int, reuse: bool) -> tuple[np.ndarray, VideoInfo, str | None] | None:
    """:func:`_pyav_frames`' decoding: frames, info and the error that stopped reading the rest, if any."""
    from umcl.data.preprocess.yuv import FORMATS, PlaneConverter

    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError):
        return None
    with container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if ctx.pix_fmt not in FORMATS or ctx.width <= 0 or ctx.height <= 0:
            return None
        ctx.thread_count = 1
        rate = stream.average_rate or stream.guessed_rate
        if not rate or stream.time_base is None:
            return None
        w, h = ctx.width, ctx.height
        convert = PlaneConverter(ctx.pix_fmt)
        yuv = ctx.pix_fmt == "yuv444p"  # gbrp's conversion is a reordering of the planes, whatever its tags
        shape = (num_frames, h, w, 3)
        frames = frame_buffer(shape) if reuse else np.empty(shape, dtype=np.uint8)
        start, tick = stream.start_time or 0, float(stream.time_base)
        times = []
        try:
            for frame in container.decode(stream):
                if len(times) == num_frames:
                    break
                if (
                    frame.format.name != ctx.pix_fmt
                    or (frame.width, frame.height) != (w, h)
                    or getattr(frame, "rotation", 0)
                    or (yuv and (int(frame.color_range), int(frame.colorspace)) not in PYAV_COLOUR_TAGS)
                    or frame.pts is None
                ):
                    return None
                planes = [np.frombuffer(p, dtype=np.uint8).reshape(h, p.line_size)[:, :w] for p in frame.planes[:3]]
                convert(planes, frames[len(times)])
                times.append((frame.pts - start) * tick * 1000.0)  # as OpenCV computes it
        except (av.FFmpegError, OSError, ValueError):
            return None
        if len(times) < num_frames:
            return None
        failure = None
        try:
            for _ in container.demux(stream):
                pass
        except (av.FFmpegError, OSError) as exc:
            failure = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return frames, VideoInfo(w, h, ffmpeg_fps(float(rate)), 0.0, tuple(times)), failure


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


#: the largest frames array :func:`frame_buffer` keeps between videos (bytes)
FRAME_BUFFER_MAX = 512 * 2**20
_frame_buffer: list[np.ndarray] = []


def frame_buffer(shape: tuple[int, ...]) -> np.ndarray:
    """An uint8 array of ``shape``, the same memory as the previous call's when the shape repeats.

    A fresh array of a video's frames costs its pages' first writing (zeroed by the system; cost in
    docs/preprocessing.md); one process preprocessing videos one after another needs
    each video's frames only until its cache is written. Whoever asks for it must be done with the
    previous array. Arrays over :data:`FRAME_BUFFER_MAX` are not kept.
    """
    if _frame_buffer and _frame_buffer[0].shape == tuple(shape):
        return _frame_buffer[0]
    _frame_buffer.clear()
    out = np.empty(shape, dtype=np.uint8)
    if out.nbytes <= FRAME_BUFFER_MAX:
        _frame_buffer.append(out)
    return out


def read_first_frames(path: str | Path, num_frames: int, reuse: bool = False) -> tuple[np.ndarray, VideoInfo]:
    """Up to ``num_frames`` upright RGB frames uint8 [T, H, W, 3] and the stream's info.

    In-process decoding when possible (PyAV for ``yuv444p``/``gbrp``, else OpenCV); otherwise
    (rotation, unreadable or shorter video) :func:`decode_video`, whose errors name the file.
    ``reuse``: PyAV may decode into :func:`frame_buffer` (the previous call's array is overwritten).
    """
    path = Path(path)
    fast = None
    if path.is_file():
        fast = _pyav_frames(path, num_frames, reuse)
        fast = fast if fast is not None else _opencv_frames(path, num_frames)
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
    if info.stream_errors is None:
        damage = stream_damage(path)
    else:
        damage = re.sub(r"^(\[[^]]*\] )+", "", info.stream_errors[0])[:160] if info.stream_errors else None
    if damage is not None:
        notes.append(
            f"the file is damaged or cut short (ffmpeg: {damage}), though its first {num_frames} frames "
            "decode: check the copy"
        )
    return notes
