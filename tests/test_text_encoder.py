"""Frozen text encoders and the prompt bank (umcl/models/text_encoder.py)."""

from __future__ import annotations

import hashlib
import os
import warnings

import pytest
import torch
import torch.nn.functional as F

from umcl import prompts as P
from umcl.errors import MissingWeightsError, UmclError
from umcl.models import text_encoder as TE

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def minilm() -> TE.TextEncoder:
    return TE.build_text_encoder("minilm")


@pytest.fixture(scope="module")
def bank(minilm) -> TE.PromptBank:
    return TE.PromptBank(minilm)


class HashEncoder(TE.TextEncoder):
    """Test double: a deterministic embedding from each text's SHA-256 (counts its calls)."""

    backend = "hash"
    dim = 8

    def __init__(self):
        super().__init__()
        self.calls = 0

    def _load(self) -> None:
        pass

    def _encode(self, texts):
        self.calls += 1
        rows = [torch.tensor(list(hashlib.sha256(t.encode()).digest()[:8]), dtype=torch.float32) - 127.5 for t in texts]
        return torch.stack(rows)


# ------------------------------------------------------------------ MiniLM
def test_minilm_gives_semantic_offline_embeddings(minilm):
    e = minilm.encode(
        [
            "This is a real face",
            "This is a bonafide face",
            "What is the capital of Australia?",
            "a photo of a real face",
        ]
    )
    assert e.shape == (4, 384) and minilm.dim == 384
    torch.testing.assert_close(e.norm(dim=1), torch.ones(4))
    sim = e @ e.T
    assert sim[0, 1] > sim[0, 2] + 0.2  # real-face prompts closer to each other than to a question
    assert sim[0, 3] > sim[0, 2] + 0.2


def test_minilm_is_deterministic_and_batch_independent(minilm):
    texts = ["This is an example of a forgery face", "hi"]
    a, b = minilm.encode(texts), minilm.encode(texts)
    assert torch.equal(a, b)
    alone = minilm.encode([texts[0]])  # no padding in a batch of one
    torch.testing.assert_close(alone[0], a[0], atol=1e-5, rtol=0)


def test_minilm_is_frozen(minilm):
    minilm.train()
    assert not minilm.training
    assert all(not p.requires_grad for p in minilm.parameters())
    assert sum(p.numel() for p in minilm.parameters()) > 20_000_000  # real weights were loaded
    assert os.environ.get("HF_HUB_OFFLINE") == "1" and os.environ.get("TRANSFORMERS_OFFLINE") == "1"


def test_unknown_backend_is_a_one_line_error():
    with pytest.raises(UmclError, match="unknown text backend"):
        TE.build_text_encoder("bert-huge")


# ------------------------------------------------------------------ CLIP
def test_clip_missing_path_raises_clear_error(tmp_path):
    missing = tmp_path / "nope" / "ViT-B-16.pt"
    with pytest.raises(MissingWeightsError) as err:
        TE.build_text_encoder("clip-vit-b16", str(missing))
    msg = str(err.value)
    assert str(missing) in msg and "fix:" in msg and TE.CLIP_WEIGHTS_ENV in msg and "\n" not in msg


def test_clip_without_weights_and_empty_hf_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(TE.CLIP_WEIGHTS_ENV, raising=False)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(MissingWeightsError, match="Hugging Face cache"):
        TE.build_text_encoder("clip-vit-b16")
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    with pytest.raises(MissingWeightsError, match="no CLIP checkpoint"):
        TE.build_text_encoder("clip-vit-b16", str(empty))


def test_clip_loader_reads_text_tower_from_full_checkpoint(tmp_path):
    """A tiny CLIP saved in the OpenAI layout (plus vision keys) loads into the text-only tower."""
    open_clip = pytest.importorskip("open_clip")
    from open_clip.model import _build_text_tower

    cfg = dict(open_clip.get_model_config(TE.CLIP_MODEL_NAME)["text_cfg"], width=32, heads=2, layers=1)
    torch.manual_seed(0)
    ref = _build_text_tower(16, cfg, quick_gelu=True).eval()
    full = {k: v.half() for k, v in ref.state_dict().items()}  # OpenAI files are partly fp16
    full["visual.proj"] = torch.zeros(4, 4)
    full["logit_scale"] = torch.tensor(4.6)
    ckpt = tmp_path / "clip.pt"
    torch.save(full, ckpt)
    enc = TE.ClipTextEncoder(ckpt, text_cfg=cfg, embed_dim=16)
    texts = ["a photo of a real face", "This is not a real face"]
    got = enc.encode(texts)
    ref.load_state_dict({k: v.float() for k, v in full.items() if not k.startswith(("visual", "logit"))})
    tok = open_clip.get_tokenizer(TE.CLIP_MODEL_NAME)
    with torch.no_grad():
        want = F.normalize(ref(tok(texts)), dim=-1)
    torch.testing.assert_close(got, want)
    assert all(not p.requires_grad for p in enc.parameters())
    # open_clip layout ("text." prefix) and a state dict nested under "state_dict"
    torch.save({"state_dict": {f"text.{k}": v for k, v in full.items()}}, tmp_path / "custom.pth")
    torch.testing.assert_close(
        TE.ClipTextEncoder(tmp_path / "custom.pth", text_cfg=cfg, embed_dim=16).encode(texts), want
    )


# ------------------------------------------------------------------ prompt bank
def test_bank_holds_every_prompt(bank, minilm):
    table = P.default_table()
    assert bank.embeddings.shape == (len(table), 384) and bank.dim == 384
    torch.testing.assert_close(bank.lookup(torch.tensor([2])), minilm.encode([table.texts[2]]), atol=1e-5, rtol=0)
    assert "embeddings" in bank.state_dict()


@pytest.mark.parametrize("policy", P.LABEL_FREE_POLICIES)
def test_inference_policies_are_label_free(bank, policy):
    gen = torch.Generator().manual_seed(0)
    outs = [bank.inference_embeddings(policy, 6, labels=torch.randint(0, 2, (6,), generator=gen)) for _ in range(5)]
    outs.append(bank.inference_embeddings(policy, 6))
    for o in outs[1:]:
        assert torch.equal(o, outs[0])
    assert torch.equal(outs[0][0], outs[0][5])  # the same vector for every sample


def test_policy_values(bank):
    table = P.default_table()
    torch.testing.assert_close(bank.inference_embeddings("mean", 1)[0], bank.embeddings[table.ids("valid")].mean(0))
    torch.testing.assert_close(
        bank.inference_embeddings("neutral", 1)[0], bank.embeddings[table.texts.index(P.NEUTRAL_PROMPT)]
    )
    assert torch.count_nonzero(bank.inference_embeddings("none", 3)) == 0
    with pytest.raises(ValueError, match="unknown prompt policy"):
        bank.inference_embeddings("oracle", 2)


def test_leakage_audit_uses_labels_on_purpose_only(bank):
    labels = torch.tensor([0, 1, 1, 0])
    with pytest.warns(UserWarning, match="leakage"):
        leak = bank.inference_embeddings(P.LEAKAGE_AUDIT, 4, labels=labels)
    table = P.default_table()
    torch.testing.assert_close(leak[0], bank.embeddings[table.ids("real")].mean(0))
    torch.testing.assert_close(leak[1], bank.embeddings[table.ids("fake")].mean(0))
    with pytest.raises(ValueError, match="needs the true labels"):
        bank.inference_embeddings(P.LEAKAGE_AUDIT, 4)


def _texts_of(emb: torch.Tensor, candidates: list[str]) -> list[str]:
    """The candidate text whose hash embedding (encoded on its own, not via the bank) is each row."""
    ref = HashEncoder().encode(candidates)
    match = (emb[:, None, :] == ref[None]).all(-1)
    assert bool((match.sum(1) == 1).all()), "a training embedding is no known prompt's"
    return [candidates[i] for i in match.int().argmax(1).tolist()]


@pytest.mark.parametrize("invalid_prob", [0.0, 0.2, 0.5, 1.0])
def test_training_embeddings_are_own_class_or_invalid_prompts(invalid_prob, tmp_path):
    """Reference from the paper's rule, not from ``sample_prompt_indices``: each sample's text is a
    Table 2 prompt of its own class, or, with probability ``invalid_prob`` whatever the class, an
    invalid prompt (random string, irrelevant question, misaligned description); all are drawn."""
    TE._MEMORY_CACHE.clear()
    hash_bank = TE.PromptBank(HashEncoder(), cache_dir=tmp_path)
    n = 3000
    labels = torch.tensor([0, 1, 1] * (n // 3))
    emb = hash_bank.training_embeddings(labels, invalid_prob, torch.Generator().manual_seed(3))
    assert torch.equal(emb, hash_bank.training_embeddings(labels, invalid_prob, torch.Generator().manual_seed(3)))
    invalid = (
        set(P.IRRELEVANT_QUESTIONS) | set(P.MISALIGNED_DESCRIPTIONS) | set(P.random_strings(10, 0, "invalid-prompts"))
    )
    own = {0: P.REAL_PROMPTS, 1: P.FAKE_PROMPTS}
    texts = _texts_of(emb, sorted(invalid | set(P.REAL_PROMPTS) | set(P.FAKE_PROMPTS)))
    is_invalid = torch.tensor([x in invalid for x in texts])
    for text, label, bad in zip(texts, labels.tolist(), is_invalid.tolist(), strict=True):
        assert bad or text in own[label], (label, text)
    for cls in (0, 1):  # the invalid share, per class: Binomial(n_cls, p) within 5 sigma
        k = int(is_invalid[labels == cls].sum())
        n_cls = int((labels == cls).sum())
        assert abs(k - n_cls * invalid_prob) <= 5 * (n_cls * invalid_prob * (1 - invalid_prob)) ** 0.5 + 1e-9
    used = set(texts)
    if invalid_prob < 1:
        assert set(P.REAL_PROMPTS) | set(P.FAKE_PROMPTS) <= used  # every valid prompt is drawn
    if invalid_prob > 0:
        assert invalid <= used  # every invalid prompt is drawn


def test_bank_disk_cache_is_keyed_and_reused(tmp_path):
    table = P.build_prompt_table(seed=5)
    TE._MEMORY_CACHE.clear()
    enc = HashEncoder()
    first = TE.PromptBank(enc, table, cache_dir=tmp_path)
    assert enc.calls == 1 and len(list(tmp_path.glob("prompts-hash-*.pt"))) == 1
    TE._MEMORY_CACHE.clear()
    enc2 = HashEncoder()
    second = TE.PromptBank(enc2, table, cache_dir=tmp_path)
    assert enc2.calls == 0 and torch.equal(first.embeddings, second.embeddings)
    third = TE.PromptBank(HashEncoder(), P.build_prompt_table(seed=6), cache_dir=tmp_path)  # other prompts
    assert len(list(tmp_path.glob("prompts-hash-*.pt"))) == 2
    assert not torch.equal(third.embeddings, first.embeddings)


def test_read_state_dict_torchscript_and_garbage(tmp_path):
    """OpenAI ships TorchScript archives; unreadable files give a one-line MissingWeightsError."""
    scripted = torch.jit.script(torch.nn.Linear(3, 2))
    scripted.save(str(tmp_path / "jit.pt"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates torch.jit.load
        sd = TE.read_state_dict(tmp_path / "jit.pt")
    assert set(sd) == {"weight", "bias"}
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(MissingWeightsError, match="cannot read checkpoint") as err:
        TE.read_state_dict(tmp_path / "junk.pt")
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------ a trained tower (umcl-released)
def test_clip_and_minilm_towers_can_be_trained(tmp_path):
    """unfreeze() + embed(): the released variant's trained text tower, for both backends. embed() gives
    encode()'s values with gradients into every tower weight; the tower stays in eval mode."""
    open_clip = pytest.importorskip("open_clip")
    from open_clip.model import _build_text_tower

    cfg = dict(open_clip.get_model_config(TE.CLIP_MODEL_NAME)["text_cfg"], width=32, heads=2, layers=1)
    torch.manual_seed(0)
    torch.save(_build_text_tower(16, cfg, quick_gelu=True).state_dict(), tmp_path / "clip.pt")
    texts = ["a photo of a real face", "Is real or fake?"]
    for enc in (TE.ClipTextEncoder(tmp_path / "clip.pt", text_cfg=cfg, embed_dim=16), TE.MiniLMTextEncoder()):
        frozen = enc.encode(texts)
        enc.unfreeze().train()
        assert not enc.training and all(p.requires_grad for p in enc.parameters())
        emb = enc.embed(texts)
        torch.testing.assert_close(emb.detach(), frozen, atol=1e-5, rtol=1e-5)
        emb.sum().backward()
        grads = [p.grad for p in enc.parameters()]
        assert sum(g is not None and bool(g.abs().sum() > 0) for g in grads) > len(grads) // 2, enc.backend
