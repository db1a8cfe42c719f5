"""Typed settings of the ``training`` and ``pretrain`` config sections.

``TrainConfig``'s defaults follow the UMCL paper (§5 "Hyperparameter Settings"): batch size 8 with
equal numbers of real and fake videos, AdamW, lr 1e-3 for the first 10 % of iterations then 5e-5
with cosine annealing. What the paper leaves open (epochs, weight decay, minimum lr, gradient
clipping) has a documented default here and a line in ``docs/deviations/training.md``.

Each baseline is trained as its own source trains it: :data:`SOURCE_RECIPES` holds every
detector's published settings (at the source's sizes) and :func:`training_for` builds one
detector's settings, in increasing precedence, from

1. the ``TrainConfig`` defaults (UMCL's schedule),
2. ``SOURCE_RECIPES[detector]`` (the detector's source),
3. the shared ``training`` section of the config (applies to every detector),
4. ``training.per_detector.<detector>`` (that detector only; same keys, same validation).

So a profile that sets ``training.epochs`` scales every detector's epochs, and one that needs a
detector-specific value (LRNet's large batches, CPML's lr) writes it under ``per_detector``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from umcl.config import from_dict
from umcl.errors import ConfigError
from umcl.registry import known_names
from umcl.specs.seeds import check_seed

SelectMetric = Literal["auc", "ap", "acc", "eer"]
OptimizerName = Literal["adamw", "adam"]
#: "paper": UMCL's lr_warmup for warmup_fraction of the steps, then lr with cosine to lr_min;
#: "constant": lr on every step (LRNet, FF++ Xception and CPML use a fixed Adam/AdamW lr);
#: "linear_warmup_cosine": lr ramps linearly from 0 over warmup_fraction, then cosine to lr_min
#: (the authors' released UMCL code, umcl.released)
ScheduleName = Literal["paper", "constant", "linear_warmup_cosine"]
#: how the validation split is scored for checkpoint selection: "label_free" (eval mode, the
#: detector's label-free test prompt); "label_prompt" (eval mode, the true label's prompts: the
#: ``leakage_audit`` prompt policy); or "as_released" (the released UMCL code's: model left in training
#: mode, so the label's prompt reaches the classifier). The last two are leakage options for the audit
#: (umcl.training.scoring)
SelectionName = Literal["label_free", "label_prompt", "as_released"]

#: Each detector's training settings as its source states them, at the source's sizes (the
#: ``paper`` profile). Citations and how batches in videos relate to the sources' batches:
#: docs/deviations/training.md ("Per-detector training settings").
SOURCE_RECIPES: dict[str, dict[str, Any]] = {
    # UMCL §5: the TrainConfig defaults (AdamW, 1e-3 for 10 % of steps, then 5e-5 cosine, batch 8)
    "umcl": {},
    # frederickszk/LRNet training/configs/args_train.yaml + train.py: Adam (no weight decay, no
    # scheduler), lr 1e-3, BATCH_SIZE 1024 blocks of 30 frames, EPOCHS_g1 750 / EPOCHS_g2 400.
    # 204 clips of 160 frames = 1020 blocks; both streams train jointly for g1's 750 epochs.
    "lrnet": {
        "optimizer": "adam",
        "schedule": "constant",
        "lr": 1e-3,
        "weight_decay": 0.0,
        "batch_size": 204,
        "epochs": 750,
    },
    # FaceForensics++ (Rössler et al. 2019, §4.2/appendix): Adam, lr 2e-4, batch 32 images,
    # 3 head-only epochs (only with ImageNet weights) + 15 full epochs. 4 videos x 8 frames = 32.
    "xception": {
        "optimizer": "adam",
        "schedule": "constant",
        "lr": 2e-4,
        "weight_decay": 0.0,
        "batch_size": 4,
        "epochs": 18,
    },
    # CPML (k-bigboss99/CPML, BMVC 2024): AdamW lr 1e-5, batch 1 video per class step (one real
    # and one fake per optimiser step = our balanced batch of 2); no scheduler stated.
    "cpml": {"optimizer": "adamw", "schedule": "constant", "lr": 1e-5, "batch_size": 2},
    # the authors' released UMCL code (train_main.py, util/optim_tools.py, train.sh): AdamW, weight
    # decay 5e-4 not on "bias"/"bn"-named parameters, lr 1e-3 with a linear warm-up over 10 % of the steps
    # then cosine to 0, 3 epochs, 4 real + 4 fake per step (docs/deviations/released.md)
    "umcl-released": {
        "optimizer": "adamw",
        "schedule": "linear_warmup_cosine",
        "lr": 1e-3,
        "lr_min": 0.0,
        "weight_decay": 5e-4,
        "no_decay_bias_norm": True,
        "epochs": 3,
        "batch_size": 8,
        # not the release's: our leakage audit (reports/leakage.md) of its selection
        "selection_audit": True,
    },
}


def check_selection_split(split: str) -> None:
    """Refuse to select checkpoints on anything but the validation split.

    Selecting on the test split makes test results optimistic (the fault reported against
    DeepfakeBench); test data is only ever scored, after selection, by ``umcl evaluate``.
    """
    if split != "val":
        raise ConfigError(
            f"selecting a checkpoint on the '{split}' split is refused: selection uses the validation split only",
            fix="set training.select_split: val",
        )


#: TrainConfig settings that only decide whether a run may start and change none of its numbers: left out
#: of the run fingerprint (umcl.training.trainer.RunSpec) and of the pipeline's run settings hash
#: (umcl.workflow.run_settings_hash), so that setting them retrains nothing
GUARDS = ("max_failed_share",)


@dataclass
class TrainConfig:
    """Settings of ``umcl train`` (section ``training``)."""

    #: passes over the (balanced, oversampled) training set; the paper does not state it
    epochs: int = 20
    #: "adamw" (UMCL, CPML: decoupled weight decay) or "adam" (LRNet, FF++ Xception: L2 decay)
    optimizer: OptimizerName = "adamw"
    #: "paper" (UMCL's step-down + cosine) or "constant" (``lr`` throughout)
    schedule: ScheduleName = "paper"
    #: videos per batch and per process; half real, half fake (paper: 8)
    batch_size: int = 8
    #: constant lr of the first ``warmup_fraction`` of all iterations (paper: 1e-3, 10 %)
    lr_warmup: float = 1e-3
    warmup_fraction: float = 0.1
    #: lr at the start of the cosine phase (paper: 5e-5) and its floor at the last iteration
    lr: float = 5e-5
    lr_min: float = 0.0
    #: AdamW decoupled weight decay (paper: not stated; torch's default)
    weight_decay: float = 0.01
    #: no weight decay on parameters named "bias", "bn" or "batchnorm" (the released UMCL code's AdamW
    #: groups; in effect biases: schedule.no_decay_parameters)
    no_decay_bias_norm: bool = False
    #: checkpoint selection scoring; "as_released" is a named leakage option (see SelectionName)
    selection: SelectionName = "label_free"
    #: leakage audit: every epoch also score the validation split each OTHER way (umcl.training.scoring)
    #: and keep each selection's checkpoint (``checkpoints/best_<scoring>.pt``, ``selection_<scoring>.json``,
    #: history ``val_<scoring>_*``); the run's own selection, weights and trajectory are unchanged
    #: (Trainer._audit)
    selection_audit: bool = False
    seed: int = 0
    #: deterministic kernels, no cudnn benchmark (same config + seed -> same numbers on CPU)
    deterministic: bool = True
    #: mixed precision (float16 autocast + GradScaler); used on CUDA only, ignored on CPU
    amp: bool = True
    num_workers: int = 0
    #: "auto" (CUDA if available), "cpu", "cuda" or "cuda:N"
    device: str = "auto"
    #: validation metric that picks the checkpoint (on the validation split only)
    select_metric: SelectMetric = "auc"
    #: split the checkpoint is selected on: only "val" is accepted (never the test split)
    select_split: str = "val"
    #: max L2 norm of all gradients; None = no clipping
    grad_clip: float | None = None
    #: cap on videos per split (half real, half fake, seeded) for small profiles; None = all
    max_videos: int | None = None
    #: frames per clip cut from the cache (the first N); None = all cached frames
    num_frames: int | None = None
    #: Table 11 ablation: a real low-quality view at this compression, paired by (method, id)
    lq_compression: str | None = None
    #: batch size for validation and evaluation; None = ``batch_size``
    eval_batch_size: int | None = None
    #: DDP: allow parameters that get no gradient in a step (frozen or unused branches)
    ddp_find_unused_parameters: bool = True
    #: also keep every epoch's weights as ``checkpoints/epoch_NNN.pt`` (off: only ``last.pt``, the
    #: full state for resuming, and ``best.pt``, the selected weights, are kept)
    keep_epoch_checkpoints: bool = False
    #: Figure 9: at step 1 and every N training steps after, log each view's per-class modality-pair affinities
    #: (Detector.affinity_scores) to ``RUN/affinity.csv``; 0 = off. Logging only: not in the run fingerprint
    affinity_log_every: int = 10
    #: largest share of a split's videos (train or the selection split, at the training compression) that
    #: preprocessing may have marked failed; more (and more than one video) stops the run, since so many
    #: failures point to a broken preprocessing rather than to bad videos. A guard only: not in the run
    #: fingerprint (:data:`GUARDS`)
    max_failed_share: float = 0.1
    #: per-detector overlays {detector: {key: value}} over this section (see :func:`training_for`)
    per_detector: dict[str, dict[str, Any]] = field(default_factory=dict, metadata={"overlay_of": "detectors"})

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"training.epochs must be >= 1, got {self.epochs}")
        check_seed(self.seed, "training.seed")
        if not 0.0 <= self.max_failed_share <= 1.0:
            raise ConfigError(
                f"training.max_failed_share must be in [0, 1], got {self.max_failed_share}",
                fix="set training.max_failed_share to a share from 0 to 1 (e.g. 0.1)",
            )
        if self.batch_size < 2 or self.batch_size % 2:
            raise ConfigError(
                f"training.batch_size must be even and >= 2 (half real, half fake), got {self.batch_size}"
            )
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ConfigError(f"training.warmup_fraction must be in [0, 1), got {self.warmup_fraction}")
        for name in ("lr_warmup", "lr"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"training.{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 <= self.lr_min <= self.lr:
            raise ConfigError(f"training.lr_min must be in [0, lr], got {self.lr_min}")
        if self.weight_decay < 0:
            raise ConfigError(f"training.weight_decay must be >= 0, got {self.weight_decay}")
        if self.num_workers < 0:
            raise ConfigError(f"training.num_workers must be >= 0, got {self.num_workers}")
        if self.affinity_log_every < 0:
            raise ConfigError(f"training.affinity_log_every must be >= 0 (0 = off), got {self.affinity_log_every}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ConfigError(f"training.grad_clip must be > 0 or null, got {self.grad_clip}")
        if self.max_videos is not None and self.max_videos < 2:
            raise ConfigError(f"training.max_videos must be >= 2 or null, got {self.max_videos}")
        if self.num_frames is not None and self.num_frames < 1:
            raise ConfigError(f"training.num_frames must be >= 1 or null, got {self.num_frames}")
        if self.eval_batch_size is not None and self.eval_batch_size < 1:
            raise ConfigError(f"training.eval_batch_size must be >= 1, got {self.eval_batch_size}")
        check_selection_split(self.select_split)
        if self.device != "auto" and not (self.device == "cpu" or self.device.startswith("cuda")):
            raise ConfigError(f"training.device must be auto, cpu or cuda[:N], got {self.device!r}")
        allowed = {f.name for f in dataclasses.fields(self)} - {"per_detector"}
        for det, overlay in self.per_detector.items():
            if not isinstance(overlay, dict):
                raise ConfigError(f"training.per_detector.{det} must be a mapping of training keys")
            unknown = sorted(set(overlay) - allowed)
            if unknown:
                raise ConfigError(
                    f"unknown key(s) {unknown} in training.per_detector.{det}", fix=f"allowed keys: {sorted(allowed)}"
                )


def training_for(config: dict | None, detector: str) -> TrainConfig:
    """One detector's training settings: defaults < its source recipe < shared ``training`` <
    ``training.per_detector.<detector>`` (see the module docstring). Validated like the section."""
    shared = dict((config or {}).get("training") or {})
    overlays = shared.pop("per_detector", None) or {}
    if not isinstance(overlays, dict):
        raise ConfigError("training.per_detector must be a mapping {detector: {key: value}}")
    known = set(known_names())
    unknown = sorted(set(overlays) - known)
    if unknown:
        raise ConfigError(
            f"training.per_detector names unknown detector(s) {unknown}", fix=f"use one of {sorted(known)}"
        )
    merged = {**SOURCE_RECIPES.get(detector, {}), **shared, **(overlays.get(detector) or {})}
    return from_dict(merged, TrainConfig, where=f"training (for {detector})")


def recipe_origin(config: dict | None, detector: str) -> dict[str, str]:
    """Where each non-default setting of :func:`training_for` came from ("source", "training",
    "per_detector"), for the run record and the log."""
    shared = dict((config or {}).get("training") or {})
    overlay = (shared.pop("per_detector", None) or {}).get(detector) or {}
    origin = {k: "source" for k in SOURCE_RECIPES.get(detector, {})}
    origin.update({k: "training" for k in shared})
    origin.update({k: f"per_detector.{detector}" for k in overlay})
    return origin


@dataclass
class PretrainConfig:
    """Settings of ``umcl pretrain`` (section ``pretrain``): the P-encoder on SynthFF real videos.

    The paper pre-trains PhysFormer on VIPL-HR (weights not published). The P-encoder starts from
    real-data weights (``detectors.umcl.physformer_pretrained``, or the best of ``candidates`` on the
    validation split) and is optionally fine-tuned on SynthFF's ground-truth pulse for ``epochs``.
    Loss = negative Pearson + ``freq_weight`` x frequency cross-entropy over ``hr_band_bpm``.
    """

    epochs: int = 10
    #: PhysFormer's original Adam lr
    lr: float = 1e-4
    weight_decay: float = 0.0
    batch_size: int = 4
    #: weight of the frequency cross-entropy term (negative Pearson has weight 1)
    freq_weight: float = 1.0
    #: heart-rate band of the frequency classes, in beats per minute (PhysFormer: 40-179)
    hr_band_bpm: tuple[float, float] = (40.0, 180.0)
    #: the compression the pulse is learned from (SynthFF real videos)
    compression: str = "raw"
    seed: int = 0
    deterministic: bool = True
    amp: bool = True
    num_workers: int = 0
    device: str = "auto"
    num_frames: int | None = None
    max_videos: int | None = None
    #: user-supplied PhysFormer weights to start from (a state dict); None = random init
    physformer_init: str | None = None
    #: the trained LRNet baseline run (its best.pt) that initialises UMCL's L-encoder
    lrnet_checkpoint: str | None = None
    #: real-data weight sets (``detectors.umcl.physformer_pretrained`` values) to choose the starting
    #: weights from, by the validation split's Pearson with the ground-truth pulse; empty = use
    #: ``detectors.umcl.physformer_pretrained`` as it is
    candidates: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.batch_size < 1:
            raise ConfigError(
                "pretrain.epochs must be >= 0 (0: the starting weights as they are) and pretrain.batch_size >= 1"
            )
        check_seed(self.seed, "pretrain.seed")
        if self.lr <= 0 or self.freq_weight < 0:
            raise ConfigError("pretrain.lr must be > 0 and pretrain.freq_weight >= 0")
        lo, hi = self.hr_band_bpm
        if not 0 < lo < hi:
            raise ConfigError(
                f"pretrain.hr_band_bpm must be [low, high] with 0 < low < high, got {list(self.hr_band_bpm)}"
            )
