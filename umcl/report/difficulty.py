"""SynthFF difficulty sweep: how well each detector separates real from fake per ``synthff.difficulty``.

The issue behind SynthFF asks for manipulation strengths "set once, from the physics and a
documented difficulty sweep (detectors neither at chance nor all saturated)". A sweep is one
pipeline run per difficulty value (``config/studies/difficulty/*.yaml``, all identical but for
``synthff.difficulty``); this module reads their evaluations and says, per difficulty, where each
detector stands:

* ``chance``: the 95 % bootstrap interval of the AUC reaches down to 50 % (not distinguishable
  from guessing on this test set);
* ``saturated``: AUC >= 99 %;
* ``informative``: neither.

A difficulty is **admissible** when not every detector is at chance and not every detector is
saturated (the issue's wording). Per-method AUCs (originals against one manipulation) are
computed from each evaluation's ``scores.csv`` so the table shows which traces a detector uses.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from umcl.errors import UmclError
from umcl.evaluation.config import resamples_note
from umcl.io_utils import write_json, write_text
from umcl.metrics import auc, subset
from umcl.report.render import SYNTHETIC_NOTE, read_evaluations
from umcl.specs.vocab import FF_METHODS

#: AUC (percent) at or above which a detector counts as saturated
SATURATED_AUC = 99.0
#: AUC (percent) the bootstrap interval must stay above for a detector not to count as at chance
CHANCE_AUC = 50.0


@dataclass
class SweepCell:
    """One evaluation of one sweep point: a detector trained on ``train``, tested on ``test``."""

    difficulty: float
    detector: str
    train: str
    test: str
    seed: int
    auc: float
    auc_ci: tuple[float, float] | None
    acc: float
    n_real: int
    n_fake: int
    per_method_auc: dict[str, float] = field(default_factory=dict)
    #: bootstrap resamples behind ``auc_ci`` (the evaluation's ``n_boot``)
    n_boot: int | None = None

    @property
    def verdict(self) -> str:
        """``chance``, ``saturated`` or ``informative`` (see the module docstring)."""
        if self.auc >= SATURATED_AUC:
            return "saturated"
        low = self.auc_ci[0] if self.auc_ci is not None else self.auc
        return "chance" if low <= CHANCE_AUC else "informative"


def per_method_auc(scores: pd.DataFrame, path: Path) -> dict[str, float]:
    """AUC in percent of the originals against each manipulation method present in ``scores``."""
    need = {"method", "label", "score"}
    if not need <= set(scores.columns):
        raise UmclError(
            f"scores table lacks column(s) {','.join(sorted(need - set(scores.columns)))}",
            path,
            "re-run `umcl evaluate`",
        )
    real = scores[scores["label"] == 0]
    out: dict[str, float] = {}
    if real.empty:
        return out
    for method, fakes in scores[scores["label"] == 1].groupby("method", sort=True):
        both = pd.concat([real, fakes])
        out[str(method)] = 100.0 * auc(both["label"].to_numpy(), both["score"].to_numpy())
    return out


def difficulty_of(result_root: Path) -> float:
    """``synthff.difficulty`` the run's data were generated with (from the dataset's encoder.json)."""
    path = result_root / "data" / "synthff" / "encoder.json"
    try:
        return float(json.loads(path.read_text())["synthff"]["difficulty"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UmclError(
            f"cannot read the SynthFF settings ({exc.__class__.__name__})",
            path,
            "pass results/<profile> folders of finished SynthFF sweep runs",
        ) from exc


def read_sweep(result_roots: list[str | Path]) -> list[SweepCell]:
    """Every clean whole-test-set evaluation (``eval/<run>/<testset>/evaluation.json``, keys read
    from each metrics file's provenance) under each result root."""
    cells: list[SweepCell] = []
    for root in map(Path, result_roots):
        difficulty = difficulty_of(root)
        indexes = sorted(root.glob("eval/**/evaluation.json"))
        if not indexes:
            raise UmclError(
                "no evaluations found (eval/<run>/<testset>/evaluation.json)",
                root,
                "run the sweep profile to its end first (stage_evaluate)",
            )
        for key, rec in sorted(read_evaluations(indexes).items(), key=lambda kv: kv[0].to_path()):
            if key.test.methods is not None or key.condition != "clean":
                continue  # the sweep reads whole test sets under clean conditions
            m = rec.metrics
            if not rec.scores.is_file():
                raise UmclError("scores file missing", rec.scores, "re-run `umcl evaluate`")
            lo, hi = m["auc"].get("ci_low"), m["auc"].get("ci_high")
            scores = subset(pd.read_csv(rec.scores), key.test.methods)
            cells.append(
                SweepCell(
                    difficulty=difficulty,
                    detector=key.run.model,
                    train=key.run.train.compression,
                    test=key.test.compression,
                    seed=key.run.seed,
                    auc=100 * m["auc"]["value"],
                    auc_ci=None if lo is None or hi is None else (100 * lo, 100 * hi),
                    acc=100 * m["acc"]["value"],
                    n_real=int(m.get("n_real", 0)),
                    n_fake=int(m.get("n_fake", 0)),
                    per_method_auc=per_method_auc(scores, rec.scores),
                    n_boot=m.get("n_boot"),
                )
            )
    return sorted(cells, key=lambda c: (c.difficulty, c.detector, c.train, c.test, c.seed))


def admissible(cells: list[SweepCell]) -> dict[float, bool]:
    """Per difficulty: True when not every detector is at chance and not every one is saturated."""
    out: dict[float, bool] = {}
    for d in sorted({c.difficulty for c in cells}):
        verdicts = {c.verdict for c in cells if c.difficulty == d}
        out[d] = verdicts != {"chance"} and verdicts != {"saturated"}
    return out


def _ci_text(cell: SweepCell) -> str:
    ci = f" [{cell.auc_ci[0]:.1f}, {cell.auc_ci[1]:.1f}]" if cell.auc_ci else ""
    return f"{cell.auc:.1f}{ci} {cell.verdict}"


def render_markdown(cells: list[SweepCell], provenance: list[str]) -> str:
    """The sweep as Markdown: overall AUC with verdicts, then AUC per manipulation method."""
    ok = admissible(cells)
    overall = [
        [
            f"{c.difficulty:.2f}",
            c.detector,
            c.train,
            c.test,
            c.seed,
            f"{c.n_real}/{c.n_fake}",
            _ci_text(c),
            f"{c.acc:.1f}",
        ]
        for c in cells
    ]
    methods = [m for m in FF_METHODS if any(m in c.per_method_auc for c in cells)]
    per_method = [
        [
            f"{c.difficulty:.2f}",
            c.detector,
            c.train,
            c.test,
            c.seed,
            *(f"{c.per_method_auc[m]:.1f}" if m in c.per_method_auc else "-" for m in methods),
        ]
        for c in cells
    ]
    lines = [
        "# SynthFF difficulty sweep",
        "",
        f"*{SYNTHETIC_NOTE}*",
        "",
        *provenance,
        "",
        f"Verdicts: `chance` = the 95 % bootstrap CI of the AUC reaches {CHANCE_AUC:.0f} %; "
        f"`saturated` = AUC >= {SATURATED_AUC:.0f} %; otherwise `informative`. A difficulty is admissible "
        "when its detectors are neither all at chance nor all saturated.",
        "",
        "## Admissible difficulties",
        "",
        tabulate(
            [[f"{d:.2f}", "yes" if v else "no"] for d, v in ok.items()],
            ["difficulty", "admissible"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
        "## Video-level AUC (%) on the test split",
        "",
        tabulate(
            overall,
            ["difficulty", "detector", "train", "test", "seed", "real/fake", "AUC [95% CI] verdict", "ACC (%)"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
        "## AUC (%) of originals against each manipulation",
        "",
        tabulate(
            per_method,
            ["difficulty", "detector", "train", "test", "seed", *methods],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
    ]
    return "\n".join(lines)


def write_sweep(result_roots: list[str | Path], out_prefix: str | Path) -> list[Path]:
    """Read the sweep runs and write ``<out_prefix>.md`` and ``.json`` (atomic writes)."""
    cells = read_sweep(result_roots)
    boots = sorted({c.n_boot for c in cells if c.n_boot is not None})
    provenance = [
        "Runs: " + ", ".join(f"`{Path(r).as_posix()}`" for r in result_roots) + ".",
        *(resamples_note(n) for n in boots),
    ]
    out_prefix = Path(out_prefix)
    md, js = out_prefix.with_suffix(".md"), out_prefix.with_suffix(".json")
    write_text(md, render_markdown(cells, provenance))
    write_json(
        js,
        {
            "runs": [Path(r).as_posix() for r in result_roots],
            "bootstrap_resamples": boots,
            "admissible": {f"{d:.2f}": v for d, v in admissible(cells).items()},
            "cells": [{**asdict(c), "verdict": c.verdict} for c in cells],
        },
    )
    return [md, js]
