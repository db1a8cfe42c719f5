"""reports/paper_vs_released.{tex,md,json}: UMCL as the paper describes it vs as its authors' code trains it.

Reads the evaluations of the ``paper_vs_released`` study (umcl.protocols.studies): every Table 3 and
Table 6 cell the profile trains ``umcl-released`` for, with the paper-UMCL value, the released value
(each: mean over seeds with its test-video bootstrap interval, umcl.report.cells.format_cell) and the
paired difference released − paper (umcl.report.studies.paired_difference); then the one-switch ablation:
``umcl-released`` with each switch back at the paper's value against ``umcl-released`` itself, ranked
by the size of the measured AUC change (a test-time switch: the same checkpoint under another test
condition, umcl.protocols.studies.TEST_TIME_SWITCHES). Cells the profile does not train are listed as left out
(with the ``workflow`` setting that adds them); nothing missing makes it fail.
"""

from __future__ import annotations

from pathlib import Path

from umcl.evaluation.config import EvalConfig, resamples_note
from umcl.io_utils import write_json, write_text
from umcl.protocols.sheet import JobSheet
from umcl.protocols.studies import ABLATION_SWITCHES, TEST_TIME_SWITCHES, UMCL_MODELS
from umcl.report.cells import format_cell, legend
from umcl.report.html import write_markdown
from umcl.report.render import (
    SELECTION_NOTE,
    SYNTHETIC_NOTE,
    provenance_line,
    read_evaluations,
    tex_escape,
)
from umcl.report.studies import CellReader, cells_by_decl, diff_legend, est_dict
from umcl.specs.vocab import COMPRESSIONS, FF_METHODS, method_abbrev

STUDY = "paper_vs_released"
TITLE = "UMCL as described in the paper vs as released by its authors"
PAPER, RELEASED = list(UMCL_MODELS)
METRICS = ("auc", "acc")
HEADER = [
    "Panel",
    "Trained on",
    "Tested on",
    "AUC paper",
    "AUC released",
    "ΔAUC (released − paper)",
    "ACC@0.5 paper",
    "ACC@0.5 released",
    "ΔACC",
]
ABL_HEADER = ["Model", "AUC", "ΔAUC vs all switches", "ACC@0.5", "ΔACC", "Rank by size of ΔAUC"]


def build(sheet: JobSheet, records, ev: EvalConfig, wf) -> dict:
    """The report's numbers: comparison rows, ablation rows, what is left out."""
    cells = cells_by_decl(sheet, STUDY)
    reader = CellReader(records, ev)
    rows, all_stats = [], []
    for (panel, row, column), cell in cells.items():
        if panel not in ("table3", "table6") or row[0] != PAPER:
            continue
        other = cells.get((panel, (RELEASED, *row[1:]), column))
        stats = {PAPER: reader.stats(cell), RELEASED: reader.stats(other)}
        all_stats += [s for s in stats.values() if s is not None]
        entry = {
            "panel": panel,
            "train": row[1],
            "test": column[0],
            "keys": {m: [k.to_path() for k in c.keys] for m, c in ((PAPER, cell), (RELEASED, other)) if c},
        }
        for metric in METRICS:
            entry[metric] = {m: est_dict(s, metric) for m, s in stats.items()}
            d = reader.difference(cell, other, metric)
            entry[metric]["difference"] = None if d is None else d.to_dict()
            entry[f"_{metric}"] = (stats, d)
        rows.append(entry)
    base = cells.get(("ablation", (RELEASED, "all switches"), ("c23",)))
    ablation = []
    trained = {
        row[1].removesuffix(" as paper"): c
        for (p, row, _), c in cells.items()
        if p == "ablation" and row[1] != "all switches"
    }
    for switch in dict.fromkeys([*trained, *ABLATION_SWITCHES]):
        cell = trained.get(switch)
        stats = reader.stats(cell)
        if stats is not None:
            all_stats.append(stats)
        entry = {
            "switch": switch,
            "trained": cell is not None,
            "test_time": switch in TEST_TIME_SWITCHES,
            "auc": est_dict(stats, "auc"),
            "acc": est_dict(stats, "acc"),
        }
        for metric in METRICS:
            d = reader.difference(base, cell, metric)
            entry[f"d_{metric}"] = None if d is None else d.to_dict()
            entry[f"_{metric}"] = (stats, d)
        ablation.append(entry)
    measured = sorted((e for e in ablation if e["d_auc"]), key=lambda e: -abs(e["d_auc"]["value"]))
    for rank, e in enumerate(measured, 1):
        e["rank"] = rank
    base_stats = reader.stats(base)
    if base_stats is not None:
        all_stats.append(base_stats)
    left_out = []
    missing_tc = [c for c in COMPRESSIONS if c not in wf.released_train_compressions]
    if missing_tc:
        left_out.append(
            f"Table 3 rows trained at {', '.join(missing_tc)} (add them to workflow.released_train_compressions)"
        )
    missing_m = [method_abbrev(m) for m in FF_METHODS if m not in wf.released_table6_methods]
    if missing_m:
        left_out.append(f"Table 6 rows trained on {', '.join(missing_m)} (workflow.released_table6_methods)")
    untrained = [e["switch"] for e in ablation if not e["trained"]]
    if untrained:
        left_out.append(
            f"ablation runs with {', '.join(untrained)} back at the paper's value (workflow.released_ablation)"
        )
    not_evaluated = [
        f"{r['panel']} {r['train']}->{r['test']}"
        for r in rows
        if r["_auc"][0][PAPER] is None or r["_auc"][0][RELEASED] is None
    ]
    if not_evaluated:
        left_out.append(f"cells declared but without every seed's evaluation: {', '.join(not_evaluated)}")
    return {
        "rows": rows,
        "ablation": ablation,
        "base": est_dict(base_stats, "auc"),
        "base_acc": est_dict(base_stats, "acc"),
        "left_out": left_out,
        "missing": sheet.missing.get(STUDY),
        "stats": all_stats,
        "base_stats": base_stats,
    }


def _row_cells(entry: dict, latex: bool) -> list[str]:
    out = []
    for metric in METRICS:
        stats, d = entry[f"_{metric}"]
        out += [
            format_cell(None if stats[m] is None else stats[m].estimates[metric], "ci", latex=latex)
            for m in (PAPER, RELEASED)
        ]
        out.append("-" if d is None else d.text())
    return out


def _abl_cells(entry: dict, base_stats, latex: bool) -> list[str]:
    stats, d_auc = entry["_auc"]
    _, d_acc = entry["_acc"]

    def est(m: str):
        return None if stats is None else stats.estimates[m]

    name = (
        f"{entry['switch']} as paper"
        + ("" if entry["trained"] else " (not trained)")
        + (" (test time, same checkpoint)" if entry.get("test_time") else "")
    )
    return [
        name,
        format_cell(est("auc"), "ci", latex=latex),
        "-" if d_auc is None else d_auc.text(),
        format_cell(est("acc"), "ci", latex=latex),
        "-" if d_acc is None else d_acc.text(),
        str(entry.get("rank", "-")),
    ]


def notes_of(built: dict, records, ev: EvalConfig, wf, profile: str, cfg_hash: str) -> list[str]:
    notes = [
        provenance_line(wf.dataset, profile, records, cfg_hash),
        "Paper: umcl (the paper's description); released: umcl-released (the authors' code switch by switch, "
        "docs/deviations/released.md). Both are trained on the same data, seeds and selections, both "
        "selected label-free on the validation split; the paper's UMCL runs are Table 3's and Table 6's.",
        diff_legend(ev),
        legend("ci", built["stats"]),
        resamples_note(ev.n_bootstrap),
        SELECTION_NOTE,
    ]
    if wf.dataset == "synthff":
        notes.insert(0, SYNTHETIC_NOTE)
    if built["missing"]:
        notes.append(f"Not built on this profile: {built['missing']}.")
    for what in built["left_out"]:
        notes.append(f"Left out on this profile: {what}.")
    return notes


def render_markdown(built: dict, notes: list[str]) -> str:
    lines = [f"# {TITLE}", "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += [
        "| " + " | ".join([r["panel"], r["train"], r["test"], *_row_cells(r, False)]) + " |" for r in built["rows"]
    ]
    lines += [
        "",
        "## One switch at a time (umcl-released, FF++ c23 → c23)",
        "",
        "| " + " | ".join(ABL_HEADER) + " |",
        "|" + "---|" * len(ABL_HEADER),
    ]
    base = built["base_stats"]
    lines.append(
        "| "
        + " | ".join(
            [
                "all switches (umcl-released)",
                format_cell(None if base is None else base.estimates["auc"], "ci"),
                "0",
                format_cell(None if base is None else base.estimates["acc"], "ci"),
                "0",
                "-",
            ]
        )
        + " |"
    )
    lines += ["| " + " | ".join(_abl_cells(e, base, False)) + " |" for e in built["ablation"]]
    lines += ["", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def render_latex(built: dict, notes: list[str]) -> str:
    head = [tex_escape(h.replace("Δ", "Delta ")) for h in HEADER]
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        r"\caption{" + tex_escape(TITLE) + "}",
        r"\begin{tabular}{" + "l" * 3 + "r" * 6 + "}",
        r"\toprule",
        " & ".join(head) + r" \\",
        r"\midrule",
    ]
    for r in built["rows"]:
        lines.append(
            " & ".join(tex_escape(x) for x in [r["panel"], r["train"], r["test"]])
            + " & "
            + " & ".join(_row_cells(r, True))
            + r" \\"
        )
    lines += [r"\midrule", r"\multicolumn{9}{l}{One switch at a time (umcl-released, FF++ c23)} \\"]
    for e in built["ablation"]:
        c = _abl_cells(e, built["base_stats"], True)
        lines.append(tex_escape(c[0]) + " & & & " + c[1] + " & " + c[2] + " & " + c[3] + " & " + c[4] + r" & & \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\par\footnotesize"]
    lines += [tex_escape(n) + r"\par" for n in notes]
    lines += [r"\end{table}", ""]
    return "\n".join(lines)


def _json(built: dict, notes: list[str]) -> dict:
    strip = lambda e: {k: v for k, v in e.items() if not k.startswith("_")}  # noqa: E731
    return {
        "report": STUDY,
        "title": TITLE,
        "notes": notes,
        "missing": built["missing"],
        "left_out": built["left_out"],
        "rows": [strip(r) for r in built["rows"]],
        "ablation_base": {"auc": built["base"], "acc": built["base_acc"]},
        "ablation": [strip(e) for e in built["ablation"]],
        "cells_filled": sum(1 for r in built["rows"] if r["auc"]["difference"] is not None),
        "cells_expected": len(built["rows"]),
    }


def write_report(
    evaluations: list[str | Path],
    out_prefix: str | Path,
    *,
    sheet: JobSheet,
    wf,
    profile: str,
    config_hash: str,
    ev: EvalConfig,
) -> list[Path]:
    """Render ``<out_prefix>.{tex,md,json}``."""
    records = read_evaluations(evaluations)
    built = build(sheet, records, ev, wf)
    notes = notes_of(built, records, ev, wf, profile, config_hash)
    out = Path(out_prefix)
    paths = [out.with_suffix(s) for s in (".tex", ".md", ".json", ".html")]
    write_text(paths[0], render_latex(built, notes))
    write_markdown(paths[1], render_markdown(built, notes))  # and its .html page
    write_json(paths[2], {**_json(built, notes), "bootstrap_resamples": ev.n_bootstrap})
    return paths
