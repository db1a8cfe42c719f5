"""Which seeds a config may name (checked where a config is read, without NumPy)."""

from __future__ import annotations

from umcl.specs.errors import ConfigError

#: seeds every generator accepts (NumPy's legacy seed is an unsigned 32-bit integer)
SEED_RANGE = (0, 2**32 - 1)


def check_seed(seed: int, name: str) -> None:
    """Refuse a seed outside :data:`SEED_RANGE` with a ConfigError stating the range (a negative seed
    used to crash inside NumPy)."""
    lo, hi = SEED_RANGE
    if not lo <= seed <= hi:
        raise ConfigError(
            f"{name} must be in [{lo}, {hi}], got {seed}", fix=f"set {name} to an integer from {lo} to {hi}"
        )
