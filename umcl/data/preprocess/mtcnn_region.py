"""MTCNN inside a region of interest: what full-frame MTCNN finds there, for a fraction of its work.

facenet-pytorch's MTCNN (``detect_face``) resamples the whole frame to every scale of a pyramid
(``interpolate(mode="area")``: adaptive average pooling), runs P-net over each resampled frame,
and passes the candidates through non-maximum suppression, R-net and O-net. P-net is fully
convolutional (a 12 x 12 window moved in steps of 2), so a candidate depends only on the pixels
under its window. :func:`detect_in_regions` therefore computes each scale's resampled pixels only
over a region around a prior box, with the *full frame's* pooling bins (integer sums from an
integral image, divided as torch divides them: the values are bit-identical,
tests/test_mtcnn_region.py), cuts the region at an even cell so that P-net's 2 x 2 pooling pairs
the same rows and columns as on the full frame, and numbers the cells as on the full frame. The
candidates are then the full frame's candidates inside the region; suppression, R-net and O-net
run on them exactly as in ``detect_face`` (the same facenet-pytorch functions). Two things can
make the result differ from full-frame MTCNN, and both are settings:

- ``margin``: the region is the prior box enlarged by ``1 + 2 * margin``; a face that moved out
  of it, or a stronger candidate outside it that would have suppressed one inside, is not seen.
- ``windows``: only scales whose P-net window (12 / scale px) lies within ``windows`` times the
  prior's side are run. Windows far smaller than the face find parts of it (rejected by R-net or
  O-net, or kept as separate small boxes) and far larger ones hold the face in a corner; both
  cost the most pixels (the finest scales) or need regions larger than the face.

Measured against per-frame MTCNN (docs/preprocessing.md): see ``umcl.data.preprocess.faces``.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np

#: P-net's window and step (px at its scale), as in MTCNN.
PNET_CELL, PNET_STRIDE = 12, 2


@functools.lru_cache(maxsize=4)
def fast_nets(mtcnn) -> SimpleNamespace:
    """Copies of ``mtcnn``'s P-, R- and O-net with channels-last weights (the same values).

    On CPU, PyTorch's max pooling over channels-first tensors is the slowest step of R-net and
    O-net, and far faster channels-last (times in docs/preprocessing.md); with
    channels-last weights every layer runs channels-last. Outputs agree with the originals to
    about 2e-7 (float summation order). ``mtcnn`` itself is left as it is.
    """
    import copy

    import torch

    return SimpleNamespace(
        **{
            name: copy.deepcopy(getattr(mtcnn, name)).to(memory_format=torch.channels_last)
            for name in ("pnet", "rnet", "onet")
        }
    )


def pyramid_scales(height: int, width: int, min_face_size: float, factor: float) -> list[float]:
    """MTCNN's pyramid scales for a frame, computed as facenet-pytorch's ``detect_face`` does."""
    m = 12.0 / min_face_size
    minl = min(height, width) * m
    scales, scale = [], m
    while minl >= 12:
        scales.append(scale)
        scale *= factor
        minl *= factor
    return scales


def area_bins(n_in: int, n_out: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Input index ranges [start, end) of output cells ``lo..hi-1`` of torch's adaptive average
    pooling from ``n_in`` to ``n_out`` (ATen's ``start_index`` / ``end_index``)."""
    a = np.arange(lo, hi, dtype=np.int64)
    return (a * n_in) // n_out, ((a + 1) * n_in + n_out - 1) // n_out


def resample_region(frame: np.ndarray, scale: float, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    """Cells ``rows`` x ``cols`` of ``interpolate(frame, size=(int(h * scale + 1), int(w * scale + 1)),
    mode="area")`` as float32 [rows, cols, 3], from the pixels under them only (bit-identical)."""
    import cv2

    h, w = frame.shape[:2]
    out_h, out_w = int(h * scale + 1), int(w * scale + 1)
    rs, re = area_bins(h, out_h, *rows)
    cs, ce = area_bins(w, out_w, *cols)
    r0, c0 = int(rs[0]), int(cs[0])
    integral = cv2.integral(np.ascontiguousarray(frame[r0 : int(re[-1]), c0 : int(ce[-1])]), sdepth=cv2.CV_32S)
    rs, re, cs, ce = rs - r0, re - r0, cs - c0, ce - c0
    total = integral[re][:, ce] - integral[rs][:, ce] - integral[re][:, cs] + integral[rs][:, cs]
    kh = (re - rs).astype(np.float32)[:, None, None]
    kw = (ce - cs).astype(np.float32)[None, :, None]
    return (total.astype(np.float32) / kh) / kw


def _regions(priors: np.ndarray, margin: float) -> tuple[np.ndarray, float]:
    """Regions (x1, y1, x2, y2) [N, 4] around the priors' centres, all of one size: the largest
    prior side times ``1 + 2 * margin`` (one size lets P-net run on all frames in one call); and
    the median prior side, which chooses the scales."""
    priors = np.asarray(priors, dtype=np.float64).reshape(-1, 4)
    sides = np.maximum(priors[:, 2] - priors[:, 0], priors[:, 3] - priors[:, 1])
    half = float(sides.max()) * (0.5 + margin)
    cx, cy = (priors[:, 0] + priors[:, 2]) / 2, (priors[:, 1] + priors[:, 3]) / 2
    return np.stack([cx - half, cy - half, cx + half, cy + half], axis=1), float(np.median(sides))


def _cells(lo_px: float, span_px: float, n_in: int, n_out: int) -> tuple[int, int] | None:
    """Output cells [i0, i1) of one axis covering input pixels [lo_px, lo_px + span_px): i0 even
    (P-net's 2 x 2 pooling then pairs the same cells as on the full frame), an even count of at
    least P-net's 12 cells that depends only on the span (equal regions give equal shapes, so
    P-net runs on them in one call), cut at the frame's edge (where the full frame ends too).
    None when the axis has fewer than 12 cells."""
    count = int(np.ceil(span_px * n_out / n_in)) + 2
    count = max(PNET_CELL, count + count % 2)
    if n_out < PNET_CELL:
        return None
    i0 = max(0, int(np.floor(lo_px * n_out / n_in)))
    i0 -= i0 % 2
    i1 = min(n_out, i0 + count)
    if i1 - i0 < PNET_CELL:
        i0 = max(0, i1 - PNET_CELL)
        i0 -= i0 % 2
    return i0, i1


def _stage1(frames: np.ndarray, index: np.ndarray, regions: np.ndarray, scales: list[float], pnet, threshold: float):
    """P-net candidates inside each frame's region on every scale, as ``detect_face``'s stage 1
    leaves them: rows (x1, y1, x2, y2, score, 4 offsets) [K, 9] and their frame index [K], after
    the per-scale (0.5) and cross-scale (0.7) suppression per frame."""
    import torch
    from torchvision.ops.boxes import batched_nms

    h, w = frames.shape[1:3]
    span = float(regions[0, 2] - regions[0, 0])
    boxes, owners = [], []
    for scale in scales:
        out_h, out_w = int(h * scale + 1), int(w * scale + 1)
        groups: dict[tuple, list[int]] = {}
        cells = []
        for k, region in enumerate(regions):
            rows, cols = _cells(region[1], span, h, out_h), _cells(region[0], span, w, out_w)
            cells.append((rows, cols))
            if rows is not None and cols is not None:
                groups.setdefault((rows[1] - rows[0], cols[1] - cols[0]), []).append(k)
        for members in groups.values():
            pixels = np.stack([resample_region(frames[index[k]], scale, *cells[k]) for k in members])
            data = (torch.from_numpy(pixels).permute(0, 3, 1, 2) - 127.5) * 0.0078125
            reg, probs = pnet(data)
            mask = probs[:, 1] >= threshold
            idx = mask.nonzero()
            if not len(idx):
                continue
            origin = torch.tensor([[cells[k][0][0] // PNET_STRIDE, cells[k][1][0] // PNET_STRIDE] for k in members])
            bb = (idx[:, 1:] + origin[idx[:, 0]]).to(reg.dtype).flip(1)
            q1 = ((PNET_STRIDE * bb + 1) / scale).floor()
            q2 = ((PNET_STRIDE * bb + PNET_CELL - 1 + 1) / scale).floor()
            found = torch.cat([q1, q2, probs[:, 1][mask].unsqueeze(1), reg.permute(0, 2, 3, 1)[mask]], dim=1)
            owner = torch.as_tensor(members)[idx[:, 0]]
            keep = batched_nms(found[:, :4], found[:, 4], owner, 0.5)
            boxes.append(found[keep])
            owners.append(owner[keep])
    if not boxes:
        return None, None
    boxes, owners = torch.cat(boxes), torch.cat(owners)
    keep = batched_nms(boxes[:, :4], boxes[:, 4], owners, 0.7)
    return boxes[keep], owners[keep]


def area_crops(
    frame: np.ndarray, y: np.ndarray, ey: np.ndarray, x: np.ndarray, ex: np.ndarray, size: int
) -> np.ndarray:
    """float32 [K, size, size, 3]: ``interpolate(crop, (size, size), mode="area")`` of each crop
    ``frame[y - 1:ey, x - 1:ex]`` (facenet-pytorch's 1-based bounds), bit-identical to torch's, from
    one integral image of the crops' union (a gather per crop instead of a pooling call each)."""
    import cv2

    y0, x0 = np.asarray(y, dtype=np.int64) - 1, np.asarray(x, dtype=np.int64) - 1
    ey, ex = np.asarray(ey, dtype=np.int64), np.asarray(ex, dtype=np.int64)
    r0, c0 = int(y0.min()), int(x0.min())
    integral = cv2.integral(np.ascontiguousarray(frame[r0 : int(ey.max()), c0 : int(ex.max())]), sdepth=cv2.CV_32S)
    a = np.arange(size, dtype=np.int64)[None, :]
    hk, wk = (ey - y0)[:, None], (ex - x0)[:, None]
    rs, re = (y0 - r0)[:, None] + (a * hk) // size, (y0 - r0)[:, None] + ((a + 1) * hk + size - 1) // size
    cs, ce = (x0 - c0)[:, None] + (a * wk) // size, (x0 - c0)[:, None] + ((a + 1) * wk + size - 1) // size
    rs, re, cs, ce = rs[:, :, None], re[:, :, None], cs[:, None, :], ce[:, None, :]
    total = integral[re, ce] - integral[rs, ce] - integral[re, cs] + integral[rs, cs]
    kh = (re - rs).astype(np.float32)[..., None]
    kw = (ce - cs).astype(np.float32)[..., None]
    return (total.astype(np.float32) / kh) / kw


def _crops(frames: np.ndarray, index: np.ndarray, boxes, owners, size: int):
    """``detect_face``'s crops for R-net (24) / O-net (48), NCHW float: 1-based bounds clipped to
    the frame (``pad``), area resampling (:func:`area_crops`), scaled by (x - 127.5) / 128; crops
    with no pixels are left out, as ``detect_face`` leaves them out."""
    import torch
    from facenet_pytorch.models.utils.detect_face import pad

    h, w = frames.shape[1:3]
    y, ey, x, ex = (np.asarray(v) for v in pad(boxes, w, h))
    owners = np.asarray(owners)
    valid = (ey > y - 1) & (ex > x - 1)
    out = np.empty((int(valid.sum()), size, size, 3), dtype=np.float32)
    slot = np.cumsum(valid) - 1
    for k in np.unique(owners[valid]):
        mine = np.flatnonzero(valid & (owners == k))
        out[slot[mine]] = area_crops(frames[index[k]], y[mine], ey[mine], x[mine], ex[mine], size)
    return (torch.from_numpy(out).permute(0, 3, 1, 2) - 127.5) * 0.0078125


def detect_in_regions(
    frames: np.ndarray,
    priors: np.ndarray,
    mtcnn,
    margin: float,
    windows: tuple[float, float],
    index: np.ndarray | None = None,
) -> np.ndarray:
    """The best face (x1, y1, x2, y2, prob) per prior that MTCNN's three stages find from P-net
    candidates inside a region around the prior box: float64 [N, 5], NaN rows where none.

    ``frames`` uint8 RGB [T, H, W, 3]; prior ``k`` [N, 4] is looked for in ``frames[index[k]]``
    (``index`` None: ``frames[k]``). Regions: :func:`_regions`; scales: the frame's pyramid scales
    whose window is within ``windows`` x the priors' median side. The nets run in channels-last
    memory order (:func:`fast_nets`), the same weights.
    """
    import torch
    from facenet_pytorch.models.utils.detect_face import batched_nms_numpy, bbreg, rerec
    from torchvision.ops.boxes import batched_nms

    priors = np.asarray(priors, dtype=np.float64).reshape(-1, 4)
    index = np.arange(len(priors)) if index is None else np.asarray(index)
    out = np.full((len(priors), 5), np.nan)
    if not len(priors):
        return out
    nets = fast_nets(mtcnn)
    h, w = frames.shape[1:3]
    regions, side = _regions(priors, margin)
    scales = region_scales(pyramid_scales(h, w, mtcnn.min_face_size, mtcnn.factor), side, windows)
    with torch.no_grad():
        boxes, owners = _stage1(frames, index, regions, scales, nets.pnet, mtcnn.thresholds[0])
        if boxes is None:
            return out
        regw, regh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        boxes = torch.stack(
            [
                boxes[:, 0] + boxes[:, 5] * regw,
                boxes[:, 1] + boxes[:, 6] * regh,
                boxes[:, 2] + boxes[:, 7] * regw,
                boxes[:, 3] + boxes[:, 8] * regh,
                boxes[:, 4],
            ]
        ).permute(1, 0)
        boxes = rerec(boxes)
        reg, prob = nets.rnet(_crops(frames, index, boxes, owners, 24))
        ok = prob[:, 1] > mtcnn.thresholds[1]
        boxes, owners, reg = torch.cat((boxes[ok, :4], prob[ok, 1].unsqueeze(1)), dim=1), owners[ok], reg[ok]
        keep = batched_nms(boxes[:, :4], boxes[:, 4], owners, 0.7)
        boxes, owners = rerec(bbreg(boxes[keep], reg[keep])), owners[keep]
        if not len(boxes):
            return out
        reg, _, prob = nets.onet(_crops(frames, index, boxes, owners, 48))
        ok = prob[:, 1] > mtcnn.thresholds[2]
        boxes, owners = torch.cat((boxes[ok, :4], prob[ok, 1].unsqueeze(1)), dim=1), owners[ok]
        boxes = bbreg(boxes, reg[ok])
        if not len(boxes):
            return out
        keep = batched_nms_numpy(boxes[:, :4], boxes[:, 4], owners, 0.7, "Min")
        boxes, owners = boxes[keep].numpy().astype(np.float64).reshape(-1, 5), owners[keep].numpy().reshape(-1)
    for k in np.unique(owners):
        mine = boxes[owners == k]
        out[k] = mine[int(np.argmax(mine[:, 4]))]
    return out


def region_scales(scales: list[float], side: float, windows: tuple[float, float]) -> list[float]:
    """The pyramid scales whose P-net window (12 / scale px) is within ``windows`` x ``side``."""
    lo, hi = windows
    return [s for s in scales if lo * side <= PNET_CELL / s <= hi * side]
