"""Statistics of one table cell over several seeds, and frame-/block-level AUC.

API note (for the evaluation step and the report renderers)
-----------------------------------------------------------
Inputs are score tables with columns ``key``, ``label`` (1 = fake), ``score`` (P(fake)) — the
``scores.csv`` of ``umcl evaluate`` (one row per video) — given per training seed::

    from umcl.evaluation.aggregate import aggregate_seeds, frame_level
    cell = aggregate_seeds({0: test_s0, 1: test_s1, 2: test_s2},          # test scores per seed
                           val={0: val_s0, 1: val_s1, 2: val_s2},         # optional: ACC@val threshold
                           **eval_config.stats_kwargs())                  # n_boot, ci, seed, threshold
    est = cell.estimates["auc"]     # also "acc", "bacc", "eer", "ap", and with val "acc_val", "bacc_val"
    est.value, est.ci, est.seed_std, est.seed_ci, est.ensemble            # fractions in [0, 1]
    cell.n_real, cell.n_fake, cell.n_seeds, cell.thresholds; cell.to_dict()  # JSON-ready
    fl = frame_level({0: frames_s0, ...})   # one row per frame/block: "frame_auc" and "video_auc"
    umcl.report.cells.format_cell(est, "ci")  -> "71.3 [58.2, 83.0]";  legend(style, cells) for the caption

One run (per-run metrics.json): :func:`run_metrics` is :func:`aggregate_seeds` at the run's one seed,
flattened to ``{metric: {value, ci_low, ci_high}}`` plus counts and thresholds, so a one-seed cell's
number and interval are the same in ``metrics.json`` and in the report (one metric path;
docs/pipeline.md, "One metric path"); ``choose_threshold`` is the validation rule.

What each number is (``Estimate``; the same words are in docs/statistics.md):

* ``value``: the MEAN OVER SEEDS of the per-seed metric on the whole test set — the expected
  score of one trained model, comparable to the paper's single-model numbers. (The metric of the
  seed-averaged score is an ensemble, systematically better than one model; it is kept as
  ``ensemble`` for reference, never as the headline.)
* ``ci``: percentile interval of ``value`` over ``n_boot`` stratified bootstrap resamples of the
  TEST VIDEOS (reals and fakes resampled separately with their own counts; the same resample
  applied to every seed; models and validation thresholds held fixed): test-set sampling
  uncertainty of the reported mean. ``None`` when ``n_boot`` is 0.
* ``seed_std``: sample standard deviation (ddof = 1) of the per-seed metrics (training-run
  spread on a fixed test set); ``None`` with one seed — never 0.0.
* ``seed_ci``: Student-t interval over seeds, ``mean ± t(1 - α/2, k - 1) · std / √k``, clipped to
  [0, 1]; ``None`` with one seed.
* Every cell carries its test counts ``n_real`` / ``n_fake`` (videos).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from umcl.errors import UmclError
from umcl.metrics import (
    N_BOOTSTRAP,
    THRESHOLD_RULE,
    Metric,
    SeedScores,
    _auc,
    boot_replicates,
    choose_threshold,
    metric_functions,
    percentile_interval,
)

KEY, LABEL, SCORE = "key", "label", "score"


@dataclass(frozen=True)
class Estimate:
    """One metric of one cell over its seeds (fractions in [0, 1]; see the module docstring)."""

    metric: str
    value: float
    """Mean over seeds of the per-seed metric."""
    ci: tuple[float, float] | None
    """Stratified test-video bootstrap percentile interval of ``value`` (None: no bootstrap)."""
    seed_values: tuple[float, ...]
    seed_std: float | None
    """Sample std (ddof=1) over seeds; None with one seed."""
    seed_ci: tuple[float, float] | None
    """Student-t interval over seeds, clipped to [0, 1]; None with one seed."""
    ensemble: float | None = None
    """Metric of the seed-averaged score (reference only; ACC@val at the threshold chosen on the
    seed-averaged validation scores; None for frame-level estimates)."""

    @property
    def n_seeds(self) -> int:
        return len(self.seed_values)

    def to_dict(self) -> dict:
        """JSON-ready: value, ci_low/ci_high, seed_values, seed_std, seed_ci_low/high, ensemble."""
        lo, hi = self.ci if self.ci is not None else (None, None)
        slo, shi = self.seed_ci if self.seed_ci is not None else (None, None)
        return {
            "value": self.value,
            "ci_low": lo,
            "ci_high": hi,
            "seed_values": list(self.seed_values),
            "seed_std": self.seed_std,
            "seed_ci_low": slo,
            "seed_ci_high": shi,
            "ensemble": self.ensemble,
        }


@dataclass(frozen=True)
class CellStats:
    """Every statistic of one cell (one trained configuration × one test condition)."""

    estimates: dict[str, Estimate]
    seeds: tuple[int, ...]
    n_real: int
    """Test videos that are real."""
    n_fake: int
    """Test videos that are fake."""
    n_boot: int
    level: float
    """Confidence level of ``ci`` and ``seed_ci`` (e.g. 0.95)."""
    bootstrap_seed: int
    unit: str = "video"
    """What one metric sample is: "video", or "frame" for frame/block-level estimates."""
    thresholds: dict[int, float] = field(default_factory=dict)
    """Validation-chosen ACC threshold per seed (empty without validation scores)."""
    fixed_threshold: float = 0.5
    n_items: dict[int, int] = field(default_factory=dict)
    """Scored items (videos, or frames/blocks) per seed."""

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    def to_dict(self) -> dict:
        """JSON-ready summary of the cell (metrics by name, counts, what the intervals are)."""
        return {
            "unit": self.unit,
            "n_real": self.n_real,
            "n_fake": self.n_fake,
            "seeds": list(self.seeds),
            "n_seeds": self.n_seeds,
            "n_boot": self.n_boot,
            "ci": self.level,
            "bootstrap_seed": self.bootstrap_seed,
            "threshold": self.fixed_threshold,
            "val_thresholds": {str(k): v for k, v in self.thresholds.items()},
            "n_items": {str(k): v for k, v in self.n_items.items()},
            "metrics": {k: e.to_dict() for k, e in self.estimates.items()},
        }


def _table(df: pd.DataFrame, seed: int, what: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise UmclError(f"{what} scores of seed {seed} are not a table", fix="pass a DataFrame per seed")
    missing = [c for c in (KEY, LABEL, SCORE) if c not in df.columns]
    if missing:
        raise UmclError(
            f"{what} scores of seed {seed} lack column(s) {','.join(missing)}",
            fix="pass scores.csv tables (key, label, score)",
        )
    if len(df) == 0:
        raise UmclError(f"{what} scores of seed {seed} are empty", fix="evaluate on a non-empty split")
    s = df[SCORE].to_numpy(dtype=np.float64)
    if not np.isfinite(s).all():
        raise UmclError(f"{what} scores of seed {seed} hold NaN or infinite values", fix="check the detector's outputs")
    if not df[LABEL].isin((0, 1)).all():
        raise UmclError(f"{what} labels of seed {seed} must be 0 (real) or 1 (fake)")
    return df


def _align(tables: Mapping[int, pd.DataFrame], what: str, per_video: bool) -> tuple[np.ndarray, list[SeedScores]]:
    """Video labels in key order and each seed's rows grouped by video; checks the seeds agree."""
    if not tables:
        raise UmclError(f"no {what} scores given", fix="pass at least one seed's scores")
    seeds = sorted(tables)
    keys: np.ndarray | None = None
    labels: np.ndarray | None = None
    out: list[SeedScores] = []
    for seed in seeds:
        df = _table(tables[seed], seed, what)
        per_key = df.groupby(KEY, sort=True)[LABEL].agg(["nunique", "first", "size"])
        if (per_key["nunique"] > 1).any():
            raise UmclError(
                f"{what} video {per_key.index[per_key['nunique'] > 1][0]} of seed {seed} has rows "
                "with different labels",
                fix="labels belong to videos; rebuild the scores from the manifest",
            )
        if per_video and (per_key["size"] > 1).any():
            raise UmclError(
                f"{what} video {per_key.index[per_key['size'] > 1][0]} appears twice for seed {seed}",
                fix="pass one row per video (pool frames first, or use frame_level)",
            )
        k = per_key.index.to_numpy()
        if keys is None:
            keys, labels = k, per_key["first"].to_numpy(dtype=np.int64)
        elif not np.array_equal(k, keys):
            only = sorted(set(map(str, k)) ^ set(map(str, keys)))
            raise UmclError(
                f"{what} scores of seed {seed} cover other videos than seed {seeds[0]} (e.g. {', '.join(only[:3])})",
                fix="evaluate every seed on the same split",
            )
        elif not np.array_equal(per_key["first"].to_numpy(dtype=np.int64), labels):
            raise UmclError(
                f"{what} labels of seed {seed} differ from seed {seeds[0]}",
                fix="evaluate every seed on the same manifest",
            )
        order = np.argsort(np.searchsorted(keys, df[KEY].to_numpy()), kind="stable")
        counts = per_key["size"].to_numpy(dtype=np.int64)
        out.append(
            SeedScores(
                df[SCORE].to_numpy(dtype=np.float64)[order],
                df[LABEL].to_numpy(dtype=np.int64)[order],
                np.cumsum(counts) - counts,
                counts,
            )
        )
    assert labels is not None
    if labels.min() == labels.max():
        raise UmclError(
            f"{what} scores need both real and fake videos, got {int((labels == 0).sum())} real and "
            f"{int(labels.sum())} fake",
            fix="evaluate on a split that holds both classes",
        )
    return labels, out


def seed_spread(
    values: list[float] | tuple[float, ...], level: float = 0.95
) -> tuple[float | None, tuple[float, float] | None]:
    """(sample std with ddof=1, Student-t interval of the mean clipped to [0, 1]); (None, None) for one value."""
    v = np.asarray(values, dtype=np.float64)
    if v.size < 2:
        return None, None
    std = float(v.std(ddof=1))
    from scipy import stats as _sps  # here, not at import: every evaluation job imports this module

    half = float(_sps.t.ppf(1.0 - (1.0 - level) / 2.0, v.size - 1)) * std / np.sqrt(v.size)
    mean = float(v.mean())
    return std, (float(max(0.0, mean - half)), float(min(1.0, mean + half)))


def _estimate(
    labels: np.ndarray,
    data: list[SeedScores],
    fns: dict[str, list[Metric]],
    n_boot: int,
    level: float,
    seed: int,
    thresholds: list[dict[str, float | None]] | None = None,
) -> dict[str, tuple[tuple[float, ...], tuple[float, float] | None]]:
    """Per-seed values and the bootstrap interval of their mean over seeds, for every metric.

    ``fns[name][k]`` is the metric for seed ``k`` (reference implementation, used for the values
    and for the bootstrap of metrics without a fast path); ``thresholds[k]`` holds seed ``k``'s
    ``fixed`` and ``val`` ACC thresholds for the fast path.
    """
    values = {
        name: tuple(float(f(d.labels, d.scores)) for f, d in zip(per_seed, data, strict=True))
        for name, per_seed in fns.items()
    }
    if n_boot == 0:
        return {name: (values[name], None) for name in fns}
    boot = boot_replicates(labels, data, fns, n_boot, seed, thresholds)
    return {name: (values[name], percentile_interval(boot[name], 1.0 - level)) for name in fns}


def _check_args(n_boot: int, ci: float) -> None:
    if n_boot < 0:
        raise ValueError(f"n_boot must be >= 0, got {n_boot}")
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci must be in (0, 1), got {ci}")


def aggregate_seeds(
    test: Mapping[int, pd.DataFrame],
    val: Mapping[int, pd.DataFrame] | None = None,
    *,
    n_boot: int = N_BOOTSTRAP,
    ci: float = 0.95,
    seed: int = 0,
    threshold: float = 0.5,
) -> CellStats:
    """Video-level statistics of one cell from each seed's per-video test scores.

    ``test``: seed -> scores (``key``, ``label``, ``score``; one row per video; the same videos
    for every seed). ``val``: seed -> that run's VALIDATION scores; when given, each seed's ACC
    threshold is ``choose_threshold`` on its own validation scores (test labels never used) and
    ``acc_val``/``bacc_val`` are added. Metrics: ``auc``, ``acc``/``bacc`` at the fixed
    ``threshold``, ``eer``, ``ap`` (see ``Estimate`` for value / ci / seed_std / seed_ci).
    """
    _check_args(n_boot, ci)
    labels, data = _align(test, "test", per_video=True)
    seeds = tuple(sorted(test))
    thresholds: dict[int, float] = {}
    ens_threshold = None
    if val is not None:
        if sorted(val) != list(seeds):
            raise UmclError(
                f"validation scores are for seeds {sorted(val)} but test scores for {list(seeds)}",
                fix="pass the validation scores of every evaluated seed",
            )
        val_labels, val_data = _align(val, "validation", per_video=True)
        thresholds = {s: choose_threshold(d.labels, d.scores) for s, d in zip(seeds, val_data, strict=True)}
        ens_threshold = choose_threshold(val_labels, np.mean([d.scores for d in val_data], axis=0))
    per_seed = [metric_functions(threshold, thresholds.get(s)) for s in seeds]
    fns = {name: [m[name] for m in per_seed] for name in per_seed[0]}
    fast_thresholds = [{"fixed": threshold, "val": thresholds.get(s)} for s in seeds]
    raw = _estimate(labels, data, fns, n_boot, ci, seed, fast_thresholds)
    ensemble_fns = metric_functions(threshold, ens_threshold)
    mean_scores = np.mean([d.scores for d in data], axis=0)
    estimates = {}
    for name, (values, interval) in raw.items():
        std, tci = seed_spread(values, ci)
        estimates[name] = Estimate(
            name, float(np.mean(values)), interval, values, std, tci, float(ensemble_fns[name](labels, mean_scores))
        )
    return CellStats(
        estimates,
        seeds,
        int((labels == 0).sum()),
        int(labels.sum()),
        n_boot,
        ci,
        seed,
        "video",
        thresholds,
        threshold,
        {s: d.scores.size for s, d in zip(seeds, data, strict=True)},
    )


def run_metrics(
    test: pd.DataFrame,
    val: pd.DataFrame | None = None,
    *,
    n_boot: int = N_BOOTSTRAP,
    ci: float = 0.95,
    seed: int = 0,
    threshold: float = 0.5,
) -> dict:
    """One run's statistics of one cell as ``metrics.json`` stores them: :func:`aggregate_seeds` of the
    run's per-video ``test`` scores (and its ``val`` scores for ``acc_val``/``bacc_val``) as its one seed.

    Returns ``{metric: {value, ci_low, ci_high}}`` (fractions; None without bootstrap) with ``n_real``,
    ``n_fake``, ``n_boot``, ``ci``, ``threshold`` and, with ``val``, ``val_threshold``, ``threshold_rule``,
    ``n_val_real``, ``n_val_fake``.
    """
    cell = aggregate_seeds(
        {0: test}, None if val is None else {0: val}, n_boot=n_boot, ci=ci, seed=seed, threshold=threshold
    )
    out: dict = {
        "n_real": cell.n_real,
        "n_fake": cell.n_fake,
        "n_boot": cell.n_boot,
        "ci": cell.level,
        "threshold": cell.fixed_threshold,
    }
    if val is not None:
        labels = val[LABEL].to_numpy()
        out.update(
            val_threshold=cell.thresholds[0],
            threshold_rule=THRESHOLD_RULE,
            n_val_real=int((labels == 0).sum()),
            n_val_fake=int((labels == 1).sum()),
        )
    for name, est in cell.estimates.items():
        low, high = est.ci if est.ci is not None else (None, None)
        out[name] = {"value": est.value, "ci_low": low, "ci_high": high}
    return out


def frame_level(
    scores: Mapping[int, pd.DataFrame] | pd.DataFrame, *, n_boot: int = N_BOOTSTRAP, ci: float = 0.95, seed: int = 0
) -> CellStats:
    """Frame/block-level and video-level AUC from per-frame (or per-block) scores.

    ``scores``: seed -> table with one row per scored frame/block (``key`` names its video,
    ``label`` the video's label), or one table for a single seed (seed 0). Estimates:

    * ``frame_auc``: AUC over all frames/blocks of all test videos, each labelled by its video;
      its interval resamples VIDEOS (stratified, all frames of a drawn video go in together), so
      frames of one video are never treated as independent samples.
    * ``video_auc``: AUC of each video's MEAN frame score (the pooling of
      ``aggregate_video_scores``), with the same video resamples.

    Both are means over seeds with the seed spread as in ``Estimate``; ``n_real``/``n_fake``
    count videos, ``n_items`` frames/blocks per seed.
    """
    _check_args(n_boot, ci)
    tables = {0: scores} if isinstance(scores, pd.DataFrame) else scores
    labels, data = _align(tables, "frame", per_video=False)
    seeds = tuple(sorted(tables))

    # a drawn video brings all its frames, so pooling the resampled frames per video equals
    # resampling the per-video means: video_auc uses the pooled scores with the same resamples
    pooled = [
        SeedScores(
            np.add.reduceat(d.scores, d.starts) / d.counts,
            labels,
            np.arange(labels.size),
            np.ones(labels.size, dtype=np.int64),
        )
        for d in data
    ]
    raw = _estimate(labels, data, {"frame_auc": [_auc] * len(data)}, n_boot, ci, seed)
    raw.update(_estimate(labels, pooled, {"video_auc": [_auc] * len(data)}, n_boot, ci, seed))
    estimates = {}
    for name, (values, interval) in raw.items():
        std, tci = seed_spread(values, ci)
        estimates[name] = Estimate(name, float(np.mean(values)), interval, values, std, tci, None)
    return CellStats(
        estimates,
        seeds,
        int((labels == 0).sum()),
        int(labels.sum()),
        n_boot,
        ci,
        seed,
        "frame",
        {},
        0.5,
        {s: d.scores.size for s, d in zip(seeds, data, strict=True)},
    )
