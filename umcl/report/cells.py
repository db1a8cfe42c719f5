"""One statistic as table text, and the caption sentences that say exactly what it is.

``format_cell(estimate, style)`` renders an ``umcl.evaluation.aggregate.Estimate`` (fractions)
as percent text; ``legend(style, cells)`` states what the value and its interval/spread are,
with the seeds, resamples and test counts of the cells it covers; ``threshold_legend`` says how
the ACC thresholds were set. Styles:

* ``"ci"``: ``71.3 [58.2, 83.0]`` — bootstrap interval over test videos (``Estimate.ci``).
* ``"std"``: ``71.3 ± 4.1 (3 seeds)`` — sample std over seeds; one seed: ``71.3 (1 seed)``.
* ``"ci+std"``: ``71.3 ± 4.1 [58.2, 83.0]``; one seed: ``71.3 [58.2, 83.0]``.
* ``"seed_ci"``: ``71.3 [65.0, 77.6] (3 seeds)`` — Student-t interval over seeds; one seed: ``71.3 (1 seed)``.
* ``"value"``: ``71.3``.

A cell from one seed never shows "±" (no spread can be estimated from one run). The LaTeX form
differs only in ``$\\pm$``. Legends are plain text (ASCII plus "±"): renderers escape them like
any other note (``tex_escape``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from umcl.evaluation.aggregate import CellStats, Estimate
from umcl.metrics import THRESHOLD_RULE

Style = Literal["ci", "std", "ci+std", "seed_ci", "value"]
STYLES: tuple[str, ...] = ("ci", "std", "ci+std", "seed_ci", "value")


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"unknown cell style {style!r}; one of {', '.join(STYLES)}")


def _seeds(n: int) -> str:
    return f"{n} seed" if n == 1 else f"{n} seeds"


def _num(x: float, scale: float, digits: int) -> str:
    text = f"{x * scale:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # never "-0.0"


def format_cell(
    est: Estimate | None,
    style: Style = "ci",
    *,
    latex: bool = False,
    digits: int = 1,
    scale: float = 100.0,
    show_seeds: bool | None = None,
    spread_digits: int | None = None,
) -> str:
    """Text of one cell (see the module docstring); ``"-"`` when there is no estimate.

    ``scale`` turns fractions into percent; ``digits`` decimals of the value, ``spread_digits``
    of the interval and ± (default: ``digits``); ``show_seeds`` (default: on for the styles that
    show a spread over seeds) appends ``(k seeds)``.
    """
    _check_style(style)
    if est is None:
        return "-"
    num = lambda x: _num(x, scale, digits if spread_digits is None else spread_digits)  # noqa: E731
    text = _num(est.value, scale, digits)
    k = est.n_seeds
    pm = r" $\pm$ " if latex else " ± "
    if style in ("std", "ci+std") and est.seed_std is not None:
        text += pm + num(est.seed_std)
    if style in ("ci", "ci+std") and est.ci is not None:
        text += f" [{num(est.ci[0])}, {num(est.ci[1])}]"
    if style == "seed_ci" and est.seed_ci is not None:
        text += f" [{num(est.seed_ci[0])}, {num(est.seed_ci[1])}]"
    if show_seeds is None:
        show_seeds = style in ("std", "seed_ci")
    if show_seeds:
        text += f" ({_seeds(k)})"
    return text


def format_counts(n_real: int, n_fake: int) -> str:
    """``"20 real : 20 fake"`` (test videos of a cell or table)."""
    return f"{n_real} real : {n_fake} fake"


def _range(values: set[int]) -> str:
    return str(min(values)) if len(values) == 1 else f"{min(values)} to {max(values)}"


def legend(style: Style, cells: Iterable[CellStats]) -> str:
    """The caption sentence(s) saying what the cells of a table show, for the given style.

    States the point estimate (mean over seeds of the per-seed metric), what the interval or
    the ± is, the number of seeds, bootstrap resamples and confidence level, and the test counts
    (real : fake) of the cells.
    """
    _check_style(style)
    cells = list(cells)
    if not cells:
        return "Ours: no results."
    seeds = {c.n_seeds for c in cells}
    units = {c.unit for c in cells}
    unit = "frame/block" if units == {"frame"} else "video"
    level = {round(c.level * 100, 6) for c in cells}
    pct = "/".join(f"{lv:g}" for lv in sorted(level))
    boots = {c.n_boot for c in cells}
    parts = [f"Ours: mean over {_range(seeds)} training seed(s) of each seed's {unit}-level metric, in %."]
    if style in ("ci", "ci+std"):
        if boots == {0}:
            parts.append("No bootstrap interval (n_bootstrap = 0).")
        else:
            clustered = " (all frames or blocks of a drawn video together)" if units == {"frame"} else ""
            parts.append(
                f"In brackets: {pct}% percentile interval of that mean from {_range(boots)} bootstrap resamples "
                f"of the test videos{clustered}, real and fake videos drawn with replacement separately (stratified), "
                "the same resample for every seed, trained models and thresholds held fixed; it covers the "
                "sampling of the test set, not training randomness."
            )
    if style in ("std", "ci+std"):
        parts.append(
            "±: sample standard deviation over the seeds (n - 1 in the denominator), i.e. the spread "
            "between training runs on the same test set; a cell from one seed shows no ± (one run "
            "has no spread)."
        )
    if style == "seed_ci":
        parts.append(
            f"In brackets: {pct}% Student-t interval over the seeds, the mean plus or minus "
            "t(1 - alpha/2, k - 1) times s/sqrt(k) (k seeds, s their sample standard deviation), "
            "clipped to [0, 100]; a cell from one seed shows none."
        )
    if 1 in seeds and seeds != {1} and style != "value":
        parts.append("Cells marked (1 seed) come from a single run.")
    counts = {(c.n_real, c.n_fake) for c in cells}
    if len(counts) == 1:
        parts.append(f"Test set: {format_counts(*counts.pop())} videos.")
    else:
        parts.append(
            "Test sets: " + ", ".join(format_counts(*rf) for rf in sorted(counts)) + " videos (per cell in the JSON)."
        )
    return " ".join(parts)


def threshold_legend(fixed: float = 0.5, validation: bool = True) -> str:
    """How the ACC columns were thresholded (fixed threshold, and the validation-chosen one)."""
    text = (
        f"ACC@{fixed:g}: a video is called fake when its score P(fake) is at least {fixed:g}; "
        "BACC: balanced accuracy, the mean of the real and the fake recall, at the same threshold."
    )
    if validation:
        text += f" ACC@val and BACC@val: each seed's {THRESHOLD_RULE}; the test set never influences it."
    return text


def metric_label(name: str, fixed: float = 0.5) -> str:
    """Column header of a metric name of ``umcl.metrics.metric_functions``/``frame_level``."""
    labels = {
        "auc": "AUC",
        "eer": "EER",
        "ap": "AP",
        "acc": f"ACC@{fixed:g}",
        "bacc": f"BACC@{fixed:g}",
        "acc_val": "ACC@val",
        "bacc_val": "BACC@val",
        "frame_auc": "frame AUC",
        "video_auc": "video AUC",
    }
    if name not in labels:
        raise ValueError(f"unknown metric {name!r}; one of {', '.join(labels)}")
    return labels[name]
