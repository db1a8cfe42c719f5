"""MTCNN restricted to a region (umcl/data/preprocess/mtcnn_region.py): the pieces that make it
equal full-frame MTCNN, against torch and facenet-pytorch themselves."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.functional import interpolate

from umcl.data.preprocess.mtcnn_region import (
    PNET_CELL,
    _cells,
    area_bins,
    fast_nets,
    pyramid_scales,
    region_scales,
    resample_region,
)


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(40, 200),
    w=st.integers(40, 200),
    k=st.integers(0, 5),
    seed=st.integers(0, 10**6),
    lo=st.floats(0.0, 0.9),
    span=st.floats(0.05, 1.0),
)
def test_resample_region_is_torch_area_interpolation_bit_for_bit(h, w, k, seed, lo, span):
    """Any region of any pyramid scale: exactly the cells of ``interpolate(mode='area')`` of the
    whole frame (what facenet-pytorch's MTCNN feeds P-net), computed from the region's pixels."""
    scales = pyramid_scales(h, w, 12, 0.709)
    scale = scales[min(k, len(scales) - 1)]
    frame = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    out_h, out_w = int(h * scale + 1), int(w * scale + 1)
    full = interpolate(torch.as_tensor(frame).permute(2, 0, 1)[None].float(), size=(out_h, out_w), mode="area")
    full = full[0].permute(1, 2, 0).numpy()
    rows, cols = _cells(lo * h, span * h, h, out_h), _cells(lo * w, span * w, w, out_w)
    if rows is None or cols is None:
        assert min(out_h, out_w) < PNET_CELL
        return
    part = resample_region(frame, scale, rows, cols)
    assert np.array_equal(part, full[rows[0] : rows[1], cols[0] : cols[1]])


@given(n_in=st.integers(12, 2000), n_out_frac=st.floats(0.01, 1.0), lo=st.floats(0, 1), span=st.floats(0, 1))
def test_cells_start_even_have_an_even_count_or_reach_the_edge(n_in, n_out_frac, lo, span):
    """P-net pools 2 x 2 with ceil mode: a region must start on an even cell and hold whole pairs,
    unless it ends where the frame ends (there the full frame has the same last, partial pair)."""
    n_out = max(1, int(n_in * n_out_frac))
    cells = _cells(lo * n_in, span * n_in, n_in, n_out)
    if n_out < PNET_CELL:
        assert cells is None
        return
    i0, i1 = cells
    assert 0 <= i0 < i1 <= n_out and i0 % 2 == 0 and i1 - i0 >= PNET_CELL
    assert (i1 - i0) % 2 == 0 or i1 == n_out
    starts, ends = area_bins(n_in, n_out, i0, i1)
    assert starts[0] >= 0 and ends[-1] <= n_in and (ends > starts).all()


def test_pyramid_is_facenets_and_windows_select_scales():
    """The scales facenet-pytorch's detect_face would use (1280 x 720, min face 40: 0.3 * 0.709^k
    while the short side stays >= 12 px), and the window filter."""
    scales = pyramid_scales(720, 1280, 40, 0.709)
    assert scales[0] == pytest.approx(0.3) and len(scales) == 9
    assert min(720 * s for s in scales) >= 12 and 720 * scales[-1] * 0.709 < 12
    chosen = region_scales(scales, 200.0, (0.5, 2.0))
    assert chosen and all(100 <= PNET_CELL / s <= 400 for s in chosen)


def test_fast_nets_give_the_same_outputs():
    """Channels-last copies of P-, R- and O-net: the same outputs (float rounding), the originals untouched."""
    from umcl.data.preprocess.faces import load_mtcnn

    mtcnn = load_mtcnn("cpu", 40)
    nets = fast_nets(mtcnn)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, shape in (("pnet", (2, 3, 40, 52)), ("rnet", (5, 3, 24, 24)), ("onet", (3, 3, 48, 48))):
            x = torch.rand(shape, generator=gen) * 2 - 1
            ours, theirs = getattr(nets, name)(x), getattr(mtcnn, name)(x)
            assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(ours, theirs, strict=True))
            assert getattr(mtcnn, name).conv1.weight.is_contiguous()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), size=st.sampled_from([24, 48]), n=st.integers(1, 6))
def test_area_crops_are_facenets_crops_bit_for_bit(seed, size, n):
    """R-net / O-net inputs from one integral image: exactly facenet-pytorch's ``imresample`` of
    each float crop (1-based bounds, any crop size, bigger or smaller than the output)."""
    from facenet_pytorch.models.utils.detect_face import imresample

    from umcl.data.preprocess.mtcnn_region import area_crops

    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
    y, x = rng.integers(1, 80, n), rng.integers(1, 110, n)
    ey, ex = np.minimum(90, y + rng.integers(0, 70, n)), np.minimum(120, x + rng.integers(0, 70, n))
    ours = area_crops(frame, y, ey, x, ex, size)
    for k in range(n):
        crop = torch.as_tensor(frame[y[k] - 1 : ey[k], x[k] - 1 : ex[k]]).permute(2, 0, 1)[None].float()
        ref = imresample(crop, (size, size))[0].permute(1, 2, 0).numpy()
        assert np.array_equal(ours[k], ref)
