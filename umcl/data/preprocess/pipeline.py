"""One video → one cache (:func:`preprocess_video`); a manifest → caches + preprocessed manifest.

Frame selection: the first ``num_frames`` frames of the video (the paper uses 160-frame clips
and does not say which; the first frames keep the clip identical across raw/c23/c40 versions
of a video). A video with fewer frames is rejected, never padded.

In batch mode (:func:`preprocess_manifest`) a bad video is logged, recorded as
``status=failed`` with its one-line reason, and skipped; a failure of the machine (disk full,
permission denied, out of memory) stops the batch with one line instead, and no manifest is written;
valid caches made with the same settings are reused, so an interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import functools
import os
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from umcl.data.compression import VideoInfo
from umcl.data.manifest import read_manifest, write_manifest
from umcl.data.preprocess.cache import read_cache, write_cache
from umcl.data.preprocess.calibration import calibrate_landmarks, normalise_only
from umcl.data.preprocess.config import PreprocessConfig
from umcl.data.preprocess.faces import (
    crop_faces,
    evenly_spaced,
    load_mtcnn,
    track_faces,
)
from umcl.data.preprocess.landmarks import (
    Landmarker,
    build_landmarker,
    detect_landmarks,
)
from umcl.data.preprocess.mtcnn_region import fast_nets
from umcl.data.preprocess.video import clip_warnings, read_first_frames
from umcl.errors import BadVideoError, EnvironmentFailure, UmclError
from umcl.io_utils import environment_error
from umcl.logs import get_logger

log = get_logger("preprocess")


def _landmarker(cfg: PreprocessConfig) -> Landmarker:
    """The landmark model, loaded once per process for the settings that choose it (not per config:
    loading dlib's 68-point model takes about a second)."""
    return _load_landmarker(cfg.landmark_backend, cfg.dlib_predictor_path, cfg.fan_weights_path, cfg.device)


@functools.lru_cache(maxsize=2)
def _load_landmarker(backend: str, dlib_path: str | None, fan_path: str | None, device: str) -> Landmarker:
    return build_landmarker(
        PreprocessConfig(
            landmark_backend=backend, dlib_predictor_path=dlib_path, fan_weights_path=fan_path, device=device
        )
    )


def resolve_device(cfg: PreprocessConfig) -> PreprocessConfig:
    """``device: auto`` → ``cuda`` when a GPU is present, else ``cpu``; ``cuda`` without one is an error.

    Checked once before any video (a batch must not fail video by video for a wrong device).
    """
    import torch

    device = cfg.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UmclError(
            f"preprocess.device '{device}' requested but CUDA is not available",
            fix="set preprocess.device: auto or cpu (or pass --device cpu)",
        )
    return cfg if device == cfg.device else cfg.replace(device=device)


def load_clip(video_path: str | Path, num_frames: int) -> tuple[np.ndarray, VideoInfo]:
    """The first ``num_frames`` upright RGB frames and the stream's info (only those frames are decoded).

    Upright: the display-matrix rotation of phone videos is applied (see
    :func:`umcl.data.compression.decode_video`). Decoded in this process where possible
    (:func:`umcl.data.preprocess.video.read_first_frames`). Raises :class:`BadVideoError` for a missing,
    empty, unreadable or too short video.
    """
    frames, info = read_first_frames(video_path, num_frames)
    if len(frames) < num_frames:
        raise BadVideoError(
            f"video has {len(frames)} frames but {num_frames} are needed",
            video_path,
            f"use a video with at least {num_frames} frames or lower preprocess.num_frames",
        )
    return np.ascontiguousarray(frames), info


def track_or_fail(frames: np.ndarray, cfg: PreprocessConfig, source: str | Path = "<frames>", mtcnn=None):
    """Face boxes of ``frames`` (:func:`track_faces`); :class:`BadVideoError` when the video is smaller
    than the smallest face looked for or the face is found in fewer than ``min_detection_rate`` of the
    tried frames."""
    if min(frames.shape[1:3]) < cfg.min_face_size:
        raise BadVideoError(
            f"video is {frames.shape[2]}x{frames.shape[1]} px, smaller than the smallest face the "
            f"detector looks for ({cfg.min_face_size} px)",
            source,
            "use a larger video, or lower preprocess.min_face_size (>= 12)",
        )
    track = track_faces(frames, cfg, mtcnn)
    if track.detection_rate < cfg.min_detection_rate or not np.isfinite(track.boxes).all():
        raise BadVideoError(
            f"face found in {track.detection_rate:.0%} of {int(track.tried.sum())} tried frames "
            f"(minimum {cfg.min_detection_rate:.0%})",
            source,
            "check that the video shows one face, or lower preprocess.min_detection_rate",
        )
    return track


def preprocess_frames(
    frames: np.ndarray,
    cfg: PreprocessConfig,
    source: str | Path = "<frames>",
    mtcnn=None,
    landmarker: Landmarker | None = None,
) -> dict[str, Any]:
    """All cache arrays for RGB ``frames`` uint8 [T, H, W, 3] (no I/O).

    Raises :class:`BadVideoError` when the face is found in fewer than ``min_detection_rate``
    of the tried frames.
    """
    track = track_or_fail(frames, cfg, source, mtcnn)
    landmarker = landmarker if landmarker is not None else _landmarker(cfg)
    raw = detect_landmarks(frames, track.boxes, landmarker)
    if not np.isfinite(raw).all():
        raise BadVideoError(
            f"{landmarker.name} landmarks failed on some frames",
            source,
            "check the video's face is visible in every frame",
        )
    calib = calibrate_landmarks(frames, raw) if cfg.calibrate else normalise_only(frames, raw)
    x_idx = evenly_spaced(len(frames), cfg.xception_frames)
    return {
        "faces": crop_faces(frames, track.boxes, cfg.face_scale, cfg.crop_size),
        "xception_faces": crop_faces(frames[x_idx], track.boxes[x_idx], cfg.xception_scale, cfg.xception_size),
        "landmarks": calib.normalised,
        "landmarks_raw": raw,
        "boxes": track.boxes,
        "detected": track.detected,
        "detection_rate": track.detection_rate,
        "_extra": {
            "xception_indices": x_idx.tolist(),
            "tracked_fraction": round(calib.tracked_fraction, 4),
            "landmark_backend": landmarker.name,
            "landmark_model": str(getattr(landmarker, "path", "")),
        },
    }


def preprocess_video(
    video_path: str | Path,
    out_path: str | Path,
    cfg: PreprocessConfig,
    mtcnn=None,
    landmarker: Landmarker | None = None,
) -> dict[str, Any]:
    """Preprocess one video into the cache ``out_path`` (atomic) and return a summary.

    Summary keys: ``video, cache, n_frames`` (frames in the cache; only these are decoded),
    ``fps, detection_rate, tracked_fraction, seconds``. Raises :class:`BadVideoError`
    (one line naming the file) for unusable videos; nothing is written then. A failure of the machine
    (disk full, permission denied, out of memory) is an :class:`EnvironmentFailure` naming ``out_path``.
    """
    try:
        return _preprocess_video(video_path, out_path, cfg, mtcnn, landmarker)
    except (OSError, MemoryError) as exc:
        failure = environment_error(exc, out_path, "rerun: the caches already written are reused")
        if failure is None:
            raise
        raise failure from None


def _preprocess_video(video_path, out_path, cfg, mtcnn, landmarker) -> dict[str, Any]:
    start = time.perf_counter()
    cfg = resolve_device(cfg)
    frames, info = load_clip(video_path, cfg.num_frames)
    fps = info.fps
    notes = clip_warnings(video_path, info, cfg.num_frames)
    for note in notes:
        log.warning("%s: %s", video_path, note)
    arrays = preprocess_frames(frames, cfg, video_path, mtcnn, landmarker)
    extra = arrays.pop("_extra")
    meta = {"source": str(video_path), "preprocess": cfg.to_dict(), "display_rotation": info.rotation, **extra}
    if notes:
        meta["warnings"] = notes
    write_cache(out_path, fps=fps, meta=meta, **arrays)
    seconds = time.perf_counter() - start
    log.info(
        "%s -> %s (%d frames, face in %.0f%%, %.1f s)",
        video_path,
        out_path,
        cfg.num_frames,
        100 * arrays["detection_rate"],
        seconds,
    )
    return {
        "video": str(video_path),
        "cache": str(out_path),
        "n_frames": cfg.num_frames,
        "fps": fps,
        "detection_rate": float(arrays["detection_rate"]),
        "tracked_fraction": extra["tracked_fraction"],
        "seconds": round(seconds, 3),
    }


def cache_path_for(record, out_dir: str | Path) -> Path:
    """``out_dir/dataset/method/compression/id.npz``: mirrors the video's key."""
    return Path(out_dir) / record.dataset / record.method / record.compression / f"{record.id}.npz"


def _reusable(cache: Path, cfg: PreprocessConfig) -> dict[str, Any] | None:
    """Summary of an existing cache made with the same settings, else None."""
    if not cache.is_file():
        return None
    try:
        data = read_cache(cache, keys=("meta", "detection_rate"))
    except UmclError:
        return None
    meta = data["meta"]
    if meta.get("preprocess") != cfg.to_dict():
        return None
    return {"cache": str(cache), "n_frames": cfg.num_frames, "detection_rate": data["detection_rate"]}


def _init_worker(threads: int) -> None:
    """Share the cores between workers: the environment for a freshly imported torch (spawn), the
    thread count of an inherited torch (fork). OpenCV's is left alone: ``cv2.setNumThreads`` in
    a forked child waits for the parent's pool threads, which do not exist there, for ever."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _worker_context(cfg: PreprocessConfig):
    """``fork`` after loading MTCNN and the landmark model here, so that the workers inherit the
    imports and models instead of paying them each (spawned workers import torch, facenet-pytorch
    and dlib and load the models, seconds of CPU each: docs/preprocessing.md); ``spawn`` where fork is unavailable or
    a GPU is used (CUDA cannot be forked)."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods() or not cfg.device.startswith("cpu"):
        return multiprocessing.get_context("spawn")
    fast_nets(load_mtcnn(cfg.device, cfg.min_face_size))
    _landmarker(cfg)
    return multiprocessing.get_context("fork")


def _process_one(video: str, cache: str, cfg: PreprocessConfig) -> tuple[str, dict[str, Any] | None, str]:
    """Run one video; returns (cache, summary or None, one-line reason). Raises only an
    :class:`EnvironmentFailure` (disk full, permissions, memory: every later video would fail too)."""
    try:
        return cache, preprocess_video(video, cache, cfg), ""
    except EnvironmentFailure:
        raise
    except UmclError as exc:
        return cache, None, str(exc)
    except Exception as exc:  # a bug or an exotic file must not stop a batch of thousands
        log.warning("unexpected error on %s (traceback follows)\n%s", video, traceback.format_exc())
        return cache, None, f"{video}: unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def preprocess_manifest(
    manifest_csv: str | Path,
    out_dir: str | Path,
    out_manifest_csv: str | Path,
    cfg: PreprocessConfig,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = True,
) -> list:
    """Preprocess every video of a manifest; write the preprocessed manifest; return its rows.

    Each row gains ``cache`` (absolute in the returned rows, relative to the output manifest's
    folder in the file, which :func:`read_manifest` resolves again), ``status``
    (``ok``/``failed``), ``reason``, ``n_frames`` and ``detection_rate``. Existing caches made
    with the same settings are reused unless ``overwrite``. ``workers`` > 1 runs videos in
    separate processes (each loads MTCNN and the landmark model once).
    """
    cfg = resolve_device(cfg)
    rows = read_manifest(manifest_csv)
    if not rows:
        raise UmclError("manifest has no videos", manifest_csv, "build it with `umcl manifest`")
    out_manifest = Path(out_manifest_csv)
    results: dict[int, tuple[dict[str, Any] | None, str]] = {}
    todo: list[tuple[int, str, str]] = []
    for i, row in enumerate(rows):
        cache = cache_path_for(row, out_dir)
        summary = None if overwrite else _reusable(cache, cfg)
        if summary is not None:
            results[i] = (summary, "")
        else:
            todo.append((i, row.path, str(cache)))
    if len(results):
        log.info("reusing %d existing caches", len(results))
    bar = tqdm(total=len(todo), desc="preprocess", unit="video", disable=not progress)
    if workers <= 1 or len(todo) <= 1:
        for i, video, cache in todo:
            results[i] = _process_one(video, cache, cfg)[1:]
            if results[i][0] is None:
                log.warning("failed: %s", results[i][1])
            bar.update()
    else:
        threads = max(1, (os.cpu_count() or 1) // workers)
        with ProcessPoolExecutor(
            min(workers, len(todo)), mp_context=_worker_context(cfg), initializer=_init_worker, initargs=(threads,)
        ) as pool:
            futures = {pool.submit(_process_one, video, cache, cfg): i for i, video, cache in todo}
            for fut in as_completed(futures):
                try:
                    cache, summary, reason = fut.result()
                except EnvironmentFailure:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
                results[futures[fut]] = (summary, reason)
                if summary is not None:
                    log.info(
                        "%s -> %s (face in %.0f%%, %.1f s)",
                        summary["video"],
                        cache,
                        100 * summary["detection_rate"],
                        summary["seconds"],
                    )
                else:
                    log.warning("failed: %s", reason)
                bar.update()
    bar.close()
    out_rows = []
    for i, row in enumerate(rows):
        summary, reason = results[i]
        if summary is None:
            out_rows.append(
                replace(row, cache=None, status="failed", reason=reason, n_frames=None, detection_rate=None)
            )
        else:
            out_rows.append(
                replace(
                    row,
                    cache=str(Path(summary["cache"]).resolve()),
                    status="ok",
                    reason="",
                    n_frames=summary["n_frames"],
                    detection_rate=round(float(summary["detection_rate"]), 4),
                )
            )
    base = out_manifest.parent.resolve()
    write_manifest([replace(r, cache=os.path.relpath(r.cache, base)) if r.cache else r for r in out_rows], out_manifest)
    n_ok = sum(r.status == "ok" for r in out_rows)
    log.info("preprocessed %d/%d videos (%d failed) -> %s", n_ok, len(out_rows), len(out_rows) - n_ok, out_manifest)
    return out_rows
