"""Cell text and caption legends: exact strings, no "±" from one seed, legends that state the interval."""

from __future__ import annotations

import string

import numpy as np
import pandas as pd
import pytest

from umcl.evaluation.aggregate import CellStats, Estimate, aggregate_seeds
from umcl.report.cells import STYLES, format_cell, format_counts, legend, metric_label, threshold_legend

THREE = Estimate("auc", 0.713, (0.582, 0.830), (0.68, 0.71, 0.749), 0.041, (0.611, 0.815), 0.74)
ONE = Estimate("auc", 0.713, (0.582, 0.830), (0.713,), None, None, 0.713)


def cell(est: Estimate, n_seeds: int, n_real=20, n_fake=20, n_boot=1000, unit="video") -> CellStats:
    return CellStats({est.metric: est}, tuple(range(n_seeds)), n_real, n_fake, n_boot, 0.95, 0, unit)


def test_exact_cell_text():
    assert format_cell(THREE, "ci") == "71.3 [58.2, 83.0]"
    assert format_cell(THREE, "std") == "71.3 ± 4.1 (3 seeds)"
    assert format_cell(THREE, "ci+std") == "71.3 ± 4.1 [58.2, 83.0]"
    assert format_cell(THREE, "seed_ci") == "71.3 [61.1, 81.5] (3 seeds)"
    assert format_cell(THREE, "value") == "71.3"
    assert format_cell(THREE, "std", latex=True) == r"71.3 $\pm$ 4.1 (3 seeds)"
    assert format_cell(THREE, "ci", digits=2, show_seeds=True) == "71.30 [58.20, 83.00] (3 seeds)"
    assert format_cell(THREE, "ci+std", digits=2, spread_digits=1) == "71.30 ± 4.1 [58.2, 83.0]"
    assert format_cell(None, "ci") == "-"
    assert format_cell(Estimate("eer", -0.00001, None, (0.0,), None, None), "value") == "0.0"  # never "-0.0"
    with pytest.raises(ValueError, match="unknown cell style"):
        format_cell(THREE, "sd")  # type: ignore[arg-type]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("latex", [False, True])
def test_one_seed_never_prints_plus_minus(style, latex):
    text = format_cell(ONE, style, latex=latex)
    assert "±" not in text and r"\pm" not in text and "0.00" not in text
    assert text.startswith("71.3")


def test_one_seed_from_real_aggregation_has_no_plus_minus():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 10)
    scores = pd.DataFrame({"key": [f"v{i}" for i in range(20)], "label": y, "score": rng.random(20)})
    agg = aggregate_seeds({0: scores}, n_boot=50)
    for style in STYLES:
        assert "±" not in format_cell(agg.estimates["auc"], style)
    assert format_cell(agg.estimates["auc"], "std") == f"{100 * agg.estimates['auc'].value:.1f} (1 seed)"
    assert "± 0.0" not in legend("std", [agg])


def test_legend_states_what_the_interval_is():
    text = legend("ci", [cell(THREE, 3)])
    assert "mean over 3 training seed(s)" in text
    assert "95% percentile interval" in text and "1000 bootstrap resamples of the test videos" in text
    assert "stratified" in text and "same resample for every seed" in text
    assert "Test set: 20 real : 20 fake videos." in text
    assert "standard deviation" not in text  # the ci style shows no ±
    std = legend("std", [cell(THREE, 3)])
    assert "sample standard deviation over the seeds (n - 1" in std and "one seed shows no ±" in std
    assert "Student-t" in legend("seed_ci", [cell(THREE, 3)])
    mixed = legend("ci+std", [cell(THREE, 3), cell(ONE, 1, n_real=12, n_fake=30)])
    assert "1 to 3 training seed(s)" in mixed and "(1 seed)" in mixed
    assert "12 real : 30 fake" in mixed and "20 real : 20 fake" in mixed
    assert "all frames or blocks of a drawn video together" in legend("ci", [cell(THREE, 3, unit="frame")])
    assert "No bootstrap interval" in legend("ci", [cell(THREE, 3, n_boot=0)])


@pytest.mark.parametrize("style", STYLES)
def test_legend_is_plain_text_for_any_renderer(style):
    allowed = set(string.printable) | {"±"}
    for text in (legend(style, [cell(THREE, 3), cell(ONE, 1)]), threshold_legend(0.5, True)):
        assert set(text) <= allowed, set(text) - allowed


def test_threshold_legend_and_labels():
    text = threshold_legend(0.5, validation=True)
    assert "validation split" in text and "never on test" in text and "at least 0.5" in text
    assert "validation" not in threshold_legend(0.5, validation=False)
    assert [metric_label(m) for m in ("auc", "acc", "bacc", "acc_val", "bacc_val")] == [
        "AUC",
        "ACC@0.5",
        "BACC@0.5",
        "ACC@val",
        "BACC@val",
    ]
    assert format_counts(3, 7) == "3 real : 7 fake"
    with pytest.raises(ValueError):
        metric_label("f1")


def test_every_metric_has_its_column_label():
    """Each metric name of metric_functions / frame_level has its header; the fixed threshold is printed."""
    assert {
        m: metric_label(m) for m in ("auc", "eer", "ap", "acc", "bacc", "acc_val", "bacc_val", "frame_auc", "video_auc")
    } == {
        "auc": "AUC",
        "eer": "EER",
        "ap": "AP",
        "acc": "ACC@0.5",
        "bacc": "BACC@0.5",
        "acc_val": "ACC@val",
        "bacc_val": "BACC@val",
        "frame_auc": "frame AUC",
        "video_auc": "video AUC",
    }
    assert (metric_label("acc", 0.25), metric_label("bacc", 0.25)) == ("ACC@0.25", "BACC@0.25")
    with pytest.raises(
        ValueError,
        match=r"^unknown metric 'f1'; one of auc, eer, ap, acc, bacc, acc_val, bacc_val, "
        r"frame_auc, video_auc$",
    ):
        metric_label("f1")
