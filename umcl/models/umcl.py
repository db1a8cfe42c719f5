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
  inference averages the two views' probabilities (default) or reads the HQ view alone (test
  condition ``views-hq``, :attr:`TestCondition.inference_views`: a test-time option, not a config
  field). ``logits`` in the output is ``log`` of the view-averaged probability.
* Prompts: in training, each sample gets a prompt of its own label with probability
  ``1 - invalid_prompt_prob`` and an invalid one otherwise (§4.2). Outside training the prompt never
  depends on the label unless the evaluation asks for it: the prompt policy and the Table 8 prompt
  attacks are test-time conditions (:class:`umcl.conditions.TestCondition`, passed as
  ``batch["condition"]``), not settings of this config, so they never change a trained model or its
  run fingerprint. Without a condition the label-free ``mean`` policy is used. The
  label-conditioned ``leakage_audit`` policy exists only to measure how much a classifier would
  gain from leaked labels; it is never a default. The release's fixed prompt "Is real or fake?" is
  the condition ``policy-released-fixed``: its embedding is computed on first use and kept out of
  the state dict, so any UMCL checkpoint can be scored with it.
* Eval-time LQ landmarks: eq. 2's noise is a training augmentation; outside training the LQ
  landmark view equals the HQ one, so inference is deterministic and batch-independent.
* Model C of Table 10 is "direct concatenation with CQSL applied" (§5.6): switches
  ``use_asa=False, use_cqsl=True``. :data:`ABLATIONS` lists A–D.
* HQ and LQ clips go through the P-encoder in one batch of 2B (shared BatchNorm statistics).

The authors' released code departs from the paper in ways listed in :mod:`umcl.released`; each is
a field of :class:`UMCLConfig` below whose default is the paper's, and the detector ``umcl-released``
is this class with all of them switched on (docs/deviations/released.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from umcl import losses, prompts, released
from umcl.conditions import (
    FIXED_PROMPT_POLICY,
    TestCondition,
    condition_of,
    condition_text,
)
from umcl.detector import Detector
from umcl.errors import ConfigError, UmclError
from umcl.models.lrnet import LandmarkEncoder, frame_differences
from umcl.models.physformer import PhysFormer
from umcl.models.text_encoder import PromptBank, build_text_encoder
from umcl.registry import register_detector, register_overlay
from umcl.specs.released import ABLATIONS, PAPER_VALUES
from umcl.views import fit_frames, make_lq_video, perturb_landmarks


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
    #: the P-encoder's starting weights: None / "none" (random initialisation), "pure" or "rlap"
    #: (open-rppg's real-data PhysFormers, umcl.models.open_rppg) or the path of such a .h5 file. With
    #: real weights the P-encoder takes their input/output convention (io="standardized") and must be
    #: the published width (96/144/12 heads/12 layers); ``physformer_weights`` (e.g. the SynthFF
    #: pre-train, itself started from these) is loaded after them. docs/deviations/core.md
    physformer_pretrained: str | None = None
    #: what of the P-encoder trains: "all" (the paper fine-tunes the pre-trained PhysFormer) or "head"
    #: (stem, tube embedding and transformer blocks frozen at their starting weights, their output
    #: computed once per clip: umcl.models.frozen_trunk; the temporal upsamplers and last convolution
    #: train). docs/deviations/workflow.md says where and why the default uses "head"
    physformer_train: Literal["all", "head"] = "all"
    #: directory of the frozen trunk's outputs shared by the runs of a profile (physformer_train: head);
    #: None keeps them in memory for one process only
    trunk_cache: str | None = None
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
    #: "released_pool": the release's learned 1/2- and 1/4-size views inside the P-encoder (umcl.released)
    contrastive_views: Literal["downsample", "compression_pairs", "released_pool"] = PAPER_VALUES["contrastive_views"]
    lq_factor: int = 4
    landmark_sigma: float = 0.01
    # losses
    alpha: float = PAPER_VALUES["alpha"]
    beta: float = PAPER_VALUES["beta"]
    affinity_normalization: Literal["cosine01", "cosine_relu", "sigmoid_scaled", "sigmoid"] = "cosine01"
    fps: float = 30.0
    hr_band: tuple[float, float] = (0.7, 3.0)
    hr_temperature: float = 0.1
    #: cap on L_HR's gradient into the rPPG signals, as a multiple of the Pearson (pull + push)
    #: terms' gradient (losses.hr_grad_factor); None = the paper's unweighted sum (L_HR's gradient
    #: then dwarfs the Pearson terms' on noise-like signals: docs/deviations/training.md)
    hr_grad_ratio: float | None = 1.0
    cqsl_pairing: Literal["all", "aligned"] = "all"
    # Table 10 ablation switches
    use_rppg: bool = True
    use_landmarks: bool = True
    use_text: bool = True
    use_asa: bool = True
    use_cqsl: bool = True
    # the authors' released code, switch by switch (umcl.released; every default is the paper's)
    affinity_form: Literal["paper", "released"] = PAPER_VALUES["affinity_form"]
    #: weights of the released affinity's diagonal and cross-modal terms (used with affinity_form: released)
    released_aff_alpha: float = 0.5
    released_aff_beta: float = 0.3
    text_affinity_scale: float = PAPER_VALUES["text_affinity_scale"]
    ce_views: Literal["all", "hq"] = PAPER_VALUES["ce_views"]
    cqsl_form: Literal["paper", "released"] = PAPER_VALUES["cqsl_form"]
    hr_term: Literal["paper", "released"] = PAPER_VALUES["hr_term"]
    landmark_zero_prob: float = PAPER_VALUES["landmark_zero_prob"]
    lrnet_feature_noise: float = PAPER_VALUES["lrnet_feature_noise"]
    affinity_class_mean: bool = PAPER_VALUES["affinity_class_mean"]
    ce_per_class: bool = PAPER_VALUES["ce_per_class"]
    relu_features: bool = PAPER_VALUES["relu_features"]
    train_text_encoder: bool = PAPER_VALUES["train_text_encoder"]
    appearance_pathway: bool = PAPER_VALUES["appearance_pathway"]
    lrnet_feature_dropout: bool = PAPER_VALUES["lrnet_feature_dropout"]
    class_pure_batches: bool = PAPER_VALUES["class_pure_batches"]
    frames_unit_range: bool = PAPER_VALUES["frames_unit_range"]
    prompt_per_view: bool = PAPER_VALUES["prompt_per_view"]

    def __post_init__(self) -> None:
        self.patch_size = tuple(self.patch_size)
        self.hr_band = tuple(self.hr_band)
        if len(self.patch_size) != 3 or min(self.patch_size) < 1:
            raise ConfigError(
                f"patch_size must be three sizes >= 1 (frames, height, width), got {list(self.patch_size)}",
                fix="use e.g. patch_size: [4, 4, 4]",
            )
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
            raise ConfigError(
                f"unknown affinity_normalization {self.affinity_normalization!r}",
                fix=f"use one of {list(losses.AFFINITY_NORMALIZATIONS)}",
            )
        if self.cqsl_pairing not in losses.PAIRINGS:
            raise ConfigError(f"unknown cqsl_pairing {self.cqsl_pairing!r}", fix=f"use one of {list(losses.PAIRINGS)}")
        if self.landmark_sigma < 0 or self.lq_factor < 1 or self.d < 1:
            raise ConfigError("landmark_sigma must be >= 0, lq_factor >= 1 and d >= 1")
        if not 0.0 <= self.landmark_zero_prob < 1.0 or self.lrnet_feature_noise < 0 or self.text_affinity_scale <= 0:
            raise ConfigError(
                "landmark_zero_prob must be in [0, 1), lrnet_feature_noise >= 0 and text_affinity_scale > 0"
            )
        if self.appearance_pathway and self.d < 2:
            raise ConfigError("appearance_pathway projects the tokens to d/2: d must be >= 2")
        if self.physformer_train not in ("all", "head"):
            raise ConfigError(
                f"physformer_train must be 'all' or 'head', got {self.physformer_train!r}",
                fix="use physformer_train: all (the paper) or head (frozen pre-trained trunk)",
            )
        if self.contrastive_views == "released_pool" and self.use_rppg:
            quarter = self.image_size // 2 ** max(released.LQ_STAGES.values())
            if self.image_size % 4 or quarter % (PhysFormer.STEM_POOL * self.patch_size[1]):
                raise ConfigError(
                    f"contrastive_views=released_pool: the 1/4-size view ({quarter} px) does not tile "
                    f"the P-encoder's stem and {self.patch_size[1]} px patches",
                    fix="use an image_size divisible by 32 x patch size, or contrastive_views: downsample",
                )


#: Table 10: A = L-encoder only, B = P-encoder only (with CQSL), C = all three concatenated with
#: CQSL but no ASA, D = full UMCL.


def real_pretrained(cfg: UMCLConfig) -> bool:
    """Whether the P-encoder starts from real-data (open-rppg) weights."""
    return cfg.physformer_pretrained not in (None, "", "none")


def build_p_encoder(cfg: UMCLConfig) -> PhysFormer:
    """The P-encoder (PhysFormer) at the sizes of ``cfg`` (no weights loaded; the ``io`` convention of
    ``physformer_pretrained``'s weights)."""
    return PhysFormer(
        frames=cfg.frames,
        image_size=cfg.image_size,
        patch_size=cfg.patch_size,
        dim=cfg.physformer_dim,
        ff_dim=cfg.physformer_ff_dim,
        num_heads=cfg.physformer_heads,
        num_layers=cfg.physformer_layers,
        theta=cfg.physformer_theta,
        gra_sharp=cfg.physformer_gra_sharp,
        dropout=cfg.physformer_dropout,
        io="standardized" if real_pretrained(cfg) else "vipl",
    )


def init_p_encoder(cfg: UMCLConfig, with_weights: bool = True) -> tuple[PhysFormer, dict]:
    """The P-encoder with its starting weights (``physformer_pretrained``, then ``physformer_weights``
    when ``with_weights``) and what they were: ``{"pretrained": {name, file, sha256} | None,
    "weights": {file, sha256} | None}`` for the run's provenance."""
    from umcl.models.open_rppg import load_open_rppg

    model = build_p_encoder(cfg)
    record: dict = {"pretrained": None, "weights": None}
    if real_pretrained(cfg):
        record["pretrained"] = load_open_rppg(model, cfg.physformer_pretrained).identity()
    if with_weights and cfg.physformer_weights:
        model.load_pretrained(cfg.physformer_weights)
        record["weights"] = {
            "file": str(cfg.physformer_weights),
            "sha256": file_sha256(cfg.physformer_weights),
            **weights_origin(cfg.physformer_weights),
        }
    if cfg.physformer_train == "head":
        model.freeze_trunk(cfg.trunk_cache)
    record["trained"] = cfg.physformer_train
    return model, record


def weights_origin(path: str) -> dict:
    """What a pre-trained P-encoder file itself started from, read from its ``umcl pretrain`` sidecar
    (``FILE.json``): the real-data weights it was selected from and how it was fine-tuned."""
    sidecar = Path(f"{path}.json")
    if not sidecar.exists():
        return {}
    meta = json.loads(sidecar.read_text())
    return {k: meta[k] for k in ("starting_weights", "selection", "epochs_trained") if k in meta}


def file_sha256(path: str) -> str:
    """sha256 of a file's bytes."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ablation_config(model: str, base: UMCLConfig | None = None) -> UMCLConfig:
    """The config of Table 10's model ``A``–``D`` (switches applied on top of ``base``)."""
    if model not in ABLATIONS:
        raise ConfigError(f"unknown ablation model {model!r}", fix=f"use one of {sorted(ABLATIONS)}")
    return replace(base or UMCLConfig(), **ABLATIONS[model])


@register_detector("umcl", config=UMCLConfig)
class UMCLDetector(Detector):
    """UMCL detector; see the module docstring for the data flow and the choices made."""

    inputs = ("frames", "landmarks")
    #: P- and L-encoder: pure functions of their inputs in eval mode (Detector.memo_modules)
    memo_modules = ("p_encoder", "l_encoder")

    def __init__(self, cfg: UMCLConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.contrastive_views == "compression_pairs":
            self.inputs = ("frames", "landmarks", "frames_lq", "landmarks_lq")
        self.modalities: list[str] = []
        #: what each encoder started from (name, file, sha256), recorded in the run's run.json
        self.starting_weights: dict = {}
        if cfg.use_rppg:
            self.p_encoder, self.starting_weights["p_encoder"] = init_p_encoder(cfg)
            if cfg.appearance_pathway:  # released: [z, Linear(tokens -> d/2)] -> d, one token layer per view size
                self.appearance = nn.ModuleDict(
                    {v: nn.Linear(self._token_features(v), cfg.d // 2) for v in self._view_sizes()}
                )
            self.proj_rppg = nn.Linear(cfg.frames + (cfg.d // 2 if cfg.appearance_pathway else 0), cfg.d)  # W_rPPG
            if cfg.contrastive_views == "released_pool":
                self.lq_pool = released.LearnedPool()
            self.modalities.append("rppg")
        if cfg.use_landmarks:
            self.l_encoder = LandmarkEncoder(
                hidden_size=cfg.lrnet_hidden,
                landmark_dropout=cfg.lrnet_landmark_dropout,
                dropout=cfg.lrnet_dropout,
                feature_dropout=cfg.lrnet_feature_dropout,
            )
            if cfg.lrnet_weights:
                self.l_encoder.load_pretrained(cfg.lrnet_weights)
            self.proj_face = nn.Linear(self.l_encoder.out_dim, cfg.d)  # W_face, B_face: 128 -> d
            self.modalities.append("landmarks")
        if cfg.use_text:
            encoder = build_text_encoder(cfg.text_backend, cfg.text_weights)
            self.prompt_bank = PromptBank(encoder)
            self.__dict__["_fixed_text"] = None  # the released fixed prompt's embedding [1, D], on first use
            if cfg.train_text_encoder:  # released: the text tower is a trained submodule (its weights are saved)
                self.text_encoder = encoder.unfreeze()
                self.__dict__["_text_state"] = None  # (weights' versions, bank buffer's version) of the last refresh
            self.proj_text = nn.Linear(self.prompt_bank.dim, cfg.d)  # W_text, B_text: D -> d
            self.modalities.append("text")
        self.classifier = nn.Linear(len(self.modalities) * cfg.d, 2)  # W_FC: m*d -> 2

    # ------------------------------------------------------------------ sizes
    def _view_sizes(self) -> tuple[str, ...]:
        """The view sizes the P-encoder reads: full size, and the learned 1/2 and 1/4 views of released_pool."""
        return released.POOL_VIEWS if self.cfg.contrastive_views == "released_pool" else ("hq",)

    def _token_features(self, view: str) -> int:
        """Flattened size of the tapped tokens of ``view`` (PhysFormer ``return_tokens``): taps x N x dim."""
        enc = self.p_encoder
        side = self.cfg.image_size // 2 ** released.LQ_STAGES.get(view, 0)
        grid = enc.grid if view == "hq" else enc.spatial_grid(side, side)
        return len(set(enc.tap_blocks())) * grid[0] * grid[1] * grid[2] * enc.dim

    # ------------------------------------------------------------------ views and text
    def condition(self, batch: dict) -> TestCondition:
        """The batch's test condition, else this detector's default one (:attr:`Detector.default_condition`)."""
        return condition_of(batch, TestCondition.from_key(self.default_condition))

    def fixed_prompt_embeddings(self) -> torch.Tensor:
        """Embedding [1, D] of the release's fixed test prompt (:func:`umcl.released.fixed_prompt_table`);
        with a trained text tower, that tower's embedding of it (recomputed when its weights change)."""
        if self.cfg.train_text_encoder:
            version = self._text_weights_version()
            if self._fixed_text is None or self._fixed_text[0] != version:
                with torch.no_grad():
                    self.__dict__["_fixed_text"] = (version, self.text_encoder.embed([released.RELEASED_TEST_PROMPT]))
            return self._fixed_text[1]
        if self._fixed_text is None:
            encoder = build_text_encoder(self.cfg.text_backend, self.cfg.text_weights)
            self.__dict__["_fixed_text"] = PromptBank(encoder, released.fixed_prompt_table()).embeddings  # not a buffer
        return self._fixed_text

    def _views(
        self, batch: dict
    ) -> tuple[torch.Tensor | Callable[[torch.Tensor], torch.Tensor] | None, torch.Tensor | None]:
        """LQ video and landmarks (None where the modality is off or the view is not needed). An LQ video
        made from the HQ frames is returned as that transform, applied where it is needed (a frozen
        P-encoder trunk keeps its output per HQ clip: :meth:`PhysFormer.forward_from`)."""
        cfg = self.cfg
        hq_only = not self.training and self.condition(batch).inference_views == "hq"
        if hq_only or cfg.contrastive_views == "released_pool":
            return None, None  # released_pool: the LQ views are made in forward (learned)
        # real c23/c40 pairs are a TRAINING view only: at test time (eval mode) every model sees the
        # same single video, its LQ view made synthetically (Table 11 test-time leak)
        pairs = cfg.contrastive_views == "compression_pairs" and self.training
        if pairs:
            missing = [k for k in ("frames_lq", "landmarks_lq") if batch.get(k) is None]
            if missing:
                raise UmclError(
                    f"contrastive_views=compression_pairs needs batch keys {missing}",
                    fix="load c23/c40 pairs, or set contrastive_views: downsample",
                )
        frames_lq = landmarks_lq = None
        if cfg.use_rppg:
            frames_lq = batch.get("frames_lq") if pairs else None
            if frames_lq is None:
                frames_lq = partial(make_lq_video, factor=cfg.lq_factor)
        if cfg.use_landmarks:
            landmarks_lq = batch.get("landmarks_lq") if pairs else None
            if landmarks_lq is None:
                landmarks = batch["landmarks"]
                landmarks_lq = perturb_landmarks(landmarks, cfg.landmark_sigma) if self.training else landmarks
        return frames_lq, landmarks_lq

    def _text_weights_version(self) -> tuple:
        """Identifies the trained text tower's current weights (in-place updates bump ``_version``)."""
        return tuple((p.data_ptr(), p._version) for p in self.text_encoder.parameters())

    def _refresh_text(self) -> None:
        """With a trained text tower: make the prompt bank hold that tower's embeddings of its table (the
        test-time policies and attacks index it); recomputed only when the weights or the buffer changed."""
        if not (self.cfg.use_text and self.cfg.train_text_encoder):
            return
        bank = self.prompt_bank
        if self._text_state == (self._text_weights_version(), bank.embeddings._version):
            return
        with torch.no_grad():
            bank.embeddings.copy_(self.text_encoder.embed(list(bank.table.texts)).to(bank.embeddings))
        self.__dict__["_text_state"] = (self._text_weights_version(), bank.embeddings._version)

    def _text(self, batch: dict, size: int, device: torch.device) -> torch.Tensor:
        """Prompt embeddings [B, D]: the label's prompts in training, else the batch's test condition."""
        if self.training and self.cfg.train_text_encoder:  # encoded now, with gradients into the text tower
            ids = prompts.sample_prompt_indices(
                batch["label"].detach().cpu(), self.cfg.invalid_prompt_prob, None, self.prompt_bank.table
            )
            unique, inverse = torch.unique(ids, return_inverse=True)
            emb = self.text_encoder.embed([self.prompt_bank.table.texts[i] for i in unique.tolist()])
            return emb[inverse.to(emb.device)].to(device)
        if self.training:
            return self.prompt_bank.training_embeddings(batch["label"], self.cfg.invalid_prompt_prob).to(device)
        cond = self.condition(batch)
        if cond.prompt_policy == FIXED_PROMPT_POLICY:  # the release's fixed, label-free prompt
            return self.fixed_prompt_embeddings().expand(size, -1).to(device)
        return condition_text(self.prompt_bank, batch, size, cond).to(device)

    # ------------------------------------------------------------------ forward
    def forward(self, batch: dict) -> dict:
        """The model's outputs (module docstring). Outside training, the condition's ``module_mode: train``
        scores video by video with the submodules in training mode (:func:`umcl.released.score_in_train_mode`);
        in training, ``class_pure_batches`` runs the real and the fake rows in separate passes. Crops of
        another size than ``image_size`` are resized to it first (:func:`umcl.views.fit_frames`)."""
        if self.cfg.use_rppg:
            batch = {
                k: fit_frames(v, self.cfg.image_size) if k in ("frames", "frames_lq") and v is not None else v
                for k, v in batch.items()
            }
        if not self.training:
            self._refresh_text()
            if self.condition(batch).module_mode == "train":
                return released.score_in_train_mode(self, batch, self._forward)
        elif self.cfg.class_pure_batches:
            groups = released.class_rows(batch["label"])
            if len(groups) > 1:
                return released.merge_rows([(rows, self._forward(released.batch_rows(batch, rows))) for rows in groups])
        return self._forward(batch)

    def _forward(self, batch: dict) -> dict:
        cfg = self.cfg
        frames, landmarks = batch["frames"], batch["landmarks"]
        b = frames.shape[0]
        differences = None
        if self.training and cfg.landmark_zero_prob > 0:  # released: g1 reads zeroed coordinates, g2 clean differences
            differences = frame_differences(landmarks)
            landmarks = released.zero_landmarks(landmarks, cfg.landmark_zero_prob)
            batch = {**batch, "landmarks": landmarks}
        frames_lq, landmarks_lq = self._views(batch)
        pooled = cfg.contrastive_views == "released_pool"
        if pooled:
            views: tuple[str, ...] = ("hq", *released.LQ_STAGES) if self.training else ("hq",)
        else:
            views = ("hq", "lq") if (frames_lq is not None or landmarks_lq is not None) else ("hq",)
        out: dict = {}
        projected: dict[str, dict[str, torch.Tensor]] = {v: {} for v in views}
        if cfg.use_rppg:
            scale = (lambda x: x) if cfg.frames_unit_range else self.p_encoder.prepare  # released: frames in [0, 1]
            taps = {"return_tokens": True} if cfg.appearance_pathway else {}
            if pooled:  # each size through the P-encoder on its own (shapes differ)
                x = scale(frames)
                runs = [self.p_encoder(x, **taps)] + [
                    self.p_encoder(self.lq_pool(x, released.LQ_STAGES[v]), any_spatial_size=True, **taps)
                    for v in views[1:]
                ]
            elif not taps and self.p_encoder.trunk_memo is not None:  # frozen trunk: kept per clip and view
                tag = "unit" if cfg.frames_unit_range else "prepared"
                enc = self.p_encoder
                tokens = [enc.tokens_from(frames, scale, tag)]
                if callable(frames_lq):  # the LQ view made from the HQ frames, named by its factor
                    make = frames_lq
                    tokens.append(enc.tokens_from(frames, lambda c: scale(make(c)), f"{tag}-lq{cfg.lq_factor}"))
                elif frames_lq is not None:
                    tokens.append(enc.tokens_from(frames_lq.to(frames.dtype), scale, tag))
                runs = [enc.head_out(torch.cat(tokens))]  # one head pass over the views, as unfrozen
            else:
                lq = frames_lq(frames) if callable(frames_lq) else frames_lq
                clips = frames if lq is None else torch.cat([frames, lq.to(frames.dtype)])
                runs = [self.p_encoder(scale(clips), **taps)]
            z = torch.cat([r[0] if taps else r for r in runs])
            tokens = torch.cat([r[1].flatten(1) for r in runs]) if taps and not pooled else None
            for i, v in enumerate(views):
                out[f"z_{v}"] = z[i * b : (i + 1) * b]
                feature = out[f"z_{v}"]
                if taps:  # released appearance pathway: [z, Linear(tokens -> d/2)] (one layer per view size)
                    tok = runs[i][1].flatten(1) if pooled else tokens[i * b : (i + 1) * b]
                    feature = torch.cat([feature, self.appearance[v if pooled else "hq"](tok)], dim=1)
                projected[v]["rppg"] = self.proj_rppg(feature)
        if cfg.use_landmarks:
            if pooled:
                seq_views = [landmarks] + [released.landmark_view(landmarks, v) for v in views[1:]]
            else:
                seq_views = [landmarks] if landmarks_lq is None else [landmarks, landmarks_lq.to(landmarks.dtype)]
            diffs = None if differences is None else differences.repeat(len(seq_views), 1, 1)
            e = self.l_encoder(torch.cat(seq_views), diffs)["e"]
            keys = None if self.training or batch.get("key") is None else list(batch["key"]) * len(seq_views)
            e = released.feature_noise(e, cfg.lrnet_feature_noise, keys)
            for i, v in enumerate(views):
                out[f"e_{v}"] = e[i * b : (i + 1) * b]
                projected[v]["landmarks"] = self.proj_face(out[f"e_{v}"])
        if cfg.use_text:
            per_view = self.training and cfg.prompt_per_view  # released: a new prompt draw for every view
            texts = [self._text(batch, b, frames.device) for _ in (views if per_view else views[:1])]
            out["t"] = texts[0]
            for i, v in enumerate(views):  # the paper: the prompt does not depend on the view, t^HQ = t^LQ
                projected[v]["text"] = self.proj_text(texts[i if per_view else 0])
        if cfg.relu_features:  # released: ReLU'd modality features for the classifier and the affinity
            projected = {v: {m: torch.relu(f) for m, f in feats.items()} for v, feats in projected.items()}
        probs = []
        for v in views:
            u = torch.cat([projected[v][m] for m in self.modalities], dim=1)  # eq. 6
            out[f"u_{v}"] = u
            out[f"logits_{v}"] = self.classifier(u)  # eq. 7 (softmax in the loss / below)
            if v == "hq" or not pooled:  # released: the score is the full-size view's
                probs.append(torch.softmax(out[f"logits_{v}"].float(), dim=-1))
        prob = torch.stack(probs).mean(0)
        out["logits"] = torch.log(prob.clamp_min(1e-12))
        out["prob_fake"] = prob[:, 1]
        # eq. 9: per-modality HQ/LQ average, stacked [B, m, d] (ASA input, also used for analysis)
        out["asa_features"] = torch.stack(
            [torch.stack([projected[v][m] for v in views]).mean(0) for m in self.modalities], dim=1
        )
        out["features"] = out["asa_features"].flatten(1)  # U^b of eq. 10
        return out

    # ------------------------------------------------------------------ analysis (Figure 9)
    @torch.no_grad()
    def affinity_scores(self, batch: dict, output: dict) -> dict[str, float]:
        """Mean within-sample affinity (eq. 11's σ, ``affinity_normalization``) of each modality pair,
        per view and class: keys ``{view}_{real|fake}_{m1}-{m2}``. ASA averages HQ and LQ before its
        affinity (eq. 9); these scores are each view's own, so Figure 9 can show HQ and LQ apart.
        A class absent from the batch gives no key."""
        m, d = len(self.modalities), self.cfg.d
        label = batch["label"].to(output["logits"].device).long()
        out: dict[str, float] = {}
        for v in ("hq", "lq", *released.LQ_STAGES):
            if f"u_{v}" not in output or m < 2:
                continue
            feats = output[f"u_{v}"].detach().float().unflatten(1, (m, d))
            aff = losses.affinity_matrix(feats, self.cfg.affinity_normalization).diagonal(dim1=0, dim2=2)  # [m, m, B]
            for cls, name in ((0, "real"), (1, "fake")):
                rows = label == cls
                if not bool(rows.any()):
                    continue
                for i in range(m):
                    for j in range(i + 1, m):
                        pair = f"{self.modalities[i]}-{self.modalities[j]}"
                        out[f"{v}_{name}_{pair}"] = float(aff[i, j][rows].mean())
        return out

    # ------------------------------------------------------------------ losses
    def loss(self, batch: dict, output: dict) -> dict[str, torch.Tensor]:
        """Eq. 20 and every term by name: bce, aff, pull, push, hr, phy, total."""
        cfg = self.cfg
        label = batch["label"].to(output["logits"].device).long()
        views = [v for v in ("hq", "lq", *released.LQ_STAGES) if f"logits_{v}" in output]
        ce_views = ["hq"] if cfg.ce_views == "hq" else views
        ce = released.per_class_ce if cfg.ce_per_class else losses.bce_loss  # released: CE(real) + CE(fake)
        bce = torch.stack([ce(output[f"logits_{v}"], label) for v in ce_views]).mean()
        zero = bce.new_zeros(())
        terms = {"hr": zero, "pull": zero, "push": zero, "phy": zero}
        # the two views CQSL compares: HQ/LQ (paper), or the release's two learned LQ views
        pair = tuple(released.LQ_STAGES) if cfg.contrastive_views == "released_pool" else ("hq", "lq")
        if cfg.use_cqsl and f"z_{pair[1]}" in output:
            real, fake = label == 0, label == 1
            za, zb = output[f"z_{pair[0]}"], output[f"z_{pair[1]}"]
            groups = (za[real], zb[real], za[fake], zb[fake])
            if cfg.cqsl_form == "paper" or cfg.hr_term == "paper":
                terms = losses.physiological_loss(
                    *groups,
                    fps=cfg.fps,
                    band=cfg.hr_band,
                    temperature=cfg.hr_temperature,
                    pairing=cfg.cqsl_pairing,
                    hr_grad_ratio=cfg.hr_grad_ratio,
                )
            terms = released.physiological_terms(cfg, *groups, terms)  # the released parts, where switched on
        aff = zero
        if cfg.use_asa and cfg.affinity_form == "released":  # per sample, per class, on each contrastive view
            m = len(self.modalities)
            feats = (
                [output[f"u_{v}"].unflatten(1, (m, cfg.d)) for v in pair if f"u_{v}" in output]
                if cfg.contrastive_views == "released_pool"
                else []
            ) or [output["asa_features"]]
            text = self.modalities.index("text") if cfg.use_text else None
            aff = torch.stack(
                [
                    released.class_affinity_loss(
                        f,
                        label,
                        cfg.released_aff_alpha,
                        cfg.released_aff_beta,
                        text,
                        cfg.text_affinity_scale,
                        cfg.affinity_class_mean,
                    )
                    for f in feats
                ]
            ).mean()
        elif cfg.use_asa:
            aff = losses.affinity_loss(losses.affinity_matrix(output["asa_features"], cfg.affinity_normalization))
        total = losses.total_loss(bce, terms["phy"], aff, alpha=cfg.alpha, beta=cfg.beta)
        return {
            "bce": bce,
            "aff": aff,
            "pull": terms["pull"],
            "push": terms["push"],
            "hr": terms["hr"],
            "phy": terms["phy"],
            "total": total["total"],
        }


#: ``umcl-released``: UMCL with every released-code switch on (umcl.released), a config overlay, not a fork
_released = register_overlay(
    released.RELEASED_DETECTOR,
    "umcl",
    released.RELEASED_CONFIG,
    "UMCL as the authors' code was released (umcl.released.RELEASED_CONFIG).",
)
_released.cls.default_condition = released.RELEASED_DEFAULT_CONDITION  # tested with its fixed prompt

__all__ = ["UMCLConfig", "UMCLDetector", "ABLATIONS", "ablation_config", "build_p_encoder", "init_p_encoder"]
