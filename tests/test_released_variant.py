"""The ``umcl-released`` variant (issue 12 §1): every released-code switch changes what it claims to.

References are independent: float64 NumPy for the affinity and CQSL formulas, synthetic sines of
known frequency for the heart rate, forward hooks for what each encoder actually receives.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _train_fixtures import ToyDetector, make_manifest  # registers "toy_test"
from torch.nn import functional as F

from umcl import losses, released
from umcl.conditions import TestCondition
from umcl.errors import ConfigError
from umcl.models.umcl import UMCLConfig, UMCLDetector
from umcl.registry import build_detector, builtin, get_entry
from umcl.seeding import seed_everything
from umcl.training.config import TrainConfig, training_for
from umcl.training.schedule import build_optimizer, lr_at, warmup_steps
from umcl.training.trainer import Trainer, build_spec

# 32 px clips with 1x1 patches: the 1/2 and 1/4 views (16, 8 px) still tile the P-encoder's stem
SMALL = dict(
    frames=32, image_size=32, patch_size=[4, 1, 1], physformer_dim=24, physformer_ff_dim=36, physformer_layers=2, d=32
)


def make_batch(b: int = 4, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {
        "frames": torch.rand(b, 3, 32, 32, 32, generator=g),
        "landmarks": 0.1 * torch.randn(b, 32, 136, generator=g),
        "label": torch.tensor([i % 2 for i in range(b)]),
        "key": [f"k{seed}-{i}" for i in range(b)],
    }


#: scoring in eval mode (the release's inference.py); umcl-released's default is training mode (test script)
EVAL_MODE = TestCondition(module_mode="eval")


def build(name: str = "umcl-released", **overrides) -> UMCLDetector:
    seed_everything(0)
    return build_detector(name, {**SMALL, **overrides})


# --------------------------------------------------------------------------- registration
def test_released_is_a_registered_config_overlay_of_umcl_not_a_fork():
    assert {"umcl", "umcl-released"} <= set(builtin())
    entry, base = get_entry("umcl-released"), get_entry("umcl")
    assert issubclass(entry.cls, base.cls) and issubclass(entry.config_cls, base.config_cls)
    own = set(vars(entry.cls)) - {"__doc__", "__module__", "registry_name", "default_condition"}
    assert not own, f"umcl-released must not override model code: {own}"
    assert entry.cls.default_condition == released.RELEASED_DEFAULT_CONDITION  # its test prompt, a test condition
    released_cfg, paper_cfg = entry.config_cls(), UMCLConfig()
    for key, value in released.RELEASED_CONFIG.items():
        assert getattr(released_cfg, key) == value
        assert getattr(paper_cfg, key) != value, f"{key}: the paper default must differ from the release"
    # a config section still overrides the overlay, key by key
    model = build(alpha=0.2)
    assert model.cfg.alpha == 0.2 and model.cfg.beta == 0.5 and model.cfg.hr_term == "released"
    assert build_detector("umcl", SMALL).cfg.affinity_form == "paper"


def test_released_pool_refuses_sizes_whose_quarter_view_does_not_tile():
    with pytest.raises(ConfigError, match="released_pool"):
        UMCLConfig(**{**SMALL, "patch_size": (4, 4, 4), "contrastive_views": "released_pool"})
    with pytest.raises(ConfigError):
        UMCLConfig(landmark_zero_prob=1.0)


# --------------------------------------------------------------------------- affinity
def _np_released_affinity(feats: np.ndarray, alpha: float, beta: float) -> float:
    unit = feats / np.linalg.norm(feats, axis=-1, keepdims=True)
    a = np.einsum("bid,bjd->bij", unit, unit)
    diag = np.mean((1 - np.einsum("bii->bi", a)) ** 2)
    cross = sum(np.mean((1 - a[:, i, j]) ** 2) for i, j in ((0, 1), (1, 2), (0, 2)))
    return alpha * diag + beta * cross


def test_released_affinity_equals_numpy_reference_and_differs_from_eq12():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(6, 3, 20))
    t = torch.tensor(feats)
    got = released.affinity_loss(released.affinity_matrix(t), 0.5, 0.3)
    assert math.isclose(float(got), _np_released_affinity(feats, 0.5, 0.3), rel_tol=1e-12)
    paper = losses.affinity_loss(losses.affinity_matrix(t))
    assert abs(float(paper) - float(got)) > 1e-3
    # no cross-sample negatives: the batch loss is the mean of per-sample losses (eq. 12's is not)
    per_sample = [float(released.affinity_loss(released.affinity_matrix(t[i : i + 1]))) for i in range(6)]
    assert math.isclose(float(released.affinity_loss(released.affinity_matrix(t))), np.mean(per_sample), rel_tol=1e-12)
    paper_single = [float(losses.affinity_loss(losses.affinity_matrix(t[i : i + 1]))) for i in range(6)]
    assert abs(float(paper) - np.mean(paper_single)) > 1e-3
    # the text scale is applied, and cancels in the L2 normalisation (as in the release)
    scaled = released.affinity_matrix(t, text_index=2, text_scale=0.3)
    assert torch.allclose(scaled, released.affinity_matrix(t), atol=1e-12)


def test_model_affinity_term_is_the_reference_per_class_on_each_lq_view():
    model = build().train()
    batch = make_batch()
    out = model(batch)
    terms = model.loss(batch, out)
    label = batch["label"].numpy()
    ref = []
    for view in ("lq64", "lq32"):
        feats = out[f"u_{view}"].detach().double().numpy().reshape(4, 3, SMALL["d"])
        ref.append(np.mean([_np_released_affinity(feats[label == c], 0.5, 0.3) for c in (0, 1)]))  # class mean
    assert math.isclose(float(terms["aff"].detach()), np.mean(ref), rel_tol=1e-5)


# --------------------------------------------------------------------------- CQSL and heart rate
def _np_pearson_mean(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean([np.corrcoef(a, b)[0, 1] for a, b in zip(x, y, strict=True)]))


def test_released_cqsl_equals_numpy_reference():
    rng = np.random.default_rng(1)
    ra, rb, fa, fb = (rng.normal(size=(4, 50)) for _ in range(4))
    pull, push = released.cqsl_terms(*(torch.tensor(a) for a in (ra, rb, fa, fb)))
    ref_pull = (1 - _np_pearson_mean(ra, rb)) + (1 - _np_pearson_mean(fa, fb))
    ref_push = sum(abs(_np_pearson_mean(r, f)) for r in (ra, rb) for f in (fa, fb))
    assert math.isclose(float(pull), ref_pull, rel_tol=1e-9) and math.isclose(float(push), ref_push, rel_tol=1e-9)


def _sines(
    bpm: float, rows: int = 4, k: int = 160, fps: float = 30.0, seed: int = 0, second: tuple[float, float] = (40.0, 0.0)
) -> np.ndarray:
    """A pulse at ``bpm`` plus ``second`` = (bpm, amplitude), cut into rows (the release joins them)."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows * k) / fps
    x = np.sin(2 * np.pi * bpm / 60 * t) + second[1] * np.sin(2 * np.pi * second[0] / 60 * t)
    return (x + 0.05 * rng.normal(size=t.size)).reshape(rows, k)


@pytest.mark.parametrize(
    "bpm, second, expected",
    [
        (90, (150, 0.5), 90),
        (72, (150, 0.5), 72),  # the strongest peak in the band
        (48, (110, 0.3), 60),  # clamped up to 60
        (130, (100, 0.5), 120),  # clamped down to 120
        (140, (70, 0.6), 70),  # harmonic check: 140 is within 10 bpm of 2 x 70
    ],
)
def test_released_heart_rate_finds_the_pulse_checks_harmonics_and_clamps(bpm, second, expected):
    resolution = 30.0 * 60 / (4 * 160)  # one FFT bin of the joined series, in bpm
    assert abs(released.heart_rate(_sines(bpm, second=second), 30.0) - expected) <= resolution


def test_released_hr_term_is_abs_delta_over_60_and_carries_no_gradient():
    a, b = (torch.tensor(_sines(bpm), requires_grad=True) for bpm in (90, 72))
    c, d = (torch.tensor(_sines(80, seed=s), requires_grad=True) for s in (1, 2))
    hr = released.hr_loss(a, b, c, d, fps=30.0)
    assert not hr.requires_grad and hr.grad_fn is None
    ref = (
        abs(released.heart_rate(_sines(90), 30) - released.heart_rate(_sines(72), 30))
        + abs(released.heart_rate(_sines(80, seed=1), 30) - released.heart_rate(_sines(80, seed=2), 30))
    ) / 60
    assert math.isclose(float(hr), ref, rel_tol=1e-12) and 0.25 < float(hr) < 0.35
    paper = losses.physiological_loss(a.float(), b.float(), c.float(), d.float(), fps=30.0)["hr"]
    assert paper.requires_grad  # the paper's L_HR is differentiable


# --------------------------------------------------------------------------- views and inputs
def _capture(module: torch.nn.Module, store: list) -> torch.utils.hooks.RemovableHandle:
    return module.register_forward_pre_hook(
        lambda mod, args: store.append([a.detach().clone() if torch.is_tensor(a) else a for a in args])
    )


def test_learned_lq_views_at_half_and_quarter_size_inside_the_p_encoder():
    model = build(class_pure_batches=False).train()  # one pass over the batch (the class-pure one: its own test)
    seen: list = []
    handle = _capture(model.p_encoder, seen)
    out = model(make_batch())
    handle.remove()
    assert [tuple(args[0].shape[-2:]) for args in seen] == [(32, 32), (16, 16), (8, 8)]
    model.loss(make_batch(), out)["total"].backward()
    assert model.lq_pool.block[0].weight.grad.abs().sum() > 0  # learnable, trained by phy + aff
    seen.clear()
    handle = _capture(model.p_encoder, seen)
    with torch.no_grad():
        model.eval()({**make_batch(), "condition": EVAL_MODE})
    handle.remove()
    assert [tuple(args[0].shape[-2:]) for args in seen] == [(32, 32)]  # the test view is the full-size one
    paper_seen: list = []
    paper = build("umcl")
    _capture(paper.p_encoder, paper_seen)
    paper.train()(make_batch())
    assert [tuple(args[0].shape) for args in paper_seen] == [(8, 3, 32, 32, 32)]  # HQ + fixed x4 LQ, one batch


def test_ce_on_the_full_size_view_only_and_released_loss_weights():
    model = build().train()
    batch = make_batch()
    out = model(batch)
    terms = model.loss(batch, out)
    real, fake = batch["label"] == 0, batch["label"] == 1  # CE(real) + CE(fake), as released
    assert torch.allclose(
        terms["bce"],
        F.cross_entropy(out["logits_hq"][real], batch["label"][real])
        + F.cross_entropy(out["logits_hq"][fake], batch["label"][fake]),
    )
    assert torch.allclose(terms["total"], terms["bce"] + 0.1 * terms["phy"] + 0.5 * terms["aff"])
    both = build(ce_views="all", ce_per_class=False).train()
    out2 = both(batch)
    ce = [F.cross_entropy(out2[f"logits_{v}"], batch["label"]) for v in ("hq", "lq64", "lq32")]
    assert torch.allclose(both.loss(batch, out2)["bce"], torch.stack(ce).mean())
    # the score is the full-size view's
    with torch.no_grad():
        ev = model.eval()(batch)
    assert torch.allclose(ev["prob_fake"], torch.softmax(ev["logits_hq"], -1)[:, 1])


def test_landmark_zeroing_about_20_percent_in_training_only_and_g2_reads_clean_differences():
    model = build(lrnet_landmark_dropout=0.0, class_pure_batches=False)
    g1_in, g2_in = [], []
    _capture(model.l_encoder.g1, g1_in)
    _capture(model.l_encoder.g2, g2_in)
    batch = make_batch(b=8)
    model.train()(batch)
    hq = g1_in[0][0][:8]
    frac = float((hq == 0).float().mean())
    n = hq.numel()
    assert abs(frac - 0.2) < 5 * math.sqrt(0.2 * 0.8 / n), frac
    clean_diff = batch["landmarks"][:, 1:] - batch["landmarks"][:, :-1]
    assert torch.equal(g2_in[0][0][:8], clean_diff)
    g1_in.clear()
    with torch.no_grad():
        model.eval()({**batch, "condition": EVAL_MODE})
    assert float((g1_in[0][0] == 0).float().mean()) == 0.0
    paper = build("umcl", lrnet_landmark_dropout=0.0)
    seen: list = []
    _capture(paper.l_encoder.g1, seen)
    paper.train()(batch)
    assert float((seen[0][0] == 0).float().mean()) == 0.0


def test_lrnet_feature_noise_at_test_time_seeded_per_video():
    model = build().eval()
    batch = {**make_batch(), "condition": EVAL_MODE}  # eval mode: no LRNet dropout (training mode: its own test)
    with torch.no_grad():
        clean = model.l_encoder(batch["landmarks"])["e"]
        e1 = model(batch)["e_hq"]
        e2 = model(batch)["e_hq"]
        other = model({**batch, "key": [k + "x" for k in batch["key"]]})["e_hq"]
    assert torch.equal(e1, e2)  # deterministic per video key
    assert not torch.allclose(e1, other)
    diff = (e1 - clean).flatten()
    assert 0.08 < float(diff.std()) < 0.12 and abs(float(diff.mean())) < 0.03
    with torch.no_grad():  # one video's noise does not depend on its batch
        alone = model({k: (v if k == "condition" else v[:1]) for k, v in batch.items()})["e_hq"]
    assert torch.allclose(alone, e1[:1], atol=1e-6)
    paper = build("umcl").eval()
    with torch.no_grad():
        assert torch.allclose(paper(batch)["e_hq"], paper.l_encoder(batch["landmarks"])["e"])


def test_l_encoder_reads_the_whole_clip_in_both_variants():
    for name in ("umcl", "umcl-released"):
        model = build(name).eval()
        batch = make_batch()
        late = {**batch, "landmarks": batch["landmarks"].clone()}
        late["landmarks"][:, 31] += 1.0  # the last frame, past any 30-frame block
        with torch.no_grad():
            assert not torch.allclose(model(batch)["e_hq"], model(late)["e_hq"]), name


def test_fixed_test_prompt_is_label_free_and_conditions_still_apply():
    model = build().eval()
    batch = make_batch()
    flipped = {**batch, "label": 1 - batch["label"]}
    with torch.no_grad():
        t, t_flip = model(batch)["t"], model(flipped)["t"]
    fixed = model.fixed_prompt_embeddings()[0]
    assert torch.equal(t, t_flip) and torch.equal(t, fixed.expand_as(t))
    assert released.fixed_prompt_table().texts == ("Is real or fake?",)
    assert "_fixed_text" not in str(list(model.state_dict()))  # a test-time text, not a weight
    mean = model.prompt_bank.inference_embeddings("mean", 1)[0]
    assert not torch.allclose(fixed, mean)
    leak = TestCondition(prompt_policy="leakage_audit")
    with torch.no_grad():
        tl = model({**batch, "condition": leak})["t"]
        tl_flip = model({**flipped, "condition": leak})["t"]
    assert not torch.allclose(tl, tl_flip)  # the leakage audit still feeds the label when asked
    attack = TestCondition(prompt_attack="opposite", attack_mode="label_free")
    with torch.no_grad():
        ta = model({**batch, "condition": attack})["t"]
    assert not torch.allclose(ta, t)  # so do the Table 8 attacks
    degraded = TestCondition(degradation="landmark_noise", level=0.01)
    with torch.no_grad():  # a degradation alone keeps the fixed prompt
        assert torch.equal(model({**batch, "condition": degraded})["t"], t)
    paper = build("umcl").eval()
    with torch.no_grad():
        assert torch.allclose(paper(batch)["t"][0], mean)


# --------------------------------------------------------------------------- training recipe
def test_released_optimiser_and_schedule():
    cfg = training_for(None, "umcl-released")
    assert (cfg.optimizer, cfg.schedule, cfg.lr, cfg.weight_decay, cfg.no_decay_bias_norm, cfg.epochs) == (
        "adamw",
        "linear_warmup_cosine",
        1e-3,
        5e-4,
        True,
        3,
    )
    paper = training_for(None, "umcl")
    assert (paper.schedule, paper.no_decay_bias_norm) == ("paper", False)
    total = 100
    w = warmup_steps(total, cfg.warmup_fraction)
    assert w == 10
    assert lr_at(0, total, cfg) == 0.0 and math.isclose(lr_at(5, total, cfg), 5e-4)
    assert math.isclose(lr_at(w, total, cfg), 1e-3)
    mid = w + (total - w) // 2
    assert math.isclose(lr_at(mid, total, cfg), 1e-3 * 0.5 * (1 + math.cos(math.pi * (mid - w) / (total - w))))
    assert lr_at(total - 1, total, cfg) < 1e-5
    assert lr_at(0, total, paper) == paper.lr_warmup  # the paper's constant high start
    model = build()
    opt = build_optimizer(model, cfg)
    decay = {id(p): g["weight_decay"] for g in opt.param_groups for p in g["params"]}
    named = dict(model.named_parameters())
    assert decay[id(named["classifier.bias"])] == 0.0 and decay[id(named["classifier.weight"])] == 5e-4
    assert all(decay[id(p)] == (0.0 if "bias" in n else 5e-4) for n, p in named.items() if p.requires_grad)
    assert {g["weight_decay"] for g in build_optimizer(model, paper).param_groups} == {paper.weight_decay}


def test_training_fingerprint_differs_from_umcl_and_a_step_runs(tmp_path):
    specs = [build_spec({}, name, tmp_path / "m.csv", "c23") for name in ("umcl", "umcl-released")]
    assert specs[0].fingerprint() != specs[1].fingerprint()
    model = build().train()
    opt = build_optimizer(model, training_for(None, "umcl-released"))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    batch = make_batch()
    out = model(batch)
    terms = model.loss(batch, out)
    assert all(torch.isfinite(v) for v in terms.values())
    terms["total"].backward()
    for group in opt.param_groups:
        group["lr"] = 1e-3
    opt.step()
    for name in (
        "lq_pool.block.0.weight",
        "p_encoder.stem.0.0.weight",
        "l_encoder.g1.gru.weight_ih_l0",
        "proj_text.weight",
        "classifier.weight",
    ):
        assert not torch.equal(before[name], dict(model.named_parameters())[name]), name


# --------------------------------------------------------------------------- selection as released
@pytest.mark.parametrize("selection, mode", [("label_free", False), ("as_released", True)])
def test_selection_as_released_scores_validation_in_training_mode(tmp_path, monkeypatch, selection, mode):
    assert TrainConfig().selection == "label_free"  # never the default
    manifest = make_manifest(tmp_path / "data")
    modes: list[bool] = []
    original = ToyDetector.forward

    def spy(self, batch):
        if not torch.is_grad_enabled():  # validation passes run without gradients
            modes.append(self.training)
        return original(self, batch)

    monkeypatch.setattr(ToyDetector, "forward", spy)
    config = {"training": {"epochs": 1, "batch_size": 4, "seed": 0, "selection": selection}}
    Trainer(build_spec(config, "toy_test", manifest, "c23"), tmp_path / "run", progress=False).fit()
    assert modes and set(modes) == {mode}


# --------------------------------------------------------------------------- through the pipeline's CLI
def test_cli_trains_and_evaluates_umcl_released_like_any_detector(tmp_path, monkeypatch):
    import _train_fixtures
    import pandas as pd
    import yaml

    from umcl.cli import main

    monkeypatch.setattr(_train_fixtures, "S", 32)  # 32 px crops: the 1/4-size view is 8 px
    manifest = make_manifest(tmp_path / "data", counts={"train": (2, 2), "val": (2, 2), "test": (2, 2)}, n_frames=16)
    small = {**SMALL, "frames": 16}
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "training": {"epochs": 1, "batch_size": 4, "seed": 0, "device": "cpu"},
                "detectors": {"umcl-released": small},
            }
        )
    )
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--config",
                str(cfg),
                "--detector",
                "umcl-released",
                "--manifest",
                str(manifest),
                "--train-compression",
                "c23",
                "--out",
                str(run),
                "--no-progress",
            ]
        )
        == 0
    )
    record = __import__("json").loads((run / "run.json").read_text())
    assert record["detector"] == "umcl-released" and record["training"]["schedule"] == "linear_warmup_cosine"
    assert record["starting_weights"] == {
        "p_encoder": {"pretrained": None, "weights": None, "trained": "all"}
    }  # random init
    outs = []
    for name in ("eval1", "eval2"):
        assert (
            main(
                [
                    "evaluate",
                    "--config",
                    str(cfg),
                    "--run",
                    str(run),
                    "--manifest",
                    str(manifest),
                    "--test-compression",
                    "c23",
                    "--out",
                    str(tmp_path / name),
                    "--no-progress",
                ]
            )
            == 0
        )
        outs.append(pd.read_csv(tmp_path / name / "scores.csv", dtype={"id": str}))
    assert len(outs[0]) == 4 and outs[0]["score"].between(0, 1).all()
    assert outs[0]["score"].tolist() == outs[1]["score"].tolist()  # test-time noise seeded per video


def test_run_keys_accept_the_registered_name():
    from umcl.protocols.keys import RunKey

    key = RunKey.from_path("umcl-released/ffpp-DF-c23/seed0")
    assert key.detector == "umcl-released" and RunKey.from_path(key.to_path()) == key


def test_model_phy_terms_are_the_released_ones_on_the_two_lq_views():
    model = build().train()
    batch = make_batch()
    out = model(batch)
    terms = model.loss(batch, out)
    real, fake = batch["label"] == 0, batch["label"] == 1
    a, b = out["z_lq64"].detach(), out["z_lq32"].detach()
    pull, push = released.cqsl_terms(a[real], b[real], a[fake], b[fake])
    hr = released.hr_loss(a[real], b[real], a[fake], b[fake], fps=model.cfg.fps)
    assert torch.allclose(terms["pull"], pull) and torch.allclose(terms["push"], push)
    assert float(terms["hr"]) == float(hr) and not terms["hr"].requires_grad
    assert torch.allclose(terms["phy"], terms["hr"] + terms["pull"] + terms["push"])
