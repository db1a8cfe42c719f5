"""FaceForensics++ compression, exactly as FF++ made it, with the ffmpeg shipped by imageio-ffmpeg.

FF++ (Rössler et al. 2019) stored ``raw`` videos losslessly with ``-c:v libx264rgb -crf 0`` and
made ``c23``/``c40`` with ``-c:v libx264 -crf 23`` / ``-crf 40`` from them; no other x264 option
(so preset ``medium`` and every other default). We use exactly these codec arguments for ``c23`` and
``c40`` and nothing else that reaches x264. For ``raw`` we add ``-preset ultrafast``: crf 0 is
lossless in every preset, so the decoded frames, and with them every c23/c40 copy made from them,
are the same bit for bit (tests/test_compression.py); only the raw file is larger, and it encodes
and decodes faster (sizes and times in docs/deviations/data.md).
Pixel format: libx264rgb encodes the piped ``rgb24`` frames in RGB (no chroma subsampling, truly
lossless at crf 0); for libx264 the pixel format is left to ffmpeg's
default negotiation, which from an RGB source picks ``yuv444p`` (High 4:4:4 Predictive profile)
— recorded in ``encoder.json``. Frames are piped raw over stdin / stdout, never through disk.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from umcl.errors import BadVideoError, UmclError
from umcl.io_utils import atomic_path, write_json
from umcl.logs import get_logger

LEVELS: dict[str, tuple[str, ...]] = {
    "raw": ("-c:v", "libx264rgb", "-crf", "0", "-preset", "ultrafast"),  # lossless: see the module docstring
    "c23": ("-c:v", "libx264", "-crf", "23"),
    "c40": ("-c:v", "libx264", "-crf", "40"),
}
_QUIET = ("-hide_banner", "-loglevel", "error", "-nostdin")
log = get_logger("compression")


@dataclass
class CompressionConfig:
    """Config section ``compression``: which levels ``umcl compress`` makes, with how many workers."""

    levels: list[str] = field(default_factory=lambda: ["c23", "c40"])
    workers: int = 1

    def __post_init__(self) -> None:
        check_levels(self.levels)


def check_levels(levels) -> None:
    """Raise a one-line error for unknown compression levels."""
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise UmclError(f"unknown compression level(s) {bad}", fix=f"use some of {list(LEVELS)}")


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the static ffmpeg bundled with imageio-ffmpeg (never a system ffmpeg)."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - installed with the package
        raise UmclError("imageio-ffmpeg is not installed", fix="pip install imageio-ffmpeg") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


def _fps_arg(fps: float) -> str:
    return str(int(fps)) if float(fps).is_integer() else f"{fps:.6f}"


def encode_frames(frames: np.ndarray, out_path: str | Path, level: str, fps: float) -> Path:
    """Encode uint8 RGB frames [T, H, W, 3] to an mp4 at FF++ level ``raw``/``c23``/``c40`` (atomic)."""
    check_levels([level])
    frames = np.ascontiguousarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise UmclError(
            f"frames must be uint8 [T, H, W, 3] with T > 0, got {frames.dtype} {frames.shape}",
            out_path,
            "pass RGB uint8 frames",
        )
    t, h, w, _ = frames.shape
    if level != "raw" and (h % 2 or w % 2):
        raise UmclError(f"libx264 needs even frame sizes, got {w}x{h}", out_path, "crop or resize to even sizes")
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        cmd = [
            ffmpeg_exe(),
            *_QUIET,
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{w}x{h}",
            "-r",
            _fps_arg(fps),
            "-i",
            "-",
            *LEVELS[level],
            "-an",
            "-f",
            "mp4",
            str(tmp),
        ]
        proc = subprocess.run(cmd, input=frames.tobytes(), capture_output=True)
        if proc.returncode != 0:
            raise UmclError(
                f"ffmpeg failed to encode ({proc.stderr.decode(errors='replace').strip()[-300:]})",
                out_path,
                "check disk space and the frames",
            )
    return out_path


def compress_video(src_raw: str | Path, dst: str | Path, level: str) -> Path:
    """Re-encode a raw video to ``level`` exactly like FF++: ``ffmpeg -i raw.mp4 -c:v libx264 -crf N``."""
    check_levels([level])
    src_raw, dst = Path(src_raw), Path(dst)
    if not src_raw.is_file() or src_raw.stat().st_size == 0:
        raise BadVideoError("missing or empty source video", src_raw, "re-run `umcl generate` or restore the file")
    with atomic_path(dst) as tmp:
        cmd = [ffmpeg_exe(), *_QUIET, "-y", "-i", str(src_raw), *LEVELS[level], "-an", "-f", "mp4", str(tmp)]
        proc = subprocess.run(cmd, capture_output=True)
        if proc.returncode != 0:
            raise BadVideoError(
                f"ffmpeg could not compress it ({_last_line(proc.stderr)})",
                src_raw,
                "replace the corrupt video (re-run `umcl generate`)",
            )
    return dst


def _last_line(stderr: bytes) -> str:
    lines = [ln for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "no message"


_VIDEO_STREAM = re.compile(r"Stream #\S+.*Video: .*?, (\d{1,5})x(\d{1,5})\b")  # ", WxH" (not "0x31637661")
_ROTATION = re.compile(r"display ?matrix: rotation of (-?\d+(?:\.\d+)?) degrees", re.IGNORECASE)


@dataclass(frozen=True)
class VideoInfo:
    """A video's first video stream as ffmpeg describes it (sizes in pixels, rotation in degrees)."""

    stored_width: int
    stored_height: int
    fps: float
    rotation: float
    """Display-matrix rotation, counter-clockwise (ffmpeg's convention: phones store -90 for portrait)."""
    frame_times_ms: tuple[float, ...] | None = field(default=None, compare=False)
    """Presentation times of the decoded frames, when the decoder reports them (in-process decoding)."""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the upright frames that ffmpeg decodes (it honours the rotation)."""
        turned = abs(self.rotation % 180 - 90) < 1  # ffmpeg transposes within 1 degree of ±90
        return (self.stored_height, self.stored_width) if turned else (self.stored_width, self.stored_height)


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise BadVideoError("is a folder, not a video file", path, "pass the path of one video file")
    if not path.is_file():
        from umcl.io_utils import unreadable_reason

        reason = unreadable_reason(path)
        raise BadVideoError(
            f"video file {reason}" if reason else "video file not found",
            path,
            "make the link point to the video"
            if reason and "link" in reason
            else "check the path or regenerate the dataset",
        )
    if path.stat().st_size == 0:
        raise BadVideoError("video file is empty", path, "delete it and re-run the step that writes it")
    try:
        path.open("rb").close()
    except PermissionError:
        raise BadVideoError(
            "cannot read the video: permission denied", path, "make it readable for you (chmod u+r)"
        ) from None


def _input_info(stderr: bytes, path: Path) -> VideoInfo:
    """Parse the first input video stream (size, fps, display rotation) from ffmpeg's banner."""
    text = stderr.decode(errors="replace").split("Output #0")[0]
    m = _VIDEO_STREAM.search(text)
    if not m:
        raise BadVideoError(
            f"no readable video stream ({_last_line(stderr)})", path, "the file is corrupt or not a video; replace it"
        )
    block = text[m.start() :]
    end = re.search(r"\n\s*(Stream #|Stream mapping)", block)
    block = block[: end.start()] if end else block
    f = re.search(r"(\d+(?:\.\d+)?) fps", block) or re.search(r"(\d+(?:\.\d+)?) tbr", block)
    r = _ROTATION.search(block)
    return VideoInfo(
        int(m.group(1)), int(m.group(2)), float(f.group(1)) if f else 25.0, float(r.group(1)) if r else 0.0
    )


def video_info(path: str | Path) -> VideoInfo:
    """Stored size, fps and display rotation of a video's first video stream (one ffmpeg call)."""
    path = Path(path)
    _check_file(path)
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True)
    return _input_info(proc.stderr, path)


def probe(path: str | Path) -> tuple[int, int, float]:
    """(width, height, fps) of a video's first video stream as decoded: upright, rotation applied."""
    info = video_info(path)
    return (*info.size, info.fps)


def decode_video(path: str | Path, max_frames: int | None = None) -> tuple[np.ndarray, VideoInfo]:
    """Decode to upright uint8 RGB frames [T, H, W, 3] in one ffmpeg process; returns (frames, info).

    ffmpeg applies the display matrix (rotation, flips) itself; the frame size is read from its
    description of the raw output stream, so a rotated video can never be reshaped with the
    stored width and height (which would give striped, squashed frames).
    """
    path = Path(path)
    _check_file(path)
    cmd = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-y",
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-fps_mode",
        "passthrough",
    ]
    if max_frames is not None:
        cmd += ["-frames:v", str(int(max_frames))]
    # Raw frames go to a file in memory (tmpfs) and are read back with one copy: a pipe costs a
    # read() and two context switches per 64 KiB (its CPU cost: docs/preprocessing.md).
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.NamedTemporaryFile(suffix=".rgb", dir=shm) as raw:
        proc = subprocess.run([*cmd, "-f", "rawvideo", "-pix_fmt", "rgb24", raw.name], capture_output=True)
        info = _input_info(proc.stderr, path)
        out = re.search(r"Output #0.*?Video: rawvideo.*?, (\d+)x(\d+)", proc.stderr.decode(errors="replace"), re.S)
        if out is None:
            raise BadVideoError(
                f"ffmpeg could not decode it ({_last_line(proc.stderr)})", path, "the file is corrupt; replace it"
            )
        w, h = int(out.group(1)), int(out.group(2))
        n = os.path.getsize(raw.name) // (w * h * 3)
        if proc.returncode != 0 and n == 0:
            raise BadVideoError(
                f"ffmpeg could not decode it ({_last_line(proc.stderr)})", path, "the file is corrupt; replace it"
            )
        if n == 0:
            raise BadVideoError("video has no frames", path, "replace the file")
        frames = np.fromfile(raw.name, np.uint8, count=n * w * h * 3)
    return frames.reshape(n, h, w, 3), info


def read_video(path: str | Path, max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """Decode a video to upright uint8 RGB frames [T, H, W, 3] with the same ffmpeg; returns (frames, fps)."""
    frames, info = decode_video(path, max_frames)
    return frames, info.fps


def x264_settings(path: str | Path) -> str:
    """The x264 options string embedded (SEI user data) in an H.264 stream, e.g. ``... crf=23.0 ...``."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise BadVideoError("missing or empty video", path, "check the path")
    data = path.read_bytes()
    start = data.find(b"x264 - core")
    if start < 0:
        raise BadVideoError(
            "no x264 settings in the stream (not encoded with x264?)", path, "re-encode with `umcl compress`"
        )
    end = data.find(b"\x00", start)
    return data[start : end if end > 0 else start + 4096].decode("ascii", errors="replace")


@functools.lru_cache(maxsize=1)
def encoder_info() -> dict:
    """ffmpeg version, x264 build and the pixel formats that the FF++ settings produce here."""
    ver = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True).stdout.decode().splitlines()[0]
    info: dict = {"ffmpeg": ver, "ffmpeg_path": ffmpeg_exe(), "levels": {k: " ".join(v) for k, v in LEVELS.items()}}
    frames = np.zeros((2, 16, 16, 3), np.uint8)
    with tempfile.TemporaryDirectory() as d:
        for level in ("raw", "c23"):
            p = encode_frames(frames, Path(d) / f"{level}.mp4", level, 25)
            s = x264_settings(p)
            info["x264"] = s.split(" - H.264")[0]
            info[f"pix_fmt_{level}"] = _pix_fmt(p)
    return info


def _pix_fmt(path: Path) -> str:
    text = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True
    ).stderr.decode(errors="replace")
    m = re.search(r"Video: h264 \(([^)]*)\).*?, (\w+)[(,]", text)
    return f"{m.group(2)} ({m.group(1)} profile)" if m else "unknown"


def write_encoder_json(root: str | Path, extra: dict | None = None) -> None:
    """Record the encoder and settings in ``ROOT/encoder.json`` (merged with what is there)."""
    import json

    path = Path(root) / "encoder.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data.update(encoder_info())
    if extra:
        data.update(extra)
    write_json(path, data)


def _raw_videos(root: Path) -> list[Path]:
    vids = sorted((root / "original_sequences" / "youtube" / "raw" / "videos").glob("*.mp4"))
    for method_dir in sorted((root / "manipulated_sequences").glob("*")):
        vids += sorted((method_dir / "raw" / "videos").glob("*.mp4"))
    return vids


def _compress_job(job: tuple[str, str, str]) -> str:
    src, dst, level = job
    compress_video(src, dst, level)
    return dst


def compress_tree(root: str | Path, levels=("c23", "c40"), workers: int = 1) -> list[Path]:
    """Mirror every raw video under ROOT (originals and each method) to the given levels.

    Finished outputs are skipped, each output is written atomically; returns the paths written.
    """
    from tqdm import tqdm

    root = Path(root)
    check_levels(levels)
    if "raw" in levels:
        raise UmclError("'raw' is the source, not a compression target", fix="use --levels c23 c40")
    raws = _raw_videos(root)
    if not raws:
        raise UmclError(
            "no raw videos found (expected original_sequences/youtube/raw/videos/*.mp4)",
            root,
            "run `umcl generate --out ROOT` first or pass the dataset root",
        )
    jobs = []
    for src in raws:
        for level in levels:
            dst = src.parent.parent.parent / level / "videos" / src.name  # .../<x>/raw/videos/v.mp4
            if not dst.is_file():
                jobs.append((str(src), str(dst), level))
    log.info(
        "compress %d videos x %s: %d to do (%d finished)",
        len(raws),
        list(levels),
        len(jobs),
        len(raws) * len(levels) - len(jobs),
    )
    done: list[Path] = []
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers) as pool:
            for out in tqdm(pool.map(_compress_job, jobs), total=len(jobs), desc="compress", unit="video"):
                done.append(Path(out))
    else:
        for job in tqdm(jobs, desc="compress", unit="video"):
            done.append(Path(_compress_job(job)))
    write_encoder_json(root, {"compressed_levels": sorted(set(levels) | _levels_present(root))})
    return done


def _levels_present(root: Path) -> set[str]:
    base = root / "original_sequences" / "youtube"
    return {lv for lv in LEVELS if lv != "raw" and (base / lv / "videos").is_dir()}
