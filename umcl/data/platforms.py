"""Codecs and re-encoding chains of unknown platforms: test videos made from a raw test video.

Each *platform level* (declared in umcl.specs.platforms) turns one raw video (and, for the double
compression, its c23 copy) into a new test video, so that it goes through the same preprocessing as
every other test video (a codec changes the pixels before face detection). Levels, path-safe names:

* ``hevcb23``, ``av1b23``, ``vp9b23`` (and ``...b40``): HEVC (libx265), AV1 (libaom-av1), VP9
  (libvpx-vp9) at the mean bitrate x264 reached at c23 (c40) on the same test videos
  (:func:`mean_bitrate`), so that a column differs by codec, not by size;
* ``msg360``: a messaging app: downscale to 360 px high (half the height for videos 360 px high or
  less, where 360 would not be a downscale), x264 CRF 28, upscale back;
* ``c23c40``: the c23 copy compressed again with FF++'s c40 settings;
* ``jpeg75``: every frame through JPEG at quality 75 (libjpeg's scale, Pillow), stored losslessly;
* ``x264c23``, ``x264c40``: the video's own x264 c23 (c40) copy, byte for byte: the reference columns on
  the same videos as every other level (with ``max_videos`` these are a subset of the test set, and the
  main part's c23 and c40 columns hold all of it).

Choices (docs/deviations/data.md, "Unknown platforms"):

* Bitrate = video-stream payload: the stream's packet bytes (not the file, whose container atoms
  would count) less the encoder's settings text that x264 writes as SEI user data (x265's is turned
  off with ``info=0``; VP9 and AV1 write none), over the video's duration (frames / fps). The mean
  over videos is total bits over total duration.
* Rate control: two-pass average bitrate for every codec; when the achieved bitrate is more than
  :data:`RATE_TOLERANCE` off the target, one more two-pass encode with the target scaled by
  target/achieved, keeping whichever of the two is closer. Rate control misses on short clips.
* Pixel format: the x264 reference's (``yuv444p`` from SynthFF's RGB sources, FF++'s 4:2:0
  otherwise), so the chroma resolution does not differ between columns; that is why AV1 is
  libaom-av1 (SVT-AV1 encodes 4:2:0 only).
* Determinism: one encoder thread (``-threads 1``; x265 ``pools=none:frame-threads=1``), so a
  video's output depends on nothing but its input and target; videos run in parallel instead.
* Each encoder's preset is its default except the ``cpu-used`` speed of libaom-av1 (:data:`AOM_CPU_USED`,
  libaom's default 1 costs several times as much) and of libvpx-vp9 (:data:`VPX_CPU_USED`, two-pass
  "good" quality), recorded in ``platforms.json``.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from umcl.data.compression import (
    _QUIET,
    LEVELS,
    compress_video,
    decode_video,
    encode_frames,
    ffmpeg_exe,
    video_info,
    x264_settings,
)
from umcl.data.manifest import VideoRecord, read_manifest, write_manifest
from umcl.data.videos import select_rows
from umcl.errors import BadVideoError, UmclError
from umcl.io_utils import atomic_path, write_json
from umcl.logs import get_logger
from umcl.specs.platforms import (
    CODEC_ENCODERS,
    JPEG_QUALITY,
    MATCHED_LEVELS,
    MESSAGING_CRF,
    MESSAGING_HEIGHT,
    PLATFORM_LEVELS,
)

#: how far (relative) the achieved bitrate may be from the target before one corrective encode
RATE_TOLERANCE = 0.10
#: libaom-av1 speed preset (0 slowest .. 8); its default 1 costs several times the CPU
AOM_CPU_USED = 6
#: libvpx-vp9 speed preset for two-pass "good" quality (0 slowest .. 5); ffmpeg's default costs about twice
#: the CPU (docs/deviations/data.md, "Unknown platforms")
VPX_CPU_USED = 4
log = get_logger("platforms")


@dataclass(frozen=True)
class Codec:
    """A bitrate-targeted encoder: its ffmpeg encoder name and its two-pass arguments."""

    name: str
    encoder: str

    def pass_args(self, bitrate: float, n: int, log: str) -> list[str]:
        """ffmpeg output arguments of pass ``n`` (1 or 2) at ``bitrate`` bits/s, stats in ``log``."""
        rate = ["-b:v", str(round(bitrate))]
        if self.encoder == "libx265":
            params = f"pass={n}:stats={log}:info=0:log-level=error:pools=none:frame-threads=1"
            return ["-c:v", self.encoder, *rate, "-x265-params", params]
        extra = {
            "libaom-av1": ["-cpu-used", str(AOM_CPU_USED)],
            "libvpx-vp9": ["-deadline", "good", "-cpu-used", str(VPX_CPU_USED)],
        }.get(self.encoder, [])
        return [
            "-c:v",
            self.encoder,
            *rate,
            *extra,
            "-threads",
            "1",
            "-row-mt",
            "0",
            "-pass",
            str(n),
            "-passlogfile",
            log,
        ]


CODECS: dict[str, Codec] = {c: Codec(c, enc) for c, enc in CODEC_ENCODERS.items()}


def check_platform_levels(levels) -> None:
    """One-line error for unknown platform levels."""
    bad = [lv for lv in levels if lv not in PLATFORM_LEVELS]
    if bad:
        raise UmclError(f"unknown platform level(s) {bad}", fix=f"use some of {list(PLATFORM_LEVELS)}")


@functools.lru_cache(maxsize=1)
def available_encoders() -> frozenset[str]:
    """Names of the video encoders the suite's ffmpeg (imageio-ffmpeg's) was built with."""
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True).stdout.decode(
        errors="replace"
    )
    return frozenset(m.group(1) for m in re.finditer(r"^\s*V[.A-Z]{5}\s+([\w-]+)\s", out, re.M))


def require_encoder(encoder: str) -> None:
    """One-line error when the suite's ffmpeg lacks ``encoder``."""
    if encoder not in available_encoders():
        raise UmclError(
            f"ffmpeg has no {encoder} encoder ({ffmpeg_exe()})",
            fix="install an imageio-ffmpeg build with it, or leave that platform level out",
        )


def encoders_of(level: str) -> list[str]:
    """The ffmpeg encoders a platform level needs."""
    check_platform_levels([level])
    lv = PLATFORM_LEVELS[level]
    if lv.codec is not None:
        return [CODECS[lv.codec].encoder]
    if lv.copy_of is not None:
        return []
    return ["libx264rgb"] if level == "jpeg75" else ["libx264", "libx264rgb"] if level == "msg360" else ["libx264"]


# ---------------------------------------------------------------------------- bitrates


def stream_packets(path: str | Path) -> tuple[int, int]:
    """(packets, payload bytes) of a video's first video stream, read without decoding."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise BadVideoError("missing or empty video", path, "check the path")
    cmd = [ffmpeg_exe(), *_QUIET, "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"]
    proc = subprocess.run(cmd, capture_output=True)
    rows = [ln.split(",") for ln in proc.stdout.decode(errors="replace").splitlines() if ln and not ln.startswith("#")]
    if proc.returncode != 0 or not rows:
        raise BadVideoError("ffmpeg could not read its video packets", path, "replace the file")
    return len(rows), sum(int(r[4]) for r in rows)


def _settings_bytes(path: Path) -> int:
    """Bytes of the x264 settings text in the stream (0 for other encoders)."""
    try:
        return len(x264_settings(path).encode("ascii", errors="replace"))
    except BadVideoError:
        return 0


def payload_bits(path: str | Path) -> tuple[float, float]:
    """(payload bits, duration in seconds) of a video (module docstring: what counts)."""
    path = Path(path)
    n, size = stream_packets(path)
    return 8.0 * (size - _settings_bytes(path)), n / video_info(path).fps


def bitrate(path: str | Path) -> float:
    """A video's payload bitrate in bits/s."""
    bits, seconds = payload_bits(path)
    return bits / seconds


def mean_bitrate(paths) -> float:
    """Mean payload bitrate (bits/s) over videos: total bits over total duration."""
    totals = [payload_bits(p) for p in paths]
    if not totals:
        raise UmclError("no videos to measure the mean bitrate of", fix="pass the x264 reference videos")
    return sum(b for b, _ in totals) / sum(s for _, s in totals)


def pix_fmt(path: str | Path) -> str:
    """The pixel format of a video's first video stream, e.g. ``yuv444p``."""
    path = Path(path)
    text = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True
    ).stderr.decode(errors="replace")
    m = re.search(r"Stream #\S+.*?Video: [^,]+(?:\([^)]*\))*[^,]*, (\w+)", text)
    if m is None:
        raise BadVideoError("no readable video stream", path, "replace the file")
    return m.group(1)


# ---------------------------------------------------------------------------- transforms


def _ffmpeg(cmd: list[str], src: Path, what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.decode(errors="replace").splitlines() if ln.strip()]
        raise BadVideoError(
            f"ffmpeg could not {what} ({lines[-1][:200] if lines else 'no message'})", src, "replace the video"
        )


def _two_pass(src: Path, out: Path, codec: Codec, target: float, fmt: str, work: Path) -> float:
    stats = str(work / "pass")
    head = [ffmpeg_exe(), *_QUIET, "-y", "-i", str(src), "-map", "0:v:0", "-pix_fmt", fmt]
    _ffmpeg(
        [*head, *codec.pass_args(target, 1, stats), "-an", "-f", "null", "-"], src, f"encode {codec.encoder} (pass 1)"
    )
    _ffmpeg([*head, *codec.pass_args(target, 2, stats), "-an", "-f", "mp4", str(out)], src, f"encode {codec.encoder}")
    return bitrate(out)


def encode_at_bitrate(src: str | Path, dst: str | Path, codec: str, target: float, fmt: str) -> dict:
    """Encode ``src`` with ``codec`` (:data:`CODECS`) at ``target`` bits/s and pixel format ``fmt`` (atomic).

    Returns the target, the achieved payload bitrate and the number of two-pass encodes (module docstring)."""
    if codec not in CODECS:
        raise UmclError(f"unknown codec {codec!r}", fix=f"use one of {list(CODECS)}")
    if not target > 0:
        raise UmclError(f"target bitrate must be > 0, got {target}")
    c, src, dst = CODECS[codec], Path(src), Path(dst)
    require_encoder(c.encoder)
    with tempfile.TemporaryDirectory(prefix="umcl-rate-") as d, atomic_path(dst) as tmp:
        work = Path(d)
        first = _two_pass(src, work / "a.mp4", c, target, fmt, work)
        best, tries = (first, work / "a.mp4"), 1
        if abs(first / target - 1) > RATE_TOLERANCE:
            second = _two_pass(src, work / "b.mp4", c, target * target / first, fmt, work)
            tries = 2
            if abs(second / target - 1) < abs(first / target - 1):
                best = (second, work / "b.mp4")
        best[1].replace(tmp)
    return {"target": target, "achieved": best[0], "encodes": tries}


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def messaging_chain(src: str | Path, dst: str | Path) -> float:
    """Downscale to :data:`MESSAGING_HEIGHT` px high (half the height when the video is no taller), x264 CRF
    :data:`MESSAGING_CRF` (FF++'s x264 settings otherwise), upscale back; stored losslessly (atomic).
    Returns the payload bitrate of the downscaled x264 stream (what the app sends)."""
    src, dst = Path(src), Path(dst)
    w, h = video_info(src).size
    small_h = MESSAGING_HEIGHT if h > MESSAGING_HEIGHT else _even(h / 2)
    small_w = _even(w * small_h / h)
    with tempfile.TemporaryDirectory(prefix="umcl-msg-") as d, atomic_path(dst) as tmp:
        small = Path(d) / "small.mp4"
        scale = ["-vf", f"scale={small_w}:{small_h}:flags=bicubic"]
        x264 = ["-c:v", "libx264", "-crf", str(MESSAGING_CRF)]
        _ffmpeg(
            [ffmpeg_exe(), *_QUIET, "-y", "-i", str(src), "-map", "0:v:0", *scale, *x264, "-an", str(small)],
            src,
            "downscale",
        )
        up = ["-vf", f"scale={w}:{h}:flags=bicubic"]
        _ffmpeg(
            [
                ffmpeg_exe(),
                *_QUIET,
                "-y",
                "-i",
                str(small),
                "-map",
                "0:v:0",
                *up,
                *LEVELS["raw"],
                "-an",
                "-f",
                "mp4",
                str(tmp),
            ],
            src,
            "upscale",
        )
        sent = bitrate(small)
    return sent


def double_compression(src_c23: str | Path, dst: str | Path) -> Path:
    """The c23 copy compressed again with FF++'s c40 settings."""
    return compress_video(src_c23, dst, "c40")


def jpeg_frames(src: str | Path, dst: str | Path, quality: int = JPEG_QUALITY) -> float:
    """Every frame through JPEG at ``quality`` (Pillow, libjpeg's defaults), stored losslessly (``raw``).
    Returns the JPEG bits per second of video."""
    from PIL import Image

    frames, info = decode_video(src)
    out, nbytes = np.empty_like(frames), 0
    for i, frame in enumerate(frames):
        buf = io.BytesIO()
        Image.fromarray(frame).save(buf, format="JPEG", quality=quality)
        nbytes += buf.tell()
        out[i] = np.asarray(Image.open(buf).convert("RGB"))
    encode_frames(out, dst, "raw", info.fps)
    return 8.0 * nbytes * info.fps / len(frames)


def copy_video(src: str | Path, dst: str | Path) -> Path:
    """``dst``, a byte-for-byte copy of ``src``, written atomically."""
    dst = Path(dst)
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
    return dst


def make_platform_video(
    level: str,
    raw: str | Path,
    c23: str | Path,
    dst: str | Path,
    target: float | None = None,
    c40: str | Path | None = None,
) -> dict:
    """Make ``dst`` at platform ``level`` from a raw video and its c23 copy (the reference of the pixel format
    and the double compression's source; ``c40``: its c40 copy, which ``x264c40`` copies); ``target``: the
    matched bitrate of a codec level (bits/s). Returns what it reached: the payload bitrate sent (bits/s;
    for JPEG, the JPEG bits per second)."""
    check_platform_levels([level])
    for enc in encoders_of(level):
        require_encoder(enc)
    lv = PLATFORM_LEVELS[level]
    if lv.copy_of is not None:
        src = {"c23": c23, "c40": c40}[lv.copy_of]
        if src is None:
            raise UmclError(f"platform level {level} copies the video's x264 {lv.copy_of} copy; none was given")
        return {"achieved": bitrate(copy_video(src, dst))}
    if lv.codec is not None:
        if target is None:
            raise UmclError(f"platform level {level} needs the target bitrate of x264 {lv.matched}")
        return encode_at_bitrate(raw, dst, lv.codec, target, pix_fmt(c23))
    if level == "msg360":
        return {"achieved": messaging_chain(raw, dst)}
    if level == "c23c40":
        return {"achieved": bitrate(double_compression(c23, dst))}
    return {"achieved": jpeg_frames(raw, dst)}


# ---------------------------------------------------------------------------- a test set


def _platform_job(job: tuple[str, str, str, str, float | None, str]) -> dict:
    level, raw, c23, dst, target, c40 = job
    return make_platform_video(level, raw, c23, dst, target, c40)


def make_platform_tree(
    manifest: str | Path,
    out: str | Path,
    levels=tuple(PLATFORM_LEVELS),
    workers: int = 1,
    max_videos: int | None = None,
) -> list[VideoRecord]:
    """Make every test video of ``manifest`` (its raw rows, with their c23 and c40 copies) at each platform
    level under ``OUT/<level>/<method>/<id>.mp4``; write ``OUT/manifest.csv`` (the same videos, split and
    labels, one row per level; paths relative to OUT) and ``OUT/platforms.json`` (targets, achieved
    bitrates, encoders). Returns the manifest's records as read back.

    Only the test split is made: the levels are test-time conditions of trained models. ``max_videos``: only
    a seeded subset of the raw test videos, half real and half fake (:func:`umcl.data.videos.select_rows`),
    whose c23 and c40 copies also set the codecs' target bitrates. Each output is written atomically."""
    check_platform_levels(levels)
    for enc in dict.fromkeys(e for lv in levels for e in encoders_of(lv)):
        require_encoder(enc)
    out = Path(out)
    rows = [r for r in read_manifest(manifest) if r.split == "test"]
    by_level = {
        c: {(r.dataset, r.method, r.id): r for r in rows if r.compression == c} for c in ("raw", *MATCHED_LEVELS)
    }
    raws = list(by_level["raw"].values())
    if max_videos is not None and raws:
        raws = select_rows(raws, "test", "raw", max_videos, source=manifest)
        kept = {(r.dataset, r.method, r.id) for r in raws}
        by_level = {c: {k: r for k, r in rows_of.items() if k in kept} for c, rows_of in by_level.items()}
    missing = [k for k in by_level["raw"] if any(k not in by_level[c] for c in MATCHED_LEVELS)]
    if not raws or missing:
        raise UmclError(
            f"{len(missing)} of {len(raws)} raw test videos lack a c23 or c40 copy" if raws else "no raw test videos",
            manifest,
            "make the manifest with --compressions raw c23 c40",
        )
    targets = {m: mean_bitrate([r.path for r in by_level[m].values()]) for m in MATCHED_LEVELS}
    jobs, records = [], []
    for level in levels:
        lv = PLATFORM_LEVELS[level]
        for r in raws:
            dst = out / level / r.method / f"{r.id}.mp4"
            c23, c40 = (by_level[m][(r.dataset, r.method, r.id)].path for m in ("c23", "c40"))
            jobs.append((level, r.path, c23, str(dst), targets[lv.matched] if lv.matched else None, c40))
            records.append(replace(r, compression=level, path=str(dst.relative_to(out))))  # read against OUT
    log.info("%d raw test videos x %d platform levels; x264 mean bitrates %s", len(raws), len(levels), targets)
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            reports = list(pool.map(_platform_job, jobs))
    else:
        reports = [_platform_job(j) for j in jobs]
    summary = {}
    for level in levels:
        got = [rep for job, rep in zip(jobs, reports, strict=True) if job[0] == level]
        lv = PLATFORM_LEVELS[level]
        summary[level] = {
            "label": lv.label,
            "encoders": encoders_of(level),
            "target_bps": targets[lv.matched] if lv.matched else None,
            "mean_achieved_bps": float(np.mean([g["achieved"] for g in got])),
            "encodes": sum(g.get("encodes", 1) for g in got),
        }
        log.info(
            "%s: mean %.0f bit/s (target %s)", level, summary[level]["mean_achieved_bps"], summary[level]["target_bps"]
        )
    write_json(
        out / "platforms.json",
        {
            "x264_mean_bps": targets,
            "videos": len(raws),
            "max_videos": max_videos,
            "levels": summary,
            "aom_cpu_used": AOM_CPU_USED,
            "vpx_cpu_used": VPX_CPU_USED,
            "rate_tolerance": RATE_TOLERANCE,
            "ffmpeg": ffmpeg_exe(),
        },
    )
    write_manifest(records, out / "manifest.csv")
    return read_manifest(out / "manifest.csv")
