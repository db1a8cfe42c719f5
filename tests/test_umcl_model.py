"""UMCL detector: forward/backward, named loss terms, label-free inference, ablations, views."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch.nn import functional as F

from umcl.conditions import TestCondition
from umcl.errors import ConfigError, UmclError
from umcl.models.umcl import ABLATIONS, UMCLConfig, UMCLDetector, ablation_config
from umcl.registry import build_detector
from umcl.seeding import seed_everything
from umcl.views import make_lq_video, perturb_landmarks

SMALL = dict(frames=8, image_size=32, physformer_dim=24, physformer_ff_dim=36, physformer_layers=3, d=32)
TERMS = {"bce", "aff", "pull", "push", "hr", "phy", "total"}


def make_batch(b: int = 2, labels: list[int] | None = None, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    labels = labels if labels is not None else [i % 2 for i in range(b)]
    return {
        "frames": torch.rand(b, 3, 8, 32, 32, generator=g),
        "landmarks": 0.1 * torch.randn(b, 8, 136, generator=g),
        "label": torch.tensor(labels),
    }


def build(**overrides) -> UMCLDetector:
    seed_everything(0)
    return build_detector("umcl", {**SMALL, **overrides})


def test_forward_backward_every_term_finite_and_gradients_reach_encoders():
    model = build().train()
    batch = make_batch()
    out = model(batch)
    assert out["logits"].shape == (2, 2) and out["z_hq"].shape == out["z_lq"].shape == (2, 8)
    assert out["asa_features"].shape == (2, 3, 32) and out["e_hq"].shape == (2, 128)
    terms = model.loss(batch, out)
    assert set(terms) == TERMS
    assert all(torch.isfinite(v) and v.ndim == 0 for v in terms.values())
    assert torch.allclose(terms["total"], terms["bce"] + 0.25 * terms["phy"] + 0.25 * terms["aff"])
    assert torch.allclose(terms["phy"], terms["hr"] + terms["pull"] + terms["push"])
    assert terms["aff"] > 0 and terms["pull"] > 0 and terms["push"] > 0
    terms["total"].backward()
    for name in (
        "p_encoder.stem.0.0.weight",
        "p_encoder.blocks.0.attn.proj_q.0.conv.weight",
        "l_encoder.g1.gru.weight_ih_l0",
        "l_encoder.g2.gru.weight_ih_l0",
        "proj_rppg.weight",
        "proj_face.weight",
        "proj_text.weight",
        "classifier.weight",
    ):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert not model.prompt_bank.embeddings.requires_grad  # frozen T-encoder


def test_inference_is_label_free_and_leakage_audit_is_not():
    model = build().eval()
    batch = make_batch()
    with torch.no_grad():
        ref = model(batch)
        for labels in ([1, 0], [0, 0], [1, 1]):
            out = model({**batch, "label": torch.tensor(labels)})
            assert torch.equal(out["prob_fake"], ref["prob_fake"]) and torch.equal(out["t"], ref["t"])
        assert torch.allclose(torch.softmax(ref["logits"], -1)[:, 1], ref["prob_fake"], atol=1e-6)
        assert torch.equal(model.score(ref), ref["prob_fake"])
    # the check above can fail: with the explicitly named leakage audit, labels reach the output
    audit = {**batch, "condition": TestCondition(prompt_policy="leakage_audit")}  # a test-time condition
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = model({**audit, "label": torch.tensor([0, 0])})["prob_fake"]
        b = model({**audit, "label": torch.tensor([1, 1])})["prob_fake"]
    assert not torch.allclose(a, b)


def test_training_prompts_follow_labels():
    model = build(invalid_prompt_prob=0.0).train()
    out = model(make_batch(b=4, labels=[0, 0, 1, 1]))
    bank = model.prompt_bank
    real = bank.embeddings[bank.table.ids("real")]
    fake = bank.embeddings[bank.table.ids("fake")]
    for row, pool in zip(out["t"], (real, real, fake, fake), strict=True):
        assert (pool - row).abs().sum(-1).min() < 1e-6


@pytest.mark.parametrize("name", sorted(ABLATIONS))
def test_ablation_models_build_and_run(name):
    seed_everything(0)
    cfg = ablation_config(name, UMCLConfig(**SMALL))
    model = UMCLDetector(cfg).train()
    batch = make_batch()
    out = model(batch)
    terms = model.loss(batch, out)
    assert set(terms) == TERMS and all(torch.isfinite(v) for v in terms.values())
    expected = {
        "A": ["landmarks"],
        "B": ["rppg"],
        "C": ["rppg", "landmarks", "text"],
        "D": ["rppg", "landmarks", "text"],
    }[name]
    assert model.modalities == expected
    assert model.classifier.in_features == len(expected) * 32
    assert hasattr(model, "p_encoder") == ("rppg" in expected)
    assert hasattr(model, "l_encoder") == ("landmarks" in expected)
    assert (terms["aff"] > 0) == (name == "D")
    assert (terms["pull"] > 0) == (name in "BCD")
    terms["total"].backward()


def test_inconsistent_switches_are_config_errors():
    with pytest.raises(ConfigError):
        build_detector("umcl", {**SMALL, "use_rppg": False, "use_text": False})  # ASA with one modality
    with pytest.raises(ConfigError):
        build_detector("umcl", {**SMALL, "use_rppg": False, "use_asa": False})  # CQSL without rPPG
    with pytest.raises(ConfigError):
        build_detector("umcl", {**SMALL, "inference_prompt": "mean"})  # test-time options are not detector settings
    with pytest.raises(ConfigError):
        build_detector("umcl", {**SMALL, "no_such_key": 1})


def test_hr_term_searches_the_documented_band_only():
    """The model's heart-rate loss uses 0.7-3.0 Hz: HQ and LQ signals that share a 72 bpm pulse but
    carry a stronger tone just outside the band (0.58 Hz, 3.22 Hz) have the same heart rate. A band
    of 0.5-3.0 or 0.7-4.0 Hz would pick the outside tone and give an HR gap of > 0.5 Hz."""
    model = build()
    assert tuple(model.cfg.hr_band) == (0.7, 3.0) and model.cfg.fps == 30.0
    tt = torch.arange(600, dtype=torch.float64) / 30.0
    pulse = torch.sin(2 * torch.pi * 1.2 * tt)
    z_hq = torch.stack([2 * torch.sin(2 * torch.pi * 0.58 * tt) + pulse] * 2).float()
    z_lq = torch.stack([2 * torch.sin(2 * torch.pi * 3.22 * tt + 0.3) + pulse] * 2).float()
    output = {
        "logits": torch.zeros(2, 2),
        "logits_hq": torch.zeros(2, 2),
        "z_hq": z_hq,
        "z_lq": z_lq,
        "asa_features": torch.randn(2, 3, 32, generator=torch.Generator().manual_seed(0)),
    }
    terms = model.loss({"label": torch.tensor([0, 1])}, output)
    assert terms["hr"].item() < 0.05, terms["hr"].item()


def test_one_class_batch_gives_zero_push_and_finite_terms():
    model = build().train()
    batch = make_batch(labels=[1, 1])
    terms = model.loss(batch, model(batch))
    assert terms["push"] == 0 and all(torch.isfinite(v) for v in terms.values())


def test_compression_pairs_use_the_given_lq_views_in_training_only():
    """Table 11's "c23 & c40" model reads the real LQ copy in training; in evaluation it sees the
    single test video like every other model (issue 10: the test-time leak), so a given
    ``frames_lq`` changes nothing there."""
    model = build(contrastive_views="compression_pairs")
    assert model.inputs == ("frames", "landmarks", "frames_lq", "landmarks_lq")
    batch = make_batch()
    with pytest.raises(UmclError):
        model.train()(batch)
    frames_lq = torch.rand_like(batch["frames"])
    seen: list[torch.Tensor] = []
    hook = model.p_encoder.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    try:
        model.train()({**batch, "frames_lq": frames_lq, "landmarks_lq": batch["landmarks"] + 0.05})
    finally:
        hook.remove()
    b = batch["frames"].shape[0]
    assert torch.allclose(seen[-1][b:], (frames_lq * 255 - 127.5) / 128, atol=1e-5)  # the real LQ view
    model.eval()
    with torch.no_grad():
        with_partner = model({**batch, "frames_lq": frames_lq, "landmarks_lq": batch["landmarks"] + 0.05})
        single = model(batch)
    assert torch.equal(with_partner["prob_fake"], single["prob_fake"])
    assert torch.equal(with_partner["z_lq"], single["z_lq"])


def test_hq_only_inference_reads_one_view():
    from umcl.conditions import TestCondition  # views-hq: a test condition, not a config field

    model = build().eval()
    with torch.no_grad():
        out = model({**make_batch(), "condition": TestCondition(inference_views="hq")})
    assert "z_lq" not in out and "logits_lq" not in out
    assert torch.allclose(out["prob_fake"], torch.softmax(out["logits_hq"], -1)[:, 1])


def test_paper_profile_sizes():
    cfg = UMCLConfig()
    assert (cfg.frames, cfg.image_size, cfg.d, cfg.lq_factor, cfg.alpha, cfg.beta) == (160, 128, 320, 4, 0.25, 0.25)
    model = UMCLDetector(cfg)
    assert model.proj_rppg.in_features == 160 and model.proj_face.in_features == 128
    assert model.proj_text.in_features == 384 and model.classifier.in_features == 960


# ---------------------------------------------------------------------------- views
def test_lq_video_is_a_4x_downsample():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 5, 32, 32)
    small = make_lq_video(x, 4, upsample=False)
    assert small.shape == (2, 3, 5, 8, 8)
    blocks = x.reshape(2, 3, 5, 8, 4, 8, 4).mean(dim=(4, 6))
    assert torch.allclose(small, blocks, atol=1e-6)
    lq = make_lq_video(x, 4)
    assert lq.shape == x.shape
    # LQ depends only on the 4x4 block means: change pixels inside blocks, keep their means
    wiggle = torch.zeros(4, 4)
    wiggle[0, 0], wiggle[3, 3] = 0.1, -0.1
    y = x + wiggle.repeat(8, 8)
    assert torch.allclose(make_lq_video(y, 4), lq, atol=1e-6)
    assert not torch.allclose(y, x)
    with pytest.raises(ValueError):
        make_lq_video(torch.rand(1, 3, 2, 30, 30), 4)


def test_perturb_landmarks_gaussian_and_seeded():
    lm = torch.zeros(8, 50, 136)
    noisy = perturb_landmarks(lm, 0.05, torch.Generator().manual_seed(1))
    assert abs(noisy.std().item() - 0.05) < 0.002 and abs(noisy.mean().item()) < 0.002
    assert torch.equal(noisy, perturb_landmarks(lm, 0.05, torch.Generator().manual_seed(1)))
    assert torch.equal(perturb_landmarks(lm, 0.0), lm)


def test_eval_lq_landmarks_are_unperturbed_and_training_views_are_noisy():
    model = build(use_rppg=False, use_cqsl=False).eval()
    with torch.no_grad():
        out = model(make_batch())
    assert torch.equal(out["e_hq"], out["e_lq"])
    assert F.mse_loss(out["logits_hq"], out["logits_lq"]) == 0
