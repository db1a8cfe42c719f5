"""Video-level metrics from first principles (NumPy): AUC, EER, AP, ACC, bootstrap intervals.

Conventions: ``labels`` 1 = fake (positive class), 0 = real; ``scores`` = P(fake), higher = more fake.
Ties are handled like scikit-learn: all samples with the same score share one ROC/PR point.

* AUC: the Mann–Whitney statistic with average ranks for ties — equal to scikit-learn's
  ``roc_auc_score`` (trapezoidal area under the ROC that treats tied scores as one point).
* EER: the FPR where the piecewise-linear ROC curve (the points of ``roc_curve``) crosses
  FNR = FPR, by linear interpolation inside the crossing segment. Dropping collinear points
  (``drop_intermediate``) does not change it, unlike "the ROC point nearest the diagonal".
* AP: ``sum_n (R_n - R_{n-1}) P_n`` over distinct thresholds, as ``average_precision_score``.
* ACC: a video is called fake when ``score >= threshold`` (``acc``: the fixed threshold, 0.5 by
  default). Balanced accuracy (``bacc``) = (TPR + TNR) / 2 at the same threshold, as
  ``balanced_accuracy_score``.
* Validation threshold (``acc_val``, ``bacc_val``): ``choose_threshold`` picks it from the
  VALIDATION scores only (``THRESHOLD_RULE``); test labels never enter it. On test it is fixed:
  the bootstrap resamples test videos and keeps the threshold.
* Intervals: percentile bootstrap over videos, resampling reals and fakes separately with their
  own counts (stratified), so every resample has both classes and the class balance of the test
  set; all metrics of one call use the same resamples (same seed).

Multi-seed statistics (mean over seeds, seed spread, frame-level AUC) are in
``umcl.evaluation.aggregate``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from umcl.errors import UmclError

#: bootstrap resamples of every interval the suite reports (per-run metrics, tables, claims, studies):
#: the one place the count is set; no profile overrides it (docs/statistics.md: its Monte-Carlo error
#: and its cost)
N_BOOTSTRAP = 2000
Metric = Callable[[np.ndarray, np.ndarray], float]
KEY_COLUMNS: tuple[str, ...] = ("dataset", "method", "compression", "id")


def _check(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1 or s.shape != y.shape:
        raise UmclError(f"labels and scores must be 1-D of equal length, got {y.shape} and {s.shape}")
    if not np.isin(y, (0, 1)).all():
        raise UmclError("labels must be 0 (real) or 1 (fake)")
    if not np.isfinite(s).all():
        raise UmclError(
            f"{int((~np.isfinite(s)).sum())} score(s) are NaN or infinite", fix="check the detector's outputs"
        )
    return y.astype(np.int64), s


def _need_both(y: np.ndarray, name: str) -> None:
    if y.min(initial=1) == y.max(initial=0) or y.size == 0:
        raise UmclError(
            f"{name} needs both real and fake videos, got {int((y == 0).sum())} real and {int(y.sum())} fake",
            fix="evaluate on a split that holds both classes",
        )


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, tied values sharing the mean of their ranks."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2.0)[inverse]


def auc(labels, scores) -> float:
    """Area under the ROC curve (Mann–Whitney U / (n_fake · n_real), ties count one half)."""
    y, s = _check(labels, scores)
    _need_both(y, "AUC")
    return _auc(y, s)


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    rank_sum = _average_ranks(s)[y == 1].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true and false positives at each distinct threshold, highest score first."""
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), y.size - 1]
    tps = np.cumsum(y)[last_of_tie]
    fps = (last_of_tie + 1) - tps
    return tps.astype(np.float64), fps.astype(np.float64)


def roc_points(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) of the ROC curve, starting at (0, 0), one point per distinct score."""
    y, s = _check(labels, scores)
    _need_both(y, "ROC")
    tps, fps = _curve(y, s)
    return np.r_[0.0, fps / fps[-1]], np.r_[0.0, tps / tps[-1]]


def eer_from_roc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Equal error rate of a piecewise-linear ROC curve (FPR where FPR = 1 - TPR)."""
    g = fpr + tpr - 1.0  # FPR - FNR, non-decreasing along the curve, -1 at (0,0), +1 at (1,1)
    i = int(np.searchsorted(g, 0.0, side="left"))
    if i < g.size and g[i] == 0.0:
        return float(fpr[i])
    i = min(max(i, 1), g.size - 1)
    t = g[i - 1] / (g[i - 1] - g[i])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def eer(labels, scores) -> float:
    """Equal error rate (see the module docstring)."""
    return eer_from_roc(*roc_points(labels, scores))


def _eer(y: np.ndarray, s: np.ndarray) -> float:
    tps, fps = _curve(y, s)
    return eer_from_roc(np.r_[0.0, fps / fps[-1]], np.r_[0.0, tps / tps[-1]])


def average_precision(labels, scores) -> float:
    """Average precision with fake as the positive class (step-wise, no interpolation)."""
    y, s = _check(labels, scores)
    _need_both(y, "AP")
    return _ap(y, s)


def _ap(y: np.ndarray, s: np.ndarray) -> float:
    tps, fps = _curve(y, s)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def accuracy(labels, scores, threshold: float = 0.5) -> float:
    """Share of videos classified correctly, fake when ``score >= threshold``."""
    y, s = _check(labels, scores)
    if y.size == 0:
        raise UmclError("accuracy of an empty set", fix="evaluate on a non-empty split")
    return _acc(y, s, threshold)


def _acc(y: np.ndarray, s: np.ndarray, threshold: float) -> float:
    return float(np.mean((s >= threshold).astype(np.int64) == y))


def balanced_accuracy(labels, scores, threshold: float = 0.5) -> float:
    """(TPR + TNR) / 2 with fake when ``score >= threshold``: the mean of the per-class recalls."""
    y, s = _check(labels, scores)
    _need_both(y, "balanced accuracy")
    return _bacc(y, s, threshold)


def _bacc(y: np.ndarray, s: np.ndarray, threshold: float) -> float:
    fake = s >= threshold
    return float((fake[y == 1].mean() + (~fake[y == 0]).mean()) / 2.0)


THRESHOLD_RULE = (
    "threshold chosen on the validation split (never on test): the one that maximises "
    "balanced accuracy there, placed midway between adjacent distinct validation scores; "
    "among equally good thresholds, the one nearest 0.5"
)


def choose_threshold(labels, scores) -> float:
    """The ACC threshold chosen on VALIDATION scores (``THRESHOLD_RULE``); fake when ``score >= t``.

    Candidate cuts lie between adjacent distinct validation scores (threshold = their midpoint),
    plus "all fake" (t = lowest score) and "all real" (t just above the highest score). The cut
    with the highest balanced accuracy wins; ties (within 1e-12) go to the threshold nearest 0.5
    (distances compared to 12 decimals), then to the lower one. Balanced accuracy, not accuracy, so
    the class ratio of the validation split does not pull the threshold. Pass validation labels and scores only.
    """
    y, s = _check(labels, scores)
    _need_both(y, "choose_threshold (validation)")
    u, inverse = np.unique(s, return_inverse=True)
    fakes_at = np.bincount(inverse, weights=y, minlength=u.size)
    reals_at = np.bincount(inverse, weights=1 - y, minlength=u.size)
    # cut c (0..m): fake iff score >= u[c]; TP = fakes at u[c:], TN = reals at u[:c]
    tp = np.r_[np.cumsum(fakes_at[::-1])[::-1], 0.0]
    tn = np.r_[0.0, np.cumsum(reals_at)]
    bacc = (tp / fakes_at.sum() + tn / reals_at.sum()) / 2.0
    thresholds = np.r_[u[0], (u[:-1] + u[1:]) / 2.0, np.nextafter(u[-1], np.inf)]
    best = np.flatnonzero(bacc >= bacc.max() - 1e-12)
    # distances equal in decimals can differ by one float rounding (0.3 and 0.7 around 0.5): compare them rounded
    order = np.lexsort((thresholds[best], np.round(np.abs(thresholds[best] - 0.5), 12)))
    return float(thresholds[best[order[0]]])


def stratified_resamples(labels, n_boot: int, seed: int = 0) -> np.ndarray:
    """``(n_boot, n)`` indices: each row draws the reals and then the fakes with replacement,
    each class its own count (reals first in the row). The one resampling rule of every bootstrap
    here (``bootstrap_ci``, ``compute_metrics``, ``umcl.evaluation.aggregate``), so the same seed
    gives the same resamples everywhere."""
    y = np.asarray(labels)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    rng = np.random.default_rng(seed)
    real, fake = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    # one call with a bound per entry draws the same numbers as row by row ``rng.choice(real)``, then
    # ``rng.choice(fake)`` (tests/test_metrics.py pins it), at a fraction of the time
    highs = np.r_[np.full(real.size, real.size), np.full(fake.size, fake.size)]
    offset = np.r_[np.zeros(real.size, dtype=np.int64), np.full(fake.size, real.size)]
    draws = rng.integers(0, np.broadcast_to(highs, (n_boot, y.size)))
    return np.r_[real, fake][draws + offset]


def percentile_interval(values: np.ndarray, alpha: float) -> tuple[float, float]:
    """The ``alpha / 2`` and ``1 - alpha / 2`` quantiles (NumPy's linear interpolation)."""
    low, high = np.quantile(np.asarray(values, dtype=np.float64), [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def bootstrap_ci(
    labels, scores, metric: Metric, n_boot: int = N_BOOTSTRAP, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float]:
    """Percentile ``1 - alpha`` interval of ``metric`` over stratified video resamples."""
    y, s = _check(labels, scores)
    _need_both(y, "bootstrap_ci")
    idx = stratified_resamples(y, n_boot, seed)
    return percentile_interval(np.array([metric(y[i], s[i]) for i in idx]), alpha)


def metric_functions(threshold: float = 0.5, val_threshold: float | None = None) -> dict[str, Metric]:
    """The video-level metrics by name, unchecked (inputs validated by the caller): ``auc``,
    ``eer``, ``ap``, ``acc``/``bacc`` at ``threshold`` and, with a validation-chosen threshold,
    ``acc_val``/``bacc_val`` at it."""
    out: dict[str, Metric] = {
        "auc": _auc,
        "acc": lambda a, b: _acc(a, b, threshold),
        "bacc": lambda a, b: _bacc(a, b, threshold),
        "eer": _eer,
        "ap": _ap,
    }
    if val_threshold is not None:
        out["acc_val"] = lambda a, b: _acc(a, b, val_threshold)
        out["bacc_val"] = lambda a, b: _bacc(a, b, val_threshold)
    return out


def compute_metrics(
    labels,
    scores,
    n_boot: int = N_BOOTSTRAP,
    seed: int = 0,
    threshold: float = 0.5,
    ci: float = 0.95,
    val_labels=None,
    val_scores=None,
) -> dict:
    """``{auc, acc, bacc, eer, ap}`` each ``{value, ci_low, ci_high}`` (None without bootstrap), plus counts.

    ``acc``/``bacc`` use the fixed ``threshold``. With ``val_labels``/``val_scores`` (the same
    run's VALIDATION split) also ``acc_val``/``bacc_val`` at ``val_threshold`` =
    ``choose_threshold(val)``, held fixed while the test videos are resampled.
    """
    y, s = _check(labels, scores)
    _need_both(y, "compute_metrics")
    if (val_labels is None) != (val_scores is None):
        raise ValueError("pass both val_labels and val_scores, or neither")
    val_threshold = None if val_labels is None else choose_threshold(val_labels, val_scores)
    metrics = metric_functions(threshold, val_threshold)
    out: dict = {
        "n_real": int((y == 0).sum()),
        "n_fake": int(y.sum()),
        "n_boot": int(n_boot),
        "ci": ci,
        "threshold": threshold,
    }
    if val_threshold is not None:
        yv = np.asarray(val_labels)
        out.update(
            val_threshold=val_threshold,
            threshold_rule=THRESHOLD_RULE,
            n_val_real=int((yv == 0).sum()),
            n_val_fake=int((yv == 1).sum()),
        )
    draws = None
    if n_boot > 0:  # the fast replicates (bootstrap_draws: the plain loop's resamples)
        draws = bootstrap_draws(
            y,
            [s],
            {name: [fn] for name, fn in metrics.items()},
            n_boot,
            seed,
            [{"fixed": threshold, "val": val_threshold}],
        )
    for name, fn in metrics.items():
        low, high = percentile_interval(draws[name], 1.0 - ci) if draws is not None else (None, None)
        out[name] = {"value": fn(y, s), "ci_low": low, "ci_high": high}
    return out


def aggregate_video_scores(
    frame_or_block_scores_df: pd.DataFrame,
    key_cols: Sequence[str] = KEY_COLUMNS,
    score_col: str = "score",
    label_col: str = "label",
) -> pd.DataFrame:
    """Mean score per video, grouping by the full key (never by a folder name or id alone).

    Returns one row per video: ``key_cols``, ``label`` (when present; must be constant within a
    video), ``score`` (mean) and ``n`` (frames/blocks averaged), sorted by the key.
    """
    df = frame_or_block_scores_df
    missing = [c for c in (*key_cols, score_col) if c not in df.columns]
    if missing:
        raise UmclError(
            f"score table lacks column(s) {','.join(missing)}", fix=f"it needs {','.join((*key_cols, score_col))}"
        )
    if not np.isfinite(df[score_col].to_numpy(dtype=np.float64)).all():
        raise UmclError("score table holds NaN or infinite scores", fix="check the detector's outputs")
    grouped = df.groupby(list(key_cols), sort=True, dropna=False)
    out = grouped[score_col].agg(["mean", "size"]).rename(columns={"mean": score_col, "size": "n"})
    if label_col in df.columns:
        n_labels = grouped[label_col].nunique()
        if (n_labels > 1).any():
            bad = n_labels[n_labels > 1].index[0]
            raise UmclError(
                f"video {'/'.join(map(str, bad))} has frames with different labels",
                fix="labels belong to videos; rebuild the score table from the manifest",
            )
        out.insert(0, label_col, grouped[label_col].first().astype(int))
    return out.reset_index()


def subset(scores: pd.DataFrame, methods: tuple[str, ...] | None) -> pd.DataFrame:
    """Real videos and the fakes of ``methods`` (all rows when None)."""
    if methods is None:
        return scores
    return scores[(scores["label"] == 0) | scores["method"].isin(list(methods))].reset_index(drop=True)


# --------------------------------------------------------------------------- the bootstrap, one path for every cell
@dataclass(frozen=True)
class SeedScores:
    """One seed's scores, rows grouped by video in the common video order (CSR layout)."""

    scores: np.ndarray
    labels: np.ndarray
    starts: np.ndarray
    counts: np.ndarray

    @property
    def one_row_per_video(self) -> bool:
        return self.scores.size == self.counts.size

    def rows(self, videos: np.ndarray) -> np.ndarray:
        """Row indices of the given videos (repeats kept), all rows of each video, in draw order."""
        if self.one_row_per_video:
            return self.starts[videos]
        c = self.counts[videos]
        return np.repeat(self.starts[videos] - (np.cumsum(c) - c), c) + np.arange(int(c.sum()))


def draw_counts(labels: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """``(n_boot, n)``: how often each video is drawn in each ``stratified_resamples`` row."""
    idx = stratified_resamples(labels, n_boot, seed)
    n = labels.size
    flat = (idx + n * np.arange(n_boot)[:, None]).ravel()
    return np.bincount(flat, minlength=n * n_boot).reshape(n_boot, n)


# Fast bootstrap: AUC and (balanced) accuracy of a resample depend on the resample only through
# how often each video is drawn (W), so all n_boot replicates come from matrix products. This is
# the same statistic as computing the metric on the concatenated rows of each resample
# (tests/test_aggregate.py checks it against that plain loop).
Fast = Callable[[np.ndarray], np.ndarray]


def _fast_auc(d: SeedScores, labels: np.ndarray) -> Fast:
    """AUC of every resample: sum over (fake row, real row) pairs of 1[s_f > s_r] + ½·1[s_f = s_r],
    weighted by the draw counts of their videos, over the number of such pairs."""
    fake_v, real_v = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    fake_rows = d.rows(fake_v)
    fake_s, bounds = d.scores[fake_rows], np.cumsum(d.counts[fake_v]) - d.counts[fake_v]
    pairs = np.empty((fake_v.size, real_v.size))
    for j, r in enumerate(real_v):
        real_s = np.sort(d.scores[d.starts[r] : d.starts[r] + d.counts[r]])
        below = np.searchsorted(real_s, fake_s, side="left")
        ties = np.searchsorted(real_s, fake_s, side="right") - below
        pairs[:, j] = np.add.reduceat(below + 0.5 * ties, bounds)
    n_fake_rows, n_real_rows = d.counts[fake_v].astype(np.float64), d.counts[real_v].astype(np.float64)

    def auc_of(w: np.ndarray) -> np.ndarray:
        wf, wr = w[:, fake_v], w[:, real_v]
        return ((wf @ pairs) * wr).sum(axis=1) / ((wf @ n_fake_rows) * (wr @ n_real_rows))

    return auc_of


def _fast_accuracy(d: SeedScores, labels: np.ndarray, threshold: float, balanced: bool) -> Fast:
    """(Balanced) accuracy of every resample at a fixed threshold (fake when score >= threshold)."""
    correct = np.add.reduceat(((d.scores >= threshold) == d.labels).astype(np.float64), d.starts)
    rows = d.counts.astype(np.float64)
    fake_v, real_v = labels == 1, labels == 0

    def acc_of(w: np.ndarray) -> np.ndarray:
        if not balanced:
            return (w @ correct) / (w @ rows)
        tpr = (w[:, fake_v] @ correct[fake_v]) / (w[:, fake_v] @ rows[fake_v])
        tnr = (w[:, real_v] @ correct[real_v]) / (w[:, real_v] @ rows[real_v])
        return (tpr + tnr) / 2.0

    return acc_of


def _fast_curve(d: SeedScores, labels: np.ndarray, kind: str) -> Fast:
    """EER or AP of every resample from draw-count-weighted cumulative TP/FP at each distinct
    score (a threshold whose videos were not drawn adds a repeated point: no area, no crossing)."""
    order = np.argsort(-d.scores, kind="mergesort")
    s, y = d.scores[order], d.labels[order].astype(np.float64)
    video = np.repeat(np.arange(labels.size), d.counts)[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]

    def curve_of(w: np.ndarray) -> np.ndarray:
        wr = w[:, video].astype(np.float64)
        tps = np.cumsum(wr * y, axis=1)[:, last]
        fps = np.cumsum(wr * (1.0 - y), axis=1)[:, last]
        if kind == "ap":
            with np.errstate(invalid="ignore", divide="ignore"):
                precision = tps / (tps + fps)
            drec = np.diff(tps / tps[:, -1:], axis=1, prepend=0.0)
            return np.where(drec > 0, drec * np.nan_to_num(precision), 0.0).sum(axis=1)
        zero = np.zeros((w.shape[0], 1))
        fpr, tpr = np.hstack([zero, fps / fps[:, -1:]]), np.hstack([zero, tps / tps[:, -1:]])
        g = fpr + tpr - 1.0  # as in metrics.eer_from_roc: first point with g >= 0, else interpolate
        rows, first = np.arange(w.shape[0]), np.argmax(g >= 0.0, axis=1)
        i = np.clip(first, 1, g.shape[1] - 1)
        g0, g1, f0, f1 = g[rows, i - 1], g[rows, i], fpr[rows, i - 1], fpr[rows, i]
        with np.errstate(invalid="ignore", divide="ignore"):
            crossing = f0 + g0 / (g0 - g1) * (f1 - f0)
        return np.where(g[rows, first] == 0.0, fpr[rows, first], crossing)

    return curve_of


def _fast(name: str, d: SeedScores, labels: np.ndarray, thresholds: dict[str, float | None]) -> Fast | None:
    """The fast bootstrap of a metric by name, or None when it has none (then a plain loop)."""
    if name in ("eer", "ap"):
        return _fast_curve(d, labels, name)
    if name in ("auc", "frame_auc", "video_auc"):
        return _fast_auc(d, labels)
    if name in ("acc", "bacc", "acc_val", "bacc_val"):
        t = thresholds.get("val" if name.endswith("_val") else "fixed")
        return None if t is None else _fast_accuracy(d, labels, t, balanced=name.startswith("b"))
    return None


def boot_replicates(
    labels: np.ndarray,
    data: list[SeedScores],
    fns: dict[str, list[Metric]],
    n_boot: int,
    seed: int,
    thresholds: list[dict[str, float | None]] | None = None,
) -> dict[str, np.ndarray]:
    """``(n_boot,)`` per metric: the mean over seeds of the metric on each stratified resample of the videos
    (fast path where the metric has one, else the plain loop over resamples)."""
    thr = thresholds or [{"fixed": None, "val": None}] * len(data)
    boot = {name: np.zeros(n_boot) for name in fns}
    slow: dict[str, list[Metric]] = {}
    w = draw_counts(labels, n_boot, seed)
    for name, per_seed in fns.items():
        fast = [_fast(name, d, labels, t) for d, t in zip(data, thr, strict=True)]
        if all(f is not None for f in fast):
            for f in fast:
                boot[name] += f(w)  # type: ignore[misc]
        else:
            slow[name] = per_seed
    if slow:
        for b, videos in enumerate(stratified_resamples(labels, n_boot, seed)):
            for k, d in enumerate(data):
                rows = d.rows(videos)
                y, s = d.labels[rows], d.scores[rows]
                for name, per_seed in slow.items():
                    boot[name][b] += per_seed[k](y, s)
    return {name: b / len(data) for name, b in boot.items()}


def bootstrap_draws(
    labels,
    scores: list[np.ndarray],
    fns: dict[str, list[Metric]],
    n_boot: int,
    seed: int = 0,
    thresholds: list[dict[str, float | None]] | None = None,
) -> dict[str, np.ndarray]:
    """``(n_boot,)`` per metric name: the metric (``fns[name][k]`` for score vector ``k``) averaged over the
    per-video score vectors ``scores`` (one per seed, in the order of ``labels``) on each
    ``stratified_resamples`` row of ``(labels, n_boot, seed)``: the plain loop's replicates, from the fast
    path where a metric has one. ``thresholds[k]``: vector ``k``'s ``fixed``/``val`` ACC thresholds."""
    y = np.asarray(labels, dtype=np.int64)
    ones = np.ones(y.size, dtype=np.int64)
    data = [SeedScores(np.asarray(s, dtype=np.float64), y, np.arange(y.size), ones) for s in scores]
    return boot_replicates(y, data, fns, n_boot, seed, thresholds)
