"""The BatchNorm-folded copy of a frozen PhysFormer trunk computes the trunk's function."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from umcl.models.folded_trunk import FOLDED_FORM, folded_copy
from umcl.models.physformer import CenterDiffConv3d, PhysFormer


def _randomise_batchnorms(model: nn.Module, seed: int) -> None:
    """Running statistics and affine parameters far from the identity, so a wrong fold shows."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm3d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
            m.running_var.copy_(0.2 + 2 * torch.rand(n, generator=g))
            m.weight.data.copy_(0.5 + torch.rand(n, generator=g))
            m.bias.data.copy_(torch.rand(n, generator=g) - 0.5)


def _small(io: str = "standardized", theta: float = 0.7) -> PhysFormer:
    return PhysFormer(
        frames=8, image_size=16, patch_size=(4, 2, 2), dim=16, ff_dim=24, num_heads=4, num_layers=2, theta=theta, io=io
    )


@settings(max_examples=10, deadline=None)
@given(
    theta=st.sampled_from([0.0, 0.3, 0.7, 1.0]),
    bias=st.booleans(),
    kernel=st.sampled_from([1, 3, 5]),
    seed=st.integers(0, 2**16),
)
def test_cdc_equals_its_plain_convolution_in_float64(theta: float, bias: bool, kernel: int, seed: int):
    torch.manual_seed(seed)
    cdc = CenterDiffConv3d(3, 5, kernel, theta, bias=bias).double()
    x = torch.randn(2, 3, 6, 7, 7, dtype=torch.float64)
    np.testing.assert_allclose(cdc.as_plain_conv()(x).detach().numpy(), cdc(x).detach().numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("io", ["standardized", "vipl"])
@pytest.mark.parametrize("theta", [0.0, 0.7])
def test_folded_trunk_equals_the_trunk_in_float64(io: str, theta: float):
    """Algebraically the same function: in float64 they agree to rounding of that precision."""
    torch.manual_seed(0)
    model = _small(io, theta).double()
    _randomise_batchnorms(model, seed=1)
    model.eval()
    video = torch.randn(3, 3, 8, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        want = model._trunk(video, model.grid)[0]
        got = model._trunk(video, model.grid, modules=folded_copy(model.trunk_modules()))[0]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0, atol=1e-10)


def test_folded_copy_leaves_the_trunk_untouched_and_holds_no_batchnorm():
    model = _small()
    _randomise_batchnorms(model, seed=2)
    before = copy.deepcopy(model.state_dict())
    folded = folded_copy(model.trunk_modules())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not any(isinstance(m, nn.BatchNorm3d) for root in folded for m in root.modules())
    assert not any(p.requires_grad for root in folded for p in root.parameters())


def test_frozen_tokens_come_from_the_folded_copy_and_follow_new_weights():
    """Float32 tokens of the frozen trunk match the unfolded trunk to float rounding; after a checkpoint
    loads other weights into it, the copy is rebuilt (the tokens are the new weights')."""
    torch.manual_seed(0)
    model = _small()
    _randomise_batchnorms(model, seed=3)
    model.freeze_trunk()
    model.eval()
    clips = torch.rand(2, 3, 8, 16, 16)
    with torch.no_grad():
        want = model._trunk(model.prepare(clips), model.grid)[0]
        got = model.tokens_from(clips, model.prepare, "t")
        assert model.__dict__["_folded"] is not None  # computed by the folded copy
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)
        other = _small()
        _randomise_batchnorms(other, seed=4)
        model.load_state_dict(other.state_dict())
        want_other = model._trunk(model.prepare(clips), model.grid)[0]
        got_other = model.tokens_from(clips, model.prepare, "t")
    assert not torch.allclose(want_other, want, atol=1e-3)
    np.testing.assert_allclose(got_other.numpy(), want_other.numpy(), rtol=1e-5, atol=1e-5)


def test_memo_entries_name_the_folded_form(tmp_path):
    torch.manual_seed(0)
    model = _small()
    model.freeze_trunk(tmp_path)
    with torch.no_grad():
        model.tokens_from(torch.rand(1, 3, 8, 16, 16), model.prepare, "t")
    folders = [p.name for p in tmp_path.iterdir()]
    assert len(folders) == 1 and folders[0].endswith(f"-{FOLDED_FORM}")
