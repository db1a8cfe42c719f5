"""What a number of bootstrap resamples costs and buys, on a cell shaped like the default's Table 3.

A cell of Table 3 on the embedded default: three seeds, 21 real : 86 fake test videos. Its scores here are
drawn (seeded) from a model of AUC about 0.7, the scale of the default's cells. For each number of
resamples the script reports

* the wall time of one cell's statistics (``aggregate_seeds``: every metric's interval, with validation
  thresholds) and of one run's ``compute_metrics`` (the per-cell metrics.json of ``umcl evaluate``), the
  median of ``--repeats``;
* the Monte-Carlo error of the AUC interval's endpoints: the standard deviation of each endpoint, in
  points, over ``--bootstrap-seeds`` bootstrap seeds on the same scores, and the largest difference between
  two of them.

``.venv/bin/python benchmarks/bootstrap_cost.py`` (one thread: ``OMP_NUM_THREADS=1``). Nothing here asserts
a speed; docs/statistics.md quotes its output.
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial

import numpy as np
import pandas as pd

from umcl.evaluation.aggregate import aggregate_seeds
from umcl.metrics import N_BOOTSTRAP, compute_metrics

N_REAL, N_FAKE, SEEDS = 21, 86, 3


def cell(seed: int = 0, shift: float = 0.75) -> tuple[dict[int, pd.DataFrame], dict[int, pd.DataFrame]]:
    """Test and validation scores of a three-seed cell (AUC about 0.7 for ``shift`` 0.75)."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(N_REAL, dtype=int), np.ones(N_FAKE, dtype=int)]
    keys = [f"v{i:03d}" for i in range(y.size)]

    def table() -> pd.DataFrame:
        return pd.DataFrame(
            {"key": keys, "label": y, "score": 1 / (1 + np.exp(-(rng.normal(size=y.size) + shift * y)))}
        )

    return {s: table() for s in range(SEEDS)}, {s: table() for s in range(SEEDS)}


def endpoint_spread(test: dict[int, pd.DataFrame], n_boot: int, bootstrap_seeds: int) -> dict[str, float]:
    """SD over bootstrap seeds of the AUC interval's low and high endpoint, and the largest pairwise gap (points)."""
    ends = np.array([aggregate_seeds(test, n_boot=n_boot, seed=b).estimates["auc"].ci for b in range(bootstrap_seeds)])
    ends *= 100
    return {
        "sd_low": float(ends[:, 0].std(ddof=1)),
        "sd_high": float(ends[:, 1].std(ddof=1)),
        "max_gap": float(max(np.ptp(ends[:, 0]), np.ptp(ends[:, 1]))),
    }


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counts", type=int, nargs="+", default=[200, N_BOOTSTRAP])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--bootstrap-seeds", type=int, default=30)
    args = ap.parse_args()
    test, val = cell()
    y, s = test[0]["label"].to_numpy(), test[0]["score"].to_numpy()
    yv, sv = val[0]["label"].to_numpy(), val[0]["score"].to_numpy()
    auc = aggregate_seeds(test, n_boot=0).estimates["auc"].value
    print(f"cell: {SEEDS} seeds, {N_REAL} real : {N_FAKE} fake test videos, AUC {100 * auc:.1f}")
    print(
        "| resamples | one cell (aggregate_seeds) | one run's metrics.json (compute_metrics) | "
        "SD of the low / high AUC endpoint, 3 seeds | largest gap, 3 seeds | SD low / high, 1 seed | "
        "largest gap, 1 seed |"
    )
    print("|---|---|---|---|---|---|---|")
    for n in args.counts:
        t_cell = timed(partial(aggregate_seeds, test, val, n_boot=n), args.repeats)
        t_run = timed(partial(compute_metrics, y, s, n_boot=n, val_labels=yv, val_scores=sv), args.repeats)
        mc = endpoint_spread(test, n, args.bootstrap_seeds)
        one = endpoint_spread({0: test[0]}, n, args.bootstrap_seeds)
        print(
            f"| {n:,} | {t_cell:.3f} s | {t_run:.3f} s | {mc['sd_low']:.2f} / {mc['sd_high']:.2f} points | "
            f"{mc['max_gap']:.2f} points | {one['sd_low']:.2f} / {one['sd_high']:.2f} points | "
            f"{one['max_gap']:.2f} points |"
        )


if __name__ == "__main__":
    main()
