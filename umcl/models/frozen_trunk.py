"""A frozen PhysFormer trunk whose output is computed once per video and view.

With ``physformer_train: head`` the P-encoder's stem, tube embedding and transformer blocks keep
their pre-trained weights (no gradient, always in eval mode: no dropout, BatchNorm's running
statistics) and only the head (the temporal upsamplers and the last convolution) trains. The trunk
is then a pure function of its input clip, so its output tokens can be kept: a training run sees the
same clips every epoch, and every run of a profile starts from the same trunk. :class:`TrunkMemo`
keys each clip's tokens by a digest of the clip and of the trunk's weights, keeps them in memory,
and, with a cache directory, on disk, shared by all runs and evaluations of the profile.

Each clip is computed on its own (a batch of one), so its tokens do not depend on which other clips
shared its batch; a stored entry is written atomically (temporary file, then rename), so two jobs
that compute the same clip at the same time leave one whole file.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from umcl.digest import digest


class TrunkMemo:
    """Tokens of a frozen trunk per clip: in memory, and in ``cache_dir`` when given."""

    def __init__(self, cache_dir: str | Path | None = None):
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.memory: dict[tuple[str, str, str], torch.Tensor] = {}
        self._weights: tuple[tuple, str] | None = None  # (parameter versions, weights digest)
        # the last batch read, its version and its clips' digests (holding it keeps its memory from reuse)
        self._clips: tuple[torch.Tensor, int, list[str]] | None = None
        self.hits = self.misses = 0

    def weights_digest(self, trunk: list[nn.Module]) -> str:
        """Digest of the trunk's parameters and buffers, recomputed only when one of them changed
        (loading a checkpoint copies into them in place, which bumps their version)."""
        tensors = [t for m in trunk for t in (*m.parameters(), *m.buffers())]
        versions = tuple((t.data_ptr(), t._version) for t in tensors)
        if self._weights is None or self._weights[0] != versions:
            self._weights = (versions, digest([t.detach() for t in tensors]))
        return self._weights[1]

    @torch.no_grad()
    def tokens(
        self, trunk: list[nn.Module], compute: Callable[[torch.Tensor], torch.Tensor], video: torch.Tensor, tag: str
    ) -> torch.Tensor:
        """``compute(video)`` for a batch, each clip from the memo when it was seen before under ``tag``
        (what ``compute`` does before the trunk: a view, an input scaling)."""
        weights = self.weights_digest(trunk)
        out = []
        for clip, clip_digest in zip(video.unbind(0), self.clip_digests(video), strict=True):
            key = (weights, tag, clip_digest)
            value = self.memory.get(key)
            if value is None:
                value = self._load(key)
            if value is None:
                self.misses += 1
                value = compute(clip.unsqueeze(0))[0].detach()
                self._store(key, value)
            else:
                self.hits += 1
            self.memory[key] = value
            out.append(value.to(video.device))
        return torch.stack(out)

    def clip_digests(self, video: torch.Tensor) -> list[str]:
        """Content digest of each clip of ``video``; the same unchanged tensor asked again (a model reads
        one batch under several tags: its HQ view and the LQ view made from it) is not hashed again."""
        last = self._clips
        if last is None or last[0] is not video or last[1] != video._version:
            self._clips = (video, video._version, [digest(clip) for clip in video.unbind(0)])
        return self._clips[2]

    def _path(self, key: tuple[str, str, str]) -> Path | None:
        if self.cache_dir is None:
            return None
        weights, tag, clip = key
        return self.cache_dir / weights[:16] / re.sub(r"[^A-Za-z0-9_.-]", "_", tag) / f"{clip}.npy"

    def _load(self, key: tuple[str, str, str]) -> torch.Tensor | None:
        path = self._path(key)
        if path is None or not path.exists():
            return None
        return torch.from_numpy(np.load(path))

    def _store(self, key: tuple[str, str, str], value: torch.Tensor) -> None:
        path = self._path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, value.cpu().numpy())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


__all__ = ["TrunkMemo"]
