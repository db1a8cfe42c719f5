"""The paper's claims as executable checks: ``reports/claims.{md,json}`` (docs/claims.md).

* :mod:`.internal`: the paper against itself (its tables and text), verdict *holds* or *fails*;
* :mod:`.measured`: claims re-tested on results, as data (quote, cells, bound), verdict *holds*,
  *contradicted*, *inconclusive* or *not testable on this data* (:mod:`.engine`);
* :mod:`.calibration`: the measured claims on the paper's own numbers (must contradict none);
* :mod:`.render`: the Markdown and JSON report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

from umcl.io_utils import write_json
from umcl.report.claims.address import paper_value, resolve
from umcl.report.claims.calibration import paper_results
from umcl.report.claims.engine import (
    CONTRADICTED,
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NOT_TESTABLE,
    PAPER_SCOPE,
    REAL_SCOPE,
    SYNTHFF_SCOPE,
    VERDICTS,
    Internal,
    Measured,
    Quantity,
    Ref,
    Verdict,
    evaluate_measured,
)
from umcl.report.claims.internal import INTERNAL, umcl_parameter_count
from umcl.report.claims.measured import MEASURED
from umcl.report.claims.render import claims_markdown, claims_payload
from umcl.report.claims.results import CellKey, Results, Stat, as_results, selection
from umcl.report.html import write_markdown

Claim = Internal | Measured
#: every claim, internal first
CLAIMS: tuple[Claim, ...] = INTERNAL + MEASURED


def cells_of(claim: Measured) -> list[CellKey]:
    """The cell keys a measured claim reads, each once, in order."""
    return list({resolve(r).key: resolve(r) for c in claim.checks for _, r in c.terms}.values())


def required_cells(claims: Sequence[Claim] = CLAIMS) -> list[CellKey]:
    """Every cell key the measured claims read (what the evaluation step must provide), in a stable order."""
    seen: dict[str, CellKey] = {}
    for c in claims:
        if isinstance(c, Measured):
            for k in cells_of(c):
                seen.setdefault(k.key, k)
    return list(seen.values())


def evaluate(claim: Claim, results: Results) -> Verdict:
    """One claim's verdict (internal claims ignore ``results``)."""
    if isinstance(claim, Internal):
        return claim.check()
    return evaluate_measured(claim, results, resolve, paper_value)


def evaluate_claims(results: Mapping, synthetic: bool, claims: Sequence[Claim] = CLAIMS) -> list[Verdict]:
    """Every claim's verdict on ``results`` (see :func:`as_results`); measured verdicts say what data they are about."""
    res = as_results(results)
    out = []
    for c in claims:
        v = evaluate(c, res)
        if isinstance(c, Measured):
            v = dataclasses.replace(v, scope=SYNTHFF_SCOPE if synthetic else REAL_SCOPE)
            if synthetic:
                v = dataclasses.replace(v, reason="On SynthFF (synthetic data, not the paper's): " + v.reason)
        out.append(v)
    return out


def calibrate(claims: Sequence[Claim] = CLAIMS) -> list[Verdict | None]:
    """Each measured claim's verdict on the paper's own numbers at the paper's test sizes
    (umcl.report.claims.calibration); None for internal claims."""
    measured = tuple(c for c in claims if isinstance(c, Measured))
    res = paper_results(measured)
    return [evaluate(c, res) if isinstance(c, Measured) else None for c in claims]


def render_claims(results: Mapping, out_prefix: str | Path, synthetic: bool, n_bootstrap: int) -> tuple[Path, Path]:
    """Write ``{out_prefix}.md`` (and ``.html``) and ``{out_prefix}.json`` (atomically); return the .md and .json
    paths. ``n_bootstrap``: the resamples behind the results' intervals (stated in both)."""
    from umcl.evaluation.config import resamples_note

    verdicts, calibration = evaluate_claims(results, synthetic), calibrate()
    prefix = Path(out_prefix)
    md, js = prefix.with_name(prefix.name + ".md"), prefix.with_name(prefix.name + ".json")
    needs = [[k.key for k in cells_of(c)] if isinstance(c, Measured) else [] for c in CLAIMS]
    write_json(
        js, {**claims_payload(CLAIMS, verdicts, calibration, needs, synthetic), "bootstrap_resamples": n_bootstrap}
    )
    write_markdown(
        md, claims_markdown(CLAIMS, verdicts, calibration, synthetic) + "\n" + resamples_note(n_bootstrap) + "\n"
    )  # and its .html page
    return md, js


__all__ = [
    "CLAIMS",
    "CONTRADICTED",
    "FAILS",
    "HOLDS",
    "INCONCLUSIVE",
    "NOT_TESTABLE",
    "PAPER_SCOPE",
    "REAL_SCOPE",
    "SYNTHFF_SCOPE",
    "VERDICTS",
    "CellKey",
    "Claim",
    "Internal",
    "Measured",
    "Quantity",
    "Ref",
    "Stat",
    "Verdict",
    "as_results",
    "calibrate",
    "cells_of",
    "claims_markdown",
    "evaluate",
    "evaluate_claims",
    "render_claims",
    "required_cells",
    "selection",
    "umcl_parameter_count",
]
