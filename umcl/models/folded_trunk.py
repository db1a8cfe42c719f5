"""An inference copy of a frozen PhysFormer trunk with each BatchNorm folded into its convolution.

A frozen trunk runs in eval mode, where BatchNorm is a fixed per-channel affine map
``y = (x - mean) / sqrt(var + eps) * gamma + beta``. Applied to a convolution's output it can be
folded into that convolution's weights and bias (the standard conv-BN fusion of inference engines),
which removes a full pass over every activation: in the stem, where the activations are largest,
that pass costs about a fifth of a trunk's time on CPU (docs/pipeline.md, "Cutting the pulse
default's cost"). A temporal centre-difference convolution (CDC-T) is first rewritten as the one
plain convolution it equals (:meth:`umcl.models.physformer.CenterDiffConv3d.as_plain_conv`).

The folded copy computes the same function as the trunk; its values differ from the unfolded ones
by float rounding only (tests/test_folded_trunk.py). It is used only where no gradient flows through
the trunk (:meth:`umcl.models.physformer.PhysFormer.tokens_from` and ``forward`` through the memo).
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

#: how a frozen trunk's tokens are computed here (:class:`umcl.models.frozen_trunk.TrunkMemo` keeps entries
#: of another computation apart)
FOLDED_FORM = "bnfold"


def _fold_sequential(seq: nn.Sequential) -> None:
    """In place: every (convolution, BatchNorm3d) pair of ``seq`` becomes (fused convolution, Identity). A
    convolution is an ``nn.Conv3d`` or a module that says which one it equals (``as_plain_conv()``: the
    temporal centre-difference convolution of :mod:`umcl.models.physformer`)."""
    for i in range(len(seq) - 1):
        conv, bn = seq[i], seq[i + 1]
        if not isinstance(bn, nn.BatchNorm3d):
            continue
        if hasattr(conv, "as_plain_conv"):
            conv = conv.as_plain_conv()
        if not isinstance(conv, nn.Conv3d):
            continue
        seq[i] = fuse_conv_bn_eval(conv.eval(), bn.eval())
        seq[i + 1] = nn.Identity()


def folded_copy(modules: list[nn.Module]) -> list[nn.Module]:
    """Eval-mode copies of ``modules`` (a trunk: stem, tube embedding, blocks) with every convolution
    followed by a BatchNorm3d fused with it; the originals are untouched. No parameter requires grad."""
    copies = [copy.deepcopy(m).eval() for m in modules]
    for root in copies:
        for seq in [m for m in root.modules() if isinstance(m, nn.Sequential)]:
            _fold_sequential(seq)
        root.requires_grad_(False)
        root.to(memory_format=torch.channels_last_3d)
    return copies


__all__ = ["FOLDED_FORM", "folded_copy"]
