"""CPML (Lai et al., BMVC 2024), the preliminary version of UMCL, registered as ``"cpml"``.

Rebuilt from the BMVC paper and the public description of its code (k-bigboss99/CPML, no
licence: read for facts only). One forward pass per quality view:

1. **Views.** The 128 px clip (HQ) and two low-quality views at 64 and 32 px
   (:func:`umcl.views.make_lq_video`, area down + bilinear up to 128). The low-quality views'
   landmarks get CPML's uniform jitter (:func:`cpml_landmark_jitter`: all points, plus extra
   jitter on lips, eyes and nose; larger at 32 px).
2. **Encoders.** PhysFormer (:class:`umcl.models.physformer.PhysFormer`) gives the rPPG signal
   ``r`` [B, T]; LRNet's two streams (:class:`umcl.models.lrnet.LandmarkEncoder` streams) give
   the 128-d landmark feature ``l = [g1(L), g2(ΔL)]``.
3. **"Cross-attention" fusion.** ``r`` is cut into two halves and each half projected to 2
   values (``Linear(T/2, 2)``), giving two 2-d tokens ``v``. Query ``q = W_q l`` (128-d),
   keys ``k = W_k v`` (128-d); ``a = softmax(q·kᵀ)`` over the two tokens; ``u = a v`` (2-d);
   the fused vector is the outer product ``l ⊗ u`` (256-d), dropout 0.5, projected to the text
   dimension (512 for CLIP ViT-B/16): ``f``.
4. **Prompts.** ``f`` is compared by cosine with the embedding of a random prompt of the right
   class (``t_right``) and of the other class (``t_wrong``) (Table 2 prompts, frozen encoder).
5. **Classifier.** ``Linear(2·D, 2)`` on ``[f, t_cls]``.

**Label leakage (published behaviour, opt-in only).** CPML's published classifier input ``t_cls``
is the embedding of the *ground-truth label's* prompt, so the label is fed to the classifier,
which learns to read the text and is left degenerate when scored without it. By default CPML is
trained label-free (``t_cls`` = the mean embedding of the Table 2 prompts, the test-time default);
the published behaviour is the named leakage variant ``label_fed_classifier: true`` (training only).
In evaluation (``model.eval()``) ``t_cls`` follows the batch's test condition
(:class:`umcl.conditions.TestCondition` in ``batch["condition"]``, an evaluation setting,
not part of this config): label-free by default (the mean embedding of the twelve Table 2 prompts,
policy ``mean``), the label's prompts only under the explicitly named ``leakage_audit`` policy (to
measure how much the published numbers owe to the leak), or a Table 8 prompt attack.

**Losses** (one training step sees all three views; the published code back-propagates the
CE of the 128 px pass and the other terms of the 64/32 px passes into the same gradient
before one AdamW step, which is the gradient of their sum):

* ``ce``: cross-entropy of the 128 px view.
* ``physiological`` = pull + push + hr:
  pull = Σ_class mean (1 − Pearson(r64, r32)) (shared :func:`umcl.losses.cqsl_pull`);
  push = mean |Pearson| over real×fake pairs for (64,64), (32,32), (64,32), (32,64);
  hr = Σ_class mean |HR64 − HR32| / 60 with HR clipped to 60–120 bpm, band 0.6–4 Hz (as
  published, an argmax: it adds no gradient).
* ``consistency`` = Σ_views Σ_class mean (1 − cos(f, t_right)) + Σ_views Σ_class mean
  cos(f, t_wrong) + Σ_class mean (cos64(f, t_right) − cos32(f, t_right))²  (the published
  "MSE between views" compares the two views' prompt similarities).
* ``total = ce + 0.2·physiological + 0.25·consistency``.

Other choices are listed in docs/deviations/training.md ("Baselines").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from umcl.conditions import condition_text
from umcl.detector import Detector
from umcl.errors import ConfigError, UmclError
from umcl.losses import cqsl_pull, heart_rate, pearson
from umcl.models.lrnet import LandmarkEncoder, frame_differences
from umcl.models.physformer import PhysFormer, vipl_normalize
from umcl.models.text_encoder import PromptBank, build_text_encoder
from umcl.registry import register_detector
from umcl.views import fit_frames, make_lq_video

#: quality views of CPML (px) and their downsampling factors from the 128 px clip
VIEW_SIZES = (128, 64, 32)

#: CPML's uniform landmark jitter (half-widths, normalised units) per view size:
#: (all points x/y, lips x, lips y, eyes x, eyes y, nose x, nose y)
CPML_JITTER = {
    64: (0.0005, 0.0006, 0.0005, 0.0005, 0.0004, 0.0001, 0.0001),
    32: (0.01, 0.006, 0.0085, 0.005, 0.007, 0.001, 0.0015),
}
#: point ranges of the published jitter (0-based, 68-point layout): lips 49-67, eyes 37-47, nose 28-35
CPML_REGIONS = {"lips": (49, 68), "eyes": (37, 48), "nose": (28, 36)}


def cpml_landmark_jitter(landmarks: torch.Tensor, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """CPML's landmark degradation for a ``size`` px view: uniform noise on every point, plus
    region-specific uniform noise on lips, eyes and nose. ``size=128`` returns the input."""
    if size == 128:
        return landmarks
    if size not in CPML_JITTER:
        raise ValueError(f"CPML jitter is defined for 64 and 32 px views, got {size}")
    every, lx, ly, ex, ey, nx, ny = CPML_JITTER[size]
    shape = (*landmarks.shape[:-1], landmarks.shape[-1] // 2, 2)
    half = torch.full(shape, every, dtype=landmarks.dtype, device=landmarks.device)
    extra = torch.zeros_like(half)
    for (start, stop), (hx, hy) in zip(CPML_REGIONS.values(), ((lx, ly), (ex, ey), (nx, ny)), strict=True):
        extra[..., start:stop, 0] = hx
        extra[..., start:stop, 1] = hy

    def uniform(width: torch.Tensor) -> torch.Tensor:
        u = torch.rand(shape, generator=generator, dtype=landmarks.dtype, device=landmarks.device)
        return (2 * u - 1) * width

    return landmarks + (uniform(half) + uniform(extra)).reshape(landmarks.shape)


@dataclass
class CPMLConfig:
    """Settings of the CPML baseline (defaults = the BMVC paper / public code).

    Video: ``frames`` per clip (160) at ``image_size`` px (128); ``fps`` for the heart rate (30).
    PhysFormer: ``physformer_dim``/``_ff_dim``/``_heads``/``_layers`` (96/144/4/12),
    ``physformer_path`` optional local weights. LRNet: ``lrnet_path`` optional local weights
    (e.g. the LRNet baseline's export). Text: ``text_backend`` (``minilm`` offline default, as
    UMCL's; ``clip-vit-b16`` is the paper's) and ``text_weights`` for
    :func:`umcl.models.text_encoder.build_text_encoder` (frozen).
    ``label_fed_classifier``: LEAKAGE VARIANT, off by default. ``true`` = the published classifier,
    fed the ground-truth label's prompt during training (the label is an input); ``false`` =
    label-free training (it reads the mean prompt embedding, as in evaluation). The text fed to the classifier in
    evaluation is a test-time condition (:mod:`umcl.conditions`), not a setting here.
    Loss weights: ``phy_weight`` 0.2, ``consistency_weight`` 0.25. ``hr_band_hz`` / ``hr_clip_bpm``: published HR
    estimator range.
    """

    frames: int = 160
    image_size: int = 128
    fps: float = 30.0
    physformer_dim: int = 96
    physformer_ff_dim: int = 144
    physformer_heads: int = 4
    physformer_layers: int = 12
    physformer_path: str | None = None
    lrnet_path: str | None = None
    text_backend: str = "minilm"
    text_weights: str | None = None
    label_fed_classifier: bool = False
    fusion_dropout: float = 0.5
    phy_weight: float = 0.2
    consistency_weight: float = 0.25
    hr_band_hz: tuple[float, float] = (0.6, 4.0)
    hr_clip_bpm: tuple[float, float] = (60.0, 120.0)

    @classmethod
    def tiny(cls) -> CPMLConfig:
        """A small configuration for CPU tests (16 frames at 32 px, 2-layer PhysFormer)."""
        return cls(
            frames=16, image_size=32, physformer_dim=16, physformer_ff_dim=24, physformer_heads=2, physformer_layers=3
        )

    def __post_init__(self) -> None:
        self.hr_band_hz = tuple(self.hr_band_hz)
        self.hr_clip_bpm = tuple(self.hr_clip_bpm)


class CPMLCrossAttention(nn.Module):
    """CPML fusion: the landmark feature (query) attends over two 2-d rPPG tokens.

    ``forward(l [B, Dl], v [B, 2, 2]) -> l ⊗ (softmax(W_q l · (W_k v)ᵀ) v)`` flattened, [B, 2·Dl].
    """

    def __init__(self, landmark_dim: int = 128, token_dim: int = 2, hidden_dim: int = 128):
        super().__init__()
        self.query = nn.Linear(landmark_dim, hidden_dim)
        self.key = nn.Linear(token_dim, hidden_dim)

    def forward(self, landmark: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        q = self.query(landmark)  # [B, H]
        k = self.key(tokens)  # [B, N, H]
        attn = torch.softmax(torch.einsum("bh,bnh->bn", q, k), dim=-1)
        attended = torch.einsum("bn,bnd->bd", attn, tokens)  # [B, token_dim]
        return (landmark[:, :, None] * attended[:, None, :]).flatten(1)


@register_detector("cpml", config=CPMLConfig)
class CPMLDetector(Detector):
    """CPML: PhysFormer + LRNet features, cross-attention fusion, prompt-guided classifier."""

    inputs: ClassVar[tuple[str, ...]] = ("frames", "landmarks")
    #: the P-encoder, a pure function of its input in eval mode (Detector.memo_modules)
    memo_modules: ClassVar[tuple[str, ...]] = ("rppg",)

    def __init__(self, cfg: CPMLConfig):
        super().__init__()
        if cfg.frames % 2:
            raise ConfigError(f"detectors.cpml.frames={cfg.frames} must be even (the rPPG signal is cut in two)")
        if cfg.image_size % 4:
            raise ConfigError(
                f"detectors.cpml.image_size={cfg.image_size} must be divisible by 4 (views at 1/2 and 1/4 size)"
            )
        if cfg.label_fed_classifier:
            warnings.warn(
                "detectors.cpml.label_fed_classifier=true: the published CPML classifier reads "
                "the ground-truth label's prompt in training (label leakage variant)",
                stacklevel=2,
            )
        self.cfg = cfg
        self.rppg = PhysFormer(
            frames=cfg.frames,
            image_size=cfg.image_size,
            dim=cfg.physformer_dim,
            ff_dim=cfg.physformer_ff_dim,
            num_heads=cfg.physformer_heads,
            num_layers=cfg.physformer_layers,
        )
        if cfg.physformer_path:
            self.rppg.load_pretrained(cfg.physformer_path)
        self.landmark = LandmarkEncoder()
        if cfg.lrnet_path:
            self.landmark.load_pretrained(cfg.lrnet_path)
        self.prompt_bank = PromptBank(build_text_encoder(cfg.text_backend, cfg.text_weights))  # frozen
        text_dim = self.prompt_bank.dim
        self.rppg_tokens = nn.Linear(cfg.frames // 2, 2)
        self.fusion = CPMLCrossAttention(self.landmark.out_dim, 2, self.landmark.out_dim)
        self.dropout = nn.Dropout(cfg.fusion_dropout)
        self.to_text = nn.Linear(2 * self.landmark.out_dim, text_dim)
        self.classifier = nn.Linear(2 * text_dim, 2)
        self.classifier.weight.data.normal_(0, 0.01)
        self.classifier.bias.data.zero_()

    # ------------------------------------------------------------------ pieces
    def view(self, frames: torch.Tensor, landmarks: torch.Tensor, size: int) -> dict[str, torch.Tensor]:
        """rPPG, fused feature ``f`` of one quality view (``size`` in 128/64/32 px)."""
        factor = 128 // size
        video = make_lq_video(frames, factor) if factor > 1 else frames
        # the published code jitters the landmarks but feeds g2 the clean frame differences
        diffs = frame_differences(landmarks)
        landmarks = cpml_landmark_jitter(landmarks, size) if self.training else landmarks
        f1, _ = self.landmark.g1(landmarks)
        f2, _ = self.landmark.g2(diffs)
        l_feat = torch.cat([f1, f2], dim=1)  # [B, 128]
        rppg = self.rppg(vipl_normalize(video))  # [B, T]
        tokens = self.rppg_tokens(rppg.reshape(rppg.shape[0], 2, -1))  # [B, 2, 2]
        fused = self.dropout(self.fusion(l_feat, tokens))  # [B, 256]
        return {"rppg": rppg, "f": self.to_text(fused)}

    def _class_prompts(self, label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A random Table 2 prompt of each sample's class and one of the other class: [B, D] x 2."""
        bank = self.prompt_bank
        return bank.training_embeddings(label, invalid_prob=0.0), bank.training_embeddings(1 - label, invalid_prob=0.0)

    def _classifier_text(self, batch: dict, t_right: torch.Tensor | None, b: int) -> torch.Tensor:
        """The classifier's text input: the label's prompt (published training) or the test condition's."""
        if self.training:
            if self.cfg.label_fed_classifier:
                return t_right  # leakage variant (published): the ground-truth label's prompt
            return self.prompt_bank.inference_embeddings("mean", b)
        return condition_text(self.prompt_bank, batch, b)

    def forward(self, batch: dict) -> dict:
        frames, landmarks = batch["frames"], batch["landmarks"]
        if frames.dim() != 5 or frames.shape[1] != 3:
            raise UmclError(f"frames must be [B, 3, T, S, S], got {list(frames.shape)}")
        frames = fit_frames(frames, self.cfg.image_size)
        b = frames.shape[0]
        out: dict = {}
        t_right = t_wrong = None
        if self.training:
            t_right, t_wrong = self._class_prompts(_label(batch))
            out["t_right"], out["t_wrong"] = t_right, t_wrong
        hq = self.view(frames, landmarks, 128)
        t_cls = self._classifier_text(batch, t_right, b).to(hq["f"])
        out["logits"] = self.classifier(torch.cat([hq["f"], t_cls], dim=1))
        out["rppg"], out["f"] = hq["rppg"], hq["f"]
        if self.training:
            for size in VIEW_SIZES[1:]:
                v = self.view(frames, landmarks, size)
                out[f"rppg_{size}"], out[f"f_{size}"] = v["rppg"], v["f"]
        return out

    # ------------------------------------------------------------------ losses
    def loss(self, batch: dict, output: dict) -> dict[str, torch.Tensor]:
        """CE (+ physiological and consistency terms when the low-quality views were computed)."""
        label = _label(batch)
        ce = F.cross_entropy(output["logits"], label)
        if "rppg_64" not in output:
            return {"total": ce, "ce": ce}
        real, fake = label == 0, label == 1
        r64, r32 = output["rppg_64"], output["rppg_32"]
        pull = cqsl_pull(r64[real], r32[real], r64[fake], r32[fake])
        push = sum(_cross_abs_pearson(x[real], y[fake]) for x in (r64, r32) for y in (r64, r32))
        hr = self._hr_gap(r64, r32, label)
        phy = pull + push + hr
        cos_right = {s: F.cosine_similarity(output[f"f_{s}"], output["t_right"], dim=-1) for s in (64, 32)}
        cos_wrong = {s: F.cosine_similarity(output[f"f_{s}"], output["t_wrong"], dim=-1) for s in (64, 32)}
        text_pull = sum(_class_sum(1 - cos_right[s], label) for s in (64, 32))
        text_push = sum(_class_sum(cos_wrong[s], label) for s in (64, 32))
        mse = _class_sum((cos_right[64] - cos_right[32]) ** 2, label)
        consistency = text_pull + text_push + mse
        total = ce + self.cfg.phy_weight * phy + self.cfg.consistency_weight * consistency
        return {
            "total": total,
            "ce": ce,
            "physiological": phy,
            "rppg_pull": pull,
            "rppg_push": push,
            "hr_gap": hr,
            "consistency": consistency,
            "text_pull": text_pull,
            "text_push": text_push,
            "view_mse": mse,
        }

    def _hr_gap(self, a: torch.Tensor, b: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Σ_class mean |HR(a) − HR(b)| / 60 (bpm clipped as published; no gradient, as published)."""
        lo, hi = self.cfg.hr_clip_bpm
        with torch.no_grad():
            ha = heart_rate(a.float(), self.cfg.fps, band=self.cfg.hr_band_hz).clamp(lo, hi)
            hb = heart_rate(b.float(), self.cfg.fps, band=self.cfg.hr_band_hz).clamp(lo, hi)
        return _class_sum((ha - hb).abs() / 60.0, label)


def _label(batch: dict) -> torch.Tensor:
    if "label" not in batch:
        raise UmclError("CPML needs batch['label'] here (training)")
    return batch["label"].long()


def _class_sum(values: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Mean over the real samples + mean over the fake samples (an absent class adds 0)."""
    total = values.new_zeros(())
    for c in (0, 1):
        sel = values[label == c]
        if sel.numel():
            total = total + sel.mean()
    return total


def _cross_abs_pearson(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean |Pearson| over all pairs (row of ``x``, row of ``y``); 0 when either is empty."""
    if x.shape[0] == 0 or y.shape[0] == 0:
        return x.new_zeros(())
    xs = x.repeat_interleave(y.shape[0], dim=0)
    ys = y.repeat(x.shape[0], 1)
    return pearson(xs, ys).abs().mean()
