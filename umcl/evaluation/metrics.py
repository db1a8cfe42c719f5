"""Video-level metrics from first principles (NumPy): AUC, EER, AP, ACC, bootstrap intervals.

Conventions: ``labels`` 1 = fake (positive class), 0 = real; ``scores`` = P(fake), higher = more fake.
Ties are handled like scikit-learn: all samples with the same score share one ROC/PR point.

* AUC: the Mann–Whitney statistic with average ranks for ties — equal to scikit-learn's
  ``roc_auc_score`` (trapezoidal area under the ROC that treats tied scores as one point).
* EER: the FPR where the piecewise-linear ROC curve (the points of ``roc_curve``) crosses
  FNR = FPR, by linear interpolation inside the crossing segment. Dropping collinear points
  (``drop_intermediate``) does not change it, unlike "the ROC point nearest the diagonal".
* AP: ``sum_n (R_n - R_{n-1}) P_n`` over distinct thresholds, as ``average_precision_score``.
* ACC: a video is called fake when ``score >= threshold`` (fixed 0.5 by default; never tuned).
* Intervals: percentile bootstrap over videos, resampling reals and fakes separately with their
  own counts (stratified), so every resample has both classes and the class balance of the test
  set; all metrics of one call use the same resamples (same seed).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd

from umcl.errors import UmclError

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
        raise UmclError(f"{int((~np.isfinite(s)).sum())} score(s) are NaN or infinite", fix="check the detector's outputs")
    return y.astype(np.int64), s


def _need_both(y: np.ndarray, name: str) -> None:
    if y.min(initial=1) == y.max(initial=0) or y.size == 0:
        raise UmclError(f"{name} needs both real and fake videos, got {int((y == 0).sum())} real and {int(y.sum())} fake",
                        fix="evaluate on a split that holds both classes")


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, tied values sharing the mean of their ranks."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2.0)[inverse]


def auc(labels, scores) -> float:
    """Area under the ROC curve (Mann–Whitney U / (n_fake · n_real), ties count one half)."""
    y, s = _check(labels, scores)
    _need_both(y, "AUC")
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


def average_precision(labels, scores) -> float:
    """Average precision with fake as the positive class (step-wise, no interpolation)."""
    y, s = _check(labels, scores)
    _need_both(y, "AP")
    tps, fps = _curve(y, s)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def accuracy(labels, scores, threshold: float = 0.5) -> float:
    """Share of videos classified correctly, fake when ``score >= threshold``."""
    y, s = _check(labels, scores)
    if y.size == 0:
        raise UmclError("accuracy of an empty set", fix="evaluate on a non-empty split")
    return float(np.mean((s >= threshold).astype(np.int64) == y))


def bootstrap_ci(labels, scores, metric: Metric, n_boot: int = 1000, alpha: float = 0.05,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile ``1 - alpha`` interval of ``metric`` over stratified video resamples."""
    y, s = _check(labels, scores)
    _need_both(y, "bootstrap_ci")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    rng = np.random.default_rng(seed)
    real, fake = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    values = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate([rng.choice(real, real.size), rng.choice(fake, fake.size)])
        values[b] = metric(y[idx], s[idx])
    low, high = np.quantile(values, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def compute_metrics(labels, scores, n_boot: int = 1000, seed: int = 0, threshold: float = 0.5,
                    ci: float = 0.95) -> dict:
    """``{auc, acc, eer, ap}`` each ``{value, ci_low, ci_high}`` (None without bootstrap), plus counts."""
    y, s = _check(labels, scores)
    _need_both(y, "compute_metrics")
    metrics: dict[str, Metric] = {"auc": auc, "acc": lambda a, b: accuracy(a, b, threshold),
                                  "eer": eer, "ap": average_precision}
    out: dict = {"n_real": int((y == 0).sum()), "n_fake": int(y.sum()), "n_boot": int(n_boot), "ci": ci,
                 "threshold": threshold}
    for name, fn in metrics.items():
        low = high = None
        if n_boot > 0:
            low, high = bootstrap_ci(y, s, fn, n_boot=n_boot, alpha=1.0 - ci, seed=seed)
        out[name] = {"value": fn(y, s), "ci_low": low, "ci_high": high}
    return out


def aggregate_video_scores(frame_or_block_scores_df: pd.DataFrame, key_cols: Sequence[str] = KEY_COLUMNS,
                           score_col: str = "score", label_col: str = "label") -> pd.DataFrame:
    """Mean score per video, grouping by the full key (never by a folder name or id alone).

    Returns one row per video: ``key_cols``, ``label`` (when present; must be constant within a
    video), ``score`` (mean) and ``n`` (frames/blocks averaged), sorted by the key.
    """
    df = frame_or_block_scores_df
    missing = [c for c in (*key_cols, score_col) if c not in df.columns]
    if missing:
        raise UmclError(f"score table lacks column(s) {','.join(missing)}", fix=f"it needs {','.join((*key_cols, score_col))}")
    if not np.isfinite(df[score_col].to_numpy(dtype=np.float64)).all():
        raise UmclError("score table holds NaN or infinite scores", fix="check the detector's outputs")
    grouped = df.groupby(list(key_cols), sort=True, dropna=False)
    out = grouped[score_col].agg(["mean", "size"]).rename(columns={"mean": score_col, "size": "n"})
    if label_col in df.columns:
        n_labels = grouped[label_col].nunique()
        if (n_labels > 1).any():
            bad = n_labels[n_labels > 1].index[0]
            raise UmclError(f"video {'/'.join(map(str, bad))} has frames with different labels",
                            fix="labels belong to videos; rebuild the score table from the manifest")
        out.insert(0, label_col, grouped[label_col].first().astype(int))
    return out.reset_index()
