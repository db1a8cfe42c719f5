"""PhysFormer P-encoder: paper-size parameter count, small-size forward, CDC-T, weight loading."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from umcl.errors import ConfigError, MissingWeightsError, UmclError
from umcl.models.physformer import CenterDiffConv3d, PhysFormer, count_parameters, remap_official_key

SMALL = dict(frames=32, image_size=32, dim=24, ff_dim=36, num_heads=4, num_layers=3)


def test_paper_size_parameter_count():
    n = count_parameters(PhysFormer())  # 160 x 128 x 128, dim 96, ff 144, 4 heads, 12 layers
    assert abs(n - 7.38e6) / 7.38e6 < 0.01, n


def test_small_forward_shape_and_grid():
    torch.manual_seed(0)
    model = PhysFormer(**SMALL)
    assert model.grid == (8, 1, 1)
    z = model(torch.rand(2, 3, 32, 32, 32))
    assert z.shape == (2, 32) and torch.isfinite(z).all()
    model64 = PhysFormer(frames=16, image_size=64, dim=24, ff_dim=36, num_layers=3)
    assert model64.grid == (4, 2, 2)
    assert model64(torch.rand(2, 3, 16, 64, 64)).shape == (2, 16)


def test_wrong_input_size_and_bad_sizes():
    model = PhysFormer(**SMALL)
    with pytest.raises(ValueError):
        model(torch.rand(1, 3, 16, 32, 32))
    with pytest.raises(ConfigError):
        PhysFormer(frames=30, image_size=32, dim=24, ff_dim=36, num_layers=3)
    with pytest.raises(ConfigError):
        PhysFormer(frames=32, image_size=40, dim=24, ff_dim=36, num_layers=3)


def test_cdc_theta_zero_is_plain_conv():
    torch.manual_seed(0)
    cdc = CenterDiffConv3d(4, 5, 3, theta=0.0)
    x = torch.randn(2, 4, 6, 5, 5)
    expected = F.conv3d(x, cdc.conv.weight, padding=1)
    assert torch.allclose(cdc(x), expected, atol=1e-6)


def test_cdc_theta_subtracts_temporal_neighbour_kernel():
    torch.manual_seed(1)
    cdc = CenterDiffConv3d(3, 2, 3, theta=0.7)
    x = torch.randn(1, 3, 5, 4, 4)
    w = cdc.conv.weight
    neighbours = w[:, :, 0].sum(dim=(-1, -2)) + w[:, :, 2].sum(dim=(-1, -2))  # [out, in]
    expected = F.conv3d(x, w, padding=1) - 0.7 * torch.einsum("oi,bithw->bothw", neighbours, x)
    assert torch.allclose(cdc(x), expected, atol=1e-5)
    assert not torch.allclose(cdc(x), F.conv3d(x, w, padding=1), atol=1e-3)


def _official_keys(model: PhysFormer) -> list[str]:
    """Key names of the official ZitongYu/PhysFormer model, enumerated from its published layout."""
    keys = []
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    for s in range(3):
        keys += [f"Stem{s}.0.weight", f"Stem{s}.0.bias"] + [f"Stem{s}.1.{p}" for p in bn]
    keys += ["patch_embedding.weight", "patch_embedding.bias"]
    per_stage = len(model.blocks) // 3
    for s in range(1, 4):
        for i in range(per_stage):
            p = f"transformer{s}.blocks.{i}."
            for qk in ("proj_q", "proj_k"):
                keys += [p + f"attn.{qk}.0.conv.weight"] + [p + f"attn.{qk}.1.{b}" for b in bn]
            keys += [p + "attn.proj_v.0.weight", p + "proj.weight", p + "proj.bias"]
            keys += [p + f"norm{n}.{w}" for n in (1, 2) for w in ("weight", "bias")]
            for part in ("fc1", "STConv", "fc2"):
                keys += [p + f"pwff.{part}.0.weight"] + [p + f"pwff.{part}.1.{b}" for b in bn]
    for up in ("upsample", "upsample2"):
        keys += [f"{up}.1.weight", f"{up}.1.bias"] + [f"{up}.2.{b}" for b in bn]
    keys += ["ConvBlockLast.weight", "ConvBlockLast.bias"]
    return keys


def test_official_key_layout_maps_onto_model():
    model = PhysFormer(**SMALL)
    mapped = {remap_official_key(k, blocks_per_stage=1) for k in _official_keys(model)}
    assert mapped == set(model.state_dict())


def test_load_pretrained_roundtrip_and_errors(tmp_path):
    torch.manual_seed(0)
    src, dst = PhysFormer(**SMALL), PhysFormer(**SMALL)
    path = tmp_path / "physformer.pth"
    torch.save({"state_dict": {"module." + k: v for k, v in src.state_dict().items()}}, path)
    dst.load_pretrained(path)
    for k, v in src.state_dict().items():
        assert torch.equal(v, dst.state_dict()[k])
    with pytest.raises(MissingWeightsError) as err:
        dst.load_pretrained(tmp_path / "absent.pth")
    assert "\n" not in str(err.value) and "absent.pth" in str(err.value)
    bigger = PhysFormer(frames=32, image_size=32, dim=32, ff_dim=36, num_layers=3)
    with pytest.raises(UmclError):
        bigger.load_pretrained(path)


def test_stem_pool_scores_with_the_standard_pools_maxima(monkeypatch):
    """The stem's pooling takes a faster path when no gradient is needed: the same values as
    nn.MaxPool3d, bit for bit (odd sizes and ReLU's ties included), for scoring and for the whole
    network; under autograd it is the standard pool, gradients included."""
    from umcl.models.physformer import StemMaxPool3d

    torch.manual_seed(0)
    pool, reference = StemMaxPool3d((1, 2, 2), stride=(1, 2, 2)), torch.nn.MaxPool3d((1, 2, 2), stride=(1, 2, 2))
    x = torch.randn(3, 8, 6, 10, 12)
    samples = (x, torch.relu(x), torch.randn(2, 4, 3, 9, 7), torch.zeros(1, 2, 2, 4, 4))
    with torch.no_grad():
        expected = [reference(sample) for sample in samples]
        with monkeypatch.context() as m:  # the fast path never calls torch's pooling
            m.setattr(torch.nn.MaxPool3d, "forward", lambda self, x: pytest.fail("standard pool used"))
            assert all(torch.equal(pool(sample), e) for sample, e in zip(samples, expected, strict=True))
    xr = x.clone().requires_grad_()
    (pool(xr) ** 2).sum().backward()
    xs = x.clone().requires_grad_()
    (reference(xs) ** 2).sum().backward()
    assert torch.equal(xr.grad, xs.grad)
    model = PhysFormer(frames=8, image_size=32, dim=16, ff_dim=24, num_heads=2, num_layers=3).eval()
    plain = PhysFormer(frames=8, image_size=32, dim=16, ff_dim=24, num_heads=2, num_layers=3).eval()
    plain.load_state_dict(model.state_dict())
    for module in plain.modules():
        if isinstance(module, StemMaxPool3d):
            module.forward = torch.nn.MaxPool3d.forward.__get__(module)
    clip = torch.rand(2, 3, 8, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(clip), plain(clip))


def test_channels_last_layout_gives_the_same_rppg():
    """The 3D convolutions' weights are channels-last (oneDNN's faster layout on CPU) and the inputs follow;
    the signal is that of the same weights in the default layout."""
    import copy

    torch.manual_seed(0)
    model = PhysFormer(frames=16, image_size=32, dim=32, ff_dim=48, num_heads=4, num_layers=2).eval()
    stem_conv = model.stem[1][0]
    assert stem_conv.weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert not stem_conv.weight.is_contiguous()
    plain = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
    video = torch.rand(2, 3, 16, 32, 32)
    with torch.no_grad():
        got = model(video)
        tokens = plain.tube_embed(plain.stem(video)).flatten(2).transpose(1, 2)  # default layout throughout
        for block in plain.blocks:
            tokens = block(tokens, plain.grid)
        want = plain.head_out(tokens)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
