"""LRNet's landmark calibration: LK tracking + forward-backward check + per-point Kalman merge.

Follows LRNet's published calibrator (Sun et al., CVPR 2021, frederickszk/LRNet):

1. Each frame's face is re-cropped from its own landmarks: square box around the landmarks'
   extent, enlarged 1.2x, resized to 400x400; landmarks are expressed in that crop.
2. Between consecutive crops, pyramidal Lucas-Kanade (window 15x15, ``maxLevel=3`` as in LRNet,
   i.e. the base image plus 3 coarser levels; stop after 10 iterations or a 0.03 px step)
   tracks the previous *calibrated* points forward, seeded with the new detection, then back.
3. A point whose LK status is lost, or whose forward-backward error exceeds 2 px, keeps the
   detection. Otherwise detection and track are merged per point by a scalar Kalman update with
   process variance Q = 0.3 (LRNet's value).
4. Normalise to [-1, 1]: (p - 200) / 200, flattened to 136 values (x0, y0, x1, y1, ...).

Measurement noise (LRNet's heuristic, kept): R_t = |d_t - d_{t-1}| / max(|f_t - c_{t-1}|, 1 px),
the detector's displacement relative to the tracked displacement (d detection, f LK forward
track, c calibrated point). A detection that jumps while the image content does not move gets a
large R and is damped; a detection that moves with the content is trusted. LRNet divides by the
integer-rounded track distance with 0 replaced by 1, which our max(., 1 px) reproduces for float
coordinates.

Deviations (docs/deviations/data.md): coordinates stay in floating point (LRNet rounds to whole
pixels of the 400 px crop, a 0.005 quantisation in normalised units, half the paper's smallest
landmark perturbation); LK runs on grey-scale crops, converted to grey before the resize to 400 px
(one channel resized instead of three: faster, and calibrated points move by a small fraction of
a pixel; docs/preprocessing.md); crops that leave the frame are padded with
black instead of being shrunk, so the crop stays centred on the face.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from umcl.data.preprocess.geometry import crop_square, integer_box, square_boxes

CALIB_SIZE = 400
CALIB_SCALE = 1.2
LK_PARAMS = dict(winSize=(15, 15), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03))
FB_THRESHOLD_PX = 2.0
PROCESS_VARIANCE = 0.3


@dataclass
class Calibrated:
    """Result of :func:`calibrate_landmarks` for T frames."""

    normalised: np.ndarray  # float32 [T, 136], (p - 200) / 200 in each frame's 400 px crop
    pixels: np.ndarray  # float32 [T, 68, 2], calibrated points mapped back to video pixels
    crop_boxes: np.ndarray  # int64 [T, 4], the square region of each frame mapped to 400 px
    tracked_fraction: float  # share of point updates that passed the forward-backward check


def landmark_boxes(landmarks: np.ndarray, scale: float = CALIB_SCALE) -> np.ndarray:
    """Square boxes [T, 4] around each frame's landmark extent, enlarged by ``scale``."""
    lo = landmarks.min(axis=1)
    hi = landmarks.max(axis=1)
    return square_boxes(np.concatenate([lo, hi], axis=1), scale)


def grey_crop(frame: np.ndarray, box: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`crop_square` of ``box`` in grey scale: only the part of the frame inside the box is
    converted (RGB to grey before the resize, one channel resized instead of three)."""
    x1, y1, x2, y2 = (int(v) for v in integer_box(box))
    h, w = frame.shape[:2]
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if frame.ndim == 2:
        region = frame[sy1 : max(sy2, sy1), sx1 : max(sx2, sx1)]
    elif sx2 > sx1 and sy2 > sy1:
        region = cv2.cvtColor(frame[sy1:sy2, sx1:sx2], cv2.COLOR_RGB2GRAY)
    else:
        region = np.zeros((0, 0), dtype=frame.dtype)
    crop, ibox = crop_square(region, np.asarray(box, dtype=np.float64) - [sx1, sy1, sx1, sy1], size)
    return crop, ibox + [sx1, sy1, sx1, sy1]


def normalised_crops(frames: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grey 400x400 crops [T, 400, 400], landmarks in crop pixels [T, 68, 2], integer crop boxes [T, 4]."""
    boxes = landmark_boxes(landmarks)
    crops = np.empty((len(frames), CALIB_SIZE, CALIB_SIZE), dtype=np.uint8)
    local = np.empty(landmarks.shape, dtype=np.float64)
    used = np.empty((len(frames), 4), dtype=np.int64)
    for t, (frame, box) in enumerate(zip(frames, boxes, strict=True)):
        crops[t], ibox = grey_crop(frame, box, CALIB_SIZE)
        local[t] = (landmarks[t] - ibox[:2]) * (CALIB_SIZE / (ibox[2] - ibox[0]))
        used[t] = ibox
    return crops, local, used


def track_points(
    prev: np.ndarray, nxt: np.ndarray, points: np.ndarray, guess: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """LK-track ``points`` from ``prev`` to ``nxt`` (seeded at ``guess``) with a forward-backward check.

    Returns the forward positions [N, 2] and a bool mask [N] of points that were found both ways
    and came back within 2 px.
    """
    p0 = points.astype(np.float32).reshape(-1, 1, 2)
    fwd, st_f, _ = cv2.calcOpticalFlowPyrLK(
        prev, nxt, p0, guess.astype(np.float32).reshape(-1, 1, 2), flags=cv2.OPTFLOW_USE_INITIAL_FLOW, **LK_PARAMS
    )
    back, st_b, _ = cv2.calcOpticalFlowPyrLK(nxt, prev, fwd, p0.copy(), flags=cv2.OPTFLOW_USE_INITIAL_FLOW, **LK_PARAMS)
    fb_err = np.linalg.norm(back.reshape(-1, 2) - points, axis=1)
    ok = (st_f.reshape(-1) == 1) & (st_b.reshape(-1) == 1) & (fb_err <= FB_THRESHOLD_PX)
    return fwd.reshape(-1, 2).astype(np.float64), ok


def kalman_merge(
    detection: np.ndarray,
    prev_detection: np.ndarray,
    tracked: np.ndarray,
    prev_calibrated: np.ndarray,
    ok: np.ndarray,
    p_predict: np.ndarray,
) -> np.ndarray:
    """Merge detection and LK track per point; updates ``p_predict`` in place for ``ok`` points."""
    r = np.linalg.norm(detection - prev_detection, axis=1) / np.maximum(
        np.linalg.norm(tracked - prev_calibrated, axis=1), 1.0
    )
    merged = detection.copy()
    p = p_predict[ok] + PROCESS_VARIANCE
    gain = p / (p + r[ok])
    merged[ok] = tracked[ok] + gain[:, None] * (detection[ok] - tracked[ok])
    p_predict[ok] = (1.0 - gain) * p
    return merged


def calibrate_landmarks(frames: np.ndarray, landmarks: np.ndarray) -> Calibrated:
    """Calibrate detector landmarks [T, 68, 2] (video pixels) of RGB ``frames`` [T, H, W, 3]."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    crops, det, boxes = normalised_crops(frames, landmarks)
    calibrated = np.empty_like(det)
    calibrated[0] = det[0]
    p_predict = np.zeros(det.shape[1])
    n_ok = 0
    for t in range(1, len(det)):
        tracked, ok = track_points(crops[t - 1], crops[t], calibrated[t - 1], det[t])
        calibrated[t] = kalman_merge(det[t], det[t - 1], tracked, calibrated[t - 1], ok, p_predict)
        n_ok += int(ok.sum())
    return _finish(calibrated, boxes, n_ok / max((len(det) - 1) * det.shape[1], 1))


def normalise_only(frames: np.ndarray, landmarks: np.ndarray) -> Calibrated:
    """LRNet normalisation without tracking (``preprocess.calibrate: false``)."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    boxes = np.stack([integer_box(b) for b in landmark_boxes(landmarks)])
    side = np.maximum(boxes[:, 2] - boxes[:, 0], 1)
    local = (landmarks - boxes[:, None, :2]) * (CALIB_SIZE / side)[:, None, None]
    return _finish(local, boxes, 0.0)


def _finish(local: np.ndarray, boxes: np.ndarray, tracked_fraction: float) -> Calibrated:
    side = (boxes[:, 2] - boxes[:, 0]).astype(np.float64)
    pixels = local * (side / CALIB_SIZE)[:, None, None] + boxes[:, None, :2]
    half = CALIB_SIZE / 2
    normalised = ((local - half) / half).reshape(len(local), -1)
    return Calibrated(normalised.astype(np.float32), pixels.astype(np.float32), boxes, tracked_fraction)
