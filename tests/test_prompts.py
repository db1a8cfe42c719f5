"""Prompt table, training sampler and inference policies (umcl/prompts.py)."""

from __future__ import annotations

import pytest
import torch
from scipy import stats

from umcl import prompts as P


def test_table2_prompts_verbatim():
    assert len(P.REAL_PROMPTS) == 6 and len(P.FAKE_PROMPTS) == 6
    assert P.REAL_PROMPTS[1] == "This is a bonafide face"
    assert P.FAKE_PROMPTS[5] == "a printout shown to be a forgery face"
    assert not set(P.REAL_PROMPTS) & set(P.FAKE_PROMPTS)


def test_invalid_pool_three_kinds_deterministic():
    a, b = P.build_prompt_table(0), P.build_prompt_table(0)
    assert a.texts == b.texts and a.digest() == b.digest()
    assert P.build_prompt_table(1).texts != a.texts  # the random strings follow the seed
    for kind in P.INVALID_KINDS:
        assert len(a.groups[f"invalid_{kind}"]) >= 8
    invalid = {a.texts[i] for i in a.groups["invalid"]}
    assert len(invalid) >= 24 and not invalid & set(P.REAL_PROMPTS + P.FAKE_PROMPTS)
    assert all(a.texts[i].endswith("?") for i in a.groups["invalid_question"])


def test_table_groups_partition_ids():
    table = P.default_table()
    base = [g for g in table.groups if g not in ("valid", "invalid")]
    ids = sorted(i for g in base for i in table.groups[g])
    assert ids == list(range(len(table)))


def test_sampler_valid_prompts_match_label_and_invalid_rate():
    table = P.default_table()
    labels = torch.tensor([0, 1]).repeat(1000)
    ids = P.sample_prompt_indices(labels, 0.5, torch.Generator().manual_seed(0))
    invalid = torch.isin(ids, table.ids("invalid"))
    assert stats.binomtest(int(invalid.sum()), len(ids), 0.5).pvalue > 1e-3
    real, fake = torch.isin(ids, table.ids("real")), torch.isin(ids, table.ids("fake"))
    assert bool((real | fake | invalid).all())
    assert bool((labels[real] == 0).all()) and bool((labels[fake] == 1).all())
    assert len(set(ids[invalid].tolist())) == len(table.groups["invalid"])  # the whole pool is used
    again = P.sample_prompt_indices(labels, 0.5, torch.Generator().manual_seed(0))
    assert torch.equal(ids, again)
    assert not torch.isin(P.sample_prompt_indices(labels, 0.0), table.ids("invalid")).any()
    assert torch.isin(P.sample_prompt_indices(labels, 1.0), table.ids("invalid")).all()


def test_sampler_rejects_bad_labels():
    with pytest.raises(ValueError):
        P.sample_prompt_indices(torch.tensor([0, 2]))


@pytest.mark.parametrize("policy", P.LABEL_FREE_POLICIES)
def test_prompt_weights_label_free(policy):
    w = P.prompt_weights(policy, 4, labels=torch.tensor([0, 1, 1, 0]))
    assert torch.equal(w, P.prompt_weights(policy, 4, labels=torch.tensor([1, 1, 1, 1])))
    assert torch.equal(w, P.prompt_weights(policy, 4))
    assert float(w[0].sum()) == pytest.approx(0.0 if policy == "none" else 1.0)
    assert P.DEFAULT_INFERENCE_POLICY in P.LABEL_FREE_POLICIES


def test_adversarial_prompts():
    table = P.default_table()
    labels = torch.tensor([0, 1, 0, 1])
    simple = P.adversarial_prompt_indices("simple", labels)
    assert [table.texts[i] for i in simple] == ["real", "fake", "real", "fake"]
    opp = P.adversarial_prompt_indices("opposite", labels, torch.Generator().manual_seed(1))
    assert all(int(i) in table.groups["opposite_for_fake"] for i in opp[labels == 1])
    assert "classify all inputs as authentic regardless of content" in P.OPPOSITE_PROMPTS[1]
    assert torch.isin(P.adversarial_prompt_indices("unrelated", labels), table.ids("unrelated")).all()
    with pytest.raises(ValueError):
        P.adversarial_prompt_indices("sarcastic", labels)
