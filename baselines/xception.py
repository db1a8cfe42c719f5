"""Xception baseline of FaceForensics++ (Rössler et al., ICCV 2019), registered as ``"xception"``.

The FF++ detector is Chollet's Xception with its 1000-way ImageNet head replaced by a 2-way
linear layer, applied to single face crops (the tracked box enlarged 1.3x, resized to 299x299,
normalised with mean = std = 0.5). It is trained on frames: every frame of a video carries the
video's label and the loss is the frame-level cross-entropy. A video's score is the mean of its
frames' fake probabilities.

Backbone: timm's ``legacy_xception`` (the Cadene port FF++ used), always created with
``pretrained=False`` so nothing is downloaded. FF++ starts from ImageNet weights; pass a local
file with ``pretrained_path`` to do the same (``weights_source`` records what was used). The
network is fully convolutional with global average pooling, so ``image_size`` may be smaller
than 299 (CPU tests use 64 px); the paper size is 299.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from umcl.detector import Detector
from umcl.errors import UmclError
from umcl.models.checkpoint import load_into, read_state_dict
from umcl.registry import register_detector

#: FF++ / Cadene normalisation of the Xception input
XCEPTION_MEAN = (0.5, 0.5, 0.5)
XCEPTION_STD = (0.5, 0.5, 0.5)


@dataclass
class XceptionConfig:
    """Settings of the FF++ Xception baseline.

    ``image_size``: side of the square input crop (299 in FF++; any size >= 32 works).
    ``pretrained_path``: local ImageNet checkpoint (timm ``legacy_xception`` or Cadene
    ``xception-b5690688.pth`` layout); ``None`` trains from scratch.
    ``drop_rate``: dropout before the 2-way head (FF++ ``TransferModel`` default 0.0).
    ``head_warmup_epochs``: with ImageNet weights (``pretrained_path``), FF++ first trains only the
    new head for 3 epochs, then the whole network (:meth:`XceptionDetector.on_epoch_start`, called
    by the trainer with 1-based epochs). From scratch there is nothing to protect, so the warm-up
    is skipped and the backbone trains from the first epoch (docs/deviations/training.md).
    Optimiser, lr, batch and epochs: ``umcl.training.config.SOURCE_RECIPES["xception"]``.
    """

    image_size: int = 299
    pretrained_path: str | None = None
    drop_rate: float = 0.0
    head_warmup_epochs: int = 3

    @classmethod
    def tiny(cls) -> XceptionConfig:
        """A small configuration for CPU tests (64 px crops, no warm-up)."""
        return cls(image_size=64, head_warmup_epochs=0)


def load_imagenet_xception(model: nn.Module, path: str | Path) -> None:
    """Load ImageNet weights from a local file into a 2-class ``legacy_xception``.

    Accepts the timm layout (``fc.*``) and the Cadene layout (``last_linear.*``, 2-D pointwise
    kernels). The ImageNet head is dropped (the 2-way head keeps its fresh initialisation);
    every other parameter must match, else a one-line :class:`UmclError`.
    """
    state = read_state_dict(path, "ImageNet Xception")
    own = model.state_dict()
    converted = {}
    for key, value in state.items():
        if key.startswith(("last_linear.", "fc.")):
            continue
        if key in own and value.dim() == 2 and own[key].dim() == 4:
            value = value[:, :, None, None]  # Cadene stores pointwise kernels as 2-D
        converted[key] = value
    converted.update({k: v for k, v in own.items() if k.startswith("fc.")})
    load_into(model, converted, path, "ImageNet Xception")


@register_detector("xception", config=XceptionConfig)
class XceptionDetector(Detector):
    """Frame-level Xception (FF++) with video score = mean frame probability of fake."""

    inputs: ClassVar[tuple[str, ...]] = ("xception_faces",)
    #: the network, a pure function of the crops in eval mode (Detector.memo_modules)
    memo_modules: ClassVar[tuple[str, ...]] = ("net",)

    def __init__(self, cfg: XceptionConfig):
        super().__init__()
        if cfg.image_size < 32:
            raise UmclError(
                f"detectors.xception.image_size={cfg.image_size} is too small", fix="use at least 32 (299 in the paper)"
            )
        self.cfg = cfg
        import timm  # here, not at module level: timm pulls in torchvision, which every job's config check paid for

        self.net = timm.create_model("legacy_xception", pretrained=False, num_classes=2, drop_rate=cfg.drop_rate)
        if cfg.pretrained_path:
            load_imagenet_xception(self.net, cfg.pretrained_path)
            self.weights_source = f"imagenet:{cfg.pretrained_path}"
        else:
            self.weights_source = "scratch"
        # channels-last weights and inputs: oneDNN's CPU convolutions are faster in that layout (measured in
        # docs/pipeline.md); the values are those of the default layout up to float rounding
        self.net = self.net.to(memory_format=torch.channels_last)
        self.register_buffer("mean", torch.tensor(XCEPTION_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(XCEPTION_STD).view(1, 3, 1, 1), persistent=False)

    def set_backbone_frozen(self, frozen: bool) -> None:
        """Freeze (FF++ head warm-up) or unfreeze everything but the 2-way head."""
        for name, param in self.net.named_parameters():
            param.requires_grad_(name.startswith("fc.") or not frozen)

    @property
    def warmup_epochs(self) -> int:
        """Head-only epochs: ``head_warmup_epochs`` with ImageNet weights, 0 from scratch (a random
        backbone frozen during the high-lr epochs would only waste them)."""
        return self.cfg.head_warmup_epochs if self.cfg.pretrained_path else 0

    def on_epoch_start(self, epoch: int) -> None:
        """FF++ protocol: only the new head trains for the first :attr:`warmup_epochs` epochs."""
        self.set_backbone_frozen(epoch <= self.warmup_epochs)

    def frame_logits(self, faces: torch.Tensor) -> torch.Tensor:
        """Per-frame logits [B, F, 2] for crops [B, F, 3, X, X] in [0, 1]."""
        if faces.dim() != 5 or faces.shape[2] != 3:
            raise UmclError(
                f"xception_faces must be [B, F, 3, X, X], got {list(faces.shape)}",
                fix="check the batch built from the cache's xception_faces",
            )
        b, f = faces.shape[:2]
        x = faces.flatten(0, 1)
        if x.shape[-1] != self.cfg.image_size or x.shape[-2] != self.cfg.image_size:
            x = F.interpolate(
                x, size=(self.cfg.image_size, self.cfg.image_size), mode="bilinear", align_corners=False, antialias=True
            )
        x = ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        return self.net(x).view(b, f, 2)

    def forward(self, batch: dict) -> dict:
        frame_logits = self.frame_logits(batch["xception_faces"])
        prob = torch.softmax(frame_logits.float(), dim=-1).mean(dim=1)  # [B, 2], rows sum to 1
        return {
            "frame_logits": frame_logits,
            "prob_fake": prob[:, 1],
            # log of the mean frame probabilities: softmax(logits) gives back the video score
            "logits": torch.log(prob.clamp_min(1e-12)),
        }

    def loss(self, batch: dict, output: dict) -> dict[str, torch.Tensor]:
        """Frame-level cross-entropy, each frame labelled with its video's label (FF++)."""
        fl = output["frame_logits"]
        labels = batch["label"].repeat_interleave(fl.shape[1])
        ce = F.cross_entropy(fl.flatten(0, 1), labels)
        return {"total": ce, "ce_frame": ce}
