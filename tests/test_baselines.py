"""Baseline detectors (Xception, LRNet, CPML): contract, published behaviour, no network."""

from __future__ import annotations

import socket

import pytest
import timm
import torch
from torch.nn import functional as F

from umcl.conditions import TestCondition
from umcl.errors import UmclError
from umcl.registry import build_detector

pytestmark = pytest.mark.usefixtures("single_thread")


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
        per_frame = torch.stack(
            [torch.softmax(xception.net((batch["xception_faces"][:, i] - 0.5) / 0.5), -1)[:, 1] for i in range(3)],
            dim=1,
        )
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
    cadene = {
        k.replace("fc.", "last_linear."): (v[:, :, 0, 0] if "pointwise" in k else v)
        for k, v in imagenet.state_dict().items()
    }
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
    calls = []
    real = timm.create_model

    def spy(name, pretrained=False, **kwargs):
        calls.append(pretrained)
        return real(name, pretrained=pretrained, **kwargs)

    monkeypatch.setattr(timm, "create_model", spy)  # the module imports timm when it builds a model
    build_detector("xception", {"image_size": 64})
    assert calls == [False]


def test_xception_head_warmup_freezes_backbone(xception, monkeypatch):
    from baselines.xception import XceptionConfig

    xception.set_backbone_frozen(True)
    trainable = [n for n, p in xception.net.named_parameters() if p.requires_grad]
    assert trainable == ["fc.weight", "fc.bias"]
    xception.set_backbone_frozen(False)
    assert all(p.requires_grad for p in xception.parameters())
    # FF++ with ImageNet weights: 3 head-only epochs (the file is not read here, only its presence)
    monkeypatch.setattr(xception, "cfg", XceptionConfig(pretrained_path="imagenet.pth"))
    for epoch, frozen in ((1, True), (3, True), (4, False)):
        xception.on_epoch_start(epoch)
        assert xception.net.conv1.weight.requires_grad is not frozen
        assert xception.net.fc.weight.requires_grad
    # from scratch the warm-up is skipped: the backbone trains from the first epoch
    monkeypatch.setattr(xception, "cfg", XceptionConfig())
    xception.on_epoch_start(1)
    assert all(p.requires_grad for p in xception.parameters())


# ------------------------------------------------------------------------------------- LRNet


def _landmarks(b: int = 2, t: int = 40, seed: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(b, t, 136, generator=g).cumsum(1) / t


@pytest.fixture()
def lrnet():
    from baselines.lrnet import LRNetConfig, LRNetDetector

    torch.manual_seed(0)
    return LRNetDetector(LRNetConfig.tiny())


def test_lrnet_forward_backward(lrnet):
    lrnet.train()
    batch = {"landmarks": _landmarks(), "label": torch.tensor([0, 1])}
    out = lrnet(batch)
    assert out["logits"].shape == (2, 2) and out["prob_fake"].shape == (2,)
    terms = lrnet.loss(batch, out)
    _named_terms_ok(terms)
    assert set(terms) == {"total", "ce_g1", "ce_g2"}
    terms["total"].backward()
    assert lrnet.encoder.g1.head.weight.grad.abs().sum() > 0
    assert lrnet.encoder.g2.head.weight.grad.abs().sum() > 0


def test_lrnet_every_block_carries_its_own_videos_label(lrnet):
    """Block CE of each stream against a loop reference: block k of video b has label[b]
    (labels interleaved per video, [0]*n + [1]*n + ..., not the batch's labels repeated n times)."""
    import numpy as np
    from scipy.special import log_softmax

    g = torch.Generator().manual_seed(4)
    labels = torch.tensor([0, 1, 1])
    out = {
        "logits_g1": torch.randn(3, 4, 2, generator=g, dtype=torch.float64),
        "logits_g2": torch.randn(3, 4, 2, generator=g, dtype=torch.float64),
    }
    terms = lrnet.loss({"label": labels}, out)
    for name in ("g1", "g2"):
        logp = log_softmax(out[f"logits_{name}"].numpy(), axis=-1)
        ref = np.mean([-logp[b, k, int(labels[b])] for b in range(3) for k in range(4)])
        assert terms[f"ce_{name}"].item() == pytest.approx(ref, abs=1e-12)
    assert terms["total"].item() == pytest.approx(terms["ce_g1"].item() + terms["ce_g2"].item())


@pytest.mark.parametrize(
    "t, size, stride, expected",
    [(40, 10, 5, 7), (40, 10, None, 4), (60, 30, None, 2), (59, 30, None, 1), (160, 30, 30, 5), (30, 30, 7, 1)],
)
def test_lrnet_block_count(t, size, stride, expected):
    from baselines.lrnet import landmark_blocks

    x = _landmarks(1, t)
    blocks = landmark_blocks(x, size, stride or size)
    assert blocks.shape == (1, expected, size, 136)
    step = stride or size
    assert torch.equal(blocks[0, -1], x[0, (expected - 1) * step : (expected - 1) * step + size])


def test_lrnet_short_video_is_one_line_error(lrnet):
    with pytest.raises(UmclError, match="fewer than one LRNet block"):
        lrnet({"landmarks": _landmarks(1, 9), "label": torch.tensor([0])})


def test_lrnet_streams_see_blocks_and_differences_and_fusion_averages(lrnet, monkeypatch):
    """g1 gets 10-frame blocks, g2 their 9 frame differences; score = mean_blocks(mean of streams)."""
    lrnet.eval()
    x = _landmarks(2, 40)
    seen = {}
    for name in ("g1", "g2"):
        stream = getattr(lrnet.encoder, name)
        orig = stream.forward

        def spy(seq, _orig=orig, _name=name):
            seen[_name] = seq.detach().clone()
            return _orig(seq)

        monkeypatch.setattr(stream, "forward", spy)
    with torch.no_grad():
        out = lrnet({"landmarks": x, "label": torch.tensor([0, 1])})
    assert seen["g1"].shape == (2 * 7, 10, 136) and seen["g2"].shape == (2 * 7, 9, 136)
    assert torch.equal(seen["g1"][1], x[0, 5:15])  # second block of the first video (stride 5)
    assert torch.allclose(seen["g2"][1], x[0, 6:15] - x[0, 5:14])
    with torch.no_grad():
        p1 = torch.softmax(lrnet.encoder.g1(seen["g1"])[1], -1)[:, 1].view(2, 7)
        p2 = torch.softmax(lrnet.encoder.g2(seen["g2"])[1], -1)[:, 1].view(2, 7)
    assert torch.allclose(out["block_prob_fake"], (p1 + p2) / 2, atol=1e-6)
    assert torch.allclose(out["prob_fake"], ((p1 + p2) / 2).mean(1), atol=1e-6)
    assert torch.allclose(lrnet.score(out), out["prob_fake"])
    assert torch.allclose(torch.softmax(out["logits"], -1)[:, 1], out["prob_fake"], atol=1e-5)


def test_lrnet_stream_parameter_count_is_about_41k():
    from baselines.lrnet import LRNetConfig, LRNetDetector

    det = LRNetDetector(LRNetConfig())
    for stream in (det.encoder.g1, det.encoder.g2):
        n = sum(p.numel() for p in stream.parameters())
        assert 39_000 <= n <= 43_000, n
    assert det.cfg.block_size == 30 and det.stride == 30


def test_lrnet_export_loads_into_umcl_landmark_encoder(lrnet, tmp_path):
    from baselines.lrnet import LRNetConfig, LRNetDetector
    from umcl.models.lrnet import LandmarkEncoder

    path = lrnet.export_weights(tmp_path / "lrnet.pth")
    enc = LandmarkEncoder()
    enc.load_pretrained(path)
    for k, v in lrnet.encoder.state_dict().items():
        assert torch.equal(enc.state_dict()[k], v), k
    # a checkpoint of the whole detector (keys ``encoder.g1.*``) loads as well
    torch.save({"state_dict": lrnet.state_dict()}, tmp_path / "run.pth")
    enc2 = LandmarkEncoder()
    enc2.load_pretrained(tmp_path / "run.pth")
    assert torch.equal(enc2.g1.gru.weight_ih_l0, lrnet.encoder.g1.gru.weight_ih_l0)
    again = LRNetDetector(LRNetConfig(block_size=10, pretrained_path=str(path)))
    assert again.weights_source == f"lrnet:{path}"
    assert torch.equal(again.encoder.g2.head.weight, lrnet.encoder.g2.head.weight)


# -------------------------------------------------------------------------------------- CPML


@pytest.fixture(scope="module")
def cpml():
    from baselines.cpml import CPMLConfig, CPMLDetector

    torch.manual_seed(0)
    return CPMLDetector(CPMLConfig.tiny())


def _cpml_batch(labels=(0, 1, 0, 1)) -> dict:
    g = torch.Generator().manual_seed(3)
    b = len(labels)
    return {
        "frames": torch.rand(b, 3, 16, 32, 32, generator=g),
        "landmarks": _landmarks(b, 16, seed=4),
        "label": torch.tensor(labels),
    }


def _seeded(model, batch: dict, seed: int = 7) -> dict:
    torch.manual_seed(seed)
    return model(batch)


def test_cpml_forward_backward(cpml):
    cpml.train()
    cpml.zero_grad()
    batch = _cpml_batch()
    out = cpml(batch)
    assert out["logits"].shape == (4, 2)
    assert out["rppg"].shape == out["rppg_64"].shape == out["rppg_32"].shape == (4, 16)
    assert out["f_64"].shape == (4, cpml.prompt_bank.dim)
    terms = cpml.loss(batch, out)
    _named_terms_ok(terms)
    assert {"ce", "physiological", "consistency", "rppg_pull", "rppg_push", "hr_gap", "view_mse"} <= set(terms)
    expected = terms["ce"] + 0.2 * terms["physiological"] + 0.25 * terms["consistency"]
    assert torch.allclose(terms["total"], expected)
    terms["total"].backward()
    for module in (cpml.rppg, cpml.landmark.g1.gru, cpml.landmark.g2.gru, cpml.fusion, cpml.to_text, cpml.classifier):
        assert _grad_reached(module) > 0, type(module).__name__
    assert all(not p.requires_grad for p in cpml.prompt_bank.parameters())


def test_cpml_evaluation_is_label_free(cpml):
    cpml.eval()
    batch = _cpml_batch()
    with torch.no_grad():
        a = cpml(batch)["logits"]
        b = cpml({**batch, "label": 1 - batch["label"]})["logits"]
        c = cpml({k: v for k, v in batch.items() if k != "label"})["logits"]
    assert torch.equal(a, b) and torch.equal(a, c)


def test_cpml_trains_label_free_by_default_and_leaks_only_as_the_named_variant(cpml, monkeypatch):
    """Same inputs, same random state, only the label differs: the default (label-free) training
    logits are identical; the published label-fed classifier's differ (the leak)."""
    from baselines.cpml import CPMLConfig

    assert CPMLConfig().label_fed_classifier is False
    cpml.train()
    batch = _cpml_batch()
    flipped = {**batch, "label": 1 - batch["label"]}
    with torch.no_grad():
        a, b = _seeded(cpml, batch)["logits"], _seeded(cpml, flipped)["logits"]
    assert torch.equal(a, b)
    # the leak is the classifier's text input: the published variant feeds it the label's prompt
    monkeypatch.setattr(cpml.cfg, "label_fed_classifier", True)
    with torch.no_grad():
        a, b = _seeded(cpml, batch)["logits"], _seeded(cpml, flipped)["logits"]
    assert (a - b).abs().max() > 1e-4
    with pytest.warns(UserWarning, match="leakage"):
        build_detector("cpml", {**vars(CPMLConfig.tiny()), "label_fed_classifier": True})


def test_cpml_leakage_audit_only_on_request(cpml, monkeypatch):
    cpml.eval()
    batch = _cpml_batch()
    batch = {**batch, "condition": TestCondition(prompt_policy="leakage_audit")}  # a test-time condition
    with torch.no_grad(), pytest.warns(UserWarning, match="leakage"):
        a = cpml(batch)["logits"]
        b = cpml({**batch, "label": 1 - batch["label"]})["logits"]
    assert (a - b).abs().max() > 1e-4
    with pytest.raises(UmclError, match="label"):
        cpml({k: v for k, v in batch.items() if k != "label"})
    from baselines.cpml import CPMLConfig
    from umcl.config import from_dict

    with pytest.raises(UmclError, match="inference_prompt"):  # an evaluation setting, not a detector one
        from_dict({"inference_prompt": "leakage_audit"}, CPMLConfig, "detectors.cpml")


def test_cpml_landmark_jitter_amplitudes():
    from baselines.cpml import cpml_landmark_jitter

    x = torch.zeros(64, 10, 136)
    assert cpml_landmark_jitter(x, 128) is x
    for size, every, lips_x, nose_y in ((32, 0.01, 0.006, 0.0015), (64, 0.0005, 0.0006, 0.0001)):
        d = cpml_landmark_jitter(x, size, torch.Generator().manual_seed(0)).view(64, 10, 68, 2)
        jaw, lips, nose = d[:, :, :17], d[:, :, 49:68], d[:, :, 28:36]
        assert jaw.abs().max() <= every and jaw.abs().max() > 0.9 * every
        assert lips[..., 0].abs().max() <= every + lips_x and lips[..., 0].abs().max() > every
        assert nose[..., 1].abs().max() <= every + nose_y
        assert abs(d.mean()) < 0.05 * every  # zero-mean


def test_cpml_loss_terms_on_known_signals(cpml):
    """Pull = 0 for identical views; push = mean |Pearson| of real x fake pairs; HR gap 0."""
    t = torch.arange(16) / 30.0
    s = torch.sin(2 * torch.pi * 1.5 * t)[None]
    label = torch.tensor([0, 1])
    f = torch.randn(2, cpml.prompt_bank.dim)
    out = {"logits": torch.zeros(2, 2), "f_64": f, "f_32": f, "t_right": f, "t_wrong": -f}
    same = cpml.loss({"label": label}, {**out, "rppg_64": torch.cat([s, s]), "rppg_32": torch.cat([s, s])})
    assert same["rppg_pull"].abs() < 1e-5 and same["hr_gap"] == 0
    assert same["rppg_push"] == pytest.approx(4.0, abs=1e-4)  # real == fake: |r| = 1 for all 4 pairs
    anti = cpml.loss({"label": label}, {**out, "rppg_64": torch.cat([s, -s]), "rppg_32": torch.cat([s, -s])})
    assert anti["rppg_push"] == pytest.approx(4.0, abs=1e-4)  # |Pearson| ignores the sign
    # f == t_right, f == -t_wrong: text pull 0, text push = 2 views x 2 classes x (-1), no view gap
    assert same["text_pull"].abs() < 1e-5 and same["text_push"] == pytest.approx(-4.0, abs=1e-4)
    assert same["view_mse"] == 0


def test_configs_build_from_yaml_style_mappings():
    """The registry builds each baseline from plain mappings (YAML lists for tuples); bad keys fail."""
    assert build_detector("lrnet", {"block_size": 10, "block_stride": 5}).stride == 5
    assert build_detector("xception", {"image_size": 64}).cfg.image_size == 64
    with pytest.raises(UmclError, match="unknown key"):
        build_detector("lrnet", {"blocksize": 30})
    from baselines.cpml import CPMLConfig
    from umcl.config import from_dict

    cfg = from_dict({"hr_band_hz": [0.6, 4.0], "label_fed_classifier": True}, CPMLConfig, "detectors.cpml")
    assert cfg.hr_band_hz == (0.6, 4.0) and cfg.label_fed_classifier is True


def test_xception_runs_channels_last_with_the_same_values():
    """The backbone's weights and inputs are channels-last (oneDNN's faster layout on CPU); the logits are
    those of the same weights in the default layout."""
    import copy

    torch.manual_seed(0)
    det = build_detector("xception", {"image_size": 64}).eval()
    conv = next(m for m in det.net.modules() if isinstance(m, torch.nn.Conv2d) and m.weight.dim() == 4)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last) and not conv.weight.is_contiguous()
    plain = copy.deepcopy(det.net).to(memory_format=torch.contiguous_format)
    faces = torch.rand(2, 3, 3, 64, 64)
    with torch.no_grad():
        got = det.frame_logits(faces)
        want = plain(((faces.flatten(0, 1) - det.mean) / det.std).contiguous()).view(2, 3, 2)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
