"""LRNet streams and the UMCL L-encoder: sizes, shapes, landmark dropout, weight loading."""

from __future__ import annotations

import pytest
import torch

from umcl.errors import MissingWeightsError, UmclError
from umcl.models.lrnet import LandmarkDropout, LandmarkEncoder, LRNetStream, frame_differences

STREAM_PARAMS = 41_000  # "about 41 k parameters per stream" (LRNet paper / repository)


def test_stream_parameter_count():
    n = sum(p.numel() for p in LRNetStream().parameters())
    assert abs(n - STREAM_PARAMS) / STREAM_PARAMS < 0.01, n  # within 1 %: 41,154


@pytest.mark.parametrize("length", [30, 160])
def test_encoder_shapes_any_length(length):
    torch.manual_seed(0)
    enc = LandmarkEncoder().eval()
    out = enc(torch.randn(3, length, 136) * 0.1)
    assert out["e"].shape == (3, 128)
    assert out["logits_g1"].shape == out["logits_g2"].shape == (3, 2)
    feat, logits = enc.g1(torch.randn(3, length, 136))
    assert feat.shape == (3, 64) and logits.shape == (3, 2)


def test_e_is_concatenation_of_stream_features_and_g2_reads_differences():
    torch.manual_seed(0)
    enc = LandmarkEncoder().eval()
    lm = torch.randn(2, 20, 136)
    e = enc(lm)["e"]
    assert torch.allclose(e[:, :64], enc.g1.features(lm))
    assert torch.allclose(e[:, 64:], enc.g2.features(frame_differences(lm)))
    assert frame_differences(lm).shape == (2, 19, 136)


def test_landmark_dropout_drops_whole_points_in_training_only():
    torch.manual_seed(0)
    drop = LandmarkDropout(0.1)
    x = torch.rand(64, 10, 136) + 1.0  # strictly positive: zeros come only from the mask
    y = drop.train()(x).reshape(64, 10, 68, 2)
    dropped = y == 0
    # a dropped point is dropped in both coordinates and in every frame
    assert torch.equal(dropped[..., 0], dropped[..., 1])
    assert torch.equal(dropped.all(dim=1), dropped.any(dim=1))
    rate = dropped[:, 0, :, 0].float().mean().item()
    assert 0.05 < rate < 0.15, rate
    kept = ~dropped
    assert torch.allclose(y[kept], x.reshape(64, 10, 68, 2)[kept] / 0.9)
    assert torch.equal(drop.eval()(x), x)


def test_eval_is_deterministic_training_is_not():
    torch.manual_seed(0)
    enc = LandmarkEncoder()
    lm = torch.randn(4, 30, 136)
    enc.eval()
    assert torch.equal(enc(lm)["e"], enc(lm)["e"])
    enc.train()
    assert not torch.equal(enc(lm)["e"], enc(lm)["e"])


def test_load_pretrained_prefixed_and_official_keys(tmp_path):
    torch.manual_seed(0)
    src, dst = LandmarkEncoder(), LandmarkEncoder()
    path = tmp_path / "lrnet.pth"
    torch.save({"model": {"encoder." + k: v for k, v in src.state_dict().items()}}, path)
    dst.load_pretrained(path)
    assert all(torch.equal(v, dst.state_dict()[k]) for k, v in src.state_dict().items())

    official = {}
    for k, v in src.state_dict().items():
        k = k.replace(".mlp.fc1.", ".dense.1.fn.net.0.").replace(".mlp.fc2.", ".dense.1.fn.net.3.")
        official[k.replace(".head.", ".dense.3.")] = v
    assert set(official) != set(src.state_dict())  # the official names really differ
    torch.save(official, path)
    loaded = LandmarkEncoder()
    assert not torch.equal(loaded.g1.head.weight, src.g1.head.weight)  # a fresh init differs
    loaded.load_pretrained(path)
    got = loaded.state_dict()
    assert got.keys() == src.state_dict().keys()
    assert all(torch.equal(got[k], v) for k, v in src.state_dict().items())  # every tensor in its place

    with pytest.raises(MissingWeightsError):
        dst.load_pretrained(tmp_path / "none.pth")
    torch.save({"x.weight": torch.zeros(2)}, path)
    with pytest.raises(UmclError):
        dst.load_pretrained(path)
