"""Seed every random number generator and switch on deterministic kernels."""

from __future__ import annotations

import os
import random

import numpy as np

#: seeds every generator accepts (NumPy's legacy seed is an unsigned 32-bit integer)
SEED_RANGE = (0, 2**32 - 1)


def check_seed(seed: int, name: str) -> None:
    """Refuse a seed outside :data:`SEED_RANGE` with a ConfigError stating the range (a negative seed
    used to crash inside NumPy)."""
    from umcl.errors import ConfigError

    lo, hi = SEED_RANGE
    if not lo <= seed <= hi:
        raise ConfigError(f"{name} must be in [{lo}, {hi}], got {seed}",
                          fix=f"set {name} to an integer from {lo} to {hi}")


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA); optionally force deterministic algorithms."""
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)


def numpy_rng(seed: int, *keys: int | str) -> np.random.Generator:
    """A NumPy generator derived from ``seed`` and any number of keys (stable across runs)."""
    material = [seed] + [k if isinstance(k, int) else _stable_hash(k) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(material))


def _stable_hash(text: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
