"""Validation threshold, balanced accuracy and multi-seed / frame-level statistics against
independent references: scikit-learn metrics, scipy.stats.t, and a plain float64 NumPy loop of
the stratified bootstrap with the same seed; hypothesis for invariances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import accuracy_score, average_precision_score, balanced_accuracy_score, roc_auc_score

from umcl.errors import UmclError
from umcl.evaluation.aggregate import aggregate_seeds, frame_level, seed_spread
from umcl.evaluation.config import EvalConfig
from umcl.metrics import balanced_accuracy, choose_threshold, compute_metrics, eer

# ---------------------------------------------------------------- references (no umcl resampling)


def ref_resamples(y: np.ndarray, n_boot: int, seed: int):
    """The documented rule, written out: per replicate, draw the reals, then the fakes, with replacement."""
    rng = np.random.default_rng(seed)
    real, fake = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    for _ in range(n_boot):
        yield np.concatenate([rng.choice(real, real.size), rng.choice(fake, fake.size)])


def ref_metric(name: str, y, s, threshold: float = 0.5, val_threshold: float | None = None) -> float:
    y, s = np.asarray(y), np.asarray(s, dtype=np.float64)
    t = val_threshold if name.endswith("_val") else threshold
    if name == "auc":
        return roc_auc_score(y, s)
    if name == "ap":
        return average_precision_score(y, s)
    if name == "eer":
        return eer(y, s)  # itself checked against scikit-learn's ROC in test_metrics.py
    if name.startswith("acc"):
        return accuracy_score(y, (s >= t).astype(int))
    return balanced_accuracy_score(y, (s >= t).astype(int))


def ref_bootstrap(y, per_seed_scores, name, n_boot, seed, level=0.95, thresholds=None):
    """Percentile interval of the mean over seeds, the same video resample applied to every seed."""
    thresholds = thresholds or [None] * len(per_seed_scores)
    stat = [
        np.mean(
            [ref_metric(name, y[i], s[i], val_threshold=t) for s, t in zip(per_seed_scores, thresholds, strict=True)]
        )
        for i in ref_resamples(y, n_boot, seed)
    ]
    return tuple(np.quantile(np.array(stat, dtype=np.float64), [(1 - level) / 2, 1 - (1 - level) / 2]))


def table(keys, y, s) -> pd.DataFrame:
    return pd.DataFrame({"key": keys, "label": y, "score": s})


def synthetic_seeds(n_real: int, n_fake: int, n_seeds: int, seed: int = 0, decimals: int | None = None):
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n_real, int), np.ones(n_fake, int)]
    keys = np.array([f"v{i:03d}" for i in range(y.size)])
    out = {}
    for k in range(n_seeds):
        s = 1 / (1 + np.exp(-(rng.normal(size=y.size) + 1.0 * y)))
        out[10 + k] = table(keys, y, s if decimals is None else np.round(s, decimals))
    return keys, y, out


# ---------------------------------------------------------------- threshold and balanced accuracy


@st.composite
def labelled(draw, min_n=2):
    n = draw(st.integers(min_n, 40))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    y[0], y[1] = 0, 1
    if draw(st.booleans()):
        s = draw(st.lists(st.sampled_from([0.0, 0.2, 0.5, 0.7, 1.0]), min_size=n, max_size=n))
    else:
        s = draw(st.lists(st.floats(0, 1, allow_nan=False, width=32), min_size=n, max_size=n))
    return np.array(y), np.array(s, dtype=np.float64)


@settings(max_examples=150, deadline=None)
@given(labelled(), st.floats(0, 1))
def test_balanced_accuracy_equals_sklearn(data, t):
    y, s = data
    assert balanced_accuracy(y, s, t) == pytest.approx(balanced_accuracy_score(y, (s >= t).astype(int)), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(labelled())
def test_choose_threshold_maximises_validation_balanced_accuracy(data):
    y, s = data
    t = choose_threshold(y, s)
    # every threshold is equivalent to a cut at one of the scores, or above them all
    best = max(balanced_accuracy_score(y, (s >= c).astype(int)) for c in [*np.unique(s), np.inf])
    assert balanced_accuracy_score(y, (s >= t).astype(int)) == pytest.approx(best, abs=1e-12)
    inner = (s.min() < t) & (t <= s.max())
    if inner:  # a cut between two scores sits at their midpoint
        below, above = s[s < t].max(), s[s >= t].min()
        assert t == pytest.approx((below + above) / 2, abs=1e-12)


def test_choose_threshold_rule_cases():
    assert choose_threshold([0, 0, 1, 1], [0.1, 0.2, 0.6, 0.8]) == pytest.approx(0.4)  # midpoint
    # ties in balanced accuracy: the threshold nearest 0.5 wins, whether it is the lower or the higher
    y, s = [0, 0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.6, 0.7, 0.9]
    ties = {c: balanced_accuracy_score(y, (np.array(s) >= c).astype(int)) for c in (0.25, 0.65)}
    assert ties[0.25] == pytest.approx(ties[0.65])  # cuts below 0.3 and below 0.7 tie
    assert choose_threshold(y, s) == pytest.approx(0.65)  # |0.65-0.5| < |0.25-0.5|
    y2, s2 = [0, 0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.9, 0.95, 0.99]
    bas = {c: balanced_accuracy_score(y2, (np.array(s2) >= c).astype(int)) for c in (0.25, 0.925)}
    assert bas[0.25] == pytest.approx(bas[0.925])  # a tie between a cut at 0.25 and one at 0.925
    assert choose_threshold(y2, s2) == pytest.approx(0.25)  # |0.25-0.5| < |0.925-0.5|
    # the class ratio of validation does not move the cut (balanced accuracy, not accuracy)
    assert choose_threshold([0] * 9 + [1], [0.1] * 9 + [0.3]) == pytest.approx(0.2)
    with pytest.raises(UmclError, match="both real and fake"):
        choose_threshold([1, 1], [0.2, 0.3])


def test_validation_threshold_never_uses_test_labels():
    rng = np.random.default_rng(0)
    yv, sv = np.repeat([0, 1], 20), rng.random(40)
    yt, st_ = np.repeat([0, 1], 15), rng.random(30)
    m = compute_metrics(yt, st_, n_boot=0, val_labels=yv, val_scores=sv)
    flipped = compute_metrics(1 - yt, st_, n_boot=0, val_labels=yv, val_scores=sv)
    assert m["val_threshold"] == flipped["val_threshold"] == choose_threshold(yv, sv)
    t = m["val_threshold"]
    assert m["acc_val"]["value"] == pytest.approx(accuracy_score(yt, (st_ >= t).astype(int)))
    assert m["bacc_val"]["value"] == pytest.approx(balanced_accuracy_score(yt, (st_ >= t).astype(int)))
    assert m["acc"]["value"] == pytest.approx(accuracy_score(yt, (st_ >= 0.5).astype(int)))
    assert m["bacc"]["value"] == pytest.approx(balanced_accuracy_score(yt, (st_ >= 0.5).astype(int)))
    assert (m["n_val_real"], m["n_val_fake"]) == (20, 20)
    with pytest.raises(ValueError, match="both"):
        compute_metrics(yt, st_, n_boot=0, val_labels=yv)


# ---------------------------------------------------------------- multi-seed aggregation


@pytest.mark.parametrize("decimals", [None, 1])  # continuous scores, and many ties
def test_aggregate_matches_independent_bootstrap(decimals):
    keys, y, test = synthetic_seeds(12, 9, 3, seed=1, decimals=decimals)
    _, yv, val = synthetic_seeds(10, 10, 3, seed=2, decimals=decimals)
    n_boot, boot_seed = 50, 7
    cell = aggregate_seeds(test, val, n_boot=n_boot, seed=boot_seed, ci=0.9)
    scores = [test[k]["score"].to_numpy() for k in sorted(test)]
    thresholds = [choose_threshold(yv, val[k]["score"]) for k in sorted(val)]
    assert cell.thresholds == dict(zip(sorted(val), thresholds, strict=True))
    assert (cell.n_real, cell.n_fake, cell.n_seeds, cell.n_boot) == (12, 9, 3, n_boot)
    assert set(cell.estimates) == {"auc", "acc", "bacc", "eer", "ap", "acc_val", "bacc_val"}
    for name, est in cell.estimates.items():
        per_seed = [ref_metric(name, y, s, val_threshold=t) for s, t in zip(scores, thresholds, strict=True)]
        assert est.seed_values == pytest.approx(per_seed, abs=1e-12), name
        assert est.value == pytest.approx(np.mean(per_seed), abs=1e-12), name
        lo, hi = ref_bootstrap(y, scores, name, n_boot, boot_seed, level=0.9, thresholds=thresholds)
        assert est.ci == pytest.approx((lo, hi), abs=1e-9), name
        ens_t = choose_threshold(yv, np.mean([val[k]["score"] for k in sorted(val)], axis=0))
        assert est.ensemble == pytest.approx(
            ref_metric(name, y, np.mean(scores, axis=0), val_threshold=ens_t), abs=1e-12
        ), name


def test_one_seed_has_no_spread_and_equals_per_run_metrics():
    _, y, test = synthetic_seeds(8, 8, 1, seed=3)
    cell = aggregate_seeds(test, n_boot=120, seed=4)
    per_run = compute_metrics(y, test[10]["score"], n_boot=120, seed=4)
    for name, est in cell.estimates.items():
        assert est.seed_std is None and est.seed_ci is None, name
        d = est.to_dict()
        assert d["seed_std"] is None and d["seed_ci_low"] is None and d["seed_ci_high"] is None
        assert (est.value, *est.ci) == pytest.approx(
            (per_run[name]["value"], per_run[name]["ci_low"], per_run[name]["ci_high"]), abs=1e-12
        )
    assert cell.to_dict()["n_real"] == 8 and cell.to_dict()["n_fake"] == 8


def test_seed_spread_is_sample_std_and_student_t():
    values = [0.71, 0.80, 0.76]
    std, (lo, hi) = seed_spread(values, 0.95)
    assert std == pytest.approx(np.std(values, ddof=1))
    ref = stats.t.interval(0.95, df=2, loc=np.mean(values), scale=stats.sem(values))
    assert (lo, hi) == pytest.approx(ref, abs=1e-12)
    assert hi - np.mean(values) == pytest.approx(4.302652729911275 * std / np.sqrt(3))  # t(0.975, 2) from tables
    # clipped to the metric's range [0, 1]
    assert seed_spread([0.99, 1.0], 0.95)[1][1] == 1.0
    assert seed_spread([0.5]) == (None, None)


def test_aggregate_seeds_mean_uses_sample_std():
    _, _, test = synthetic_seeds(20, 20, 3, seed=5)
    est = aggregate_seeds(test, n_boot=0).estimates["auc"]
    assert est.ci is None
    assert est.seed_std == pytest.approx(np.std(est.seed_values, ddof=1))
    assert est.seed_std > 0


@st.composite
def seeded_tables(draw):
    n = draw(st.integers(2, 14))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    y[0], y[1] = 0, 1
    k = draw(st.integers(1, 3))
    keys = [f"k{i:02d}" for i in range(n)]
    tabs = {}
    for seed in range(k):
        s = draw(st.lists(st.sampled_from([0.05, 0.2, 0.4, 0.5, 0.6, 0.8, 0.95]), min_size=n, max_size=n))
        tabs[seed] = table(keys, y, s)
    return tabs


@settings(max_examples=40, deadline=None)
@given(seeded_tables(), st.randoms(use_true_random=False))
def test_invariances(tabs, rnd):
    base = aggregate_seeds(tabs, n_boot=30, seed=1)
    # row order and seed numbering do not matter
    shuffled = {s + 100: df.sample(frac=1, random_state=rnd.randint(0, 10**6)) for s, df in tabs.items()}
    other = aggregate_seeds(shuffled, n_boot=30, seed=1)
    for name in base.estimates:
        assert other.estimates[name].value == pytest.approx(base.estimates[name].value, abs=1e-12)
        assert other.estimates[name].ci == pytest.approx(base.estimates[name].ci, abs=1e-12)
    # a strictly increasing transform of the scores leaves the rank metrics and their intervals alone
    mono = aggregate_seeds(
        {s: df.assign(score=np.log(df["score"]) * 3 + 1) for s, df in tabs.items()}, n_boot=30, seed=1
    )
    for name in ("auc", "eer", "ap"):
        assert mono.estimates[name].value == pytest.approx(base.estimates[name].value, abs=1e-12)
        assert mono.estimates[name].ci == pytest.approx(base.estimates[name].ci, abs=1e-12)
    # swapping the labels turns AUC x into 1 - x
    swapped = aggregate_seeds({s: df.assign(label=1 - df["label"]) for s, df in tabs.items()}, n_boot=0)
    assert swapped.estimates["auc"].value == pytest.approx(1 - base.estimates["auc"].value, abs=1e-12)


def test_aggregate_input_errors():
    keys, y, test = synthetic_seeds(4, 4, 2, seed=6)
    with pytest.raises(UmclError, match="seed 11 cover other videos"):
        aggregate_seeds({10: test[10], 11: test[11].iloc[1:]}, n_boot=0)
    with pytest.raises(UmclError, match="appears twice"):
        aggregate_seeds({0: pd.concat([test[10], test[10].iloc[:1]])}, n_boot=0)
    with pytest.raises(UmclError, match="labels of seed 11 differ"):
        aggregate_seeds({10: test[10], 11: test[11].assign(label=1 - test[11]["label"])}, n_boot=0)
    with pytest.raises(UmclError, match="both real and fake"):
        aggregate_seeds({0: test[10].assign(label=1)}, n_boot=0)
    with pytest.raises(UmclError, match="lack column"):
        aggregate_seeds({0: test[10].drop(columns="score")}, n_boot=0)
    with pytest.raises(UmclError, match="NaN"):
        aggregate_seeds({0: test[10].assign(score=np.nan)}, n_boot=0)
    with pytest.raises(UmclError, match="validation scores are for seeds"):
        aggregate_seeds(test, {10: test[10]}, n_boot=0)


def test_stats_kwargs_from_config():
    ev = EvalConfig(n_bootstrap=50, ci=0.9, seed=3, threshold=0.4)
    assert ev.stats_kwargs() == {"n_boot": 50, "ci": 0.9, "seed": 3, "threshold": 0.4}
    _, _, test = synthetic_seeds(5, 5, 1)
    assert aggregate_seeds(test, **ev.stats_kwargs()).fixed_threshold == 0.4


# ---------------------------------------------------------------- frame / block level


def frames_of(seed: int, n_real=7, n_fake=6):
    rng = np.random.default_rng(seed)
    rows = []
    for v in range(n_real + n_fake):
        label = int(v >= n_real)
        for _ in range(rng.integers(1, 6)):  # unequal numbers of frames per video
            rows.append((f"v{v:02d}", label, float(np.round(rng.normal(label * 0.8), 1))))
    return pd.DataFrame(rows, columns=["key", "label", "score"])


def test_frame_level_matches_clustered_reference():
    frames = {0: frames_of(1), 1: frames_of(2).sample(frac=1, random_state=0)}
    n_boot, boot_seed = 60, 3
    cell = frame_level(frames, n_boot=n_boot, seed=boot_seed)
    assert (cell.n_real, cell.n_fake, cell.unit) == (7, 6, "frame")
    by_video = [f.groupby("key").agg(label=("label", "first"), score=("score", "mean")) for f in frames.values()]
    y = by_video[0]["label"].to_numpy()
    assert cell.estimates["frame_auc"].seed_values == pytest.approx(
        [roc_auc_score(f["label"], f["score"]) for f in frames.values()], abs=1e-12
    )
    assert cell.estimates["video_auc"].seed_values == pytest.approx(
        [roc_auc_score(v["label"], v["score"]) for v in by_video], abs=1e-12
    )
    videos = by_video[0].index.to_numpy()
    rows_of = [{k: f.index[f["key"] == k].to_numpy() for k in videos} for f in frames.values()]
    frame_stat, video_stat = [], []
    for idx in ref_resamples(y, n_boot, boot_seed):
        drawn = videos[idx]
        f_auc, v_auc = [], []
        for f, v, rows in zip(frames.values(), by_video, rows_of, strict=True):
            sel = f.loc[np.concatenate([rows[k] for k in drawn])]  # every frame of every drawn video
            f_auc.append(roc_auc_score(sel["label"], sel["score"]))
            v_auc.append(roc_auc_score(v.loc[drawn, "label"], v.loc[drawn, "score"]))
        frame_stat.append(np.mean(f_auc))
        video_stat.append(np.mean(v_auc))
    assert cell.estimates["frame_auc"].ci == pytest.approx(tuple(np.quantile(frame_stat, [0.025, 0.975])), abs=1e-9)
    assert cell.estimates["video_auc"].ci == pytest.approx(tuple(np.quantile(video_stat, [0.025, 0.975])), abs=1e-9)
    assert cell.n_items == {0: len(frames[0]), 1: len(frames[1])}


def test_frame_level_single_table_is_one_seed():
    cell = frame_level(frames_of(4), n_boot=0)
    assert cell.seeds == (0,) and cell.estimates["frame_auc"].seed_std is None
    with pytest.raises(UmclError, match="different labels"):
        frame_level(frames_of(4).assign(label=[0, 1] * (len(frames_of(4)) // 2) + [0] * (len(frames_of(4)) % 2)))
