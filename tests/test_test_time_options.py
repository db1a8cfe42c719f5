"""UMCL's test-time options are evaluation conditions, not detector config (issue 10 §1, issue 11).

``views-hq`` (score the HQ view alone; was ``UMCLConfig.inference_views``) and
``policy-released-fixed`` (the release's fixed prompt; was ``UMCLConfig.test_prompt``) are
:class:`~umcl.conditions.TestCondition` keys. ``umcl-released`` declares the fixed prompt
as its default condition. An evaluation under any of them scores the existing checkpoint: the run
folder stays byte-identical and the pipeline's resume check (``Trainer._same_run``) still matches.
"""

from __future__ import annotations

import dataclasses
import json

import _train_fixtures
import numpy as np
import pandas as pd
import pytest
import torch
from test_protocols import _digest  # every file of a run folder (but logs) -> sha256

from umcl.conditions import (
    CLEAN,
    FIXED_PROMPT_POLICY,
    INFERENCE_VIEWS,
    TestCondition,
    apply_condition,
    detector_default_condition,
    table8_conditions,
    with_attack_mode,
)
from umcl.errors import ConfigError, UmclError
from umcl.models.umcl import UMCLConfig
from umcl.protocols.keys import RunKey, Selection
from umcl.registry import build_detector, get_entry
from umcl.released import RELEASED_DETECTOR
from umcl.seeding import seed_everything

# the released variant's 1/4-size view must tile the P-encoder: 32 px crops, 1 px patches
SMALL = dict(
    frames=16, image_size=32, patch_size=[4, 1, 1], physformer_dim=24, physformer_ff_dim=36, physformer_layers=2, d=32
)
OPTIONS = ["views-hq", "policy-released-fixed", "policy-released-fixed_views-hq"]


def batch(b: int = 4) -> dict:
    g = torch.Generator().manual_seed(0)
    return {
        "frames": torch.rand(b, 3, 16, 32, 32, generator=g),
        "landmarks": 0.1 * torch.randn(b, 16, 136, generator=g),
        "label": torch.tensor([i % 2 for i in range(b)]),
        "key": [f"ds/m/raw/{i:03d}" for i in range(b)],
    }


def build(name: str, **overrides):
    seed_everything(0)
    return build_detector(name, {**SMALL, **overrides}).eval()


# ---------------------------------------------------------------------------- keys and config


def test_options_are_condition_keys_not_config_fields():
    fields = {f.name for f in dataclasses.fields(UMCLConfig)}
    assert not fields & {"inference_views", "test_prompt"}
    for option in ("inference_views", "test_prompt"):
        with pytest.raises(ConfigError, match="unknown key"):
            build_detector("umcl", {option: "hq"})
    assert TestCondition(inference_views="hq").key == "views-hq"
    assert TestCondition(prompt_policy=FIXED_PROMPT_POLICY).key == "policy-released-fixed"
    combos = [
        TestCondition(d, lv, p, a, m, s, v)
        for d, lv in ((None, None), ("frame_sampling", 0.5))
        for p, a, m in ((FIXED_PROMPT_POLICY, None, None), ("mean", "opposite", "label_free"))
        for s in (0, 3)
        for v in INFERENCE_VIEWS
    ]
    for cond in combos:
        assert TestCondition.from_key(cond.key) == cond
    assert TestCondition.from_key("frames-r0.50_prompt-opposite-labelfree_views-hq_seed3").inference_views == "hq"
    assert not TestCondition(inference_views="hq").is_clean
    with pytest.raises(ConfigError, match="inference views"):
        TestCondition.from_key("views-lq")
    with pytest.raises(ConfigError, match="not canonical"):
        TestCondition.from_key("seed1_views-hq")


def test_label_free_twin_comes_from_the_condition_not_from_string_surgery():
    for cond in table8_conditions(("label_chosen",)):
        twin = TestCondition.from_key(with_attack_mode(cond.key, "label_free"))
        assert twin == dataclasses.replace(cond, attack_mode="label_free")
    with pytest.raises(ConfigError, match="no prompt attack"):
        with_attack_mode("frames-r0.50", "label_free")


def test_released_variant_declares_the_fixed_prompt_as_its_default_condition():
    assert (
        detector_default_condition(RELEASED_DETECTOR).key == "policy-released-fixed_mode-train"
    )  # test_alignment_all.py
    assert detector_default_condition("umcl") == CLEAN == detector_default_condition("cpml")
    assert get_entry("umcl").cls.default_condition == "clean"  # the overlay did not leak into its base


# ---------------------------------------------------------------------------- through the model


def test_views_hq_scores_the_hq_view_alone():
    """Two models with the same weights and different LQ views (lq_factor): under ``views-hq`` their
    scores are equal, under the default (both views) they differ."""
    a, b = build("umcl", lq_factor=4), build("umcl", lq_factor=2)
    b.load_state_dict(a.state_dict())
    x = batch()
    hq = apply_condition(x, TestCondition(inference_views="hq"))
    with torch.no_grad():
        assert torch.equal(a.score(a(hq)), b.score(b(hq)))
        assert not torch.allclose(a.score(a(x)), b.score(b(x)))
        assert not torch.allclose(a.score(a(hq)), a.score(a(x)))


def test_fixed_prompt_for_any_umcl_and_by_default_for_the_released_variant():
    released, plain = build(RELEASED_DETECTOR), build("umcl")
    x = batch()
    fixed = apply_condition(x, TestCondition(prompt_policy=FIXED_PROMPT_POLICY))
    with torch.no_grad():
        t_default, t_fixed = released(x)["t"], released(fixed)["t"]
        t_clean = released(apply_condition(x, CLEAN))["t"]
        t_neutral = released(apply_condition(x, TestCondition(prompt_policy="neutral")))["t"]
        t_views = released(apply_condition(x, TestCondition(inference_views="hq")))["t"]
        t_plain = plain(fixed)["t"]
        # settings a condition leaves at their default come from the variant's default condition ...
        assert torch.equal(t_default, t_fixed) and torch.equal(t_clean, t_fixed) and torch.equal(t_views, t_fixed)
        assert not torch.allclose(t_neutral, t_fixed)  # ... an explicit policy replaces them
        assert torch.equal(t_plain, t_plain[:1].expand_as(t_plain))
        assert torch.allclose(t_plain[0], released.fixed_prompt_embeddings()[0])  # same text, same encoder
        assert not torch.allclose(plain(x)["t"], t_plain)
    assert not any("fixed" in k for k in released.state_dict())  # a test-time text, not a weight


def test_fixed_prompt_outside_umcl_is_a_one_line_error():
    from baselines.cpml import CPMLConfig

    cpml = build_detector("cpml", dataclasses.asdict(CPMLConfig.tiny())).eval()
    g = torch.Generator().manual_seed(1)
    x = {
        "frames": torch.rand(2, 3, 16, 32, 32, generator=g),
        "landmarks": torch.zeros(2, 16, 136),
        "label": torch.tensor([0, 1]),
        "key": ["a", "b"],
    }
    with pytest.raises(UmclError, match="released fixed prompt") as err, torch.no_grad():
        cpml(apply_condition(x, TestCondition(prompt_policy=FIXED_PROMPT_POLICY)))
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------------------- the run is reused


@pytest.fixture(scope="module")
def released_run(tmp_path_factory):
    from umcl.training.trainer import Trainer, build_spec

    root = tmp_path_factory.mktemp("released")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_train_fixtures, "S", 32)
        manifest = _train_fixtures.make_manifest(
            root / "data", counts={"train": (2, 2), "val": (2, 2), "test": (3, 3)}, n_frames=16
        )
    config = {
        "training": {"epochs": 1, "batch_size": 4, "seed": 0, "device": "cpu"},
        "detectors": {RELEASED_DETECTOR: dict(SMALL)},
        "evaluation": {"n_bootstrap": 20},
    }
    run = root / "run"
    Trainer(build_spec(config, RELEASED_DETECTOR, manifest, "c23"), run, progress=False).fit()
    return config, manifest, run


def test_evaluating_under_each_option_reuses_the_checkpoint_and_fingerprint(released_run, tmp_path):
    from umcl.evaluation.sheet_eval import evaluate_cells
    from umcl.training.trainer import Trainer, build_spec

    config, manifest, run = released_run
    key = RunKey(RELEASED_DETECTOR, Selection("ff++", "c23"), 0)
    before = _digest(run)
    fingerprint = json.loads((run / "run.json").read_text())["fingerprint"]
    conditions = ["clean", *OPTIONS, "policy-neutral"]
    tests = [f"ffpp-all-c23/{c}" for c in conditions]
    index = evaluate_cells(
        config, run, key, tests, {"ff++": str(manifest)}, tmp_path / "eval", device="cpu", progress=False
    )
    assert _digest(run) == before  # checkpoints, run.json, selection: byte-identical
    spec = build_spec(config, RELEASED_DETECTOR, manifest, "c23")
    assert spec.fingerprint() == fingerprint
    assert Trainer(spec, run, progress=False)._same_run()  # the pipeline would resume it, not retrain
    for cell in index["cells"]:
        m = json.loads((tmp_path / "eval" / cell["metrics"]).read_text())
        assert m["provenance"]["run_fingerprint"] == fingerprint
        applied = TestCondition.from_key(m["provenance"]["condition_applied"])  # what the model really read
        assert applied.prompt_policy == ("neutral" if "neutral" in cell["path"] else FIXED_PROMPT_POLICY)
    scores = {
        c: pd.read_csv(tmp_path / "eval" / "scores/ffpp-c23" / f"{c}.csv")["score"].to_numpy() for c in conditions
    }
    # the released variant's default (clean, no condition in the batch) is its fixed prompt ...
    np.testing.assert_array_equal(scores["clean"], scores["policy-released-fixed"])
    # ... and the prompt acts on the scores (so the identity above is not vacuous); the released variant
    # scores its full-size view alone already (contrastive_views: released_pool), so views-hq changes nothing
    assert not np.allclose(scores["clean"], scores["policy-neutral"])
    np.testing.assert_array_equal(scores["views-hq"], scores["clean"])
    np.testing.assert_array_equal(scores["policy-released-fixed_views-hq"], scores["clean"])


def test_with_defaults_fills_only_what_the_condition_leaves_at_default():
    from umcl.conditions import with_defaults

    default = TestCondition(prompt_policy=FIXED_PROMPT_POLICY)
    assert with_defaults(CLEAN, CLEAN) == CLEAN and with_defaults(CLEAN, default) == default
    deg = TestCondition("frame_sampling", 0.5, seed=2)
    assert with_defaults(deg, default) == dataclasses.replace(deg, prompt_policy=FIXED_PROMPT_POLICY)
    attack = TestCondition(prompt_attack="opposite", attack_mode="label_free")
    assert with_defaults(attack, default) == attack  # the attack's text replaces the fixed prompt
    neutral = TestCondition(prompt_policy="neutral", inference_views="hq")
    assert with_defaults(neutral, default) == neutral


def test_torch_free_key_spelling_is_the_conditions_own():
    """umcl.specs.condition_keys (read by the protocol layer without torch) spells the keys that
    TestCondition builds: degradations, attack modes, the label-free twin."""
    import subprocess
    import sys

    from umcl import prompts
    from umcl.conditions import DEGRADATIONS, table7_conditions
    from umcl.specs import condition_keys as ck

    assert set(ck.ATTACK_MODE_KEYS) == set(prompts.ATTACK_MODES)
    assert set(ck.DEGRADATION_KEYS) == set(DEGRADATIONS)
    for cond in table7_conditions(seed=1) + table8_conditions():
        assert ck.degradation_of(cond.key) == cond.degradation
        if cond.prompt_attack:
            assert ck.attack_part(cond.prompt_attack, cond.attack_mode) in ck.key_parts(cond.key)
    code = "import sys, umcl.protocols.tables, umcl.report.claims; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0  # the protocol layer stays torch-free
