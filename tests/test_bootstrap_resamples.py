"""Bootstrap resamples: one count for every interval (umcl.evaluation.config.N_BOOTSTRAP, at least 2,000),
stated by every report, drawn fast without changing a single resample, and with the Monte-Carlo error
docs/statistics.md states."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from umcl.config import section
from umcl.evaluation.aggregate import aggregate_seeds, frame_level
from umcl.evaluation.config import N_BOOTSTRAP, EvalConfig, resamples_note
from umcl.metrics import (
    _auc,
    bootstrap_ci,
    bootstrap_draws,
    compute_metrics,
    metric_functions,
    percentile_interval,
    stratified_resamples,
)
from umcl.workflow import load_profile

REPO = Path(__file__).resolve().parents[1]
STATISTICS = REPO / "docs" / "statistics.md"


def test_one_count_of_at_least_2000_everywhere() -> None:
    assert N_BOOTSTRAP >= 2000 and EvalConfig().n_bootstrap == N_BOOTSTRAP
    for fn in (compute_metrics, bootstrap_ci, aggregate_seeds, frame_level):
        assert inspect.signature(fn).parameters["n_boot"].default == N_BOOTSTRAP, fn.__name__
    for profile in ("default", "smoke", "paper"):  # no profile sets its own count
        cfg, _ = load_profile(profile, check=False)
        assert "n_bootstrap" not in (cfg.get("evaluation") or {}), profile
        assert section(cfg, "evaluation", EvalConfig).n_bootstrap == N_BOOTSTRAP, profile


def test_resamples_note() -> None:
    assert (
        resamples_note(N_BOOTSTRAP) == f"Bootstrap resamples: {N_BOOTSTRAP:,} for every interval of this report "
        "(stratified over the test videos)."
    )
    assert "Fewer than the suite's" in resamples_note(40) and resamples_note(40).startswith("Bootstrap resamples: 40 ")
    assert resamples_note(0) == "Bootstrap resamples: 0 (no intervals)."


def _rowwise_reference(y: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """The resampling rule as first written: per row, the reals with ``rng.choice``, then the fakes."""
    rng = np.random.default_rng(seed)
    real, fake = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    return np.array([np.r_[rng.choice(real, real.size), rng.choice(fake, fake.size)] for _ in range(n_boot)])


@pytest.mark.parametrize("n_real,n_fake,seed", [(21, 86, 0), (3, 1, 5), (1, 40, 2), (64, 64, 9)])
def test_vectorised_resamples_draw_the_rowwise_numbers(n_real: int, n_fake: int, seed: int) -> None:
    y = np.r_[np.zeros(n_real, dtype=int), np.ones(n_fake, dtype=int)]
    np.random.default_rng(seed + 100).shuffle(y)
    got = stratified_resamples(y, 257, seed)
    assert got.dtype == np.int64 and np.array_equal(got, _rowwise_reference(y, 257, seed))


def _cell(seed: int, n_real: int = 21, n_fake: int = 86, shift: float = 0.75) -> tuple[np.ndarray, np.ndarray]:
    """A test set the size of the default's Table 3 cells, AUC about 0.7 (benchmarks/bootstrap_cost.py's)."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n_real, dtype=int), np.ones(n_fake, dtype=int)]
    return y, 1 / (1 + np.exp(-(rng.normal(size=y.size) + shift * y)))


def test_per_run_intervals_equal_the_plain_loop() -> None:
    """compute_metrics' intervals come from the fast replicates; they equal the percentile of each metric
    computed resample by resample (and the interval of the one-seed cell statistics)."""
    y, s = _cell(1)
    yv, sv = _cell(2)
    m = compute_metrics(y, s, n_boot=300, seed=4, threshold=0.4, val_labels=yv, val_scores=sv)
    fns = metric_functions(0.4, m["val_threshold"])
    for name, fn in fns.items():
        want = percentile_interval(np.array([fn(y[i], s[i]) for i in stratified_resamples(y, 300, 4)]), 0.05)
        assert (m[name]["ci_low"], m[name]["ci_high"]) == pytest.approx(want, abs=1e-12), name


def _auc_endpoints(y: np.ndarray, scores: list[np.ndarray], n_boot: int, seeds: range) -> np.ndarray:
    """(len(seeds), 2) AUC interval endpoints in points, one row per bootstrap seed."""
    return 100 * np.array(
        [
            percentile_interval(bootstrap_draws(y, scores, {"auc": [_auc] * len(scores)}, n_boot, b)["auc"], 0.05)
            for b in seeds
        ]
    )


def test_monte_carlo_error_is_what_the_docs_state() -> None:
    """docs/statistics.md states the Monte-Carlo standard deviation of an AUC endpoint at N_BOOTSTRAP on a
    one-seed cell of the default's size; twelve bootstrap seeds on the same scores stay below it (the
    endpoints of any two seeds within four times it), and at 200 resamples they do not."""
    text = STATISTICS.read_text()
    m = re.search(
        r"Monte-Carlo\s+standard\s+deviation\s+of\s+an\s+interval\s+endpoint\s+is\s+below\s+([0-9.]+)\s+points", text
    )
    assert m, "docs/statistics.md must state the Monte-Carlo error bound"
    bound = float(m.group(1))
    y, s = _cell(0)
    seeds = range(12)
    ends = _auc_endpoints(y, [s], N_BOOTSTRAP, seeds)
    assert ends.std(axis=0, ddof=1).max() < bound
    assert np.ptp(ends, axis=0).max() < 4 * bound
    few = _auc_endpoints(y, [s], 200, seeds)
    assert few.std(axis=0, ddof=1).max() > bound  # the check can fail: 200 resamples are too few


def test_paired_differences_use_the_fast_replicates_on_the_same_resamples() -> None:
    from umcl.report.studies import paired_difference

    y, a = _cell(3)
    _, b = _cell(4, shift=1.2)
    keys = [f"v{i:03d}" for i in range(y.size)]
    frame = lambda s: pd.DataFrame({"key": keys, "label": y, "score": s})  # noqa: E731
    ev = EvalConfig(n_bootstrap=300, seed=2)
    for metric in ("auc", "acc"):
        d = paired_difference({0: frame(a)}, {0: frame(b)}, metric, ev)
        fn = metric_functions(ev.threshold)[metric]
        draws = np.array([fn(y[i], b[i]) - fn(y[i], a[i]) for i in stratified_resamples(y, 300, 2)])
        assert d.ci == pytest.approx(percentile_interval(draws, 0.05), abs=1e-12)


def test_figures_state_that_they_have_no_interval(tmp_path: Path) -> None:
    from umcl.report.figures import affinity_columns, figure9

    cols = affinity_columns()
    df = pd.DataFrame({"epoch": [1, 1, 2], "step": [1, 2, 3], **{c: [0.1, 0.2, 0.3] for c in cols}})
    figure9(df, tmp_path / "figure9", "run")
    assert json.loads((tmp_path / "figure9.json").read_text())["bootstrap_resamples"] is None
    assert "Bootstrap resamples: none" in (tmp_path / "figure9.md").read_text()
