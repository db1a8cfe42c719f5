"""Each detector is trained as its source trains it (issue 9 §1).

Per-detector settings (``umcl.training.config.training_for``), LRNet's own recipe actually trains
(training loss far below chance on default-like data), Xception from scratch updates its backbone
in the first epoch, and the settings' precedence and validation.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import yaml
from _train_fixtures import make_manifest

from umcl.config import load_config
from umcl.errors import ConfigError
from umcl.registry import build_detector
from umcl.seeding import seed_everything
from umcl.training.config import SOURCE_RECIPES, TrainConfig, training_for
from umcl.training.runtime import load_checkpoint
from umcl.training.trainer import Trainer, build_spec

pytestmark = pytest.mark.usefixtures("single_thread")

CPU = {"device": "cpu", "amp": False}


# ----------------------------------------------------------------------------- precedence


def test_each_detector_gets_its_source_recipe_by_default():
    umcl, lrnet = training_for({}, "umcl"), training_for({}, "lrnet")
    xception, cpml = training_for({}, "xception"), training_for({}, "cpml")
    assert umcl == TrainConfig()  # UMCL §5: AdamW, 1e-3 for 10 % of steps, then 5e-5 cosine, batch 8
    assert (umcl.optimizer, umcl.schedule, umcl.lr_warmup, umcl.lr, umcl.batch_size) == (
        "adamw",
        "paper",
        1e-3,
        5e-5,
        8,
    )
    assert (lrnet.optimizer, lrnet.schedule, lrnet.lr, lrnet.weight_decay) == ("adam", "constant", 1e-3, 0.0)
    assert lrnet.batch_size * 5 >= 1000 and lrnet.epochs == 750  # ~1024 30-frame blocks of 160-frame clips
    assert (xception.optimizer, xception.schedule, xception.lr, xception.epochs) == ("adam", "constant", 2e-4, 18)
    assert (cpml.optimizer, cpml.schedule, cpml.lr, cpml.batch_size) == ("adamw", "constant", 1e-5, 2)


def test_shared_section_beats_the_recipe_and_per_detector_beats_both():
    config = {"training": {"epochs": 3, "lr": 1e-4, "per_detector": {"lrnet": {"lr": 5e-3, "batch_size": 16}}}}
    lrnet, xception = training_for(config, "lrnet"), training_for(config, "xception")
    assert (lrnet.epochs, lrnet.lr, lrnet.batch_size, lrnet.optimizer) == (3, 5e-3, 16, "adam")
    assert (xception.epochs, xception.lr, xception.batch_size, xception.optimizer) == (3, 1e-4, 4, "adam")
    assert training_for(config, "umcl").lr == 1e-4
    assert lrnet.per_detector == {}  # the resolved settings hold no overlays


@pytest.mark.parametrize(
    "overlay, message",
    [
        ({"lrnett": {"lr": 1e-3}}, "unknown detector"),
        ({"lrnet": {"learning_rate": 1e-3}}, "unknown key"),
        ({"lrnet": {"batch_size": 7}}, "batch_size"),
        ({"lrnet": {"optimizer": "sgd"}}, "optimizer"),
    ],
)
def test_per_detector_settings_are_validated_like_the_section(overlay, message):
    with pytest.raises(ConfigError, match=message):
        training_for({"training": {"per_detector": overlay}}, "lrnet")


def test_schema_rejects_a_bad_per_detector_key(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"training": {"per_detector": {"lrnet": {"lrr": 1e-3}}}}))
    with pytest.raises(ConfigError, match="per_detector"):
        load_config(path)
    path.write_text(yaml.safe_dump({"training": {"per_detector": {"lrnet": {"lr": 1e-3, "schedule": "constant"}}}}))
    assert load_config(path)["training"]["per_detector"]["lrnet"]["lr"] == 1e-3


@pytest.mark.parametrize("profile", ["config/default.yaml", "config/profiles/paper.yaml", "config/profiles/smoke.yaml"])
def test_profiles_resolve_for_every_detector(profile):
    root = Path(__file__).resolve().parents[1]
    config = load_config(root / profile)
    for det in ("umcl", "lrnet", "xception", "cpml"):
        training_for(config, det)  # range checks pass for every detector's merged settings


def test_paper_profile_keeps_each_source_recipe():
    config = load_config(Path(__file__).resolve().parents[1] / "config/profiles/paper.yaml")
    for det, recipe in SOURCE_RECIPES.items():
        resolved = training_for(config, det)
        for key, value in recipe.items():
            assert getattr(resolved, key) == value, (det, key)


# ----------------------------------------------------------------------------- LRNet trains


def test_lrnet_recipe_reaches_a_training_loss_far_below_chance(tmp_path: Path):
    """Default-profile-like clips (32 frames, 16-frame blocks every 8) and LRNet's own optimiser
    (Adam, constant 1e-3, from the source recipe): both streams' training CE ends far below
    ln 2. Under UMCL's schedule (5e-5 after 10 % of the steps) it stays near ln 2."""
    manifest = make_manifest(tmp_path, n_frames=32)
    config = {
        "detectors": {"lrnet": {"block_size": 16, "block_stride": 8}},
        "training": {**CPU, "per_detector": {"lrnet": {"epochs": 32, "batch_size": 8}}},
    }
    spec = build_spec(config, "lrnet", manifest, "c23")
    assert (spec.training.optimizer, spec.training.schedule, spec.training.lr) == ("adam", "constant", 1e-3)
    Trainer(spec, tmp_path / "run", progress=False).fit()
    last = json.loads((tmp_path / "run" / "history.json").read_text())[-1]
    chance = math.log(2)
    assert last["train_ce_g1"] < 0.25 * chance and last["train_ce_g2"] < 0.5 * chance, last


# ----------------------------------------------------------------------------- Xception


def test_xception_from_scratch_updates_its_backbone_in_the_first_epoch(tmp_path: Path):
    manifest = make_manifest(tmp_path, counts={"train": (2, 2), "val": (2, 2), "test": (1, 1)})
    det_cfg = {"image_size": 32}  # FF++ default head_warmup_epochs (3), no pretrained weights
    config = {"detectors": {"xception": det_cfg}, "training": {**CPU, "epochs": 2, "batch_size": 4}}
    spec = build_spec(config, "xception", manifest, "c23")
    seed_everything(spec.training.seed, True)
    initial = build_detector("xception", det_cfg).state_dict()  # the trainer's init (same seed)
    Trainer(spec, tmp_path / "run", progress=False).fit(stop_after=1)
    after = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert after["epoch"] == 1
    for key in ("net.conv1.weight", "net.block1.rep.0.conv1.weight", "net.conv4.conv1.weight", "net.fc.weight"):
        assert not torch.equal(after["model"][key], initial[key]), f"{key} did not change in epoch 1"


# ----------------------------------------------------------------------------- UMCL's HR term


def _noise_signals(seed: int, k: int, batch: int) -> torch.Tensor:
    """Four groups [real HQ, real LQ, fake HQ, fake LQ] of noise-like rPPG signals, LQ = 0.5 HQ + noise."""
    z = torch.randn(4, batch // 2, k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    z[1] += 0.5 * z[0]
    z[3] += 0.5 * z[2]
    return z


def _grad_norms(z: torch.Tensor, fps: float, ratio: float | None) -> tuple[float, float, dict]:
    """(‖∇_z L_HR‖, ‖∇_z (L_pull + L_push)‖, loss values) with ``hr_grad_ratio=ratio``."""
    from umcl import losses

    norms = []
    for name in (("hr",), ("pull", "push")):
        zz = z.clone().requires_grad_(True)
        terms = losses.physiological_loss(*zz, fps=fps, hr_grad_ratio=ratio)
        (grad,) = torch.autograd.grad(sum(terms[n] for n in name), zz)
        norms.append(float(grad.norm()))
    return norms[0], norms[1], {k: float(v) for k, v in terms.items()}


@pytest.mark.parametrize("k, fps, batch, dominance", [(32, 25.0, 4, 2.0), (160, 30.0, 8, 15.0)])
def test_umcl_hr_gradient_is_capped_at_the_pearson_terms(k, fps, batch, dominance):
    """Default (32 frames, batch 4) and paper (160 frames, batch 8) sizes: unclipped, L_HR's
    gradient is several (default) to ~30 (paper) times the Pearson terms'; with the default
    ``hr_grad_ratio`` 1.0 it is at most theirs, and every loss value is unchanged."""
    from umcl.models.umcl import UMCLConfig

    assert UMCLConfig().hr_grad_ratio == 1.0
    raw_ratios = []
    for seed in range(8):
        z = _noise_signals(seed, k, batch)
        hr_raw, p_raw, values_raw = _grad_norms(z, fps, None)
        hr_cap, p_cap, values_cap = _grad_norms(z, fps, 1.0)
        raw_ratios.append(hr_raw / p_raw)
        assert p_cap == pytest.approx(p_raw, rel=1e-12)  # the Pearson gradient is untouched
        assert hr_cap <= p_cap * (1 + 1e-9)
        assert values_cap == pytest.approx(values_raw, rel=1e-12)
    assert sorted(raw_ratios)[len(raw_ratios) // 2] > dominance  # the imbalance the cap removes


def test_umcl_hr_gradient_below_the_cap_is_left_alone():
    z = _noise_signals(0, 160, 8)
    hr_raw, _, _ = _grad_norms(z, 30.0, None)
    hr_loose, _, _ = _grad_norms(z, 30.0, 1e6)
    assert hr_loose == hr_raw
