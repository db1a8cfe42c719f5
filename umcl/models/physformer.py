"""PhysFormer (Yu et al., CVPR 2022): the UMCL P-encoder, video [B, 3, T, H, W] -> rPPG [B, T].

Architecture as published (ZitongYu/PhysFormer, "TDC07_sharp2_hid96_head4_layer12"):

* stem: three Conv3d + BN + ReLU + MaxPool3d(1, 2, 2) blocks, 3 -> dim/4 (kernel 1x5x5),
  dim/4 -> dim/2 (3x3x3), dim/2 -> dim (3x3x3); 128 px -> 16 px;
* tube tokens: Conv3d(dim -> dim, kernel = stride = patch_size = (4, 4, 4)), no positional embedding;
* ``num_layers`` pre-LayerNorm temporal-difference transformer blocks (three stages of equal depth,
  which only matter for the original's attention-map outputs, so the blocks are kept in one list):
  Q and K from a temporal centre-difference Conv3d (3x3x3, ``theta``) + BN, V from a 1x1x1 Conv3d,
  ``softmax(Q K^T / gra_sharp)`` with dropout, a linear output projection; a spatio-temporal
  feed-forward (1x1x1 conv + BN + ELU, depth-wise 3x3x3 + BN + ELU, 1x1x1 conv + BN);
* head: two temporal upsamplers (x2 nearest + Conv3d(3x1x1) + BN + ELU; the second halves the width)
  back to T, mean over H and W, Conv1d(dim/2 -> 1) -> one rPPG value per frame.

Paper profile (``frames=160, image_size=128``, defaults): 7.38 M parameters.

Choices (see docs/deviations/core.md, "Encoders and model"):

* UMCL writes the rPPG feature as ``z in R^{1x320}`` but also ``T = 100`` and 160 frames; PhysFormer
  emits one value per frame, so we keep ``K = T`` (160 in the paper profile) and let the projection
  ``W_rPPG`` map K -> d.
* The original fixes the token grid at 4x4; here the grid follows ``image_size`` so that small CPU
  profiles (e.g. 64x64 -> 2x2, 32x32 -> 1x1) run with the same code.
* Weights: :meth:`PhysFormer.load_pretrained` reads a local state dict in either this module's key
  layout or the official one (keys remapped by :func:`remap_official_key`). Nothing is downloaded.
  open-rppg's Keras weights (PURE, RLAP) are read by :mod:`umcl.models.open_rppg` into a model built
  with ``io="standardized"``: those weights expect each clip standardised per channel over time and
  space, give a signal standardised over time, and were trained with Keras' BatchNorm eps (1e-3);
  :meth:`PhysFormer.prepare` applies the input side of a model's convention.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from umcl.errors import ConfigError
from umcl.models.checkpoint import load_into, read_state_dict
from umcl.models.folded_trunk import FOLDED_FORM, folded_copy
from umcl.models.frozen_trunk import TrunkMemo, trunk_tensors


def vipl_normalize(frames: torch.Tensor) -> torch.Tensor:
    """Map frames in [0, 1] to the official PhysFormer VIPL-HR input scale ``(255 x - 127.5) / 128``."""
    return (frames * 255.0 - 127.5) / 128.0


def standardize_video(frames: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Per clip and channel, ``(x - mean) / (std + eps)`` over time and space (population std) of
    frames [B, 3, T, H, W] in [0, 1]: the input convention of open-rppg's PhysFormer weights."""
    mean = frames.mean(dim=(2, 3, 4), keepdim=True)
    std = frames.std(dim=(2, 3, 4), keepdim=True, unbiased=False)
    return (frames - mean) / (std + eps)


def standardize_signal(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """``(x - mean) / (std + eps)`` over time (last axis, population std): open-rppg's output convention."""
    return (x - x.mean(dim=-1, keepdim=True)) / (x.std(dim=-1, keepdim=True, unbiased=False) + eps)


#: input/output conventions a set of weights was trained with: ``vipl`` = official PhysFormer
#: (VIPL-HR scale in, raw signal out, torch's BatchNorm eps); ``standardized`` = open-rppg's Keras
#: weights (video standardised in, signal standardised out, Keras' BatchNorm eps 1e-3)
IO_CONVENTIONS = ("vipl", "standardized")


class CenterDiffConv3d(nn.Module):
    """Temporal centre-difference 3D convolution (CDC-T).

    ``y = conv(x) - theta * conv_{1x1x1}(x; sum of the kernel's non-centre temporal slices)``: the
    neighbouring frames' weights are compared against the centre frame, which emphasises temporal
    change. ``theta = 0`` gives a plain convolution.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 3, theta: float = 0.7, bias: bool = False
    ):
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias)
        self.theta = theta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        kt = self.conv.weight.shape[2]
        if self.theta == 0.0 or kt == 1:
            return out
        centre = kt // 2
        w = self.conv.weight
        diff = w.sum(dim=(3, 4)).sum(dim=2) - w[:, :, centre].sum(dim=(2, 3))  # [C_out, C_in]
        return out - self.theta * F.conv3d(x, diff[:, :, None, None, None], bias=self.conv.bias)

    def as_plain_conv(self) -> nn.Conv3d:
        """The one plain Conv3d this module equals, for inference (no gradient): ``conv(x; W) - theta *
        conv_1x1x1(x; D)``, with ``D`` the kernel's non-centre temporal slices summed, is ``conv(x; W')``
        where ``W'`` is ``W`` less ``theta * D`` at the kernel's centre tap (the 1x1x1 convolution reads
        exactly that position, zero padding included); a bias ``b`` becomes ``(1 - theta) * b``."""
        conv = copy.deepcopy(self.conv)
        w = conv.weight.detach().clone()
        kt, kh, kw = w.shape[2:]
        if self.theta != 0.0 and kt > 1:
            centre = kt // 2
            diff = w.sum(dim=(3, 4)).sum(dim=2) - w[:, :, centre].sum(dim=(2, 3))  # [C_out, C_in]
            w[:, :, centre, kh // 2, kw // 2] -= self.theta * diff
            if conv.bias is not None:
                conv.bias = nn.Parameter(conv.bias.detach() * (1.0 - self.theta), requires_grad=False)
        conv.weight = nn.Parameter(w, requires_grad=False)
        return conv


class TemporalDifferenceAttention(nn.Module):
    """Multi-head self-attention with CDC-T query/key projections and sharpened softmax."""

    def __init__(self, dim: int, num_heads: int, dropout: float, theta: float, gra_sharp: float):
        super().__init__()
        if dim % num_heads:
            raise ConfigError(f"PhysFormer dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.gra_sharp = gra_sharp
        self.proj_q = nn.Sequential(CenterDiffConv3d(dim, dim, 3, theta), nn.BatchNorm3d(dim))
        self.proj_k = nn.Sequential(CenterDiffConv3d(dim, dim, 3, theta), nn.BatchNorm3d(dim))
        self.proj_v = nn.Conv3d(dim, dim, 1, bias=False)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        b, n, c = x.shape
        vol = x.transpose(1, 2).reshape(b, c, *grid)

        def heads(t: torch.Tensor) -> torch.Tensor:  # [B, C, t, h, w] -> [B, heads, N, C/heads]
            return t.flatten(2).transpose(1, 2).reshape(b, n, self.num_heads, -1).transpose(1, 2)

        q, k, v = heads(self.proj_q(vol)), heads(self.proj_k(vol)), heads(self.proj_v(vol))
        attn = self.drop(torch.softmax(q @ k.transpose(-2, -1) / self.gra_sharp, dim=-1))
        return (attn @ v).transpose(1, 2).reshape(b, n, c)


class SpatioTemporalFeedForward(nn.Module):
    """1x1x1 expand + BN + ELU, depth-wise 3x3x3 + BN + ELU, 1x1x1 project + BN (on the token grid)."""

    def __init__(self, dim: int, ff_dim: int):
        super().__init__()
        self.expand = nn.Sequential(nn.Conv3d(dim, ff_dim, 1, bias=False), nn.BatchNorm3d(ff_dim), nn.ELU())
        self.depthwise = nn.Sequential(
            nn.Conv3d(ff_dim, ff_dim, 3, padding=1, groups=ff_dim, bias=False), nn.BatchNorm3d(ff_dim), nn.ELU()
        )
        self.project = nn.Sequential(nn.Conv3d(ff_dim, dim, 1, bias=False), nn.BatchNorm3d(dim))

    def forward(self, x: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        b, n, c = x.shape
        vol = x.transpose(1, 2).reshape(b, c, *grid)
        return self.project(self.depthwise(self.expand(vol))).flatten(2).transpose(1, 2)


class TemporalDifferenceBlock(nn.Module):
    """Pre-LN transformer block: ``x + drop(proj(attn(LN x)))``, then ``x + drop(ffn(LN x))``."""

    def __init__(self, dim: int, num_heads: int, ff_dim: int, dropout: float, theta: float, gra_sharp: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = TemporalDifferenceAttention(dim, num_heads, dropout, theta, gra_sharp)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.ffn = SpatioTemporalFeedForward(dim, ff_dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        x = x + self.drop(self.proj(self.attn(self.norm1(x), grid)))
        return x + self.drop(self.ffn(self.norm2(x), grid))


class StemMaxPool3d(nn.MaxPool3d):
    """The stem's ``nn.MaxPool3d((1, 2, 2))``, computed without autograd (scoring) as the maximum of
    the four strided 2x2 neighbours: the same maxima bit for bit (a maximum is exact), and faster
    than torch's CPU pooling kernel at the default's sizes (docs/pipeline.md).
    Under autograd the standard pool runs (its gradient goes to the first maximum of a window,
    where ``torch.maximum`` would split ties), so training is unchanged. Test: tests/test_physformer.py."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            (torch.is_grad_enabled() and x.requires_grad)
            or x.dim() != 5
            or self.kernel_size != (1, 2, 2)
            or self.stride != (1, 2, 2)
            or self.padding != 0
            or self.dilation != 1
            or self.ceil_mode
        ):
            return super().forward(x)
        h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
        x = x[..., :h, :w]
        return torch.maximum(
            torch.maximum(x[..., 0::2, 0::2], x[..., 1::2, 0::2]), torch.maximum(x[..., 0::2, 1::2], x[..., 1::2, 1::2])
        )


def _stem_block(cin: int, cout: int, kernel: tuple[int, int, int]) -> nn.Sequential:
    pad = tuple(k // 2 for k in kernel)
    return nn.Sequential(
        nn.Conv3d(cin, cout, kernel, padding=pad),
        nn.BatchNorm3d(cout),
        nn.ReLU(inplace=True),
        StemMaxPool3d((1, 2, 2), stride=(1, 2, 2)),
    )


def _temporal_upsampler(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Upsample(scale_factor=(2, 1, 1)),
        nn.Conv3d(cin, cout, (3, 1, 1), padding=(1, 0, 0)),
        nn.BatchNorm3d(cout),
        nn.ELU(),
    )


class PhysFormerHead(nn.Module):
    """Two x2 temporal upsamplers, spatial mean, Conv1d(dim/2 -> 1): tokens -> rPPG [B, T]."""

    def __init__(self, dim: int):
        super().__init__()
        self.up1 = _temporal_upsampler(dim, dim)
        self.up2 = _temporal_upsampler(dim, dim // 2)
        self.out = nn.Conv1d(dim // 2, 1, 1)

    def forward(self, vol: torch.Tensor) -> torch.Tensor:
        feat = self.up2(self.up1(vol)).mean(dim=(3, 4))  # [B, dim/2, T]
        return self.out(feat).squeeze(1)


class PhysFormer(nn.Module):
    """PhysFormer rPPG estimator; ``forward(video [B, 3, T, H, W]) -> rPPG [B, T]``."""

    #: stem channel widths relative to ``dim`` and the spatial pooling of the stem (three /2 pools)
    STEM_POOL = 8

    def __init__(
        self,
        frames: int = 160,
        image_size: int = 128,
        patch_size: tuple[int, int, int] = (4, 4, 4),
        dim: int = 96,
        ff_dim: int = 144,
        num_heads: int = 4,
        num_layers: int = 12,
        theta: float = 0.7,
        gra_sharp: float = 2.0,
        dropout: float = 0.1,
        in_channels: int = 3,
        io: str = "vipl",
    ):
        super().__init__()
        if io not in IO_CONVENTIONS:
            raise ConfigError(f"PhysFormer io convention {io!r} is not one of {IO_CONVENTIONS}")
        pt, ph, pw = patch_size
        if pt != 4:
            raise ConfigError(f"PhysFormer temporal patch size must be 4 (two x2 upsamplers), got {pt}")
        feat = image_size // self.STEM_POOL
        if image_size % self.STEM_POOL or feat % ph or feat % pw or frames % pt:
            raise ConfigError(
                f"PhysFormer sizes do not tile: frames={frames}, image_size={image_size}, patch_size={patch_size}",
                fix="use frames divisible by 4 and image_size divisible by 8 x patch size",
            )
        if dim % 4:
            raise ConfigError(f"PhysFormer dim must be divisible by 4, got {dim}")
        self.frames, self.image_size, self.dim, self.num_heads, self.io = frames, image_size, dim, num_heads, io
        self.grid = (frames // pt, feat // ph, feat // pw)
        self.stem = nn.Sequential(
            _stem_block(in_channels, dim // 4, (1, 5, 5)),
            _stem_block(dim // 4, dim // 2, (3, 3, 3)),
            _stem_block(dim // 2, dim, (3, 3, 3)),
        )
        self.tube_embed = nn.Conv3d(dim, dim, kernel_size=patch_size, stride=patch_size)
        self.blocks = nn.ModuleList(
            TemporalDifferenceBlock(dim, num_heads, ff_dim, dropout, theta, gra_sharp) for _ in range(num_layers)
        )
        self.head = PhysFormerHead(dim)
        #: set by :meth:`freeze_trunk`
        self.trunk_memo: TrunkMemo | None = None
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.normal_(m.bias, std=1e-6)
            if isinstance(m, nn.BatchNorm3d) and io == "standardized":
                m.eps = 1e-3  # Keras' BatchNormalization default, part of what those weights are
        # channels-last 3D convolution weights (inputs follow in :meth:`_trunk`): oneDNN's 3D convolutions run
        # faster on CPU in that layout (docs/pipeline.md); the values equal the default layout's up to float
        # rounding, which training can carry into different weights
        self.to(memory_format=torch.channels_last_3d)

    def prepare(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames [B, 3, T, H, W] in [0, 1] -> this model's input scale (its ``io`` convention)."""
        return standardize_video(frames) if self.io == "standardized" else vipl_normalize(frames)

    def forward(
        self, video: torch.Tensor, any_spatial_size: bool = False, return_tokens: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """rPPG [B, T] of ``video`` [B, 3, T, H, W]; ``any_spatial_size`` accepts any H x W that tiles
        (the ``umcl-released`` variant's 1/2 and 1/4 size views, umcl.released), else the built size only.
        ``return_tokens``: also the tokens after the first and the second third of the blocks, joined
        along the token axis [B, 2N, dim] (the released variant's appearance pathway, :meth:`tap_blocks`)."""
        b, _, t, h, w = video.shape
        grid = self.grid
        if any_spatial_size and t == self.frames:
            grid = self.spatial_grid(h, w)
        elif (t, h, w) != (self.frames, self.image_size, self.image_size):
            raise ValueError(f"PhysFormer built for {self.frames}x{self.image_size}x{self.image_size}, got {t}x{h}x{w}")
        # a frozen trunk's output is kept per clip, unless a gradient must flow back through it to the input
        if self.trunk_memo is not None and not return_tokens and not video.requires_grad:
            tokens = self.trunk_memo.tokens(self.trunk_modules(), lambda v: self._frozen_trunk(v, grid), video, "input")
            tapped = []
        else:
            tokens, tapped = self._trunk(video, grid, return_tokens)
        rppg = self._head_out(tokens, b, grid)
        return (rppg, torch.cat(tapped, dim=1)) if return_tokens else rppg

    def tokens_from(
        self, clips: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor], tag: str
    ) -> torch.Tensor:
        """The trunk's tokens [B, N, dim] of ``transform(clips)`` (:meth:`head_out` turns them into rPPG).
        With a frozen trunk they are kept per clip of ``clips`` and ``tag`` (which names ``transform``: a
        view, the input scaling), so for a clip seen before neither ``transform`` nor the trunk runs."""
        if self.trunk_memo is None or clips.requires_grad:
            return self._trunk(transform(clips), self.grid)[0]
        return self.trunk_memo.tokens(
            self.trunk_modules(), lambda c: self._frozen_trunk(transform(c), self.grid), clips, tag
        )

    def head_out(self, tokens: torch.Tensor) -> torch.Tensor:
        """rPPG [B, T] from the trunk's tokens [B, N, dim] of clips of the built size."""
        return self._head_out(tokens, tokens.shape[0], self.grid)

    def _head_out(self, tokens: torch.Tensor, b: int, grid: tuple[int, int, int]) -> torch.Tensor:
        """The head on tokens [B, N, dim]: rPPG [B, T] (standardised over time for ``io="standardized"``)."""
        out = self.head(tokens.transpose(1, 2).reshape(b, self.dim, *grid))
        return standardize_signal(out) if self.io == "standardized" else out

    def _trunk(
        self,
        video: torch.Tensor,
        grid: tuple[int, int, int],
        return_tokens: bool = False,
        modules: list[nn.Module] | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Stem, tube embedding and transformer blocks (``modules``, default this model's own): tokens
        [B, N, dim] (and the tapped ones)."""
        stem, tube_embed, blocks = modules or self.trunk_modules()
        video = video.contiguous(memory_format=torch.channels_last_3d)
        tokens = tube_embed(stem(video)).flatten(2).transpose(1, 2)  # [B, N, dim]
        taps, tapped = self.tap_blocks(), []
        for i, block in enumerate(blocks, 1):
            tokens = block(tokens, grid)
            if return_tokens and i in taps:
                tapped.append(tokens)
        return tokens, tapped

    def trunk_modules(self) -> list[nn.Module]:
        """The modules before the head: what :meth:`freeze_trunk` freezes."""
        return [self.stem, self.tube_embed, self.blocks]

    def _frozen_trunk(self, video: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        """The frozen trunk's tokens of ``video``, computed by its BatchNorm-folded copy
        (:mod:`umcl.models.folded_trunk`), rebuilt whenever a trunk weight changed (a checkpoint loaded
        into it copies in place, which bumps the tensors' versions)."""
        _, versions = trunk_tensors(self.trunk_modules())
        folded = self.__dict__.get("_folded")
        if folded is None or folded[0] != versions:
            folded = (versions, folded_copy(self.trunk_modules()))
            self.__dict__["_folded"] = folded  # not a submodule: never saved, never trained
        return self._trunk(video, grid, modules=folded[1])[0]

    def freeze_trunk(self, cache_dir: str | Path | None = None) -> None:
        """Keep the trunk's weights as they are (no gradient, always eval mode) and compute its output
        once per clip (:class:`umcl.models.frozen_trunk.TrunkMemo`, on disk in ``cache_dir`` if given);
        only the head trains."""
        for module in self.trunk_modules():
            module.requires_grad_(False)
        self.trunk_memo = TrunkMemo(cache_dir, form=FOLDED_FORM)
        self.train(self.training)

    def train(self, mode: bool = True) -> PhysFormer:
        """As :meth:`nn.Module.train`, but a frozen trunk stays in eval mode."""
        super().train(mode)
        if self.trunk_memo is not None:
            for module in self.trunk_modules():
                module.eval()
        return self

    def tap_blocks(self) -> tuple[int, int]:
        """The blocks (1-based) after which ``return_tokens`` taps: the ends of the first two of three
        equal stages (PhysFormer's transformer1 and transformer2); at least one block per stage."""
        per_stage = max(1, len(self.blocks) // 3)
        return per_stage, min(2 * per_stage, len(self.blocks))

    def spatial_grid(self, h: int, w: int) -> tuple[int, int, int]:
        """Token grid of an ``h`` x ``w`` input (ValueError when it does not tile the stem and patches)."""
        _, ph, pw = self.tube_embed.kernel_size
        if h % (self.STEM_POOL * ph) or w % (self.STEM_POOL * pw):
            raise ValueError(f"a {h}x{w} input does not tile the stem (/{self.STEM_POOL}) and the {ph}x{pw} patches")
        return (self.grid[0], h // self.STEM_POOL // ph, w // self.STEM_POOL // pw)

    def load_pretrained(self, path: str | Path) -> None:
        """Load a local state dict (this layout or the official ZitongYu/PhysFormer one)."""
        state = read_state_dict(path, "PhysFormer")
        per_stage = max(1, len(self.blocks) // 3)
        load_into(self, state, path, "PhysFormer", remap=lambda k: remap_official_key(k, per_stage))


_OFFICIAL_RENAMES = (
    (r"^Stem([0-2])\.", r"stem.\1."),
    (r"^patch_embedding\.", "tube_embed."),
    (r"\.attn\.proj_v\.0\.", ".attn.proj_v."),
    (r"\.pwff\.fc1\.", ".ffn.expand."),
    (r"\.pwff\.STConv\.", ".ffn.depthwise."),
    (r"\.pwff\.fc2\.", ".ffn.project."),
    (r"^upsample\.", "head.up1."),
    (r"^upsample2\.", "head.up2."),
    (r"^ConvBlockLast\.", "head.out."),
)


def remap_official_key(key: str, blocks_per_stage: int = 4) -> str:
    """Map an official PhysFormer state-dict key to this module's layout (other keys pass through).

    ``transformer{s}.blocks.{i}.`` (s = 1..3) becomes ``blocks.{(s-1) * blocks_per_stage + i}.``.
    """
    match = re.match(r"^transformer([1-3])\.blocks\.(\d+)\.", key)
    if match:
        index = (int(match.group(1)) - 1) * blocks_per_stage + int(match.group(2))
        key = f"blocks.{index}." + key[match.end() :]
    for pattern, repl in _OFFICIAL_RENAMES:
        key = re.sub(pattern, repl, key)
    return key


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


__all__ = [
    "PhysFormer",
    "CenterDiffConv3d",
    "vipl_normalize",
    "standardize_video",
    "standardize_signal",
    "IO_CONVENTIONS",
    "remap_official_key",
    "count_parameters",
]
