"""Calibration: the measured claims evaluated on the paper's own numbers, as if they were our results.

Each cell a claim reads gets the paper's printed value and a 95 % interval made from that value and the
paper's test-set size, one seed. A perfect reproduction at the paper's sizes must then contradict no
claim; the report shows these verdicts beside ours.

* AUC interval: Hanley & McNeil (1982), SE² = [A(1−A) + (n_f − 1)(Q1 − A²) + (n_r − 1)(Q2 − A²)] / (n_r n_f)
  with Q1 = A/(2 − A), Q2 = 2A²/(1 + A); A ± 1.96 SE, clipped to [0, 1]. An AUC below 0.5 is a ranking
  turned over, so its SE is that of 1 − A.
* Test sizes (:func:`paper_test_size`): FF++'s official test split, 70 pairs (shared/reference/
  faceforensics_splits/test.json; §5 "Dataset Partition": 140 real, 140 per manipulation); Celeb-DF
  and DFD: §5's 15 % test share of the counts it gives (590 real / 5,639 fake; 363 / 3,068), rounded down.
"""

from __future__ import annotations

import math

from umcl.protocols.keys import Selection
from umcl.report.claims.address import declaration, paper_value, resolve
from umcl.report.claims.engine import Measured
from umcl.report.claims.results import Stat

Z95 = 1.959963984540054
#: FF++ test videos per class in the official split (70 pairs: both identities real, one fake per method)
FFPP_REAL, FFPP_PER_METHOD = 140, 140
#: §5: Celeb-DF has 590 real and 5,639 fake videos, DFD 363 and 3,068; each split 70 / 15 / 15 %
PAPER_TEST_SHARE = {"celebdf": (590, 5639), "dfd": (363, 3068)}
TEST_SHARE = 0.15


def paper_test_size(sel: Selection) -> tuple[int, int] | None:
    """(real, fake) test videos of the paper for a test selection; None where the paper gives no size."""
    if sel.dataset == "ff++":
        return FFPP_REAL, FFPP_PER_METHOD * (len(sel.methods) if sel.methods else 4)
    if sel.dataset in PAPER_TEST_SHARE:
        real, fake = PAPER_TEST_SHARE[sel.dataset]
        return math.floor(real * TEST_SHARE), math.floor(fake * TEST_SHARE)
    return None


def hanley_mcneil_se(auc: float, n_real: int, n_fake: int) -> float:
    """Standard error of an AUC (a fraction) with ``n_real`` negatives and ``n_fake`` positives."""
    a = max(auc, 1.0 - auc)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_fake - 1) * (q1 - a * a) + (n_real - 1) * (q2 - a * a)) / (n_real * n_fake)
    return math.sqrt(max(var, 0.0))


def auc_stat(percent: float, n_real: int, n_fake: int) -> Stat:
    """A paper AUC (percent) as a one-seed result with its Hanley–McNeil 95 % interval."""
    half = Z95 * hanley_mcneil_se(percent / 100, n_real, n_fake) * 100
    return Stat(percent, max(percent - half, 0.0), min(percent + half, 100.0), 1, n_real, n_fake)


def paper_results(claims: tuple[Measured, ...]) -> dict[str, Stat]:
    """Every cell the claims read that the paper prints, as a result (module docstring)."""
    out: dict[str, Stat] = {}
    for claim in claims:
        for chk in claim.checks:
            for _, ref in chk.terms:
                value, size = paper_value(ref), paper_test_size(declaration(ref).test)
                if value is not None and size is not None and ref.metric == "auc":
                    out[resolve(ref).key] = auc_stat(value, *size)
    return out
