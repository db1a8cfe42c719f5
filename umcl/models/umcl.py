"""UMCL (§4): P-encoder (PhysFormer) + L-encoder (LRNet) + frozen T-encoder, ASA and CQSL.

Forward pass for a batch (docs/contracts.md keys ``frames`` [B, 3, T, S, S] in [0, 1], ``landmarks``
[B, T, 136], ``label`` [B] with 1 = fake):

1. Views (§4.2): HQ = the input; LQ video = 4x area-downsampled and bilinearly upsampled frames
   (:func:`umcl.views.make_lq_video`), LQ landmarks = HQ + Gaussian ΔL (eq. 2). With
   ``contrastive_views="compression_pairs"`` (Table 11 baseline) the LQ views are the batch's
   ``frames_lq`` / ``landmarks_lq`` (a real c40 copy of the same video); training requires them,
   evaluation falls back to the synthetic views when a test batch has no such pair.
2. Encoders: ``z = Φ_P(X)`` [B, K = T] (eq. 1), ``e = Φ_L(L)`` [B, 128] (eq. 3), ``t = Φ_T(prompt)``
   [B, D] from a :class:`~umcl.models.text_encoder.PromptBank` of cached frozen embeddings (eq. 4).
3. Projections ``W_rPPG`` (K -> d), ``W_face`` (128 -> d), ``W_text`` (D -> d), shared by HQ and LQ
   (eq. 5, d = 320); ``U = [ẑ, ê, t̂]`` (eq. 6, 3d); one shared FC 3d -> 2 for both views (eq. 7).
4. ASA (eqs. 9–12): per-modality HQ/LQ averages stacked to [B, 3, d] -> affinity matrix -> loss.
5. CQSL (eqs. 13–19): the batch is split by label into real and fake rows -> pull, push, HR terms.
6. Total (eq. 20): ``bce + α·phy + β·aff``.

Choices the paper leaves open (each also in docs/deviations/core.md, "Encoders and model"):

* HQ/LQ predictions: training applies the CE of eq. 8 to both views' logits and averages them;
  inference averages the two views' probabilities (``inference_views="both"``, default) or reads the
  HQ view alone (``"hq"``). ``logits`` in the output is ``log`` of the view-averaged probability.
* Prompts: in training, each sample gets a prompt of its own label with probability
  ``1 - invalid_prompt_prob`` and an invalid one otherwise (§4.2). Outside training the prompt never
  depends on the label unless the evaluation asks for it: the prompt policy and the Table 8 prompt
  attacks are test-time conditions (:class:`umcl.evaluation.conditions.TestCondition`, passed as
  ``batch["condition"]``), not settings of this config, so they never change a trained model or its
  run fingerprint. Without a condition the label-free ``mean`` policy is used. The
  label-conditioned ``leakage_audit`` policy exists only to measure how much a classifier would
  gain from leaked labels; it is never a default.
* Eval-time LQ landmarks: eq. 2's noise is a training augmentation; outside training the LQ
  landmark view equals the HQ one, so inference is deterministic and batch-independent.
* Model C of Table 10 is "direct concatenation with CQSL applied" (§5.6): switches
  ``use_asa=False, use_cqsl=True``. :data:`ABLATIONS` lists A–D.
* HQ and LQ clips go through the P-encoder in one batch of 2B (shared BatchNorm statistics).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import torch
from torch import nn

from umcl import losses
from umcl.detector import Detector
from umcl.errors import ConfigError, UmclError
from umcl.evaluation.conditions import condition_text
from umcl.models.lrnet import LandmarkEncoder
from umcl.models.physformer import PhysFormer, vipl_normalize
from umcl.models.text_encoder import PromptBank, build_text_encoder
from umcl.registry import register_detector
from umcl.views import make_lq_video, perturb_landmarks


@dataclass
class UMCLConfig:
    """Sizes, switches and loss weights of UMCL (defaults = the paper's profile)."""

    # input
    frames: int = 160
    image_size: int = 128
    # P-encoder (PhysFormer)
    patch_size: tuple[int, int, int] = (4, 4, 4)
    physformer_dim: int = 96
    physformer_ff_dim: int = 144
    physformer_heads: int = 4
    physformer_layers: int = 12
    physformer_theta: float = 0.7
    physformer_gra_sharp: float = 2.0
    physformer_dropout: float = 0.1
    physformer_weights: str | None = None
    # L-encoder (LRNet)
    lrnet_hidden: int = 32
    lrnet_landmark_dropout: float = 0.1
    lrnet_dropout: float = 0.5
    lrnet_weights: str | None = None
    # T-encoder and prompts
    text_backend: Literal["minilm", "clip-vit-b16"] = "minilm"
    text_weights: str | None = None
    invalid_prompt_prob: float = 0.5
    # fusion
    d: int = 320
    # views
    contrastive_views: Literal["downsample", "compression_pairs"] = "downsample"
    inference_views: Literal["both", "hq"] = "both"
    lq_factor: int = 4
    landmark_sigma: float = 0.01
    # losses
    alpha: float = 0.25
    beta: float = 0.25
    affinity_normalization: Literal["cosine01", "cosine_relu", "sigmoid_scaled", "sigmoid"] = "cosine01"
    fps: float = 30.0
    hr_band: tuple[float, float] = (0.7, 3.0)
    hr_temperature: float = 0.1
    #: cap on L_HR's gradient into the rPPG signals, as a multiple of the Pearson (pull + push)
    #: terms' gradient (losses.hr_grad_factor); None = the paper's unweighted sum (measured 5-40x
    #: the Pearson gradient on noise-like signals: docs/deviations/training.md)
    hr_grad_ratio: float | None = 1.0
    cqsl_pairing: Literal["all", "aligned"] = "all"
    # Table 10 ablation switches
    use_rppg: bool = True
    use_landmarks: bool = True
    use_text: bool = True
    use_asa: bool = True
    use_cqsl: bool = True

    def __post_init__(self) -> None:
        self.patch_size = tuple(self.patch_size)
        self.hr_band = tuple(self.hr_band)
        if self.hr_grad_ratio is not None and self.hr_grad_ratio <= 0:
            raise ConfigError(f"detectors.umcl.hr_grad_ratio must be > 0 or null, got {self.hr_grad_ratio}")
        if not (self.use_rppg or self.use_landmarks or self.use_text):
            raise ConfigError("UMCL needs at least one modality", fix="set use_rppg, use_landmarks or use_text")
        if self.use_asa and (self.use_rppg + self.use_landmarks + self.use_text) < 2:
            raise ConfigError("ASA aligns modalities: it needs at least two", fix="set use_asa: false")
        if self.use_cqsl and not self.use_rppg:
            raise ConfigError("CQSL works on rPPG signals", fix="set use_cqsl: false or use_rppg: true")
        if not 0.0 <= self.invalid_prompt_prob <= 1.0:
            raise ConfigError(f"invalid_prompt_prob must be in [0, 1], got {self.invalid_prompt_prob}")
        if self.affinity_normalization not in losses.AFFINITY_NORMALIZATIONS:
            raise ConfigError(f"unknown affinity_normalization {self.affinity_normalization!r}",
                              fix=f"use one of {list(losses.AFFINITY_NORMALIZATIONS)}")
        if self.cqsl_pairing not in losses.PAIRINGS:
            raise ConfigError(f"unknown cqsl_pairing {self.cqsl_pairing!r}", fix=f"use one of {list(losses.PAIRINGS)}")
        if self.landmark_sigma < 0 or self.lq_factor < 1 or self.d < 1:
            raise ConfigError("landmark_sigma must be >= 0, lq_factor >= 1 and d >= 1")


#: Table 10: A = L-encoder only, B = P-encoder only (with CQSL), C = all three concatenated with
#: CQSL but no ASA, D = full UMCL.
ABLATIONS: dict[str, dict[str, bool]] = {
    "A": dict(use_rppg=False, use_landmarks=True, use_text=False, use_asa=False, use_cqsl=False),
    "B": dict(use_rppg=True, use_landmarks=False, use_text=False, use_asa=False, use_cqsl=True),
    "C": dict(use_rppg=True, use_landmarks=True, use_text=True, use_asa=False, use_cqsl=True),
    "D": dict(use_rppg=True, use_landmarks=True, use_text=True, use_asa=True, use_cqsl=True),
}


def build_p_encoder(cfg: UMCLConfig) -> PhysFormer:
    """The P-encoder (PhysFormer) at the sizes of ``cfg`` (no weights loaded)."""
    return PhysFormer(frames=cfg.frames, image_size=cfg.image_size, patch_size=cfg.patch_size, dim=cfg.physformer_dim,
                      ff_dim=cfg.physformer_ff_dim, num_heads=cfg.physformer_heads, num_layers=cfg.physformer_layers,
                      theta=cfg.physformer_theta, gra_sharp=cfg.physformer_gra_sharp, dropout=cfg.physformer_dropout)


def ablation_config(model: str, base: UMCLConfig | None = None) -> UMCLConfig:
    """The config of Table 10's model ``A``–``D`` (switches applied on top of ``base``)."""
    if model not in ABLATIONS:
        raise ConfigError(f"unknown ablation model {model!r}", fix=f"use one of {sorted(ABLATIONS)}")
    return replace(base or UMCLConfig(), **ABLATIONS[model])


@register_detector("umcl", config=UMCLConfig)
class UMCLDetector(Detector):
    """UMCL detector; see the module docstring for the data flow and the choices made."""

    inputs = ("frames", "landmarks")

    def __init__(self, cfg: UMCLConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.contrastive_views == "compression_pairs":
            self.inputs = ("frames", "landmarks", "frames_lq", "landmarks_lq")
        self.modalities: list[str] = []
        if cfg.use_rppg:
            self.p_encoder = build_p_encoder(cfg)
            if cfg.physformer_weights:
                self.p_encoder.load_pretrained(cfg.physformer_weights)
            self.proj_rppg = nn.Linear(cfg.frames, cfg.d)  # W_rPPG, B_rPPG: K = T -> d
            self.modalities.append("rppg")
        if cfg.use_landmarks:
            self.l_encoder = LandmarkEncoder(hidden_size=cfg.lrnet_hidden, landmark_dropout=cfg.lrnet_landmark_dropout,
                                             dropout=cfg.lrnet_dropout)
            if cfg.lrnet_weights:
                self.l_encoder.load_pretrained(cfg.lrnet_weights)
            self.proj_face = nn.Linear(self.l_encoder.out_dim, cfg.d)  # W_face, B_face: 128 -> d
            self.modalities.append("landmarks")
        if cfg.use_text:
            self.prompt_bank = PromptBank(build_text_encoder(cfg.text_backend, cfg.text_weights))
            self.proj_text = nn.Linear(self.prompt_bank.dim, cfg.d)  # W_text, B_text: D -> d
            self.modalities.append("text")
        self.classifier = nn.Linear(len(self.modalities) * cfg.d, 2)  # W_FC: m*d -> 2

    # ------------------------------------------------------------------ views and text
    def _views(self, batch: dict) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """LQ video and landmarks (None where the modality is off or the view is not needed)."""
        cfg = self.cfg
        if not self.training and cfg.inference_views == "hq":
            return None, None
        # real c23/c40 pairs are a TRAINING view only: at test time (eval mode) every model sees the
        # same single video, its LQ view made synthetically (Table 11 test-time leak, issue 10)
        pairs = cfg.contrastive_views == "compression_pairs" and self.training
        if pairs:
            missing = [k for k in ("frames_lq", "landmarks_lq") if batch.get(k) is None]
            if missing:
                raise UmclError(f"contrastive_views=compression_pairs needs batch keys {missing}",
                                fix="load c23/c40 pairs, or set contrastive_views: downsample")
        frames_lq = landmarks_lq = None
        if cfg.use_rppg:
            frames_lq = batch.get("frames_lq") if pairs else None
            if frames_lq is None:
                frames_lq = make_lq_video(batch["frames"], cfg.lq_factor)
        if cfg.use_landmarks:
            landmarks_lq = batch.get("landmarks_lq") if pairs else None
            if landmarks_lq is None:
                landmarks = batch["landmarks"]
                landmarks_lq = perturb_landmarks(landmarks, cfg.landmark_sigma) if self.training else landmarks
        return frames_lq, landmarks_lq

    def _text(self, batch: dict, size: int, device: torch.device) -> torch.Tensor:
        """Prompt embeddings [B, D]: the label's prompts in training, else the batch's test condition."""
        if self.training:
            return self.prompt_bank.training_embeddings(batch["label"], self.cfg.invalid_prompt_prob).to(device)
        return condition_text(self.prompt_bank, batch, size).to(device)

    # ------------------------------------------------------------------ forward
    def forward(self, batch: dict) -> dict:
        cfg = self.cfg
        frames, landmarks = batch["frames"], batch["landmarks"]
        b = frames.shape[0]
        frames_lq, landmarks_lq = self._views(batch)
        views = ("hq", "lq") if (frames_lq is not None or landmarks_lq is not None) else ("hq",)
        out: dict = {}
        projected: dict[str, dict[str, torch.Tensor]] = {v: {} for v in views}
        if cfg.use_rppg:
            clips = frames if frames_lq is None else torch.cat([frames, frames_lq.to(frames.dtype)])
            z = self.p_encoder(vipl_normalize(clips))
            for i, v in enumerate(views):
                out[f"z_{v}"] = z[i * b:(i + 1) * b]
                projected[v]["rppg"] = self.proj_rppg(out[f"z_{v}"])
        if cfg.use_landmarks:
            seqs = landmarks if landmarks_lq is None else torch.cat([landmarks, landmarks_lq.to(landmarks.dtype)])
            e = self.l_encoder(seqs)["e"]
            for i, v in enumerate(views):
                out[f"e_{v}"] = e[i * b:(i + 1) * b]
                projected[v]["landmarks"] = self.proj_face(out[f"e_{v}"])
        if cfg.use_text:
            out["t"] = self._text(batch, b, frames.device)
            t_hat = self.proj_text(out["t"])
            for v in views:  # the prompt does not depend on the view: t^HQ = t^LQ
                projected[v]["text"] = t_hat
        probs = []
        for v in views:
            u = torch.cat([projected[v][m] for m in self.modalities], dim=1)  # eq. 6
            out[f"u_{v}"] = u
            out[f"logits_{v}"] = self.classifier(u)  # eq. 7 (softmax in the loss / below)
            probs.append(torch.softmax(out[f"logits_{v}"].float(), dim=-1))
        prob = torch.stack(probs).mean(0)
        out["logits"] = torch.log(prob.clamp_min(1e-12))
        out["prob_fake"] = prob[:, 1]
        # eq. 9: per-modality HQ/LQ average, stacked [B, m, d] (ASA input, also used for analysis)
        out["asa_features"] = torch.stack(
            [torch.stack([projected[v][m] for v in views]).mean(0) for m in self.modalities], dim=1)
        out["features"] = out["asa_features"].flatten(1)  # U^b of eq. 10
        return out

    # ------------------------------------------------------------------ losses
    def loss(self, batch: dict, output: dict) -> dict[str, torch.Tensor]:
        """Eq. 20 and every term by name: bce, aff, pull, push, hr, phy, total."""
        cfg = self.cfg
        label = batch["label"].to(output["logits"].device).long()
        views = [v for v in ("hq", "lq") if f"logits_{v}" in output]
        bce = torch.stack([losses.bce_loss(output[f"logits_{v}"], label) for v in views]).mean()
        zero = bce.new_zeros(())
        terms = {"hr": zero, "pull": zero, "push": zero, "phy": zero}
        if cfg.use_cqsl and "z_lq" in output:
            real, fake = label == 0, label == 1
            z_hq, z_lq = output["z_hq"], output["z_lq"]
            terms = losses.physiological_loss(z_hq[real], z_lq[real], z_hq[fake], z_lq[fake], fps=cfg.fps,
                                              band=cfg.hr_band, temperature=cfg.hr_temperature,
                                              pairing=cfg.cqsl_pairing, hr_grad_ratio=cfg.hr_grad_ratio)
        aff = zero
        if cfg.use_asa:
            aff = losses.affinity_loss(losses.affinity_matrix(output["asa_features"], cfg.affinity_normalization))
        total = losses.total_loss(bce, terms["phy"], aff, alpha=cfg.alpha, beta=cfg.beta)
        return {"bce": bce, "aff": aff, "pull": terms["pull"], "push": terms["push"], "hr": terms["hr"],
                "phy": terms["phy"], "total": total["total"]}


__all__ = ["UMCLConfig", "UMCLDetector", "ABLATIONS", "ablation_config", "build_p_encoder"]
