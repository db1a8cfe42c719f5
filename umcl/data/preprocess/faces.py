"""MTCNN face boxes: batched detection on key frames, interpolation and smoothing, square crops.

Choices (docs/deviations/data.md, "Preprocessing"):

- One face per frame: the candidate with the highest MTCNN probability (at least
  ``min_face_prob``); FF++-style videos show one subject.
- Boxes are made square (side = max(w, h), same centre) before anything else, so crops never
  distort the face.
- ``keyframe_interval`` N: MTCNN runs on frames 0, N, 2N, ... and always on the last frame.
  Every frame's box comes from linear interpolation of (centre x, centre y, side) between the
  nearest frames where a face was found; before the first/after the last found face the
  nearest box is held. Frames where MTCNN ran and found nothing are filled the same way.
- ``box_smoothing`` w (odd): a centred moving average of (cx, cy, side) over w frames
  (edges replicated) to remove detector jitter; 1 switches it off.
- ``refine_boxes`` (with key frames): every frame between key frames is checked and refined by
  MTCNN's own last two stages (R-net, then O-net), started from the interpolated box: the
  24 x 24 and 48 x 48 crops give face probabilities and box regressions, exactly as in MTCNN's
  second and third stages. Frames rejected by R-net (below MTCNN's stage-2 threshold) or O-net
  (below ``min_face_prob``) count as not found and get interpolated boxes.
- ``region_margin`` > 0 (with key frames and ``refine_boxes``): instead of R-net + O-net from
  the interpolated box, every frame (key frames included) gets MTCNN's three stages restricted
  to a region around the interpolated box (:mod:`umcl.data.preprocess.mtcnn_region`): the same
  candidates, suppression and stages as full-frame MTCNN inside the region, so the box is
  per-frame MTCNN's own whenever the face stays inside it. ``region_interval`` N runs it on
  every N-th frame (and the last, and the key frames) only; the boxes in between are interpolated.
  ``region_min_side`` keeps R-net + O-net for videos whose shorter side is below it.
- ``detect_max_side`` (with key frames): key frames are detected on a down-scaled copy (never
  smaller than MTCNN's first pyramid scale, so the same face sizes are looked for) and then
  refined by R-net + O-net on the full frame like every other frame.
- ``detection_rate`` = frames with a face / frames tried (key frames, plus the refined frames).

Why: detecting on key frames only is several times faster than on every frame, and the
interpolated boxes stay within per-frame MTCNN's own frame-to-frame jitter (speed and box error
measured in docs/preprocessing.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from umcl.data.preprocess.config import PreprocessConfig
from umcl.data.preprocess.geometry import box_params, boxes_from_params, crop_square, square_boxes
from umcl.data.preprocess.mtcnn_region import detect_in_regions, fast_nets

#: P-net windows (px), as multiples of the face's side, searched by the region detection
#: (``region_margin``): windows far smaller than the face find parts of it, far larger ones hold it
#: in a corner; measured on SynthFF at 256 px, 640 x 480 and 1280 x 720 (docs/preprocessing.md):
#: with these the boxes equal per-frame MTCNN's.
REGION_WINDOWS = (0.3, 3.0)


@dataclass
class FaceTrack:
    """Per-frame face boxes of one video."""

    boxes: np.ndarray  # float32 [T, 4] square boxes after interpolation/smoothing
    detected: np.ndarray  # bool [T]: MTCNN ran on the frame and found a face
    tried: np.ndarray  # bool [T]: MTCNN ran on the frame
    detection_rate: float  # detected.sum() / tried.sum()


@functools.lru_cache(maxsize=4)
def load_mtcnn(device: str = "cpu", min_face_size: int = 40):
    """facenet-pytorch's MTCNN (weights ship inside the wheel; nothing is downloaded)."""
    from facenet_pytorch import MTCNN

    return MTCNN(keep_all=True, select_largest=False, min_face_size=min_face_size, post_process=False, device=device)


def keyframe_indices(num_frames: int, interval: int) -> np.ndarray:
    """Frames on which MTCNN runs: every ``interval``-th frame plus the last one."""
    idx = list(range(0, num_frames, interval))
    if idx[-1] != num_frames - 1:
        idx.append(num_frames - 1)
    return np.asarray(idx, dtype=np.int64)


def detect_boxes(frames: np.ndarray, mtcnn, batch_size: int, min_prob: float) -> np.ndarray:
    """Best face box per frame, float64 [N, 4] (NaN rows where no face passes ``min_prob``).

    ``frames`` is uint8 [N, H, W, 3] RGB; all frames of a video share one size, which the
    batched MTCNN call requires.
    """
    out = np.full((len(frames), 4), np.nan)
    for start in range(0, len(frames), batch_size):
        chunk = np.ascontiguousarray(frames[start : start + batch_size])
        boxes, probs = mtcnn.detect(chunk)
        for j, (b, p) in enumerate(zip(boxes, probs, strict=True)):
            if b is None or p is None:
                continue
            p = np.asarray(p, dtype=np.float64).reshape(-1)
            best = int(np.argmax(p))
            if p[best] >= min_prob:
                out[start + j] = np.asarray(b, dtype=np.float64).reshape(-1, 4)[best]
    return out


def interpolate_boxes(frame_idx: np.ndarray, boxes: np.ndarray, num_frames: int) -> np.ndarray:
    """Square boxes [num_frames, 4] interpolated linearly in (cx, cy, side) from known frames."""
    params = box_params(square_boxes(boxes))
    t = np.arange(num_frames)
    filled = np.stack([np.interp(t, frame_idx, params[:, k]) for k in range(3)], axis=1)
    return boxes_from_params(filled)


def smooth_boxes(boxes: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average of (cx, cy, side) over ``window`` frames, edges replicated."""
    if window <= 1:
        return boxes
    params = box_params(boxes)
    pad = window // 2
    padded = np.pad(params, ((pad, pad), (0, 0)), mode="edge")
    kernel = np.ones(window) / window
    smoothed = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(3)], axis=1)
    return boxes_from_params(smoothed)


def _mtcnn_stage(
    frames: np.ndarray, boxes: np.ndarray, net, size: int, index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One of MTCNN's box-refining stages (R-net: ``size`` 24, O-net: 48) on given boxes.

    Follows facenet-pytorch's stages 2/3: the box is made square (``rerec``), cut with MTCNN's
    1-based integer bounds clipped to the frame (``pad``), resized to ``size`` x ``size`` by area
    averaging, scaled by (x - 127.5) / 128, and the regression is applied to the square box
    (``bbreg``). Returns the refined boxes float64 [N, 4] and the face probabilities [N].
    """
    import cv2
    import torch
    from facenet_pytorch.models.utils.detect_face import bbreg, pad, rerec

    h, w = frames.shape[1:3]
    square = rerec(torch.as_tensor(np.asarray(boxes, dtype=np.float32)).reshape(-1, 4).clone())
    y, ey, x, ex = pad(square.clone(), w, h)
    crops = np.zeros((len(square), size, size, 3), dtype=np.float32)
    ok = (ey > y - 1) & (ex > x - 1)
    for k in np.flatnonzero(ok):
        patch = frames[index[k], y[k] - 1 : ey[k], x[k] - 1 : ex[k]]
        crops[k] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    data = (torch.from_numpy(crops).permute(0, 3, 1, 2) - 127.5) * 0.0078125
    dtype = next(net.parameters()).dtype
    device = next(net.parameters()).device
    with torch.no_grad():
        out = net(data.to(device, dtype))
    refined = bbreg(square, out[0].float().cpu()).numpy().astype(np.float64)
    prob = out[-1][:, 1].float().cpu().numpy().astype(np.float64)
    prob[~ok] = 0.0
    return refined, prob


def onet_refine(
    frames: np.ndarray, boxes: np.ndarray, mtcnn, index: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """MTCNN's third stage on given boxes: refined boxes float64 [N, 4] and face probabilities [N].

    Box ``k`` is looked for in ``frames[index[k]]`` (``index`` None: ``frames[k]``), so that no
    frame is copied. Area resizing here uses OpenCV on uint8 (facenet-pytorch: torch
    ``interpolate(mode="area")`` on float): half the cost; on SynthFF the boxes move by 0.3-0.4 px
    on average (tested < 0.6).
    """
    index = np.arange(len(np.asarray(boxes).reshape(-1, 4))) if index is None else np.asarray(index)
    return _mtcnn_stage(frames, boxes, fast_nets(mtcnn).onet, 48, index)


def mtcnn_refine(
    frames: np.ndarray, boxes: np.ndarray, mtcnn, index: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """MTCNN's second and third stages (R-net, then O-net) started from given boxes.

    The chain MTCNN itself runs on each P-net candidate: R-net's regression, ``rerec``, O-net's
    regression. Returns the boxes [N, 4] and the face probability [N]: O-net's, or 0 where R-net
    rejects the box (below MTCNN's stage-2 threshold). Measured against per-frame MTCNN at
    1280 x 720 (key frames 0 and 31 of 32): box error 2.13 px with R-net + O-net, 2.64 px with
    O-net alone (docs/preprocessing.md).
    """
    index = np.arange(len(np.asarray(boxes).reshape(-1, 4))) if index is None else np.asarray(index)
    nets = fast_nets(mtcnn)
    rboxes, rprob = _mtcnn_stage(frames, boxes, nets.rnet, 24, index)
    oboxes, oprob = _mtcnn_stage(frames, rboxes, nets.onet, 48, index)
    oprob[rprob < mtcnn.thresholds[1]] = 0.0
    return oboxes, oprob


def detect_scale(height: int, width: int, min_face_size: int, max_side: int) -> float:
    """Down-scaling factor of key frames for detection (1 = full frame).

    The longer side is brought to ``max_side`` but never below the scale 12 / ``min_face_size``,
    MTCNN's own first pyramid scale: the P-net pyramid then covers the same face sizes as on the
    full frame (every face of at least ``min_face_size`` px is still looked for), and only the
    full-resolution resampling and crops are saved.
    """
    if max_side <= 0:
        return 1.0
    return float(min(1.0, max(max_side / max(height, width), 12.0 / min_face_size)))


def detect_boxes_scaled(
    frames: np.ndarray, mtcnn, batch_size: int, min_prob: float, scale: float, min_face_size: int
) -> np.ndarray:
    """:func:`detect_boxes` on frames down-scaled by ``scale`` (area averaging), boxes in full-frame px.

    MTCNN's smallest face is scaled too (``min_face_size * scale``, at least 12), so the same face
    sizes are looked for as on the full frames.
    """
    if scale >= 1.0:
        return detect_boxes(frames, mtcnn, batch_size, min_prob)
    import cv2
    import torch
    from facenet_pytorch.models.utils.detect_face import detect_face

    h, w = frames.shape[1:3]
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    small = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])
    minsize = max(12.0, min_face_size * scale)
    out = np.full((len(frames), 4), np.nan)
    nets = fast_nets(mtcnn)
    for start in range(0, len(small), batch_size):
        with torch.no_grad():
            batch, _ = detect_face(
                small[start : start + batch_size],
                minsize,
                nets.pnet,
                nets.rnet,
                nets.onet,
                mtcnn.thresholds,
                mtcnn.factor,
                mtcnn.device,
            )
        for j, found in enumerate(batch):
            found = np.asarray(found, dtype=np.float64).reshape(-1, 5)
            if len(found) and found[:, 4].max() >= min_prob:
                best = found[int(np.argmax(found[:, 4]))]
                out[start + j] = best[:4] * (np.array([w / size[0], h / size[1]] * 2))
    return out


def track_faces(frames: np.ndarray, cfg: PreprocessConfig, mtcnn=None) -> FaceTrack:
    """Face boxes for every frame of ``frames`` (uint8 [T, H, W, 3] RGB).

    Full MTCNN on the key frames (down-scaled by :func:`detect_scale` when
    ``cfg.detect_max_side`` is set); with ``cfg.refine_boxes`` the frames in between are refined
    by MTCNN's R-net and O-net from the interpolated boxes (:func:`mtcnn_refine`), and so are
    key frames detected on a down-scaled frame (their boxes then come from full-resolution crops,
    as on every other frame). If no face is found on any key frame, ``boxes`` is all NaN and
    ``detection_rate`` 0; the caller decides whether the rate is high enough.
    """
    num = len(frames)
    mtcnn = mtcnn if mtcnn is not None else load_mtcnn(cfg.device, cfg.min_face_size)
    keys = keyframe_indices(num, cfg.keyframe_interval)
    found = np.full((num, 4), np.nan)
    scale = detect_scale(*frames.shape[1:3], cfg.min_face_size, cfg.detect_max_side) if len(keys) < num else 1.0
    found[keys] = detect_boxes_scaled(
        frames[keys], mtcnn, cfg.detector_batch_size, cfg.min_face_prob, scale, cfg.min_face_size
    )
    tried = np.zeros(num, dtype=bool)
    tried[keys] = True
    detected = tried & ~np.isnan(found[:, 0])
    if detected.any() and cfg.refine_boxes and len(keys) < num:
        region = cfg.region_margin > 0 and min(frames.shape[1:3]) >= cfg.region_min_side
        if region:
            todo = np.union1d(keyframe_indices(num, cfg.region_interval), keys)
        else:
            todo = np.arange(num) if scale < 1.0 else np.flatnonzero(~tried)
        prior = interpolate_boxes(np.flatnonzero(detected), found[detected], num)[todo]
        if region:
            best = detect_in_regions(frames, prior, mtcnn, cfg.region_margin, REGION_WINDOWS, index=todo)
            refined, prob = best[:, :4], np.nan_to_num(best[:, 4], nan=0.0)
        else:
            refined, prob = mtcnn_refine(frames, prior, mtcnn, index=todo)
        good = prob >= cfg.min_face_prob
        found[todo] = np.where(good[:, None], refined, found[todo])
        tried[todo] = True
        detected[todo] = good | detected[todo]
    rate = float(detected.sum() / tried.sum())
    if not detected.any():
        return FaceTrack(np.full((num, 4), np.nan, np.float32), detected, tried, rate)
    boxes = interpolate_boxes(np.flatnonzero(detected), found[detected], num)
    boxes = smooth_boxes(boxes, cfg.box_smoothing)
    return FaceTrack(boxes.astype(np.float32), detected, tried, rate)


def crop_faces(frames: np.ndarray, boxes: np.ndarray, scale: float, size: int) -> np.ndarray:
    """uint8 [N, size, size, 3] crops of the boxes enlarged by ``scale`` (black outside the frame)."""
    big = square_boxes(boxes, scale)
    out = np.empty((len(frames), size, size, 3), dtype=np.uint8)
    for i, (frame, box) in enumerate(zip(frames, big, strict=True)):
        out[i] = crop_square(frame, box, size)[0]
    return out


def evenly_spaced(num_frames: int, count: int) -> np.ndarray:
    """``count`` frame indices spread evenly over ``num_frames`` (centres of equal segments)."""
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.floor((np.arange(count) + 0.5) * num_frames / count).astype(np.int64)
