"""LRNet (Sun et al., CVPR 2021): landmark-trajectory streams, and the UMCL L-encoder built from them.

One stream (:class:`LRNetStream`), as published (frederickszk/LRNet), about 41 k parameters:
landmark dropout (whole points, p = 0.1, training only) -> BiGRU (136 -> 2 x 32, learned initial
state) -> concatenated final hidden states (64) -> dropout 0.5 -> residual MLP 64 -> 64 -> 64
(ReLU, dropout 0.5 inside) -> dropout 0.5 -> Linear 64 -> 2.

Two streams: ``g1`` reads the landmark sequence, ``g2`` its frame differences (one step shorter).
:class:`LandmarkEncoder` is UMCL's L-encoder: each stream's 64-d feature (the residual-MLP output,
i.e. the input of its Linear head), concatenated to ``e in R^128`` (UMCL eq. 3). Both classes take
sequences of any length (LRNet's baseline uses 30-frame blocks, UMCL the whole T-frame clip).

Landmark layout: 136 = 68 points x (x, y), interleaved (``[T, 68, 2]`` flattened), normalised
``(p - 200) / 200`` in the 400 px calibration crop (docs/contracts.md).

State-dict keys (checkpoint format of :meth:`LandmarkEncoder.load_pretrained`)::

    g1.hidden_state            [2, 1, 32]     learned initial GRU state (both directions)
    g1.gru.weight_ih_l0 ...    BiGRU weights (``_reverse`` for the backward direction)
    g1.mlp.fc1.{weight,bias}   residual MLP 64 -> 64
    g1.mlp.fc2.{weight,bias}   residual MLP 64 -> 64
    g1.head.{weight,bias}      Linear 64 -> 2
    g2.<same>                  frame-difference stream

Any common prefix before ``g1.``/``g2.`` (e.g. a baseline detector's ``encoder.``) is stripped, and
the official per-stream key names (``dense.1.fn.net.0`` ...) are accepted too. The published pair
of single-stream files ``g1.pth`` + ``g2.pth`` is read as distributed (:func:`read_lrnet_weights`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from umcl.errors import UmclError
from umcl.models.checkpoint import load_into, read_state_dict

NUM_POINTS = 68
FEATURE_SIZE = 2 * NUM_POINTS


class LandmarkDropout(nn.Module):
    """Drop whole landmark points (both coordinates, every frame) with probability ``p``; training only.

    A fresh mask per sample (the original draws one mask per batch); kept points are scaled by
    ``1 / (1 - p)`` as in inverted dropout.
    """

    def __init__(self, p: float = 0.1):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"landmark dropout must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        b, _, f = x.shape
        keep = torch.bernoulli(torch.full((b, 1, f // 2, 1), 1.0 - self.p, device=x.device, dtype=x.dtype))
        return (x.reshape(b, -1, f // 2, 2) * keep / (1.0 - self.p)).reshape(x.shape)


class ResidualMLP(nn.Module):
    """``x + fc2(dropout(relu(fc1(x))))``."""

    def __init__(self, dim: int = 64, hidden: int = 64, dropout: float = 0.5):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc2(self.drop(torch.relu(self.fc1(x))))


class LRNetStream(nn.Module):
    """One LRNet stream: ``forward(seq [B, L, 136]) -> (feature [B, 2*hidden], logits [B, 2])``."""

    def __init__(
        self,
        feature_size: int = FEATURE_SIZE,
        hidden_size: int = 32,
        landmark_dropout: float = 0.1,
        dropout: float = 0.5,
        mlp_hidden: int = 64,
        num_classes: int = 2,
    ):
        super().__init__()
        self.feature_dim = 2 * hidden_size
        self.landmark_dropout = LandmarkDropout(landmark_dropout)
        self.hidden_state = nn.Parameter(torch.randn(2, 1, hidden_size))
        self.gru = nn.GRU(feature_size, hidden_size, batch_first=True, bidirectional=True)
        self.drop_in = nn.Dropout(dropout)
        self.mlp = ResidualMLP(self.feature_dim, mlp_hidden, dropout)
        self.drop_out = nn.Dropout(dropout)
        self.head = nn.Linear(self.feature_dim, num_classes)

    def features(self, seq: torch.Tensor) -> torch.Tensor:
        """The 64-d stream feature (residual-MLP output, before the head's dropout)."""
        seq = self.landmark_dropout(seq)
        _, hidden = self.gru(seq, self.hidden_state.expand(-1, seq.shape[0], -1).contiguous())
        return self.mlp(self.drop_in(torch.cat([hidden[0], hidden[1]], dim=1)))

    def forward(self, seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = self.features(seq)
        return feat, self.head(self.drop_out(feat))


def frame_differences(landmarks: torch.Tensor) -> torch.Tensor:
    """``landmarks[:, 1:] - landmarks[:, :-1]`` (the g2 stream's input, one step shorter)."""
    return landmarks[:, 1:] - landmarks[:, :-1]


class LandmarkEncoder(nn.Module):
    """UMCL L-encoder: g1 on landmarks, g2 on frame differences; ``e = [f_g1, f_g2]`` (128-d).

    ``forward(landmarks [B, L, 136]) -> dict(e [B, 128], logits_g1 [B, 2], logits_g2 [B, 2])``.
    """

    def __init__(
        self,
        hidden_size: int = 32,
        landmark_dropout: float = 0.1,
        dropout: float = 0.5,
        mlp_hidden: int = 64,
        feature_dropout: bool = False,
    ):
        """``feature_dropout``: ``e`` is taken after each stream's trailing dropout (the one before its
        head), as the ``umcl-released`` variant reads LRNet; False = before it (UMCL eq. 3)."""
        super().__init__()
        self.feature_dropout = feature_dropout
        kwargs = dict(
            hidden_size=hidden_size, landmark_dropout=landmark_dropout, dropout=dropout, mlp_hidden=mlp_hidden
        )
        self.g1 = LRNetStream(**kwargs)
        self.g2 = LRNetStream(**kwargs)
        self.out_dim = self.g1.feature_dim + self.g2.feature_dim

    def forward(self, landmarks: torch.Tensor, differences: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``differences``: g2's input when it is not the frame differences of ``landmarks`` (the
        ``umcl-released`` variant masks g1's input only); None = ``frame_differences(landmarks)``."""
        if landmarks.ndim != 3 or landmarks.shape[-1] != FEATURE_SIZE or landmarks.shape[1] < 2:
            raise ValueError(f"landmarks must be [B, L>=2, {FEATURE_SIZE}], got {tuple(landmarks.shape)}")
        f1, logits1 = self.g1(landmarks)
        f2, logits2 = self.g2(frame_differences(landmarks) if differences is None else differences)
        if self.feature_dropout:
            f1, f2 = self.g1.drop_out(f1), self.g2.drop_out(f2)
        return {"e": torch.cat([f1, f2], dim=1), "logits_g1": logits1, "logits_g2": logits2}

    def load_pretrained(self, source: LRNetWeights) -> None:
        """Load trained LRNet weights in any form :func:`read_lrnet_weights` accepts."""
        state, where = read_lrnet_weights(source)
        load_into(self, state, where, "LRNet", remap=remap_official_key)


#: LRNet weights as users have them: one merged file, a folder holding ``g1.pth`` and ``g2.pth``,
#: or the two stream files ``(g1, g2)``
LRNetWeights = str | Path | Sequence[str | Path]
#: file names of the two streams as LRNet (and the authors' UMCL release) distribute them
STREAM_FILES = ("g1.pth", "g2.pth")


def read_lrnet_weights(source: LRNetWeights) -> tuple[dict[str, torch.Tensor], Path]:
    """The ``g1.*``/``g2.*`` state dict of LRNet weights, and the path to name in errors.

    ``source`` is one of

    * a merged file with both streams (``g1.*``/``g2.*`` keys after any common prefix, e.g. our
      LRNet baseline's export or a run's ``encoder.`` keys);
    * the published pair as distributed (frederickszk/LRNet ``training/weights/torch/``, the UMCL
      release's ``module/LRNet_org_weights/``): a folder holding ``g1.pth`` and ``g2.pth``, or the two
      paths in the order (g1, g2). Each holds one stream's state dict in the published key layout
      (``hidden_state``, ``gru.*``, ``dense.1.fn.net.{0,3}.*``, ``dense.3.*``) or in ours.

    Official key names are mapped by :func:`remap_official_key` when the weights are loaded.
    """
    if isinstance(source, (str, Path)) and not Path(source).is_dir():
        path = Path(source)
        state = {_strip_prefix(k): v for k, v in read_state_dict(path, "LRNet").items()}
        if not any(k.startswith(("g1.", "g2.")) for k in state):
            raise UmclError(
                "LRNet checkpoint has no g1./g2. keys (one stream only?)",
                path,
                "pass both published stream files (a folder holding g1.pth and g2.pth, or the two "
                "paths), or a merged file with keys g1.* and g2.*",
            )
        return state, path
    if isinstance(source, (str, Path)):
        folder = Path(source)
        pair = [folder / name for name in STREAM_FILES]
        absent = [p.name for p in pair if not p.is_file()]
        if absent:
            raise UmclError(
                f"LRNet weight folder lacks {' and '.join(absent)}",
                folder,
                "put the two published stream files g1.pth and g2.pth in it, or pass a merged file",
            )
        where = folder
    else:
        pair = [Path(p) for p in source]
        if len(pair) != 2:
            raise UmclError(
                f"LRNet weights: expected the two stream files (g1, g2), got {len(pair)} path(s)",
                fix="pass g1.pth and g2.pth, in that order, or their folder",
            )
        if pair[0].stem.startswith("g2") and pair[1].stem.startswith("g1"):
            raise UmclError("LRNet stream files given as (g2, g1)", pair[0], "pass them in the order g1.pth g2.pth")
        where = pair[0].parent
    state: dict[str, torch.Tensor] = {}
    for stream, path in zip(("g1", "g2"), pair, strict=True):
        own = read_state_dict(path, f"LRNet {stream}")
        if any(_strip_prefix(k).startswith(("g1.", "g2.")) for k in own):
            raise UmclError(
                f"LRNet {stream} file holds g1./g2. keys: it is a merged file, not one stream",
                path,
                "pass the merged file on its own, or the two single-stream files",
            )
        state.update({f"{stream}.{k}": v for k, v in own.items()})
    return state, where


def _strip_prefix(key: str) -> str:
    match = re.search(r"(^|\.)(g[12]\.)", key)
    return key[match.start(2) :] if match else key


_OFFICIAL_RENAMES = (
    (r"\.dense\.1\.fn\.net\.0\.", ".mlp.fc1."),
    (r"\.dense\.1\.fn\.net\.3\.", ".mlp.fc2."),
    (r"\.dense\.3\.", ".head."),
)


def remap_official_key(key: str) -> str:
    """Map official LRNet stream keys (``g1.dense.1.fn.net.0.weight`` ...) to this layout."""
    for pattern, repl in _OFFICIAL_RENAMES:
        key = re.sub(pattern, repl, key)
    return key


__all__ = [
    "LRNetStream",
    "LandmarkEncoder",
    "LandmarkDropout",
    "ResidualMLP",
    "frame_differences",
    "read_lrnet_weights",
    "remap_official_key",
]
