"""Optimisers and learning-rate schedules: UMCL's (§5 "Hyperparameter Settings") and the baselines'.

``training.schedule: constant`` (LRNet, FF++ Xception, CPML as published) keeps ``lr`` on every
step; ``training.optimizer`` picks AdamW (decoupled weight decay) or Adam (L2 weight decay, as
torch's Adam). The rest of this docstring is ``schedule: paper``, UMCL's:

"AdamW ... A Cosine Annealing Scheduler ... The learning rate is initially set to 0.001 for the
first 10% of iterations to accelerate convergence, then reduced to 0.00005". The exact shape
used here, per optimiser step ``s`` (0-based) of ``N`` total steps and ``W = ceil(f * N)``
warm-up steps (``f`` = ``warmup_fraction``):

* ``s < W``:  lr = ``lr_warmup`` (constant 1e-3 — a high constant start, not a linear ramp);
* ``s >= W``: lr = ``lr_min + (lr - lr_min) * (1 + cos(pi * (s - W) / (N - W))) / 2``,
  i.e. a step down to 5e-5 followed by a half-cosine that reaches ``lr_min`` (0) one step
  after the last update.

``schedule: linear_warmup_cosine`` (the authors' released UMCL code, detector ``umcl-released``):
``lr * s / W`` for ``s < W`` (a linear ramp from 0), then the same half-cosine from ``lr`` to ``lr_min``.
"""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LRScheduler

from umcl.errors import ConfigError
from umcl.training.config import TrainConfig


def warmup_steps(total_steps: int, warmup_fraction: float) -> int:
    """Number of constant high-lr steps: ``ceil(fraction * total)``, fewer than ``total``."""
    if total_steps < 1:
        raise ConfigError(
            f"the schedule needs at least one step, got {total_steps}",
            fix="use more training videos or a smaller batch size",
        )
    return min(math.ceil(warmup_fraction * total_steps), total_steps - 1)


def lr_at(step: int, total_steps: int, cfg: TrainConfig) -> float:
    """Learning rate of optimiser step ``step`` (closed form, see the module docstring)."""
    if cfg.schedule == "constant":
        warmup_steps(total_steps, 0.0)  # validates total_steps
        return cfg.lr
    w = warmup_steps(total_steps, cfg.warmup_fraction)
    if cfg.schedule == "linear_warmup_cosine" and step < w:  # released UMCL: ramp from 0, then cosine
        return cfg.lr * step / w
    if step < w:
        return cfg.lr_warmup
    progress = min(step - w, total_steps - w) / (total_steps - w)
    return cfg.lr_min + (cfg.lr - cfg.lr_min) * 0.5 * (1.0 + math.cos(math.pi * progress))


class PaperSchedule(LRScheduler):
    """``lr_at`` as a torch scheduler (any ``training.schedule``): call ``step()`` after every optimiser step.

    Its state (``last_epoch`` = steps taken) goes into checkpoints with ``state_dict()``.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, total_steps: int, cfg: TrainConfig, last_epoch: int = -1):
        self.total_steps = total_steps
        self.cfg = cfg
        warmup_steps(total_steps, cfg.warmup_fraction)  # validates total_steps
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lr = lr_at(self.last_epoch, self.total_steps, self.cfg)
        return [lr for _ in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        state = super().state_dict()
        state.pop("cfg", None)
        return state


def build_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """``training.optimizer`` (AdamW or Adam) over the trainable parameters (frozen ones, e.g. the
    CLIP text tower, are left out); the schedule sets the lr of every step."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("the detector has no trainable parameters")
    kind = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam}[cfg.optimizer]
    groups: list | list[dict] = params
    if cfg.no_decay_bias_norm:  # released UMCL: no weight decay on biases (and "bn"-named parameters)
        exempt = {id(p) for p in no_decay_parameters(model)}
        groups = [
            {"params": [p for p in params if id(p) not in exempt], "weight_decay": cfg.weight_decay},
            {"params": [p for p in params if id(p) in exempt], "weight_decay": 0.0},
        ]
    # on CPU the fused kernel: one pass over all parameters instead of a loop of small per-tensor ops, the
    # same update up to float rounding (docs/pipeline.md, "Cutting the pulse default's cost"); elsewhere
    # torch's default implementation
    fused = all(p.device.type == "cpu" and p.dtype.is_floating_point for p in params)
    lr = cfg.lr_warmup if cfg.schedule == "paper" else cfg.lr
    return kind(groups, lr=lr, weight_decay=cfg.weight_decay, fused=fused or None)


#: name parts that exempt a parameter from weight decay under ``no_decay_bias_norm`` (released UMCL)
NO_DECAY_NAME_PARTS = ("bias", "bn", "batchnorm")


def no_decay_parameters(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """Parameters whose name contains "bias", "bn" or "batchnorm": the release's rule, by name. In the
    release's own model no BatchNorm is named so, so only biases are exempt there; the same holds for
    ours (docs/deviations/released.md)."""
    return [p for name, p in model.named_parameters() if any(part in name for part in NO_DECAY_NAME_PARTS)]
