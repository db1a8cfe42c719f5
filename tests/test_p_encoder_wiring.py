"""Which runs the pipeline gives the pre-trained P-encoder and the shared trunk cache (dry run, -p)."""

from __future__ import annotations

import re

import pytest
from test_workflow import PROFILES, snakemake


def _train_commands(profile: str) -> dict[str, list[str]]:
    reports = PROFILES[profile][0]
    proc = snakemake("-n", "-p", "--forceall", f"{reports}/table3.md", "--config", f"profile={profile}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    commands: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        match = re.search(r"umcl train .*--detector (\S+)", line)
        if match:
            commands.setdefault(match[1], []).append(line)
    return commands


@pytest.mark.parametrize(
    ("profile", "gets_weights"),
    [
        ("default", {"umcl": True, "cpml": False}),  # CPML's PhysFormer is 32 wide there
        ("paper", {"umcl": True, "cpml": False}),  # CPML's has 4 heads, the real weights 12
    ],
)
def test_the_pretrained_p_encoder_goes_only_where_it_fits(profile, gets_weights):
    commands = _train_commands(profile)
    for detector, expected in gets_weights.items():
        assert commands[detector], f"no {detector} training in {profile}"
        for line in commands[detector]:
            p_key = "physformer_weights" if detector == "umcl" else "physformer_path"
            assert (f"detectors.{detector}.{p_key}=" in line) is expected, line
            assert f"detectors.{detector}.lrnet" in line  # the L-encoder always starts from LRNet


def test_frozen_trunks_share_the_profile_cache_and_trained_ones_have_none():
    default = _train_commands("default")
    assert all("detectors.umcl.trunk_cache=results/default/trunk_cache" in c for c in default["umcl"])
    paper = _train_commands("paper")
    assert not any("trunk_cache" in c for cmds in paper.values() for c in cmds)
