"""EncoderMemo (umcl.evaluation.memo): encoder outputs reused across test conditions give the scores a
fresh forward pass gives, bit for bit, and nothing is reused in training or with gradients."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from umcl.conditions import TestCondition, apply_condition
from umcl.evaluation.memo import EncoderMemo, digest
from umcl.registry import build_detector
from umcl.seeding import seed_everything

pytestmark = pytest.mark.usefixtures("single_thread")

UMCL_SMALL = dict(frames=8, image_size=32, physformer_dim=24, physformer_ff_dim=36, physformer_layers=3, d=32)
#: Table 7 / 8 conditions: frame sampling, landmark noise, prompt attacks (both modes), a policy
CONDITIONS = (
    "clean",
    "frames-r0.50",
    "landmarks-s0.05",
    "prompt-opposite-labelfree",
    "prompt-simple-labelchosen",
    "policy-neutral",
    "frames-r0.50_prompt-unrelated-labelfree",
)


def _batch(b: int, t: int, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {
        "frames": torch.rand(b, 3, t, 32, 32, generator=g),
        "landmarks": 0.1 * torch.randn(b, t, 136, generator=g),
        "xception_faces": torch.rand(b, 2, 3, 64, 64, generator=g),
        "label": torch.tensor([i % 2 for i in range(b)]),
        "key": [f"ds/m/raw/{seed}{i:03d}" for i in range(b)],
    }


@pytest.fixture(scope="module")
def detectors():
    from baselines.cpml import CPMLConfig
    from baselines.xception import XceptionConfig

    seed_everything(0)
    return {
        "umcl": (build_detector("umcl", UMCL_SMALL).eval(), 8),
        "cpml": (build_detector("cpml", dataclasses.asdict(CPMLConfig.tiny())).eval(), 16),
        "xception": (build_detector("xception", dataclasses.asdict(XceptionConfig.tiny())).eval(), 8),
    }


def _scores(model, batches, memo: bool) -> tuple[list[torch.Tensor], int]:
    """Every batch under every condition, in the order an evaluation job scores them."""
    out = []
    with torch.no_grad(), EncoderMemo(model if memo else torch.nn.Module()) as m:
        for cond in CONDITIONS:
            for batch in batches:
                b = batch if cond == "clean" else apply_condition(batch, TestCondition.from_key(cond))
                out.append(model.score(model(b)))
    return out, m.hits


@pytest.mark.parametrize("name", ["umcl", "cpml", "xception"])
def test_memo_gives_a_fresh_passs_scores_and_skips_repeated_encoders(detectors, name):
    model, t = detectors[name]
    batches = [_batch(3, t, seed) for seed in (1, 2)]
    fresh, no_hits = _scores(model, batches, memo=False)
    reused, hits = _scores(model, batches, memo=True)
    assert no_hits == 0 and hits > 0
    assert all(torch.equal(a, b) for a, b in zip(fresh, reused, strict=True))
    # a prompt attack leaves UMCL's and CPML's P-encoder input and Xception's crops unchanged: reused
    assert hits >= 2 * len(batches)
    assert "forward" not in vars(model.get_submodule(model.memo_modules[0]))  # restored on exit


def test_memo_stores_nothing_with_gradients_or_in_training():
    calls = []

    class Encoder(torch.nn.Module):
        def forward(self, x, scale=1.0):
            calls.append(1)
            return {"y": x * scale}

    class Model(torch.nn.Module):
        memo_modules = ("enc", "absent")

        def __init__(self):
            super().__init__()
            self.enc = Encoder()

    model, x = Model().eval(), torch.arange(6.0).view(2, 3)
    with EncoderMemo(model) as memo:
        with torch.no_grad():
            first = model.enc(x)
            first["y"].add_(100)  # a caller changing its output in place never reaches the cache
            again = model.enc(x.clone())
            other = model.enc(x, scale=2.0)  # another argument: another entry
        assert torch.equal(again["y"], x) and torch.equal(other["y"], 2 * x) and (memo.hits, memo.misses) == (1, 2)
        model.enc(x)  # gradients enabled: computed, not stored
        model.train()
        with torch.no_grad():
            model.enc(x)  # training mode: computed, not stored
    assert len(calls) == 4 and memo.hits == 1 and not memo.cache


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3, width=32), min_size=1, max_size=12), st.sampled_from([torch.float32, torch.float64])
)
def test_digest_names_content_dtype_and_shape(values, dtype):
    t = torch.tensor(values, dtype=dtype)
    assert digest(t) == digest(t.clone()) and digest([t]) == digest([t.clone()]) != digest(t)
    assert digest(t) != digest(t.to(torch.float16 if dtype == torch.float32 else torch.float32))
    assert digest(t) != digest(t.view(1, -1))
    assert digest([t, None, 2]) != digest([t, None, 3]) and digest({"a": t}) == digest({"a": t.clone()})
    changed = t.clone()
    changed[0] = changed[0] + 1
    assert digest(changed) != digest(t)
    strided = torch.stack([t, t]).t()[:, 0]  # non-contiguous view with t's values
    assert digest(strided) == digest(t)
