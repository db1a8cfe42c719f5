"""Independent references for the video-level metrics: scikit-learn and SciPy only, no umcl code.

Used by test_metrics.py (against the functions), test_trainer.py and test_pipeline_smoke.py
(against the ``metrics.json`` written next to a ``scores.csv``).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score, roc_curve

THRESHOLD = 0.5
"""The contract's fixed decision threshold: a video is called fake when ``score >= 0.5``."""


def sklearn_eer(labels, scores) -> float:
    """EER from scikit-learn's ROC points: the FPR where the piecewise-linear curve meets FNR = FPR.

    The curve is walked by a parameter u in [0, n-1] (u = i at ROC point i, linear in between);
    g(u) = FPR + TPR - 1 rises strictly along every segment of non-zero length, from -1 to +1, so
    it has exactly one root, found with SciPy's Brent solver.
    """
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    u = np.arange(fpr.size, dtype=np.float64)

    def g(x: float) -> float:
        return float(np.interp(x, u, fpr) + np.interp(x, u, tpr) - 1.0)

    if g(0.0) >= 0.0:
        return float(fpr[0])
    root = brentq(g, 0.0, float(u[-1]), xtol=1e-14, rtol=1e-14)
    return float(np.interp(root, u, fpr))


def sklearn_metrics(labels, scores, threshold: float = THRESHOLD) -> dict[str, float]:
    """``{auc, acc, eer, ap}`` of fake-vs-real scores, each from scikit-learn (EER: :func:`sklearn_eer`)."""
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    return {
        "auc": float(roc_auc_score(y, s)),
        "acc": float(accuracy_score(y, (s >= threshold).astype(np.int64))),
        "eer": sklearn_eer(y, s),
        "ap": float(average_precision_score(y, s)),
    }
