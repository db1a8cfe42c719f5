"""The ``umcl-released`` switches of the second reading of the release (docs/deviations/released.md), each
against a reference that does not call the code under test: float64 NumPy on values captured by forward
hooks, or the model run the other way (a sub-batch alone). Each test fails when its switch is ignored
(tests/curated_mutations.py lists one mutation per switch).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from umcl import released
from umcl.conditions import TestCondition
from umcl.errors import ConfigError, UmclError
from umcl.models.text_encoder import build_text_encoder
from umcl.models.umcl import UMCLConfig, UMCLDetector
from umcl.registry import build_detector
from umcl.seeding import seed_everything
from umcl.training.config import training_for
from umcl.training.schedule import build_optimizer

# as tests/test_released_variant.py: 32 px clips, 1x1 patches (the 1/4-size view is 8 px)
SMALL = dict(
    frames=32, image_size=32, patch_size=[4, 1, 1], physformer_dim=24, physformer_ff_dim=36, physformer_layers=2, d=32
)
EVAL_MODE = TestCondition(module_mode="eval")


def make_batch(b: int = 4, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {
        "frames": torch.rand(b, 3, 32, 32, 32, generator=g),
        "landmarks": 0.1 * torch.randn(b, 32, 136, generator=g),
        "label": torch.tensor([i % 2 for i in range(b)]),
        "key": [f"k{seed}-{i}" for i in range(b)],
    }


def build(name: str = "umcl-released", **overrides) -> UMCLDetector:
    seed_everything(0)
    return build_detector(name, {**SMALL, **overrides})


def outputs_of(module: torch.nn.Module, store: list) -> torch.utils.hooks.RemovableHandle:
    """Record ``module``'s output (float64 NumPy) on every call."""
    return module.register_forward_hook(lambda mod, args, out: store.append(out.detach().double().numpy()))


def _np_log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def _np_ce(logits: np.ndarray, label: np.ndarray) -> float:
    return float(-_np_log_softmax(logits)[np.arange(len(label)), label].mean())


# --------------------------------------------------------------------------- 1, 2: affinity and CE over the classes
def test_affinity_is_the_mean_of_the_real_and_fake_terms():
    rng = np.random.default_rng(3)
    feats, label = rng.normal(size=(6, 3, 10)), np.array([0, 1, 0, 1, 1, 1])

    def np_term(f: np.ndarray) -> float:  # 0.5·mean((1 - diag)²) + 0.3·Σ_{i<j} mean((1 - A_ij)²), float64
        u = f / np.linalg.norm(f, axis=-1, keepdims=True)
        a = np.einsum("bid,bjd->bij", u, u)
        return 0.5 * np.mean((1 - np.einsum("bii->bi", a)) ** 2) + 0.3 * sum(
            np.mean((1 - a[:, i, j]) ** 2) for i, j in ((0, 1), (0, 2), (1, 2))
        )

    real, fake = np_term(feats[label == 0]), np_term(feats[label == 1])
    t, lab = torch.tensor(feats), torch.tensor(label)
    mean = released.class_affinity_loss(t, lab, 0.5, 0.3, class_mean=True)
    assert float(mean) == pytest.approx((real + fake) / 2, rel=1e-12)
    assert float(released.class_affinity_loss(t, lab, 0.5, 0.3)) == pytest.approx(real + fake, rel=1e-12)
    model = build()
    assert model.cfg.affinity_class_mean and not UMCLConfig().affinity_class_mean


def test_cross_entropy_is_the_sum_of_the_two_per_class_means():
    model = build().train()
    batch = {**make_batch(b=6), "label": torch.tensor([0, 1, 1, 0, 1, 1])}  # unequal classes: sum != mean
    out = model(batch)
    logits, label = out["logits_hq"].detach().double().numpy(), batch["label"].numpy()
    ref = _np_ce(logits[label == 0], label[label == 0]) + _np_ce(logits[label == 1], label[label == 1])
    assert float(model.loss(batch, out)["bce"].detach()) == pytest.approx(ref, rel=1e-5)
    assert abs(ref - 2 * _np_ce(logits, label)) > 1e-3  # not twice the mixed batch's mean either


# --------------------------------------------------------------------------- 3: ReLU'd features
def test_classifier_and_affinity_read_relu_features():
    model = build().eval()
    raw: dict[str, list] = {m: [] for m in ("proj_rppg", "proj_face", "proj_text")}
    for name, store in raw.items():
        outputs_of(getattr(model, name), store)
    with torch.no_grad():
        out = model({**make_batch(), "condition": EVAL_MODE})
    u_ref = np.maximum(np.concatenate([raw[m][0] for m in ("proj_rppg", "proj_face", "proj_text")], axis=1), 0.0)
    assert (np.concatenate([raw[m][0] for m in raw], axis=1) < 0).any()  # the ReLU has something to do
    assert np.allclose(out["u_hq"].double().numpy(), u_ref, atol=1e-6)
    w, b = (p.detach().double().numpy() for p in (model.classifier.weight, model.classifier.bias))
    assert np.allclose(out["logits_hq"].double().numpy(), u_ref @ w.T + b, atol=1e-5)
    # the affinity's inputs (eq. 9's stacked features) are the ReLU'd ones too: cosines in [0, 1]
    assert np.allclose(out["asa_features"].flatten(1).double().numpy(), u_ref, atol=1e-6)


# --------------------------------------------------------------------------- 4: scoring in training mode (test time)
def _stem_bn(model: UMCLDetector) -> torch.nn.BatchNorm3d:
    return model.p_encoder.stem[0][1]


def test_default_scoring_is_per_video_in_training_mode_and_leaves_the_checkpoint_as_loaded():
    assert TestCondition.from_key(released.RELEASED_DEFAULT_CONDITION).module_mode == "train"
    assert TestCondition(module_mode="train").key == "mode-train"
    assert TestCondition.from_key("policy-released-fixed_mode-eval").module_mode == "eval"
    with pytest.raises(ConfigError):
        TestCondition(module_mode="training")
    model = build()
    for _ in range(3):  # move the BatchNorm running statistics away from their initial values
        model.train()(make_batch(seed=5))
    model.eval()
    bn = _stem_bn(model)
    seen: list = []
    bn.register_forward_hook(
        lambda mod, args, out: seen.append(
            (args[0].detach().double().numpy(), out.detach().double().numpy(), mod.training)
        )
    )
    dropout_modes: list = []
    model.l_encoder.g1.drop_in.register_forward_hook(lambda mod, args, out: dropout_modes.append(mod.training))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batch = make_batch()
    with torch.no_grad():
        out = model(batch)  # no condition: umcl-released's default, training mode
    # one video per pass, BatchNorm normalised by that video's own statistics (float64 reference)
    assert len(seen) == 4 and all(x.shape[0] == 1 and training for x, _, training in seen)
    w, b = (p.detach().double().numpy()[None, :, None, None, None] for p in (bn.weight, bn.bias))
    for x, y, _ in seen:
        mean, var = x.mean(axis=(0, 2, 3, 4), keepdims=True), x.var(axis=(0, 2, 3, 4), keepdims=True)
        assert np.allclose(y, (x - mean) / np.sqrt(var + bn.eps) * w + b, atol=1e-4)
    assert dropout_modes and all(dropout_modes)  # LRNet's dropout runs
    assert not model.training  # the model's own flag stays False: the fixed, label-free prompt
    assert torch.equal(out["t"], model.fixed_prompt_embeddings().expand_as(out["t"]))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # running statistics restored
    with torch.no_grad():  # deterministic, and a video's score does not depend on its batch
        again = model(batch)
        alone = model({k: v[2:3] if k != "key" else v[2:3] for k, v in batch.items()})
    assert torch.equal(out["prob_fake"], again["prob_fake"])
    assert torch.allclose(alone["prob_fake"], out["prob_fake"][2:3], atol=1e-6)
    with pytest.raises(UmclError, match="batch\\['key'\\]"), torch.no_grad():  # the keys seed the draws
        model({k: v for k, v in batch.items() if k != "key"})
    # eval mode (the release's inference.py): the running statistics, no dropout
    seen.clear()
    with torch.no_grad():
        ev = model({**batch, "condition": EVAL_MODE})
    x, y, training = seen[0]
    assert not training and x.shape[0] == 4
    rm, rv = (t.double().numpy()[None, :, None, None, None] for t in (bn.running_mean, bn.running_var))
    assert np.allclose(y, (x - rm) / np.sqrt(rv + bn.eps) * w + b, atol=1e-4)
    assert not torch.allclose(ev["prob_fake"], out["prob_fake"])


def test_training_mode_scoring_is_a_test_condition_for_any_umcl_checkpoint():
    paper = build("umcl").eval()
    bn = _stem_bn(paper)
    sizes: list = []
    bn.register_forward_hook(lambda mod, args, out: sizes.append((args[0].shape[0], mod.training)))
    with torch.no_grad():
        paper(make_batch())
        paper({**make_batch(), "condition": TestCondition(module_mode="train")})
    assert sizes[0] == (8, False)  # umcl: HQ + LQ of 4 videos in one eval-mode pass
    assert sizes[1:] == [(2, True)] * 4  # mode-train: one video (its HQ and LQ views) per pass


# --------------------------------------------------------------------------- 5: the text tower is trained
def test_text_tower_is_a_trained_submodule():
    model = build().train()
    frozen = build_text_encoder(model.cfg.text_backend, model.cfg.text_weights)  # an independent, frozen copy
    table = model.prompt_bank.table
    ref = frozen.encode(list(table.texts)).double().numpy()
    params = dict(model.named_parameters())
    tower = [n for n in params if n.startswith("text_encoder.")]
    assert tower and all(params[n].requires_grad for n in tower)
    opt = build_optimizer(model, training_for(None, "umcl-released"))
    assert {id(params[n]) for n in tower} <= {id(p) for g in opt.param_groups for p in g["params"]}
    batch = make_batch()
    seen: list = []
    model.proj_text.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    out = model(batch)
    t = seen[0]
    assert t.requires_grad  # the text feature carries gradients into the tower
    # each training row is the (still untrained) tower's embedding of one of the table's prompts
    dist = np.abs(t.detach().double().numpy()[:, None, :] - ref[None]).max(-1).min(-1)
    assert (dist < 1e-5).all()
    model.loss(batch, out)["total"].backward()
    grads = [params[n].grad for n in tower]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    for group in opt.param_groups:
        group["lr"] = 1e-3
    opt.step()
    model.eval()
    with torch.no_grad():  # test-time text comes from the trained tower, not the frozen one
        fixed = model.fixed_prompt_embeddings()
        mean_policy = model({**make_batch(), "condition": TestCondition(module_mode="eval")})["t"]
    ref_fixed = frozen.encode([released.RELEASED_TEST_PROMPT])
    assert not torch.allclose(fixed, ref_fixed, atol=1e-4)
    assert torch.allclose(fixed, model.text_encoder.embed([released.RELEASED_TEST_PROMPT]), atol=1e-6)
    bank = model.text_encoder.embed(list(table.texts)).detach()
    assert torch.allclose(model.prompt_bank.embeddings, bank, atol=1e-6)
    assert not np.allclose(bank.double().numpy(), ref, atol=1e-4)
    assert mean_policy.shape[0] == 4
    # the trained tower is saved with the model and scores the same after loading
    fresh = build()
    fresh.load_state_dict(model.state_dict())
    fresh.eval()
    with torch.no_grad():
        assert torch.allclose(fresh.fixed_prompt_embeddings(), fixed, atol=1e-6)
    assert "text_encoder" not in dict(build("umcl").named_children())


# --------------------------------------------------------------------------- 6: the appearance pathway
def test_rppg_feature_reads_the_signal_and_the_tokens_of_the_first_two_stages():
    model = build(relu_features=False).eval()
    n_tokens = {"hq": 8 * 4 * 4, "lq64": 8 * 2 * 2, "lq32": 8 * 1 * 1}  # (32 / 4) x (32 / 8 / 1)² ...
    for view, n in n_tokens.items():
        assert model.appearance[view].in_features == 2 * n * SMALL["physformer_dim"]
        assert model.appearance[view].out_features == SMALL["d"] // 2
    assert model.proj_rppg.in_features == SMALL["frames"] + SMALL["d"] // 2
    assert model.p_encoder.tap_blocks() == (1, 2)
    assert build(physformer_layers=12).p_encoder.tap_blocks() == (4, 8)  # the release's 3 x 4 blocks
    tokens: list = []
    for block in model.p_encoder.blocks:
        outputs_of(block, tokens)
    with torch.no_grad():
        out = model({**make_batch(), "condition": EVAL_MODE})
    z = out["z_hq"].double().numpy()
    flat = np.concatenate([tokens[0], tokens[1]], axis=1).reshape(4, -1)
    wa, ba, wr, br = (
        p.detach().double().numpy()
        for p in (
            model.appearance["hq"].weight,
            model.appearance["hq"].bias,
            model.proj_rppg.weight,
            model.proj_rppg.bias,
        )
    )
    ref = np.concatenate([z, flat @ wa.T + ba], axis=1) @ wr.T + br
    assert np.allclose(out["u_hq"][:, : SMALL["d"]].double().numpy(), ref, atol=1e-4)
    # trained: the tokens' layer of every view size gets gradients (classifier, CQSL and affinity)
    model.train()
    batch = make_batch()
    model.loss(batch, model(batch))["total"].backward()
    for view in n_tokens:
        assert model.appearance[view].weight.grad.abs().sum() > 0, view


def test_appearance_layers_at_the_paper_sizes_are_the_releases():
    """At 160 frames, 128 px, 4 px patches, dim 96, 12 blocks: Linear(640·96·2 -> 160) at full size,
    (160·96·2 -> 160) and (40·96·2 -> 160) for the 1/2 and 1/4 views, Linear(320 -> 320) (the release's
    numbers, read from module/base_model.py, not computed from our token grid)."""
    seed_everything(0)
    model = build_detector("umcl-released", {"train_text_encoder": False, "use_landmarks": False})
    got = {v: (m.in_features, m.out_features) for v, m in model.appearance.items()}
    assert got == {"hq": (640 * 96 * 2, 160), "lq64": (160 * 96 * 2, 160), "lq32": (40 * 96 * 2, 160)}
    assert (model.proj_rppg.in_features, model.proj_rppg.out_features) == (320, 320)


# --------------------------------------------------------------------------- 7: LRNet's trailing dropout
def test_lrnet_feature_is_taken_after_the_trailing_dropout():
    model = build(lrnet_feature_noise=0.0, class_pure_batches=False, lrnet_landmark_dropout=0.0).train()
    mlp_out: list = []
    outputs_of(model.l_encoder.g1.mlp, mlp_out)
    out = model(make_batch())
    f = mlp_out[0][:4]  # the stream's 64-d feature before its trailing dropout (full-size view)
    e = out["e_hq"][:, :64].detach().double().numpy()
    kept = e != 0
    assert np.allclose(e[kept], 2.0 * f[kept], rtol=1e-5)  # inverted Dropout(0.5): 0 or 2 x the feature
    assert 0.3 < 1 - kept.mean() < 0.7
    model.eval()
    mlp_out.clear()
    with torch.no_grad():
        ev = model({**make_batch(), "condition": EVAL_MODE})
    assert np.allclose(ev["e_hq"][:, :64].double().numpy(), mlp_out[0][:4], atol=1e-6)  # eval: no dropout


# ------------------------------------------------------------------------- 8: class-pure passes, [0, 1] frames, prompts
def test_real_and_fake_rows_go_through_separate_passes():
    model = build().train()
    twin = copy.deepcopy(model)
    batch = make_batch()
    inputs: list = []
    model.p_encoder.register_forward_pre_hook(lambda mod, args: inputs.append(args[0].shape[0]))
    torch.manual_seed(11)
    out = model(batch)
    assert inputs == [2] * 6  # 2 real, then 2 fake videos, three view sizes each
    real = batch["label"] == 0
    torch.manual_seed(11)  # the real rows alone, in a copy of the model, with the same random draws
    alone = twin(released.batch_rows(batch, torch.nonzero(real).reshape(-1)))
    assert torch.allclose(out["logits_hq"][real], alone["logits_hq"], atol=1e-5)
    mixed = build(class_pure_batches=False).train()
    torch.manual_seed(11)
    assert not torch.allclose(mixed(batch)["logits_hq"][real], alone["logits_hq"], atol=1e-3)


def test_p_encoder_reads_frames_in_unit_range():
    seen: list = []
    batch = make_batch()
    for name in ("umcl-released", "umcl"):
        model = build(name).eval()
        model.p_encoder.register_forward_pre_hook(lambda mod, args: seen.append(args[0][:4].double().numpy()))
        with torch.no_grad():
            model({**batch, "condition": EVAL_MODE})
    frames = batch["frames"].double().numpy()
    assert np.array_equal(seen[0], frames)  # released: [0, 1] as loaded
    assert np.allclose(seen[1], (255.0 * frames - 127.5) / 128.0, atol=1e-5)  # paper: VIPL-HR scale


def test_each_view_draws_its_own_training_prompts():
    model = build(train_text_encoder=False, class_pure_batches=False).train()
    texts: list = []
    model.proj_text.register_forward_pre_hook(lambda mod, args: texts.append(args[0].detach().double().numpy()))
    batch = make_batch(b=8)
    torch.manual_seed(2)
    model(batch)
    assert len(texts) == 3  # full size, 1/2, 1/4
    bank = model.prompt_bank.embeddings.double().numpy()
    ids = [np.abs(t[:, None, :] - bank[None]).max(-1).argmin(-1) for t in texts]
    for t, i in zip(texts, ids, strict=True):
        assert np.allclose(t, bank[i], atol=1e-7)  # every row is one prompt of the table
    assert not (np.array_equal(ids[0], ids[1]) and np.array_equal(ids[1], ids[2]))  # drawn anew per view
    shared = build(train_text_encoder=False, class_pure_batches=False, prompt_per_view=False).train()
    texts.clear()
    shared.proj_text.register_forward_pre_hook(lambda mod, args: texts.append(args[0]))
    shared(batch)
    assert len(texts) == 3 and all(torch.equal(texts[0], t) for t in texts)
