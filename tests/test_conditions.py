"""Test-time conditions (umcl/conditions.py): degradations, prompt attacks, keys, and that a
condition acts at evaluation only (weights, buffers and the run fingerprint untouched)."""

from __future__ import annotations

import dataclasses
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from umcl import prompts as P
from umcl.conditions import (
    CLEAN,
    DEGRADATIONS,
    TestCondition,
    apply_condition,
    condition_of,
    held_frame_indices,
    table7_conditions,
    table8_conditions,
)
from umcl.errors import ConfigError, UmclError
from umcl.registry import build_detector, get_entry
from umcl.seeding import seed_everything

pytestmark = pytest.mark.usefixtures("single_thread")

T = 20
UMCL_SMALL = dict(frames=8, image_size=32, physformer_dim=24, physformer_ff_dim=36, physformer_layers=3, d=32)


def frame_batch(keys=("ds/m/raw/000", "ds/m/raw/001", "ds/m/raw/002"), t: int = T) -> dict:
    """Frame t of every key carries the value t everywhere, so a frame's content names its source."""
    b = len(keys)
    idx = torch.arange(t, dtype=torch.float32)
    return {
        "key": list(keys),
        "label": torch.tensor([i % 2 for i in range(b)]),
        "frames": idx.view(1, 1, t, 1, 1).expand(b, 3, t, 4, 4).clone(),
        "frames_lq": idx.view(1, 1, t, 1, 1).expand(b, 3, t, 4, 4).clone() + 100,
        "landmarks": idx.view(1, t, 1).expand(b, t, 136).clone(),
        "xception_faces": torch.arange(6, dtype=torch.float32).view(1, 6, 1, 1, 1).expand(b, 6, 3, 5, 5).clone(),
    }


def sources(batch: dict) -> np.ndarray:
    """Source frame index per (video, position), read from the content of ``frames``."""
    return batch["frames"][:, 0, :, 0, 0].round().long().numpy()


# ---------------------------------------------------------------------------- frame sampling


@pytest.mark.parametrize("ratio", [0.9, 0.7, 0.5, 0.3])
def test_frame_sampling_keeps_r_of_the_frames_in_order_and_holds_them(ratio):
    batch = frame_batch()
    out = apply_condition(batch, TestCondition("frame_sampling", ratio))
    src = sources(out)
    for row in src:
        kept = np.unique(row)
        assert len(kept) == round(ratio * T)  # exactly r·T distinct frames survive
        assert np.all(np.diff(row) >= 0)  # in order
        # a kept frame sits at its own position; every other position holds the last kept frame
        # before it (or the first kept frame, before any was kept)
        expected = np.array([kept[kept <= t].max() if (kept <= t).any() else kept.min() for t in range(T)])
        assert np.array_equal(row, expected)
        assert np.array_equal(row[kept], kept)
    assert not np.array_equal(src[0], src[1])  # each video has its own kept frames
    # the same kept frames for every frame-aligned key
    assert torch.equal(out["frames_lq"] - 100, out["frames"])
    assert np.array_equal(out["landmarks"][:, :, 0].round().long().numpy(), src)
    assert torch.equal(out["landmarks"], out["landmarks"][:, :, :1].expand_as(out["landmarks"]))
    # xception faces (not frame-aligned): their own kept set, same ratio
    xs = out["xception_faces"][:, :, 0, 0, 0].round().long().numpy()
    assert all(len(np.unique(r)) == round(ratio * 6) and np.all(np.diff(r) >= 0) for r in xs)


def test_frame_sampling_ratio_one_is_identity_and_levels_are_nested():
    batch = frame_batch()
    assert torch.equal(apply_condition(batch, TestCondition("frame_sampling", 1.0))["frames"], batch["frames"])
    kept = {
        r: [set(np.unique(row)) for row in sources(apply_condition(batch, TestCondition("frame_sampling", r)))]
        for r in (0.9, 0.7, 0.5, 0.3)
    }
    for hi, lo in ((0.9, 0.7), (0.7, 0.5), (0.5, 0.3)):
        assert all(b <= a for a, b in zip(kept[hi], kept[lo], strict=True))


def test_degradation_is_per_video_not_per_batch_and_follows_the_seed():
    batch = frame_batch()
    cond = TestCondition("frame_sampling", 0.5)
    whole = apply_condition(batch, cond)
    for i in range(len(batch["key"])):
        alone = apply_condition(
            {k: (v[i : i + 1] if isinstance(v, torch.Tensor) else [v[i]]) for k, v in batch.items() if k != "label"},
            cond,
        )
        assert torch.equal(alone["frames"][0], whole["frames"][i])
    again = apply_condition(frame_batch(), cond)
    assert torch.equal(again["frames"], whole["frames"])
    other_seed = apply_condition(batch, dataclasses.replace(cond, seed=1))
    assert not torch.equal(other_seed["frames"], whole["frames"])


def test_apply_condition_leaves_the_input_batch_alone():
    batch = frame_batch()
    before = {k: v.clone() for k, v in batch.items() if isinstance(v, torch.Tensor)}
    for cond in table7_conditions():
        out = apply_condition(batch, cond)
        assert out["condition"] is cond and "condition" not in batch
    assert all(torch.equal(batch[k], v) for k, v in before.items())


def test_held_frame_indices_small_cases():
    rng = np.random.default_rng(0)
    assert list(held_frame_indices(5, 1.0, rng)) == [0, 1, 2, 3, 4]
    one = held_frame_indices(7, 0.01, np.random.default_rng(1))  # at least one frame is kept
    assert len(set(one)) == 1


# ---------------------------------------------------------------------------- landmark noise


def test_landmark_sigma_zero_equals_no_degradation():
    batch = frame_batch()
    batch["landmarks_lq"] = batch["landmarks"] + 1
    out = apply_condition(batch, TestCondition("landmark_noise", 0.0))
    clean = apply_condition(batch, CLEAN)
    for k in ("frames", "landmarks", "landmarks_lq", "xception_faces"):
        assert torch.equal(out[k], batch[k]) and torch.equal(clean[k], batch[k])


@pytest.mark.parametrize("sigma", [0.01, 0.05])
def test_landmark_noise_is_gaussian_with_sigma_on_landmarks_only(sigma):
    keys = [f"ds/m/c23/{i:03d}" for i in range(8)]
    batch = frame_batch(keys)
    out = apply_condition(batch, TestCondition("landmark_noise", sigma))
    noise = (out["landmarks"] - batch["landmarks"]).double().numpy().ravel()
    assert noise.size == 8 * T * 136
    assert abs(noise.mean()) < 4 * sigma / np.sqrt(noise.size)
    assert noise.std() == pytest.approx(sigma, rel=0.03)
    from scipy import stats

    assert stats.kstest(noise / sigma, "norm").pvalue > 1e-3
    for k in ("frames", "frames_lq", "xception_faces"):
        assert torch.equal(out[k], batch[k])


def test_landmark_noise_levels_share_their_draws():
    batch = frame_batch()
    small = apply_condition(batch, TestCondition("landmark_noise", 0.01))["landmarks"] - batch["landmarks"]
    large = apply_condition(batch, TestCondition("landmark_noise", 0.05))["landmarks"] - batch["landmarks"]
    assert torch.allclose(large, 5 * small, atol=1e-5)


# ---------------------------------------------------------------------------- keys


def test_paper_keys():
    assert [c.key for c in table7_conditions()] == [
        "clean",
        "frames-r0.90",
        "frames-r0.70",
        "frames-r0.50",
        "frames-r0.30",
        "landmarks-s0.01",
        "landmarks-s0.05",
    ]
    assert TestCondition(prompt_attack="opposite", attack_mode="label_free").key == "prompt-opposite-labelfree"
    assert TestCondition(prompt_policy="invalid_mean").key == "policy-invalid-mean"
    assert TestCondition("frame_sampling", 0.3, seed=2).key == "frames-r0.30_seed2"
    assert len({c.key for c in table8_conditions()}) == 2 * len(P.ADVERSARIAL_TYPES)


def conditions() -> st.SearchStrategy[TestCondition]:
    level = {
        "frame_sampling": st.floats(min_value=1e-6, max_value=1.0),
        "landmark_noise": st.floats(min_value=0.0, max_value=10.0, allow_subnormal=False),
    }
    degradation = st.one_of(st.just((None, None)), *[st.tuples(st.just(name), lv) for name, lv in level.items()])
    prompt = st.one_of(
        st.tuples(st.sampled_from(P.INFERENCE_POLICIES), st.just(None), st.just(None)),
        st.tuples(
            st.just(P.DEFAULT_INFERENCE_POLICY), st.sampled_from(P.ADVERSARIAL_TYPES), st.sampled_from(P.ATTACK_MODES)
        ),
    )
    return st.builds(
        lambda d, p, s: TestCondition(d[0], d[1], p[0], p[1], p[2], s),
        degradation,
        prompt,
        st.integers(min_value=0, max_value=2**31),
    )


@settings(max_examples=300, deadline=None)
@given(conditions())
def test_key_round_trip(cond):
    key = cond.key
    assert re.fullmatch(r"[A-Za-z0-9._+-]+", key), key  # path-safe
    assert TestCondition.from_key(key) == cond


@pytest.mark.parametrize(
    "key,message",
    [
        ("frames-r0.5", "not canonical"),
        ("frames-r1.5", "ratio"),
        ("landmarks-s-0.1", "σ"),
        ("blur-k3", "unknown part"),
        ("prompt-opposite", "unknown part"),
        ("prompt-rude-labelfree", "prompt attack"),
        ("policy-truth", "prompt policy"),
        ("seed0", "unknown part"),
        ("clean_seed1_frames-r0.50", "unknown part"),
        ("seed1_frames-r0.50", "not canonical"),
    ],
)
def test_bad_keys_are_one_line_errors(key, message):
    with pytest.raises(ConfigError, match=message) as err:
        TestCondition.from_key(key)
    assert "\n" not in str(err.value)


def test_invalid_conditions():
    with pytest.raises(ConfigError, match="go together"):
        TestCondition("frame_sampling")
    with pytest.raises(ConfigError, match="unknown degradation"):
        TestCondition("blur", 1.0)
    with pytest.raises(ConfigError, match="attack mode"):
        TestCondition(prompt_attack="opposite")
    with pytest.raises(ConfigError, match="replaces the prompt policy"):
        TestCondition(prompt_policy="neutral", prompt_attack="simple", attack_mode="label_free")
    with pytest.raises(ConfigError, match="finite"):
        TestCondition("landmark_noise", float("inf"))
    with pytest.raises(ConfigError, match="seed"):
        TestCondition(seed=-1)
    assert CLEAN.is_clean and not TestCondition("landmark_noise", 0.01).is_clean
    assert set(DEGRADATIONS) == {"frame_sampling", "landmark_noise"}


# ---------------------------------------------------------------------------- through the detectors


def umcl_batch(b: int = 4) -> dict:
    g = torch.Generator().manual_seed(0)
    return {
        "frames": torch.rand(b, 3, 8, 32, 32, generator=g),
        "landmarks": 0.1 * torch.randn(b, 8, 136, generator=g),
        "label": torch.tensor([i % 2 for i in range(b)]),
        "key": [f"ds/m/raw/{i:03d}" for i in range(b)],
    }


def cpml_batch(b: int = 4) -> dict:
    g = torch.Generator().manual_seed(1)
    return {
        "frames": torch.rand(b, 3, 16, 32, 32, generator=g),
        "landmarks": 0.1 * torch.randn(b, 16, 136, generator=g),
        "label": torch.tensor([i % 2 for i in range(b)]),
        "key": [f"ds/m/raw/{i:03d}" for i in range(b)],
    }


@pytest.fixture(scope="module")
def models():
    from baselines.cpml import CPMLConfig

    seed_everything(0)
    umcl = build_detector("umcl", UMCL_SMALL).eval()
    cpml = build_detector("cpml", dataclasses.asdict(CPMLConfig.tiny())).eval()
    return {"umcl": (umcl, umcl_batch), "cpml": (cpml, cpml_batch)}


def _text(name: str, model, batch: dict) -> torch.Tensor:
    """The test-time text each detector feeds on (UMCL's ``t``; CPML's classifier text input)."""
    if name == "umcl":
        return model(batch)["t"]
    from umcl.conditions import condition_text

    return condition_text(model.prompt_bank, batch, len(batch["key"]))


@pytest.mark.parametrize("name", ["umcl", "cpml"])
@pytest.mark.parametrize("attack", P.ADVERSARIAL_TYPES)
def test_label_free_attack_gives_every_video_the_same_text(models, name, attack):
    model, make = models[name]
    batch = apply_condition(make(), TestCondition(prompt_attack=attack, attack_mode="label_free"))
    with torch.no_grad():
        t = _text(name, model, batch)
        out = model(batch)["logits"]
        flipped = model({**batch, "label": 1 - batch["label"]})["logits"]
        no_label = model({k: v for k, v in batch.items() if k != "label"})["logits"]
    assert torch.equal(t, t[:1].expand_as(t))
    assert torch.equal(out, flipped) and torch.equal(out, no_label)  # the label never reaches the model


@pytest.mark.parametrize("name", ["umcl", "cpml"])
def test_label_chosen_attack_reads_the_label_and_changes_the_scores(models, name):
    model, make = models[name]
    batch = make()
    with torch.no_grad():
        clean = model(apply_condition(batch, CLEAN))["logits"]
        for attack in ("simple", "description", "opposite"):
            attacked = apply_condition(batch, TestCondition(prompt_attack=attack, attack_mode="label_chosen"))
            a = model(attacked)["logits"]
            b = model({**attacked, "label": 1 - attacked["label"]})["logits"]
            assert (a - b).abs().max() > 1e-6, attack  # the text follows the true label
            assert (a - clean).abs().max() > 1e-6, attack
        with pytest.raises(UmclError, match="label"):
            model({k: v for k, v in attacked.items() if k != "label"})


def test_opposite_attack_texts_contradict_the_label(models):
    model, make = models["umcl"]
    batch = apply_condition(make(), TestCondition(prompt_attack="opposite", attack_mode="label_chosen"))
    table, bank = model.prompt_bank.table, model.prompt_bank
    with torch.no_grad():
        t = model(batch)["t"]
    for row, label in zip(t, batch["label"].tolist(), strict=True):
        pool = bank.embeddings[table.ids("opposite_for_fake" if label else "opposite_for_real")]
        assert (pool - row).abs().sum(-1).min() == 0


@pytest.mark.parametrize("name", ["umcl", "cpml"])
def test_conditions_leave_the_weights_and_buffers_untouched(models, name):
    model, make = models[name]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    scores = {}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cond in table7_conditions() + table8_conditions() + [TestCondition(prompt_policy="neutral")]:
            batch = apply_condition(make(), cond)
            scores[cond.key] = model.score(model(batch))
    after = model.state_dict()
    assert state.keys() == after.keys() and all(torch.equal(state[k], after[k]) for k in state)
    assert not model.training
    # the conditions did act on the scores (so the check above is not vacuous)
    assert not torch.equal(scores["clean"], scores["frames-r0.30"])
    assert not torch.equal(scores["clean"], scores["landmarks-s0.05"])


def test_no_condition_means_clean(models):
    model, make = models["umcl"]
    batch = make()
    assert condition_of(batch) == CLEAN
    with torch.no_grad():
        assert torch.equal(model(batch)["logits"], model(apply_condition(batch, CLEAN))["logits"])
    with pytest.raises(TypeError):
        condition_of({"condition": "clean"})


# ---------------------------------------------------------------------------- the run fingerprint

TEST_TIME_OPTIONS = {f.name for f in dataclasses.fields(TestCondition)} | {
    "inference_prompt",
    "prompt_attack",
    "test_prompt",
}


@pytest.mark.parametrize("detector", ["umcl", "umcl-released", "cpml", "lrnet", "xception"])
def test_detector_configs_hold_no_test_time_option(detector):
    """A run's fingerprint is built from its detector config; no test-time option can enter it."""
    cfg_cls = get_entry(detector).config_cls
    assert not {f.name for f in dataclasses.fields(cfg_cls)} & TEST_TIME_OPTIONS
    for option in ("inference_prompt", "prompt_attack"):
        with pytest.raises(ConfigError, match="unknown key"):
            build_detector(detector, {option: "mean"})


def test_run_fingerprint_does_not_depend_on_the_condition(tmp_path):
    """Every test-time condition leaves the RunSpec (hence run.json's fingerprint) as it was."""
    from umcl.training.trainer import build_spec

    config = {"detectors": {"umcl": dict(UMCL_SMALL)}}
    spec = build_spec(config, "umcl", tmp_path / "manifest.csv", "raw", seed=0)
    fp = spec.fingerprint()
    model = build_detector(spec.detector, spec.detector_config).eval()
    with torch.no_grad():
        for cond in table7_conditions() + table8_conditions():
            model(apply_condition(umcl_batch(2), cond))
    assert build_spec(config, "umcl", tmp_path / "manifest.csv", "raw", seed=0).fingerprint() == fp
    assert spec.detector_config == config["detectors"]["umcl"]


LM_KEYS = ("landmarks", "landmarks_lq")  # the landmark inputs of the docs, not the module's constant


def test_landmark_noise_is_per_video_alone_or_in_a_batch_and_differs_between_videos():
    """Each video's landmark noise is seeded by its own key: the same alone and at any place in a batch,
    different for different videos (also in ``landmarks_lq``), and different under another condition seed."""
    keys = ["ds/m/raw/000", "ds/m/raw/001", "ds/m/raw/002"]
    batch = frame_batch(keys)
    batch["landmarks_lq"] = batch["landmarks"] + 1
    cond = TestCondition("landmark_noise", 0.05)
    noise = {k: apply_condition(batch, cond)[k] - batch[k] for k in LM_KEYS}
    reordered = frame_batch(keys[::-1])
    reordered["landmarks_lq"] = reordered["landmarks"] + 1
    noise_rev = {k: apply_condition(reordered, cond)[k] - reordered[k] for k in LM_KEYS}
    for i in range(len(keys)):
        alone = {k: (v[i : i + 1] if isinstance(v, torch.Tensor) else [v[i]]) for k, v in batch.items()}
        out = apply_condition(alone, cond)
        for k in LM_KEYS:
            assert torch.equal(out[k][0] - alone[k][0], noise[k][i])
            assert torch.equal(noise_rev[k][len(keys) - 1 - i], noise[k][i])
    for k in LM_KEYS:
        for i in range(len(keys)):
            for j in range(i + 1, len(keys)):
                assert not torch.allclose(noise[k][i], noise[k][j])
    assert not torch.allclose(noise["landmarks"], noise["landmarks_lq"])
    other = apply_condition(batch, dataclasses.replace(cond, seed=1))["landmarks"] - batch["landmarks"]
    assert not torch.allclose(other, noise["landmarks"])
