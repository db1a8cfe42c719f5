"""What the two study reports share: their cells' per-seed scores, seed statistics and paired differences.

A study cell (umcl.protocols.studies) is read like a table cell (umcl.report.render.cell_stats: the
seed-aggregated statistics of umcl.evaluation.aggregate). A *difference* of two cells scored on the same
test videos (two models, or one model under two test conditions) is paired:
:func:`paired_difference` resamples the test videos once per bootstrap draw (stratified, the one
resampling rule of umcl.metrics) and takes, in each draw, the mean over seeds of each
side's metric and their difference. Its interval is therefore the test-video bootstrap interval of
the difference (narrower than interval arithmetic on the two cells' intervals); it says nothing about
training randomness (the seed spread is in each cell's own statistics).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from umcl.errors import UmclError
from umcl.evaluation.config import EvalConfig
from umcl.metrics import bootstrap_draws, metric_functions, percentile_interval, subset
from umcl.protocols.keys import EvalKey
from umcl.protocols.sheet import JobSheet, TableCell
from umcl.report.render import CellRecord, _scores, cell_stats

#: what a difference's interval is (printed under both reports)
DIFF_LEGEND = (
    "Differences: the second value minus the first, in percentage points, on the same test videos; in "
    "brackets the {pct:g}% percentile interval of the difference from {n} paired stratified bootstrap "
    "resamples of the test videos (both sides scored on each resample; models held fixed)."
)


@dataclass(frozen=True)
class Difference:
    """``b - a`` of one metric over seeds (fractions), its paired bootstrap interval and test counts."""

    value: float
    ci: tuple[float, float] | None
    n_videos: int
    n_seeds: int

    def to_dict(self) -> dict:
        lo, hi = self.ci if self.ci is not None else (None, None)
        return {"value": self.value, "ci_low": lo, "ci_high": hi, "n_videos": self.n_videos, "n_seeds": self.n_seeds}

    def text(self, latex: bool = False) -> str:
        """``+3.2 [-1.0, 7.5]`` in percentage points."""
        body = f"{100 * self.value:+.1f}"
        if self.ci is not None:
            body += f" [{100 * self.ci[0]:+.1f}, {100 * self.ci[1]:+.1f}]"
        return body


def seed_scores(
    keys: list[EvalKey], records: Mapping[EvalKey, CellRecord], cache: dict
) -> dict[int, pd.DataFrame] | None:
    """Each seed's test scores (key, label, score) of one cell; None when a seed's evaluation is missing."""
    recs = [records.get(k) for k in keys]
    if not recs or any(r is None for r in recs):
        return None
    return {
        k.run.seed: subset(_scores(r.scores, cache), r.methods)[["key", "label", "score"]].reset_index(drop=True)
        for k, r in zip(keys, recs, strict=True)
    }


def paired_difference(
    a: Mapping[int, pd.DataFrame], b: Mapping[int, pd.DataFrame], metric: str, ev: EvalConfig
) -> Difference:
    """Mean over ``b``'s seeds minus mean over ``a``'s seeds of ``metric`` on the videos both score
    (module docstring)."""
    fn = metric_functions(ev.threshold)[metric]
    frames = [*a.values(), *b.values()]
    common = set(frames[0]["key"])
    for f in frames[1:]:
        common &= set(f["key"])
    keys = list(dict.fromkeys(k for k in frames[0]["key"] if k in common))  # the first side's video order
    if not keys:
        raise UmclError("the two cells of a difference share no test video", fix="compare cells on the same test set")
    aligned = [f.drop_duplicates("key").set_index("key").loc[keys] for f in frames]
    labels = aligned[0]["label"].to_numpy()
    if any(not np.array_equal(x["label"].to_numpy(), labels) for x in aligned):
        raise UmclError("a test video has two labels in the cells of a difference", fix="re-run `umcl evaluate`")
    if labels.min() == labels.max():
        raise UmclError("the common test videos of a difference are all of one class")
    scores = [x["score"].to_numpy(dtype=np.float64) for x in aligned]
    na = len(a)
    value = float(np.mean([fn(labels, s) for s in scores[na:]])) - float(np.mean([fn(labels, s) for s in scores[:na]]))
    ci = None
    if ev.n_bootstrap > 0:  # both sides on the same resamples (same labels, seed), fast replicates
        thr = {"fixed": ev.threshold, "val": None}
        sides = [
            bootstrap_draws(labels, side, {metric: [fn] * len(side)}, ev.n_bootstrap, ev.seed, [thr] * len(side))[
                metric
            ]
            for side in (scores[:na], scores[na:])
        ]
        ci = percentile_interval(sides[1] - sides[0], 1.0 - ev.ci)
    return Difference(value, ci, int(labels.size), min(len(a), len(b)))


def cells_by_decl(sheet: JobSheet, study: str) -> dict[tuple, TableCell]:
    """The study's expanded cells by (panel, row, column)."""
    return {(c.decl.panel, c.decl.row, c.decl.column): c for c in sheet.cells.get(study, [])}


class CellReader:
    """Seed statistics and scores of the evaluated cells (one cache of score files)."""

    def __init__(self, records: Mapping[EvalKey, CellRecord], ev: EvalConfig):
        self.records, self.ev, self.cache = records, ev, {}

    def stats(self, cell: TableCell | None):
        return None if cell is None else cell_stats(cell.keys, self.records, self.ev, self.cache)

    def scores(self, cell: TableCell | None) -> dict[int, pd.DataFrame] | None:
        return None if cell is None else seed_scores(cell.keys, self.records, self.cache)

    def difference(self, a: TableCell | None, b: TableCell | None, metric: str = "auc") -> Difference | None:
        sa, sb = self.scores(a), self.scores(b)
        return None if sa is None or sb is None else paired_difference(sa, sb, metric, self.ev)


def est_dict(stats, metric: str = "auc") -> dict | None:
    """A cell's estimate of ``metric`` as JSON (None when not evaluated)."""
    if stats is None:
        return None
    return {**stats.estimates[metric].to_dict(), "n_real": stats.n_real, "n_fake": stats.n_fake}


def diff_legend(ev: EvalConfig) -> str:
    return DIFF_LEGEND.format(pct=100 * ev.ci, n=ev.n_bootstrap)
