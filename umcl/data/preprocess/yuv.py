"""swscale's conversion of ``yuv444p`` and ``gbrp`` frames to RGB, bit for bit, without swscale.

OpenCV's FFmpeg reader converts each decoded frame to BGR with swscale and the pipeline then swaps
it to RGB: two passes over the whole frame, of which swscale's (no SIMD path for full-resolution
chroma) is most of the decoding's CPU time at 1280 x 720. For the two pixel formats x264 writes from
an RGB source (SynthFF's raw, c23 and c40; ``yuv444p`` and, lossless, ``gbrp``) this module gives
the same RGB bytes from the decoder's planes: for ``gbrp`` a reordering of the planes; for
``yuv444p`` swscale's integer arithmetic for unscaled 4:4:4 input with the default BT.601
limited-range coefficients (its full-chroma output path: a 15-bit intermediate, 13-bit
coefficients, results clipped to 30 bits and shifted by 22, including the 32-bit wrap-around of
the blue sum that turns the brightest blues black), compiled with numba into separate R, G, B
planes, which OpenCV interleaves. The equality with OpenCV's output is checked on every one of
the 2^24 (Y, U, V) triples and on encoded clips (tests/test_preprocess_yuv.py).
"""

from __future__ import annotations

import functools

import numpy as np

FORMATS = ("yuv444p", "gbrp")
"""Pixel formats converted here (anything else is left to OpenCV's reader)."""

# swscale's integer YUV -> RGB constants for BT.601, limited range, default contrast and saturation:
# luma offset (16 << 9) and gain, and the four chroma gains, each at the scale its arithmetic uses.
_Y_OFFSET, _Y_GAIN, _ROUND = 8192, 9539, 1 << 21
_V2R, _V2G, _U2G, _U2B = 13075, -6660, -3209, 16525
_CLIP = (1 << 30) - 1


def _yuv_to_rgb_planes(y, u, v, r_out, g_out, b_out):  # pragma: no cover - run compiled by numba
    h, w = y.shape
    for i in range(h):
        yr, ur, vr, ro, go, bo = y[i], u[i], v[i], r_out[i], g_out[i], b_out[i]
        for j in range(w):
            yy = (np.int32(yr[j]) * 512 - _Y_OFFSET) * _Y_GAIN + _ROUND
            uu = np.int32(ur[j]) * 512 - 65536
            vv = np.int32(vr[j]) * 512 - 65536
            r = yy + vv * _V2R
            g = yy + vv * _V2G + uu * _U2G
            b = np.int64(yy) + uu * _U2B
            b = ((b + 2147483648) & 4294967295) - 2147483648  # swscale sums in 32 bits
            ro[j] = min(max(r, 0), _CLIP) >> 22
            go[j] = min(max(g, 0), _CLIP) >> 22
            bo[j] = min(max(b, 0), _CLIP) >> 22


@functools.cache
def _kernel():
    """:func:`_yuv_to_rgb_planes` compiled by numba (on first use; numba caches it on disk). Its
    inner loop vectorises because each output plane is written with unit stride."""
    import numba

    return numba.njit(cache=True, nogil=True)(_yuv_to_rgb_planes)


class PlaneConverter:
    """Converts one frame's planes [3 x (H, W)] of ``pix_fmt`` into an RGB uint8 [H, W, 3] array,
    reusing its three scratch planes between frames of one size."""

    def __init__(self, pix_fmt: str):
        if pix_fmt not in FORMATS:
            raise ValueError(f"unsupported pixel format {pix_fmt}")
        self.pix_fmt = pix_fmt
        self._scratch: list[np.ndarray] = []

    def __call__(self, planes: list[np.ndarray], out: np.ndarray) -> None:
        import cv2

        if self.pix_fmt == "gbrp":  # planes G, B, R
            cv2.merge([planes[2], planes[0], planes[1]], out)
            return
        shape = planes[0].shape
        if not self._scratch or self._scratch[0].shape != shape:
            self._scratch = [np.empty(shape, dtype=np.uint8) for _ in range(3)]
        _kernel()(planes[0], planes[1], planes[2], *self._scratch)
        cv2.merge(self._scratch, out)


def warm_up() -> None:
    """Compile (or load) the conversion for the plane layouts decoding gives, e.g. before forking
    workers, so that each does not pay it."""
    frame = np.zeros((2, 4), dtype=np.uint8)
    out = np.empty((2, 2, 3), dtype=np.uint8)
    for planes in ([frame] * 3, [frame[:, :2]] * 3):  # contiguous and strided rows
        PlaneConverter("yuv444p")(planes, out)
