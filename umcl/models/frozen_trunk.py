"""A frozen PhysFormer trunk whose output is computed once per video and view.

With ``physformer_train: head`` the P-encoder's stem, tube embedding and transformer blocks keep
their pre-trained weights (no gradient, always in eval mode: no dropout, BatchNorm's running
statistics) and only the head (the temporal upsamplers and the last convolution) trains. The trunk
is then a pure function of its input clip, so its output tokens can be kept: a training run sees the
same clips every epoch, and every run of a profile starts from the same trunk. :class:`TrunkMemo`
keys each clip's tokens by a digest of the clip and of the trunk's weights, keeps them in memory,
and, with a cache directory, on disk, shared by all runs and evaluations of the profile.

Each clip is computed on its own (a batch of one), so its tokens do not depend on which other clips
shared its batch; a stored entry is written atomically (temporary file, then rename). Jobs that share
the cache folder and read the same clips at the same time (the seeds of one evaluation, started side
by side) split them instead of each computing all: a job *claims* a clip it is about to compute (a
``.claim`` file beside the entry, created exclusively), computes the clips nobody claimed first and then
waits for the others' entries. A claim whose process is gone (same host), or older than
:data:`CLAIM_TIMEOUT_S`, is taken over, so a killed job never blocks another.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from umcl.digest import digest

#: how long a job waits for a clip another job claimed before computing it itself (seconds)
CLAIM_TIMEOUT_S = 900.0
#: how often a waiting job looks for the entry it waits for (seconds)
CLAIM_POLL_S = 0.1


def trunk_tensors(trunk: list[nn.Module]) -> tuple[list[torch.Tensor], tuple]:
    """The trunk's parameters and buffers, and their versions: (storage, in-place version) of each, which
    change when a checkpoint is loaded into them (an in-place copy) or they are moved."""
    tensors = [t for m in trunk for t in (*m.parameters(), *m.buffers())]
    return tensors, tuple((t.data_ptr(), t._version) for t in tensors)


class TrunkMemo:
    """Tokens of a frozen trunk per clip: in memory, and in ``cache_dir`` when given."""

    def __init__(self, cache_dir: str | Path | None = None, form: str = ""):
        self.cache_dir = Path(cache_dir) if cache_dir else None
        #: names how the tokens are computed (a trunk's folded copy: its values differ from the unfolded
        #: trunk's by float rounding), so that entries computed another way are never read
        self.form = form
        self.memory: dict[tuple[str, str, str], torch.Tensor] = {}
        self._weights: tuple[tuple, str] | None = None  # (parameter versions, weights digest)
        # the last batch read, its version and its clips' digests (holding it keeps its memory from reuse)
        self._clips: tuple[torch.Tensor, int, list[str]] | None = None
        self.hits = self.misses = 0

    def weights_digest(self, trunk: list[nn.Module]) -> str:
        """Digest of the trunk's parameters and buffers, recomputed only when one of them changed
        (loading a checkpoint copies into them in place, which bumps their version)."""
        tensors, versions = trunk_tensors(trunk)
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
        clips = video.unbind(0)
        keys = [(weights, tag, d) for d in self.clip_digests(video)]
        values: list[torch.Tensor | None] = [None] * len(keys)
        waiting = []  # clips another job is computing: their entries are awaited after this job's own
        for i, key in enumerate(keys):
            values[i] = self._known(key)  # looked up now: another job may have written it meanwhile
            if values[i] is None:
                if self._claim(key):
                    values[i] = self._claimed(key, clips[i], compute)
                else:
                    waiting.append(i)
        for i in waiting:
            values[i] = self._await(keys[i], clips[i], compute)
        for key, value in zip(keys, values, strict=True):
            self.memory[key] = value
        return torch.stack([v.to(video.device) for v in values])

    def _known(self, key: tuple[str, str, str]) -> torch.Tensor | None:
        """The entry of ``key`` from memory or disk (a hit), else None."""
        value = self.memory.get(key)
        if value is None:
            value = self._load(key)
        if value is not None:
            self.hits += 1
        return value

    def _compute(self, key, clip: torch.Tensor, compute: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Compute one clip (a miss), store it and release this job's claim on it."""
        try:
            self.misses += 1
            value = compute(clip.unsqueeze(0))[0].detach()
            self._store(key, value)
            return value
        finally:
            self._release(key)

    def _claim_path(self, key: tuple[str, str, str]) -> Path | None:
        path = self._path(key)
        return None if path is None else path.with_suffix(".claim")

    def _claim(self, key: tuple[str, str, str]) -> bool:
        """Whether this job may compute ``key``: always without a cache folder; with one, when it created the
        claim file (a stale claim is taken over: :meth:`_stale`)."""
        claim = self._claim_path(key)
        if claim is None:
            return True
        claim.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                if not self._stale(claim):
                    return False
                claim.unlink(missing_ok=True)  # its owner is gone: take it over
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(f"{socket.gethostname()} {os.getpid()}\n")
            return True
        return False

    def _release(self, key: tuple[str, str, str]) -> None:
        claim = self._claim_path(key)
        if claim is not None:
            claim.unlink(missing_ok=True)

    @staticmethod
    def _stale(claim: Path) -> bool:
        """A claim whose process no longer runs on this host, or older than :data:`CLAIM_TIMEOUT_S`."""
        try:
            host, pid = claim.read_text().split()
            age = time.time() - claim.stat().st_mtime
        except (OSError, ValueError):
            return False  # being written or just released: look again later
        if age > CLAIM_TIMEOUT_S:
            return True
        if host != socket.gethostname():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except (PermissionError, ValueError):
            return False
        return False

    def _await(self, key, clip: torch.Tensor, compute: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """The entry another job claimed, once written; computed here if that claim is released without an
        entry or goes stale."""
        while True:
            value = self._known(key)
            if value is not None:
                return value
            if self._claim(key):
                return self._claimed(key, clip, compute)
            time.sleep(CLAIM_POLL_S)

    def _claimed(self, key, clip: torch.Tensor, compute: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """With this job's claim on ``key``: its entry if another job wrote it between the look and the claim
        (the claim released), else computed here."""
        value = self._known(key)
        if value is not None:
            self._release(key)
            return value
        return self._compute(key, clip, compute)

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
        folder = f"{weights[:16]}-{self.form}" if self.form else weights[:16]
        return self.cache_dir / folder / re.sub(r"[^A-Za-z0-9_.-]", "_", tag) / f"{clip}.npy"

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


__all__ = ["TrunkMemo", "trunk_tensors"]
