"""How a dataset's pairs split into train, val and test, and the fewest identities that fill every split.

Torch-free and cheap to import: the config check (umcl.config) reads it at load time, SynthFF's
generator (umcl.data.synthff.generate) splits with it.
"""

from __future__ import annotations

#: the most identities a SynthFF may have
MAX_IDENTITIES = 10000


def split_pairs(
    pairs: list[tuple[int, int]], val_fraction: float = 0.14, test_fraction: float = 0.14
) -> dict[str, list[tuple[int, int]]]:
    """Pairs to train/val/test: by default 72/14/14 % (FF++: 360/70/70 pairs); at least one val
    and one test pair when there are enough pairs (test first: 2 pairs give train + test)."""
    n = len(pairs)
    n_test = max(1, round(test_fraction * n)) if n >= 2 else 0
    n_val = max(1, round(val_fraction * n)) if n >= 3 else 0
    n_train = n - n_val - n_test
    return {"train": pairs[:n_train], "val": pairs[n_train : n_train + n_val], "test": pairs[n_train + n_val :]}


def min_identities(val_fraction: float = 0.14, test_fraction: float = 0.14) -> int:
    """The fewest identities for which every split (train, val, test) gets at least one pair.

    A smaller (even) SynthFF can still be generated and looked at, but the pipeline trains and
    pre-trains on its val split, so a pipeline config needs at least this many
    (checked by :func:`umcl.config.validate_config`). Computed from
    :func:`split_pairs` itself, so the check follows the split fractions.
    """
    n_pairs = 1
    # a range stands for the pairs (split_pairs only slices them): each try is O(1); fractions that
    # leave no train pair below the identity cap (e.g. 0.6 + 0.6) stop there instead of looping forever
    while not all(split_pairs(range(n_pairs), val_fraction, test_fraction).values()):  # type: ignore[arg-type]
        if 2 * n_pairs > MAX_IDENTITIES:
            break
        n_pairs += 1
    return 2 * n_pairs
