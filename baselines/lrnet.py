"""LRNet baseline (Sun et al., CVPR 2021), registered as ``"lrnet"``.

As published (frederickszk/LRNet, ``training/``): a video's calibrated landmark sequence
``[T, 136]`` is cut into fixed-length blocks (``BLOCK_SIZE: 30``); every block carries its video's
label. Stream g1 classifies the block itself (30 x 136), stream g2 its frame differences
(29 x 136). The two streams are trained on blocks with their own cross-entropy (the original
trains them one after the other with Adam, lr 1e-3; their parameters are disjoint, so summing
the two losses gives each stream exactly its own gradient). At test time a block's fake
probability is the average of the two streams' probabilities, and a video's score is the mean
over its blocks.

The streams are :class:`umcl.models.lrnet.LandmarkEncoder` (g1 + g2, about 41 k parameters each),
so a trained baseline exports straight into UMCL's L-encoder: :meth:`LRNetDetector.export_weights`
writes the ``g1.*``/``g2.*`` checkpoint that ``LandmarkEncoder.load_pretrained`` reads.

Choices (docs/deviations/training.md, "Baselines"):

* Blocks start at ``0, stride, 2*stride, ...`` and every *full* block is used. The original loop
  ``range(0, T - block, block)`` skips the last full block when ``T`` is a multiple of the block
  length (an off-by-one); ``block_stride`` defaults to the block length (non-overlapping, as
  published).
* A video shorter than one block is an error (the original silently yields no sample).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch.nn import functional as F

from umcl.detector import Detector
from umcl.errors import UmclError
from umcl.io_utils import atomic_path
from umcl.models.lrnet import FEATURE_SIZE, LandmarkEncoder
from umcl.registry import register_detector


@dataclass
class LRNetConfig:
    """Settings of the LRNet baseline (defaults = the published ``args_train.yaml`` / model).

    ``block_size``: frames per block (g1 input; g2 gets ``block_size - 1`` differences).
    ``block_stride``: step between block starts (``None`` = ``block_size``, non-overlapping).
    ``hidden_size``: BiGRU units per direction (feature 2 x 32 = 64 per stream).
    ``landmark_dropout``: probability of dropping a whole landmark point (training only).
    ``dropout``: dropout around the residual MLP.
    ``pretrained_path``: optional local LRNet weights: a merged checkpoint (``g1.*``/``g2.*`` or
    official keys), or a folder holding the published pair ``g1.pth`` + ``g2.pth``
    (:func:`umcl.models.lrnet.read_lrnet_weights`, the same reader as UMCL's L-encoder).
    """

    block_size: int = 30
    block_stride: int | None = None
    hidden_size: int = 32
    landmark_dropout: float = 0.1
    dropout: float = 0.5
    mlp_hidden: int = 64
    pretrained_path: str | None = None

    @classmethod
    def tiny(cls) -> LRNetConfig:
        """A small configuration for CPU tests (10-frame blocks, half overlap)."""
        return cls(block_size=10, block_stride=5)


def landmark_blocks(landmarks: torch.Tensor, block_size: int, stride: int) -> torch.Tensor:
    """Cut ``[B, T, 136]`` into every full block: ``[B, n_blocks, block_size, 136]``.

    Block ``k`` covers frames ``k*stride ... k*stride + block_size - 1``;
    ``n_blocks = (T - block_size) // stride + 1``.
    """
    if landmarks.dim() != 3 or landmarks.shape[-1] != FEATURE_SIZE:
        raise UmclError(
            f"landmarks must be [B, T, {FEATURE_SIZE}], got {list(landmarks.shape)}",
            fix="check the batch built from the cache's landmarks",
        )
    if landmarks.shape[1] < block_size:
        raise UmclError(
            f"video has {landmarks.shape[1]} landmark frames, fewer than one LRNet block ({block_size})",
            fix="use longer clips or a smaller detectors.lrnet.block_size",
        )
    return landmarks.unfold(1, block_size, stride).transpose(2, 3)


@register_detector("lrnet", config=LRNetConfig)
class LRNetDetector(Detector):
    """Two-stream LRNet on landmark blocks; video score = mean over blocks of the streams' mean."""

    inputs: ClassVar[tuple[str, ...]] = ("landmarks",)

    def __init__(self, cfg: LRNetConfig):
        super().__init__()
        if cfg.block_size < 2:
            raise UmclError(f"detectors.lrnet.block_size={cfg.block_size} is too small", fix="use >= 2 (30 published)")
        if cfg.block_stride is not None and cfg.block_stride < 1:
            raise UmclError(f"detectors.lrnet.block_stride={cfg.block_stride} must be >= 1")
        self.cfg = cfg
        self.stride = cfg.block_stride or cfg.block_size
        self.encoder = LandmarkEncoder(
            hidden_size=cfg.hidden_size,
            landmark_dropout=cfg.landmark_dropout,
            dropout=cfg.dropout,
            mlp_hidden=cfg.mlp_hidden,
        )
        self.weights_source = "scratch"
        if cfg.pretrained_path:
            self.encoder.load_pretrained(cfg.pretrained_path)
            self.weights_source = f"lrnet:{cfg.pretrained_path}"

    def forward(self, batch: dict) -> dict:
        blocks = landmark_blocks(batch["landmarks"], self.cfg.block_size, self.stride)
        b, n = blocks.shape[:2]
        enc = self.encoder(blocks.flatten(0, 1))  # g1 on blocks, g2 on their frame differences
        logits_g1 = enc["logits_g1"].view(b, n, 2)
        logits_g2 = enc["logits_g2"].view(b, n, 2)
        block_prob = 0.5 * (torch.softmax(logits_g1.float(), -1) + torch.softmax(logits_g2.float(), -1))
        video_prob = block_prob.mean(dim=1)  # [B, 2]
        return {
            "logits_g1": logits_g1,
            "logits_g2": logits_g2,
            "block_prob_fake": block_prob[..., 1],
            "prob_fake": video_prob[:, 1],
            "logits": torch.log(video_prob.clamp_min(1e-12)),
        }

    def loss(self, batch: dict, output: dict) -> dict[str, torch.Tensor]:
        """Block-level CE of each stream, every block labelled with its video's label."""
        n = output["logits_g1"].shape[1]
        labels = batch["label"].repeat_interleave(n)
        ce_g1 = F.cross_entropy(output["logits_g1"].flatten(0, 1), labels)
        ce_g2 = F.cross_entropy(output["logits_g2"].flatten(0, 1), labels)
        return {"total": ce_g1 + ce_g2, "ce_g1": ce_g1, "ce_g2": ce_g2}

    def export_weights(self, path: str | Path) -> Path:
        """Write the two streams (``g1.*``, ``g2.*``) for ``LandmarkEncoder.load_pretrained``."""
        path = Path(path)
        with atomic_path(path) as tmp:
            torch.save({k: v.detach().cpu() for k, v in self.encoder.state_dict().items()}, tmp)
        return path
