"""A frozen PhysFormer trunk: weights kept, eval mode kept, outputs reused exactly, the head trains."""

import copy

import numpy as np
import pytest
import torch

from umcl.models.physformer import PhysFormer
from umcl.views import fit_frames

SMALL = {"frames": 8, "image_size": 32, "dim": 16, "ff_dim": 24, "num_heads": 2, "num_layers": 3}


def _model(seed: int = 0) -> PhysFormer:
    torch.manual_seed(seed)
    return PhysFormer(**SMALL)


def _clips(n: int, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 3, 8, 32, 32, generator=torch.Generator().manual_seed(seed))


def test_frozen_output_equals_the_unfrozen_model_in_eval_mode():
    reference = _model().eval()
    frozen = copy.deepcopy(reference)
    frozen.freeze_trunk()
    frozen.eval()
    clips = _clips(3)
    with torch.no_grad():
        want = torch.cat([reference(c[None]) for c in clips])
    with torch.no_grad():
        got = frozen(clips)
    np.testing.assert_allclose(got.detach().numpy(), want.numpy(), rtol=0, atol=1e-6)
    assert frozen.trunk_memo.misses == 3 and frozen.trunk_memo.hits == 0
    with torch.no_grad():
        again = frozen(clips)
    assert torch.equal(again, got) and frozen.trunk_memo.hits == 3


def test_a_training_step_changes_the_head_only_and_the_trunk_stays_in_eval_mode():
    model = _model()
    model.freeze_trunk()
    model.train()
    assert all(not m.training for m in model.trunk_modules()) and model.head.training
    before = copy.deepcopy(model.state_dict())
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    loss = model(_clips(2)).pow(2).mean()
    loss.backward()
    opt.step()
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("head.") for k in changed)
    assert all(p.grad is None for m in model.trunk_modules() for p in m.parameters())


def test_the_disk_cache_is_shared_and_new_weights_are_recomputed(tmp_path):
    first = _model()
    first.freeze_trunk(tmp_path)
    clips = _clips(2)
    want = first(clips)
    second = _model()
    second.freeze_trunk(tmp_path)
    got = second(clips)
    assert torch.equal(got, want) and second.trunk_memo.misses == 0 and second.trunk_memo.hits == 2
    other = _model(seed=5)  # other trunk weights: nothing of the cache applies
    other.freeze_trunk(tmp_path)
    want_other = other(clips)
    assert other.trunk_memo.misses == 2 and not torch.allclose(want_other, want)
    second.load_state_dict(other.state_dict())  # in-place copy: the weights' digest is taken again
    assert torch.equal(second(clips), want_other)  # the new weights' tokens, not the ones in memory
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_gradient_to_the_input_bypasses_the_memo():
    model = _model()
    model.freeze_trunk()
    clips = _clips(1).requires_grad_(True)
    model(clips).sum().backward()
    assert clips.grad is not None and clips.grad.abs().sum() > 0
    assert model.trunk_memo.misses == 0 and model.trunk_memo.hits == 0


def test_fit_frames_resizes_space_only_and_keeps_a_fitting_clip():
    clips = _clips(2)
    assert fit_frames(clips, 32) is clips
    small = fit_frames(clips, 16)
    assert small.shape == (2, 3, 8, 16, 16)
    # a constant clip stays constant (interpolation weights sum to one)
    flat = torch.full((1, 3, 4, 32, 32), 0.25)
    np.testing.assert_allclose(fit_frames(flat, 16).numpy(), 0.25, atol=1e-7)


@pytest.mark.parametrize("value", ["some", ""])
def test_physformer_train_must_be_all_or_head(value):
    from umcl.errors import ConfigError
    from umcl.models.umcl import UMCLConfig

    with pytest.raises(ConfigError, match="physformer_train"):
        UMCLConfig(physformer_train=value)


def test_umcl_with_a_frozen_trunk_gives_the_unfrozen_model_s_outputs_and_reuses_them():
    """UMCL's views through a frozen trunk (kept per clip and view) equal the same weights unfrozen:
    the HQ and the synthetic LQ signal in training mode (one head pass over both views) and the score
    in eval mode; the second step computes no trunk."""
    from test_umcl_model import SMALL, make_batch

    from umcl.models.umcl import UMCLConfig, UMCLDetector

    torch.manual_seed(0)
    frozen = UMCLDetector(UMCLConfig(**SMALL, physformer_train="head"))
    plain = copy.deepcopy(frozen)
    plain.p_encoder.trunk_memo = None
    for m in plain.p_encoder.trunk_modules():
        m.requires_grad_(False)
    batch = make_batch(4)
    frozen.train()
    plain.train()
    for m in plain.p_encoder.trunk_modules():
        m.eval()  # the frozen trunk runs in eval mode; so does this reference's
    torch.manual_seed(1)
    got = frozen(batch)
    torch.manual_seed(1)
    want = plain(batch)
    for key in ("z_hq", "z_lq"):
        np.testing.assert_allclose(got[key].detach().numpy(), want[key].detach().numpy(), rtol=0, atol=1e-5)
    memo = frozen.p_encoder.trunk_memo
    assert (memo.misses, memo.hits) == (8, 0)  # 4 clips x (HQ, LQ)
    torch.manual_seed(1)
    frozen(batch)
    assert (memo.misses, memo.hits) == (8, 8)
    torch.manual_seed(1)
    plain(batch)  # the same updates of the head's BatchNorm statistics as the frozen model's
    frozen.eval()
    plain.eval()
    with torch.no_grad():
        np.testing.assert_allclose(frozen(batch)["prob_fake"].numpy(), plain(batch)["prob_fake"].numpy(), atol=1e-5)


def test_the_cache_location_is_not_part_of_the_run_fingerprint(tmp_path):
    """The same run with its frozen trunk cached elsewhere (another folder, another profile path) is the
    same run: resuming or evaluating it must not see another fingerprint."""
    from umcl.training.trainer import build_spec

    def spec(cache):
        detectors = {"umcl": {"physformer_train": "head", "trunk_cache": cache}}
        return build_spec({"detectors": detectors}, "umcl", tmp_path / "m.csv", "raw")

    assert spec(str(tmp_path / "a")).fingerprint() == spec(str(tmp_path / "b")).fingerprint()
    trained_all = build_spec({"detectors": {"umcl": {"physformer_train": "all"}}}, "umcl", tmp_path / "m.csv", "raw")
    assert trained_all.fingerprint() != spec(None).fingerprint()


def test_a_batch_read_under_two_tags_is_hashed_once_and_a_changed_batch_again(monkeypatch):
    """The HQ view and the LQ view made from it are keyed by one digest per clip; the same tensor
    changed in place, or another tensor with the same values, is hashed anew and keyed by content."""
    import umcl.models.frozen_trunk as frozen_trunk

    calls = []
    real_digest = frozen_trunk.digest
    monkeypatch.setattr(frozen_trunk, "digest", lambda value, h=None: calls.append(1) or real_digest(value, h))
    model = _model()
    model.freeze_trunk()
    model.eval()
    clips = _clips(3)
    with torch.no_grad():
        hq = model.tokens_from(clips, lambda c: c, "hq")
        lq = model.tokens_from(clips, lambda c: c.flip(-1), "lq")
    assert len(calls) == 3 + 1  # three clips, then the trunk's weights
    assert not torch.equal(hq, lq) and model.trunk_memo.misses == 6
    clips[0].mul_(0.5)  # in place: a new version of the same tensor
    with torch.no_grad():
        changed = model.tokens_from(clips, lambda c: c, "hq")
    assert model.trunk_memo.misses == 7 and torch.equal(changed[1:], hq[1:]) and not torch.equal(changed[0], hq[0])
    with torch.no_grad():
        copied = model.tokens_from(clips.clone(), lambda c: c, "hq")
    assert torch.equal(copied, changed) and model.trunk_memo.misses == 7


def test_two_jobs_sharing_the_cache_split_the_clips_and_a_dead_jobs_claim_is_taken_over(tmp_path):
    """Two memos on one cache folder (two jobs started side by side) reading the same clips compute each
    clip once between them and return the same tokens; a claim left by a process that is gone does not block."""
    import subprocess
    import sys
    import threading
    import time

    from umcl.models.frozen_trunk import TrunkMemo

    trunk = [torch.nn.Linear(2, 2)]
    clips = _clips(6)

    def tokens_of(clip):
        return clip.mean(dim=(1, 3, 4)) * 2.0

    second_started = threading.Event()

    def first_compute(clip):  # the first job's first clip is still being computed when the second job starts
        second_started.wait(timeout=30)
        return tokens_of(clip)

    def second_compute(clip):
        second_started.set()
        return tokens_of(clip)

    memos = [TrunkMemo(tmp_path), TrunkMemo(tmp_path)]
    outs: list = [None, None]

    def job(i, compute):
        outs[i] = memos[i].tokens(trunk, compute, clips, "t")

    first = threading.Thread(target=job, args=(0, first_compute))
    first.start()
    while not list(tmp_path.rglob("*.claim")):  # the first job has claimed its first clip
        time.sleep(0.01)
    job(1, second_compute)
    first.join()
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], torch.stack([tokens_of(c[None])[0] for c in clips]))
    assert memos[0].misses + memos[1].misses == 6 and min(m.misses for m in memos) >= 1
    assert not list(tmp_path.rglob("*.claim"))

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    other = _clips(1, seed=9)
    memo = TrunkMemo(tmp_path)
    key = (memo.weights_digest(trunk), "t", memo.clip_digests(other)[0])
    claim = memo._claim_path(key)
    claim.parent.mkdir(parents=True, exist_ok=True)
    claim.write_text(f"{__import__('socket').gethostname()} {dead.stdout.strip()}\n")
    got = memo.tokens(trunk, tokens_of, other, "t")
    assert torch.equal(got, tokens_of(other)) and memo.misses == 1 and not claim.exists()
