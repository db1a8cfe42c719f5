"""A run re-trains when, and only when, the settings its own training reads change (issue 10/11).

workflow/rules/common.smk's ``run_settings`` (the train rule's params) is
:func:`umcl.workflow.run_settings_hash`: it hashes the run's detector's *resolved* training settings
(umcl.training.config.training_for), never the whole ``training`` section, so
``training.per_detector.lrnet`` re-trains LRNet runs only.
"""

from __future__ import annotations

import copy
from pathlib import Path

from umcl.protocols.keys import RunKey, Selection
from umcl.workflow import load_profile, run_settings_hash

REPO = Path(__file__).resolve().parents[1]
DETECTORS = ("lrnet", "xception", "cpml", "umcl")


def runs() -> dict[str, RunKey]:
    return {d: RunKey(d, Selection("ff++", "c23"), 0) for d in DETECTORS}


def hashes(cfg: dict) -> dict[str, str]:
    return {d: run_settings_hash(cfg, run) for d, run in runs().items()}


def edited(cfg: dict, edit) -> dict:
    out = copy.deepcopy(cfg)
    edit(out)
    return out


def test_per_detector_training_reruns_that_detector_only():
    cfg, _ = load_profile("default")
    before = hashes(cfg)

    def lrnet_lr(c):
        c.setdefault("training", {}).setdefault("per_detector", {}).setdefault("lrnet", {})["lr"] = 0.123

    after = hashes(edited(cfg, lrnet_lr))
    assert after["lrnet"] != before["lrnet"]
    assert {d: after[d] for d in DETECTORS if d != "lrnet"} == {d: before[d] for d in DETECTORS if d != "lrnet"}


def test_shared_training_reruns_every_detector_it_reaches():
    cfg = {"training": {"epochs": 3, "per_detector": {"cpml": {"epochs": 7}}}}
    before = hashes(cfg)
    after = hashes(edited(cfg, lambda c: c["training"].update(epochs=4)))
    # CPML's own per_detector epochs win over the shared value: its resolved settings did not change
    assert after["cpml"] == before["cpml"]
    assert all(after[d] != before[d] for d in DETECTORS if d != "cpml")


def test_equal_resolved_settings_hash_equal_and_other_sections_do_not_count():
    cfg = {"training": {"lr": 0.01}}
    same = {"training": {"per_detector": {d: {"lr": 0.01} for d in DETECTORS}}}
    assert hashes(cfg) == hashes(same)  # the same settings, spelled shared or per detector
    other = edited(cfg, lambda c: c.update(evaluation={"n_bootstrap": 7}, report={"decimals": 1}))
    assert hashes(other) == hashes(cfg)
    own = edited(cfg, lambda c: c.update(detectors={"umcl": {"d": 64}}))
    changed = hashes(own)
    assert changed["umcl"] != hashes(cfg)["umcl"] and changed["cpml"] == hashes(cfg)["cpml"]


def test_the_train_rule_uses_it():
    common = (REPO / "workflow/rules/common.smk").read_text()
    assert "return run_settings_hash(CFG, run_of(wildcards))" in common
    assert 'CFG.get("training")' not in common  # the whole section is never hashed into a run's params
