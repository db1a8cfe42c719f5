"""Box geometry shared by the face crops and the landmark calibration: square boxes, crops, IoU."""

from __future__ import annotations

import cv2
import numpy as np


def square_boxes(boxes: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Square boxes [N, 4] (x1, y1, x2, y2) with the same centre, side = max(w, h) * ``scale``."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    half = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * scale / 2
    return np.stack([cx - half, cy - half, cx + half, cy + half], axis=1)


def box_params(boxes: np.ndarray) -> np.ndarray:
    """(cx, cy, side) [N, 3] of square boxes [N, 4]."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.stack(
        [(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2, boxes[:, 2] - boxes[:, 0]], axis=1
    )


def boxes_from_params(params: np.ndarray) -> np.ndarray:
    """Square boxes [N, 4] from (cx, cy, side) [N, 3]."""
    params = np.asarray(params, dtype=np.float64).reshape(-1, 3)
    half = params[:, 2] / 2
    return np.stack([params[:, 0] - half, params[:, 1] - half, params[:, 0] + half, params[:, 1] + half], axis=1)


def integer_box(box: np.ndarray) -> np.ndarray:
    """The whole-pixel square region (x1, y1, x2, y2) that :func:`crop_square` cuts for ``box``."""
    side = max(int(round(float(box[2] - box[0]))), 1)
    x1 = int(round(float(box[0])))
    y1 = int(round(float(box[1])))
    return np.array([x1, y1, x1 + side, y1 + side], dtype=np.int64)


def crop_square(frame: np.ndarray, box: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Crop the square ``box`` from ``frame`` and resize it to ``size`` x ``size``.

    The box is rounded to whole pixels (side at least 1); parts outside the frame are filled
    with black so the crop stays square and centred on the face. Shrinking uses area
    averaging, enlarging bicubic interpolation (as LRNet's calibrator does).
    Returns the crop and the integer box actually cropped (x1, y1, x2, y2).
    """
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = (int(v) for v in integer_box(box))
    side = x2 - x1
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    patch = np.zeros((side, side) + frame.shape[2:], dtype=frame.dtype)
    if sx2 > sx1 and sy2 > sy1:
        patch[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = frame[sy1:sy2, sx1:sx2]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    crop = cv2.resize(patch, (size, size), interpolation=interp)
    return crop, np.array([x1, y1, x2, y2], dtype=np.int64)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise IoU of two box arrays [N, 4]."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    iw = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a + area_b - inter, 1e-12)
