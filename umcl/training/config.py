"""Typed settings of the ``training`` and ``pretrain`` config sections.

``TrainConfig`` follows the paper (§5 "Hyperparameter Settings"): batch size 8 with equal numbers
of real and fake videos, AdamW, lr 1e-3 for the first 10 % of iterations then 5e-5 with cosine
annealing. What the paper leaves open (epochs, weight decay, minimum lr, gradient clipping) has a
documented default here and a line in ``docs/deviations/training.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from umcl.errors import ConfigError

SelectMetric = Literal["auc", "ap", "acc", "eer"]


def check_selection_split(split: str) -> None:
    """Refuse to select checkpoints on anything but the validation split.

    Selecting on the test split makes test results optimistic (the fault reported against
    DeepfakeBench); test data is only ever scored, after selection, by ``umcl evaluate``.
    """
    if split != "val":
        raise ConfigError(f"selecting a checkpoint on the '{split}' split is refused: selection "
                          "uses the validation split only", fix="set training.select_split: val")


@dataclass
class TrainConfig:
    """Settings of ``umcl train`` (section ``training``)."""

    #: passes over the (balanced, oversampled) training set; the paper does not state it
    epochs: int = 20
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

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"training.epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 2 or self.batch_size % 2:
            raise ConfigError(f"training.batch_size must be even and >= 2 (half real, half fake), "
                              f"got {self.batch_size}")
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


@dataclass
class PretrainConfig:
    """Settings of ``umcl pretrain`` (section ``pretrain``): the P-encoder on SynthFF real videos.

    The paper pre-trains PhysFormer on VIPL-HR; SynthFF's ground-truth pulse stands in for it.
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

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError("pretrain.epochs and pretrain.batch_size must be >= 1")
        if self.lr <= 0 or self.freq_weight < 0:
            raise ConfigError("pretrain.lr must be > 0 and pretrain.freq_weight >= 0")
        lo, hi = self.hr_band_bpm
        if not 0 < lo < hi:
            raise ConfigError(f"pretrain.hr_band_bpm must be [low, high] with 0 < low < high, "
                              f"got {list(self.hr_band_bpm)}")
