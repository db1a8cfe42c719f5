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
    frames = legend("ci", [cell(THREE, 3, unit="frame")])
    assert "of the test videos (all frames or blocks of a drawn video together), real and fake videos drawn" in frames
    assert "No bootstrap interval" in legend("ci", [cell(THREE, 3, n_boot=0)])


@pytest.mark.parametrize("style", STYLES)
def test_legend_is_plain_text_for_any_renderer(style):
    allowed = set(string.printable) | {"±"}
    for text in (legend(style, [cell(THREE, 3), cell(ONE, 1)]), threshold_legend(0.5, True)):
        assert set(text) <= allowed, set(text) - allowed


def test_legend_names_the_unit_and_every_confidence_level():
    """The legend's level-of-analysis word follows the cells (frame/block only when every cell is one), every
    confidence level in the table is printed (sorted, "/"-joined, not rounded to an integer), and no cells say so."""
    assert legend("ci", []) == "Ours: no results."

    def at(level: float, unit: str = "video") -> CellStats:
        return CellStats({"auc": THREE}, (0, 1, 2), 20, 20, 1000, level, 0, unit)

    assert "of each seed's video-level metric" in legend("ci", [at(0.95)])
    assert "of each seed's frame/block-level metric" in legend("ci", [at(0.95, "frame")])
    assert "of each seed's video-level metric" in legend("ci", [at(0.95, "frame"), at(0.95)])
    assert "In brackets: 97.5% percentile interval" in legend("ci", [at(0.975)])
    assert "In brackets: 90/95% percentile interval" in legend("ci", [at(0.95), at(0.9)])
    assert "In brackets: 90/95% Student-t interval" in legend("seed_ci", [at(0.9), at(0.95)])


# The legend's sentences, as a reader sees them (docs/statistics.md); each style's legend is exactly its own ones.
OURS = "Ours: mean over 3 training seed(s) of each seed's video-level metric, in %."
PERCENTILE = (
    "In brackets: 95% percentile interval of that mean from 1000 bootstrap resamples of the test videos, real and "
    "fake videos drawn with replacement separately (stratified), the same resample for every seed, trained models "
    "and thresholds held fixed; it covers the sampling of the test set, not training randomness."
)
STD = (
    "±: sample standard deviation over the seeds (n - 1 in the denominator), i.e. the spread between training runs "
    "on the same test set; a cell from one seed shows no ± (one run has no spread)."
)
STUDENT_T = (
    "In brackets: 95% Student-t interval over the seeds, the mean plus or minus t(1 - alpha/2, k - 1) times "
    "s/sqrt(k) (k seeds, s their sample standard deviation), clipped to [0, 100]; a cell from one seed shows none."
)
COUNTS = "Test set: 20 real : 20 fake videos."


def test_each_styles_legend_is_exactly_its_sentences():
    expected = {
        "ci": [OURS, PERCENTILE, COUNTS],
        "std": [OURS, STD, COUNTS],
        "ci+std": [OURS, PERCENTILE, STD, COUNTS],
        "seed_ci": [OURS, STUDENT_T, COUNTS],
        "value": [OURS, COUNTS],
    }
    assert {style: legend(style, [cell(THREE, 3)]) for style in STYLES} == {k: " ".join(v) for k, v in expected.items()}
    no_boot = " ".join([OURS, "No bootstrap interval (n_bootstrap = 0).", COUNTS])
    assert (
        legend("ci", [cell(THREE, 3, n_boot=0)])
        == legend("ci+std", [cell(THREE, 3, n_boot=0)]).replace(" " + STD, "")
        == no_boot
    )
    mixed = [cell(THREE, 3), cell(ONE, 1)]  # "(1 seed)" is explained wherever a cell prints it
    assert legend("value", mixed) == " ".join([OURS.replace(" 3 ", " 1 to 3 "), COUNTS])
    assert legend("ci", mixed).endswith(" Cells marked (1 seed) come from a single run. " + COUNTS)
    assert "Cells marked" not in legend("ci", [cell(ONE, 1)])  # every cell is from one seed: nothing to mark
    assert legend("ci", [cell(THREE, 3), cell(THREE, 3, n_real=12, n_fake=30)]).endswith(
        " Test sets: 12 real : 30 fake, 20 real : 20 fake videos (per cell in the JSON)."
    )


def test_default_style_and_zero():
    """``format_cell`` defaults to the bootstrap-interval style; a zero prints as 0.0 whatever its sign."""
    assert format_cell(THREE) == format_cell(THREE, "ci") == "71.3 [58.2, 83.0]"
    with pytest.raises(ValueError, match=r"^unknown cell style 'sd'; one of ci, std, ci\+std, seed_ci, value$"):
        format_cell(THREE, "sd")  # type: ignore[arg-type]
    assert format_cell(Estimate("eer", 0.0, None, (0.0,), None, None), "value") == "0.0"
    assert format_cell(Estimate("eer", -0.004, None, (0.0,), None, None), "value", digits=2) == "-0.40"


def test_threshold_legend_defaults_and_its_bacc_sentence():
    """Called without arguments (as the renderer does), the legend is the 0.5 one with the validation sentence;
    BACC is defined in words."""
    assert threshold_legend() == threshold_legend(0.5, validation=True)
    assert "ACC@val and BACC@val" in threshold_legend()
    assert threshold_legend(0.7, validation=False) == (
        "ACC@0.7: a video is called fake when its score P(fake) is at least 0.7; "
        "BACC: balanced accuracy, the mean of the real and the fake recall, at the same threshold."
    )


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
