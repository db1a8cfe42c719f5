"""The detector contract shared by UMCL and every baseline.

A batch is a dict of tensors (see ``docs/contracts.md``):

* ``frames``      float32 [B, 3, T, S, S] face crops in [0, 1] (the HQ view)
* ``frames_lq``   optional float32 [B, 3, T, S, S]: a real low-quality view (Table 11 ablation)
* ``landmarks``   float32 [B, T, 136] calibrated, normalised landmarks (LRNet format)
* ``landmarks_lq`` optional, like ``landmarks``
* ``xception_faces`` float32 [B, F, 3, X, X] enlarged face crops in [0, 1]
* ``label``       int64 [B], 1 = fake, 0 = real
* ``key``         list[str] video keys (dataset/method/compression/id)

A detector reads only the keys listed in ``inputs``.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn


class Detector(nn.Module):
    """Base class: ``forward(batch) -> dict`` with ``logits`` [B, 2]; ``loss`` -> named terms."""

    registry_name: ClassVar[str] = ""
    #: batch keys this detector needs
    inputs: ClassVar[tuple[str, ...]] = ()
    #: key of the test-time condition a batch without ``"condition"`` is evaluated under
    #: (umcl.conditions; a class attribute, never a config field, so never in a run fingerprint)
    default_condition: ClassVar[str] = "clean"
    #: submodules whose eval-mode output depends on their arguments alone (no dropout, no random draw,
    #: no batch statistics): an evaluation reuses their outputs across test conditions
    #: (umcl.evaluation.memo.EncoderMemo); absent ones (an ablation's missing modality) are skipped
    memo_modules: ClassVar[tuple[str, ...]] = ()

    def forward(self, batch: dict) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def on_epoch_start(self, epoch: int) -> None:
        """Called by the trainer before each training epoch (1-based); e.g. to freeze a backbone."""

    def loss(self, batch: dict, output: dict) -> dict[str, torch.Tensor]:
        """Named loss terms; ``total`` is what the trainer minimises."""
        ce = nn.functional.cross_entropy(output["logits"], batch["label"])
        return {"total": ce, "bce": ce}

    def affinity_scores(self, batch: dict, output: dict) -> dict[str, float]:
        """Per-view, per-class affinity of each modality pair (Figure 9; logged by the trainer every
        ``training.affinity_log_every`` steps). Empty for detectors without modality alignment."""
        return {}

    @torch.no_grad()
    def score(self, output: dict) -> torch.Tensor:
        """Per-video probability of *fake*, shape [B]."""
        if "prob_fake" in output:
            return output["prob_fake"]
        return torch.softmax(output["logits"].float(), dim=-1)[:, 1]
