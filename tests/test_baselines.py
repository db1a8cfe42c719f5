"""Baseline detectors (Xception, LRNet, CPML): contract, published behaviour, no network."""

from __future__ import annotations

import socket

import pytest
import timm
import torch
from torch.nn import functional as F

from umcl.errors import UmclError
from umcl.registry import build_detector


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any attempt to open a connection (e.g. a weight download) fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _named_terms_ok(terms: dict) -> None:
    assert "total" in terms and len(terms) >= 2
    for name, value in terms.items():
        assert value.dim() == 0 and torch.isfinite(value), name


def _grad_reached(model: torch.nn.Module) -> int:
    return sum(1 for p in model.parameters() if p.grad is not None and p.grad.abs().sum() > 0)


# ----------------------------------------------------------------------------------- Xception

@pytest.fixture(scope="module")
def xception():
    from baselines.xception import XceptionConfig, XceptionDetector

    torch.manual_seed(0)
    return XceptionDetector(XceptionConfig.tiny())


def _xception_batch(b: int = 2, f: int = 3, size: int = 64) -> dict:
    g = torch.Generator().manual_seed(1)
    return {"xception_faces": torch.rand(b, f, 3, size, size, generator=g), "label": torch.tensor([0, 1])[:b]}


def test_xception_forward_backward(xception):
    xception.train()
    xception.zero_grad()
    batch = _xception_batch()
    out = xception(batch)
    assert out["logits"].shape == (2, 2) and out["prob_fake"].shape == (2,)
    assert out["frame_logits"].shape == (2, 3, 2)
    terms = xception.loss(batch, out)
    _named_terms_ok(terms)
    terms["total"].backward()
    assert _grad_reached(xception) > 100
    assert xception.weights_source == "scratch"


def test_xception_video_score_is_mean_of_frame_probabilities(xception):
    xception.eval()
    batch = _xception_batch()
    with torch.no_grad():
        out = xception(batch)
        # each frame on its own, normalised as FF++ does (mean = std = 0.5)
        per_frame = torch.stack([
            torch.softmax(xception.net((batch["xception_faces"][:, i] - 0.5) / 0.5), -1)[:, 1]
            for i in range(3)], dim=1)
    assert torch.allclose(out["prob_fake"], per_frame.mean(1), atol=1e-5)
    assert torch.allclose(xception.score(out), per_frame.mean(1), atol=1e-5)
    # logits are consistent with the score: softmax(logits)[:, 1] == mean frame probability
    assert torch.allclose(torch.softmax(out["logits"], -1)[:, 1], out["prob_fake"], atol=1e-5)


def test_xception_loss_is_frame_level_ce(xception):
    xception.eval()
    batch = _xception_batch()
    with torch.no_grad():
        out = xception(batch)
        terms = xception.loss(batch, out)
    fl = out["frame_logits"]
    expected = F.cross_entropy(fl.reshape(-1, 2), torch.tensor([0, 0, 0, 1, 1, 1]))
    assert torch.allclose(terms["total"], expected)
    # frame-level, not video-level: one confident right and one confident wrong frame cost ~5 nats
    fake = {"frame_logits": torch.tensor([[[0.0, 10.0], [0.0, -10.0]]])}
    assert xception.loss({"label": torch.tensor([1])}, fake)["total"].item() == pytest.approx(5.0, abs=1e-3)


def test_xception_loads_local_imagenet_weights(tmp_path):
    from baselines.xception import XceptionConfig, XceptionDetector

    imagenet = timm.create_model("legacy_xception", pretrained=False, num_classes=1000)
    timm_file = tmp_path / "xception_timm.pth"
    torch.save(imagenet.state_dict(), timm_file)
    # Cadene layout: 2-D pointwise kernels and a ``last_linear`` head
    cadene = {k.replace("fc.", "last_linear."): (v[:, :, 0, 0] if "pointwise" in k else v)
              for k, v in imagenet.state_dict().items()}
    cadene_file = tmp_path / "xception-b5690688.pth"
    torch.save(cadene, cadene_file)
    for path in (timm_file, cadene_file):
        det = XceptionDetector(XceptionConfig(image_size=64, pretrained_path=str(path)))
        assert det.weights_source == f"imagenet:{path}"
        assert torch.equal(det.net.conv1.weight, imagenet.conv1.weight)
        assert torch.equal(det.net.block12.rep[1].pointwise.weight, imagenet.block12.rep[1].pointwise.weight)
        assert det.net.fc.out_features == 2
    with pytest.raises(UmclError, match="not found"):
        XceptionDetector(XceptionConfig(image_size=64, pretrained_path=str(tmp_path / "missing.pth")))


def test_xception_never_asks_timm_for_pretrained(monkeypatch):
    from baselines import xception as mod

    calls = []
    real = timm.create_model

    def spy(name, pretrained=False, **kwargs):
        calls.append(pretrained)
        return real(name, pretrained=pretrained, **kwargs)

    monkeypatch.setattr(mod.timm, "create_model", spy)
    build_detector("xception", {"image_size": 64})
    assert calls == [False]


def test_xception_head_warmup_freezes_backbone(xception):
    xception.set_backbone_frozen(True)
    trainable = [n for n, p in xception.net.named_parameters() if p.requires_grad]
    assert trainable == ["fc.weight", "fc.bias"]
    xception.set_backbone_frozen(False)
    assert all(p.requires_grad for p in xception.parameters())
