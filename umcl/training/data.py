"""Training data: balanced batches over the videos of :mod:`umcl.data.videos`.

The per-video dataset, collate and manifest helpers live in the data layer
(:mod:`umcl.data.videos`, shared with evaluation) and are re-exported here.

Batches are balanced (§5: "each mini-batch contains an equal number of real and fake video
samples"): :class:`BalancedBatchSampler` gives every batch ``batch_size / 2`` real and fake
videos, oversampling the minority class, reshuffled per epoch from ``(seed, epoch)`` alone, and
sharded by whole batches across DDP ranks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

from umcl.data.videos import (  # noqa: F401 (re-exported)
    CACHE_KEY,
    IMAGE_KEYS,
    TIME_KEYS,
    VideoDataset,
    collate,
    keep_methods,
    load_cache,
    pair_id,
    read_rows,
    select_rows,
    to_device,
    with_partner,
)
from umcl.errors import UmclError
from umcl.seeding import numpy_rng


class BalancedBatchSampler(Sampler[list[int]]):
    """Batches of ``batch_size / 2`` real and ``batch_size / 2`` fake indices.

    Per epoch both classes are shuffled from ``(seed, epoch)``; the minority class is repeated
    (a fresh permutation per pass) until it is as long as the majority one, so every video of
    the majority class is seen once per epoch (bar a remainder smaller than one batch, dropped)
    and no batch is unbalanced. Within a batch the real videos come first. Under DDP the global list
    of batches is cut to a multiple of ``world_size`` and rank ``r`` takes batches
    ``r, r + world_size, ...``: every process gets the same number of balanced batches of
    ``batch_size`` (effective batch = world_size x batch_size).
    """

    def __init__(self, labels: Sequence[int], batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
        labels = np.asarray(labels)
        if batch_size < 2 or batch_size % 2:
            raise UmclError(f"balanced batches need an even batch size >= 2, got {batch_size}")
        self.real = np.flatnonzero(labels == 0)
        self.fake = np.flatnonzero(labels == 1)
        if len(self.real) == 0 or len(self.fake) == 0:
            raise UmclError(
                f"training split needs real and fake videos, got {len(self.real)} real and {len(self.fake)} fake",
                fix="check the manifest's labels and splits",
            )
        self.half = batch_size // 2
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.epoch = 0
        per_class = max(len(self.real), len(self.fake))
        n_global = per_class // self.half
        self.n_batches = n_global // world_size
        if self.n_batches < 1:
            raise UmclError(
                f"too few training videos ({per_class} per class) for one batch of "
                f"{batch_size} per process on {world_size} process(es)",
                fix="lower training.batch_size or use more videos",
            )

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _stream(self, idx: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        passes = math.ceil(n / len(idx))
        return np.concatenate([rng.permutation(idx) for _ in range(passes)])[:n]

    def __iter__(self) -> Iterator[list[int]]:
        rng = numpy_rng(self.seed, "balanced-batches", self.epoch)
        per_class = self.n_batches * self.world_size * self.half
        real = self._stream(self.real, per_class, rng)
        fake = self._stream(self.fake, per_class, rng)
        for b in range(self.rank, self.n_batches * self.world_size, self.world_size):
            s = slice(b * self.half, (b + 1) * self.half)
            yield [int(i) for i in real[s]] + [int(i) for i in fake[s]]  # reals first, then fakes

    def __len__(self) -> int:
        return self.n_batches
