"""The per-video preprocessed cache: one compressed ``.npz``, exactly the keys of docs/contracts.md.

Written atomically (a temporary file beside the target, renamed on success), so a failed or
interrupted run never leaves a half-written cache. ``meta`` is stored as a JSON string (a NumPy
unicode scalar), so the file loads with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from umcl.errors import UmclError
from umcl.io_utils import atomic_path

# key -> (dtype, number of dimensions); shapes are checked against each other in validate_cache.
CACHE_SPEC: dict[str, tuple[type, int]] = {
    "faces": (np.uint8, 4),
    "xception_faces": (np.uint8, 4),
    "landmarks": (np.float32, 2),
    "landmarks_raw": (np.float32, 3),
    "boxes": (np.float32, 2),
    "detected": (np.bool_, 1),
    "fps": (np.float32, 0),
    "detection_rate": (np.float32, 0),
    "meta": (np.str_, 0),
}
CACHE_KEYS: tuple[str, ...] = tuple(CACHE_SPEC)


def _check_entries(data: dict[str, np.ndarray], where: str | Path) -> None:
    """Each entry of ``data`` (any subset of the contract's keys) has the contract's dtype and dims."""
    for key, arr in data.items():
        dtype, ndim = CACHE_SPEC[key]
        arr = np.asarray(arr)
        if not np.issubdtype(arr.dtype, dtype) or arr.ndim != ndim:
            raise UmclError(
                f"cache entry '{key}' is {arr.dtype}{list(arr.shape)}, expected "
                f"{np.dtype(dtype).name} with {ndim} dims",
                where,
                "delete the file and rerun `umcl preprocess`",
            )


def validate_cache(data: dict[str, np.ndarray], where: str | Path = "<cache>") -> None:
    """Raise :class:`UmclError` unless ``data`` has exactly the contract's keys, dtypes and shapes."""
    keys = set(data)
    if keys != set(CACHE_KEYS):
        raise UmclError(
            f"cache keys {sorted(keys)} differ from the contract {sorted(CACHE_KEYS)}",
            where,
            "delete the file and rerun `umcl preprocess`",
        )
    _check_entries(data, where)
    t = len(data["faces"])
    expect = {"landmarks": (t, 136), "landmarks_raw": (t, 68, 2), "boxes": (t, 4), "detected": (t,)}
    for key, shape in expect.items():
        if tuple(data[key].shape) != shape:
            raise UmclError(
                f"cache entry '{key}' has shape {list(data[key].shape)}, expected {list(shape)}",
                where,
                "delete the file and rerun `umcl preprocess`",
            )
    for key in ("faces", "xception_faces"):
        s = data[key].shape
        if s[1] != s[2] or s[3] != 3:
            raise UmclError(
                f"cache entry '{key}' has shape {list(s)}, expected [N, S, S, 3]",
                where,
                "delete the file and rerun `umcl preprocess`",
            )


def write_cache(
    path: str | Path,
    *,
    faces: np.ndarray,
    xception_faces: np.ndarray,
    landmarks: np.ndarray,
    landmarks_raw: np.ndarray,
    boxes: np.ndarray,
    detected: np.ndarray,
    fps: float,
    detection_rate: float,
    meta: dict[str, Any],
) -> Path:
    """Validate and write one cache atomically; returns ``path``."""
    data = {
        "faces": np.ascontiguousarray(faces, dtype=np.uint8),
        "xception_faces": np.ascontiguousarray(xception_faces, dtype=np.uint8),
        "landmarks": np.asarray(landmarks, dtype=np.float32),
        "landmarks_raw": np.asarray(landmarks_raw, dtype=np.float32),
        "boxes": np.asarray(boxes, dtype=np.float32),
        "detected": np.asarray(detected, dtype=bool),
        "fps": np.float32(fps),
        "detection_rate": np.float32(detection_rate),
        "meta": np.str_(json.dumps(meta, sort_keys=True, default=str)),
    }
    data = {k: np.asarray(v) for k, v in data.items()}
    validate_cache(data, path)
    path = Path(path)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **data)
    return path


def read_cache(path: str | Path, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Load a cache (all keys, or only ``keys``); ``meta`` comes back as a dict, scalars as floats.

    Loading everything also validates the contract; a missing, truncated or foreign file raises
    :class:`UmclError`.
    """
    path = Path(path)
    if not path.is_file():
        raise UmclError("preprocessed cache not found", path, "run `umcl preprocess` for this video")
    try:
        with np.load(path, allow_pickle=False) as npz:
            wanted = CACHE_KEYS if keys is None else keys
            missing = [k for k in wanted if k not in npz.files]
            if missing:
                raise UmclError(f"cache lacks {missing}", path, "delete the file and rerun `umcl preprocess`")
            data = {k: npz[k] for k in wanted}
    except UmclError:
        raise
    except Exception as exc:  # noqa: BLE001 - zip and .npy damage raises a zoo (zlib.error, NotImplementedError, ...)
        raise UmclError(
            f"cannot read cache ({type(exc).__name__}: {exc})", path, "delete the file and rerun `umcl preprocess`"
        ) from None
    if keys is None:
        validate_cache(data, path)
    else:
        _check_entries({k: v for k, v in data.items() if k in CACHE_SPEC}, path)
    out: dict[str, Any] = dict(data)
    for key in ("fps", "detection_rate"):
        if key in out:
            out[key] = float(out[key])
    if "meta" in out:
        try:
            out["meta"] = json.loads(str(out["meta"]))
        except ValueError:
            out["meta"] = None
        if not isinstance(out["meta"], dict):
            raise UmclError(
                "cache entry 'meta' is not a JSON object", path, "delete the file and rerun `umcl preprocess`"
            )
    return out
