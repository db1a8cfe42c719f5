"""Metrics against scikit-learn (incl. ties), bootstrap intervals, and per-video aggregation by full key.

Every metric (AUC, ACC, EER, AP) is compared with an independent scikit-learn/SciPy value
(tests/_metric_refs.py), not only checked to lie in its own interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _metric_refs import sklearn_eer, sklearn_metrics
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from umcl.config import from_dict
from umcl.errors import ConfigError, UmclError
from umcl.evaluation.config import EvalConfig
from umcl.metrics import (
    accuracy,
    aggregate_video_scores,
    auc,
    average_precision,
    bootstrap_ci,
    compute_metrics,
    eer,
    eer_from_roc,
)


@st.composite
def labelled_scores(draw):
    n = draw(st.integers(2, 60))
    labels = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    labels[0], labels[1] = 0, 1
    # few distinct values -> many ties; or continuous values
    if draw(st.booleans()):
        scores = draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), min_size=n, max_size=n))
    else:
        scores = draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=n, max_size=n))
    return np.array(labels), np.array(scores)


@settings(max_examples=150, deadline=None)
@given(labelled_scores())
def test_auc_ap_equal_sklearn(data):
    y, s = data
    assert auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(labelled_scores())
def test_eer_equals_sklearn_roc_crossing(data):
    y, s = data
    fpr, tpr, _ = roc_curve(y, s)  # drop_intermediate=True: collinear points removed, same curve
    value = eer(y, s)
    assert value == pytest.approx(eer_from_roc(fpr, tpr), abs=1e-12)
    assert value == pytest.approx(sklearn_eer(y, s), abs=1e-9)  # independent: Brent root on sklearn's ROC
    # the crossing lies between the ROC points nearest the diagonal on either side
    fnr = 1 - tpr
    below = fpr[fpr - fnr <= 0].max()
    above = fpr[fpr - fnr >= 0].min()
    assert below - 1e-12 <= value <= above + 1e-12


@settings(max_examples=150, deadline=None)
@given(labelled_scores())
def test_all_four_metrics_equal_sklearn(data):
    """The tie-heavy draws put many scores exactly on 0.5, so the >= rule of ACC is exercised."""
    y, s = data
    ref = sklearn_metrics(y, s)
    got = {"auc": auc(y, s), "acc": accuracy(y, s), "eer": eer(y, s), "ap": average_precision(y, s)}
    assert got == pytest.approx(ref, abs=1e-9)


def test_known_values():
    y = np.array([0, 0, 1, 1])
    assert auc(y, [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert auc(y, [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert eer(y, [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert eer(y, [0.9, 0.8, 0.2, 0.1]) == 1.0
    assert eer(y, [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert accuracy(y, [0.1, 0.2, 0.5, 0.5]) == 1.0  # a score of exactly 0.5 counts as fake (>=) ...
    assert accuracy(y, [0.5, 0.5, 0.7, 0.9]) == 0.5  # ... for real videos too; with > both would differ
    assert accuracy(y, [0.1, 0.2, 0.8, 0.9], threshold=0.8) == 1.0
    assert accuracy(y, [0.1, 0.2, 0.8, 0.9], threshold=0.85) == 0.75


def test_accuracy_of_one_video_and_of_none():
    assert accuracy([1], [0.7]) == 1.0 and accuracy([0], [0.7]) == 0.0
    with pytest.raises(UmclError, match="empty"):
        accuracy([], [])


def test_one_class_and_nan_are_errors():
    with pytest.raises(UmclError, match="both real and fake"):
        auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(UmclError, match="NaN"):
        eer([0, 1], [0.1, float("nan")])
    with pytest.raises(UmclError, match="0 \\(real\\) or 1"):
        average_precision([0, 2], [0.1, 0.2])


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    return y, 1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * y)))


@pytest.mark.parametrize("metric", [auc, eer, average_precision, accuracy])
def test_ci_contains_estimate_and_narrows(metric):
    widths = []
    for n in (40, 640):
        y, s = synthetic(n, 3)
        low, high = bootstrap_ci(y, s, metric, n_boot=300, seed=1)
        assert low <= metric(y, s) <= high
        widths.append(high - low)
    assert widths[1] < 0.5 * widths[0]


def test_bootstrap_is_stratified_and_seeded():
    y = np.array([0] * 30 + [1] * 2)  # a naive resample would often miss the fakes
    s = np.random.default_rng(0).random(32)  # completes only if every resample holds both classes
    assert bootstrap_ci(y, s, auc, n_boot=200, seed=5) == bootstrap_ci(y, s, auc, n_boot=200, seed=5)
    assert bootstrap_ci(y, s, auc, n_boot=200, seed=5) != bootstrap_ci(y, s, auc, n_boot=200, seed=6)


def test_compute_metrics_layout():
    y, s = synthetic(100, 0)
    m = compute_metrics(y, s, n_boot=100, seed=0)
    assert (m["n_real"], m["n_fake"]) == (50, 50)
    for name in ("auc", "acc", "eer", "ap"):
        assert set(m[name]) == {"value", "ci_low", "ci_high"}
        assert m[name]["ci_low"] <= m[name]["value"] <= m[name]["ci_high"]
    assert m["auc"]["value"] == pytest.approx(roc_auc_score(y, s))
    ref = sklearn_metrics(y, s)
    assert {k: m[k]["value"] for k in ref} == pytest.approx(ref, abs=1e-9)
    assert compute_metrics(y, s, n_boot=0)["auc"]["ci_low"] is None


def test_aggregate_keeps_same_id_across_methods_apart():
    df = pd.DataFrame(
        {
            "dataset": ["ff++"] * 6,
            "compression": ["c23"] * 6,
            "method": ["Deepfakes", "Deepfakes", "FaceSwap", "FaceSwap", "original", "original"],
            "id": ["000_003"] * 4 + ["000"] * 2,
            "label": [1, 1, 1, 1, 0, 0],
            "score": [0.9, 0.7, 0.2, 0.4, 0.1, 0.3],
        }
    )
    out = aggregate_video_scores(df)
    assert len(out) == 3
    got = {(r.method, r.id): (r.score, r.n, r.label) for r in out.itertuples()}
    assert got[("Deepfakes", "000_003")] == (pytest.approx(0.8), 2, 1)
    assert got[("FaceSwap", "000_003")] == (pytest.approx(0.3), 2, 1)
    assert got[("original", "000")] == (pytest.approx(0.2), 2, 0)
    same_id_other_compression = df.assign(compression=["c23", "c40"] * 3)
    assert len(aggregate_video_scores(same_id_other_compression)) == 6


def test_aggregate_errors():
    df = pd.DataFrame(
        {
            "dataset": ["d"] * 2,
            "method": ["m"] * 2,
            "compression": ["c"] * 2,
            "id": ["1"] * 2,
            "label": [0, 1],
            "score": [0.1, 0.2],
        }
    )
    with pytest.raises(UmclError, match="different labels"):
        aggregate_video_scores(df)
    with pytest.raises(UmclError, match="lacks column"):
        aggregate_video_scores(df.drop(columns="method"))


def test_eval_config():
    assert EvalConfig() == EvalConfig(n_bootstrap=2000, ci=0.95, threshold=0.5, seed=0)
    assert from_dict({"n_bootstrap": 10, "ci": 0.9}, EvalConfig).n_bootstrap == 10
    with pytest.raises(ConfigError, match="ci"):
        EvalConfig(ci=1.5)
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict({"bootstrap": 3}, EvalConfig)


@pytest.mark.parametrize("lo, hi", [(0.25, 0.75), (0.4, 0.6), (0.3, 0.7), (0.42, 0.58), (0.32, 0.68), (0.09, 0.91)])
def test_choose_threshold_tie_equally_near_half_goes_to_the_lower(lo, hi):
    """THRESHOLD_RULE's last tie-break: two cuts equally good and equally near 0.5 (decimal distances
    equal; in floats they may differ by one rounding) -> the lower one."""
    from sklearn.metrics import balanced_accuracy_score

    from umcl.metrics import choose_threshold

    # a real below, a real and a fake at 0.5, a fake above: cuts midway below and above 0.5 tie
    y, s = np.array([0, 0, 1, 1]), np.array([2 * lo - 0.5, 0.5, 0.5, 2 * hi - 0.5])
    ba = {c: balanced_accuracy_score(y, s >= c) for c in (lo, hi, s.min(), np.inf)}
    assert ba[lo] == ba[hi] == max(ba.values())
    assert choose_threshold(y, s) == pytest.approx(lo, abs=1e-12)
    assert choose_threshold(y[::-1], s[::-1]) == pytest.approx(lo, abs=1e-12)


def test_frame_level_defaults_and_messages():
    """frame_level's documented defaults (the suite's N_BOOTSTRAP resamples, 95 %, bootstrap seed 0) and its
    errors naming frames."""
    from umcl.evaluation.aggregate import frame_level
    from umcl.evaluation.config import N_BOOTSTRAP

    rows = [(f"v{v}", int(v >= 4), 0.1 * v + 0.05 * f) for v in range(8) for f in range(3)]
    frames = pd.DataFrame(rows, columns=["key", "label", "score"])
    cell = frame_level(frames)
    assert N_BOOTSTRAP >= 2000
    assert (cell.n_boot, cell.level, cell.bootstrap_seed, cell.unit) == (N_BOOTSTRAP, 0.95, 0, "frame")
    for name, est in cell.estimates.items():
        assert est.metric == name and est.value == pytest.approx(np.mean(est.seed_values), abs=1e-15)
    assert cell.to_dict()["val_thresholds"] == {} and cell.n_items == {0: 24}
    assert (
        cell.estimates["frame_auc"].ci
        == frame_level(frames, n_boot=N_BOOTSTRAP, ci=0.95, seed=0).estimates["frame_auc"].ci
    )
    bad = frames.assign(label=[0, 1, 0] + list(frames["label"][3:]))
    with pytest.raises(UmclError, match=r"^frame video v0 of seed 0 has rows with different labels"):
        frame_level(bad)
    with pytest.raises(UmclError, match=r"^no frame scores given"):
        frame_level({})


def test_frame_level_seed_spread_at_the_requested_level():
    """Over four seeds: the sample s.d. of the per-seed AUCs and their Student-t interval at the given level."""
    from scipy import stats

    from umcl.evaluation.aggregate import frame_level

    rng = np.random.default_rng(5)
    tables = {
        s: pd.DataFrame(
            [(f"v{v}", int(v >= 20), rng.normal(1.0 * (v >= 20))) for v in range(40) for _ in range(3)],
            columns=["key", "label", "score"],
        )
        for s in range(4)
    }
    cell = frame_level(tables, n_boot=0, ci=0.9)
    for name in ("frame_auc", "video_auc"):
        est = cell.estimates[name]
        v = np.array(est.seed_values)
        assert len(set(v)) > 1 and est.seed_std == pytest.approx(v.std(ddof=1), abs=1e-12)
        half = stats.t.ppf(0.95, 3) * v.std(ddof=1) / 2
        assert 0 < v.mean() - half and v.mean() + half < 1  # not clipped: the level shows
        assert est.seed_ci == pytest.approx((v.mean() - half, v.mean() + half), abs=1e-12)
