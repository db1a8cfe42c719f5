"""reports/leakage.{md,json}: how much a leaked label is worth, measured.

Three parts, from the ``leakage`` study's evaluations (umcl.protocols.studies):

(a) Checkpoint selection. The ``umcl-released`` run trains once and scores its validation split three ways
    every epoch (``training.selection_audit``, umcl.training.scoring): label-free (eval mode, the run's own
    selection, ``checkpoints/best.pt``), eval mode with the label's prompt (``label_prompt``) and as
    released (training mode, so the true label's prompt reaches the classifier, with dropout, batch
    statistics and landmark zeroing on; ``as_released``); each audit scoring keeps its own checkpoint. For
    each selection: the epoch it picks, the validation AUC it saw, the label-free validation AUC of that
    checkpoint, and its test AUC; then the paired test differences that split the as-released gain:
    the label's share (label_prompt − label_free) and training mode's (as_released − label_prompt).
(b) CPML's published label-fed classifier (variant ``labelFed``) against its label-free training.
(c) Each text-reading model tested with the ``leakage_audit`` prompt policy (the true label's prompts)
    against the label-free default prompt: a test-time condition, same trained model.
"""

from __future__ import annotations

from pathlib import Path

from umcl.evaluation.config import EvalConfig, resamples_note
from umcl.io_utils import write_json
from umcl.metrics import compute_metrics
from umcl.protocols.sheet import JobSheet
from umcl.report.cells import legend
from umcl.report.html import write_markdown
from umcl.report.render import (
    SYNTHETIC_NOTE,
    _scores,
    provenance_line,
    read_evaluations,
)
from umcl.report.studies import (
    CellReader,
    cells_by_decl,
    diff_legend,
    est_dict,
    paired_difference,
)

STUDY = "leakage"


def _fmt(est: dict | None) -> str:
    if est is None:
        return "-"
    ci = "" if est.get("ci_low") is None else f" [{100 * est['ci_low']:.1f}, {100 * est['ci_high']:.1f}]"
    return f"{100 * est['value']:.1f}{ci}"


#: part (a)'s rows: scoring (umcl.training.scoring) -> row name, the run's own label-free selection first
SELECTIONS: dict[str, str] = {
    "label_free": "label-free (this suite)",
    "label_prompt": "eval mode, label's prompt",
    "as_released": "as released (label's prompt, train mode)",
}
#: part (a)'s paired test-AUC differences: name -> (reference scoring, other scoring)
SHARES: dict[str, tuple[str, str]] = {
    "label's share": ("label_free", "label_prompt"),
    "training mode's share": ("label_prompt", "as_released"),
    "as released − label-free": ("label_free", "as_released"),
}


def by_scoring(records: dict) -> dict[str, dict]:
    """Audit evaluation records split by the scoring of the selection that named their checkpoint."""
    out: dict[str, dict] = {}
    for key, rec in records.items():
        out.setdefault(rec.metrics["provenance"].get("selection_scoring", "label_free"), {})[key] = rec
    return out


def _read_audit(paths: list[str | Path]) -> dict[str, dict]:
    """The audit evaluation indexes by scoring (each scoring's checkpoint scores the same cells)."""
    out: dict[str, dict] = {}
    for path in paths:
        for scoring, recs in by_scoring(read_evaluations([path])).items():
            out.setdefault(scoring, {}).update(recs)
    return out


def _selection_part(sheet: JobSheet, records, audit_records: dict[str, dict], ev: EvalConfig) -> list[dict]:
    """Part (a): one row per scoring's selection of each seed-aggregated selection cell, and the paired
    test-AUC differences that split the as-released gain into the label's share and training mode's."""
    out = []
    sources = {"label_free": records, **{s: audit_records.get(s, {}) for s in SELECTIONS if s != "label_free"}}
    for (panel, row, col), cell in cells_by_decl(sheet, STUDY).items():
        if panel != "selection":
            continue
        entry = {"model": row[0], "test": col[0], "selections": {}, "missing": [], "shares": {}}
        scores = {}
        for scoring, name in SELECTIONS.items():
            recs = sources[scoring]
            rd = CellReader(recs, ev)
            stats = rd.stats(cell)
            if stats is None:
                entry["missing"].append(name)
                continue
            prov = [recs[k].metrics["provenance"] for k in cell.keys]
            val = [_scores(recs[k].val_scores, rd.cache) for k in cell.keys]
            val_auc = [
                compute_metrics(v["label"].to_numpy(), v["score"].to_numpy(), n_boot=0)["auc"]["value"] for v in val
            ]
            entry["selections"][name] = {
                "epochs": [p["selected_epoch"] for p in prov],
                "scoring": sorted({p.get("selection_scoring", "label_free") for p in prov}),
                "val_auc_seen": [p["selection_value"] for p in prov],
                "val_auc_label_free": val_auc,
                "test_auc": est_dict(stats, "auc"),
            }
            scores[scoring] = rd.scores(cell)
        for name, (a, b) in SHARES.items():
            entry["shares"][name] = (
                paired_difference(scores[a], scores[b], "auc", ev).to_dict() if a in scores and b in scores else None
            )
        entry["test_auc_difference"] = entry["shares"]["as released − label-free"]
        out.append(entry)
    return out


def _pairs(sheet: JobSheet, panel: str, reader: CellReader, first_of_row) -> list[dict]:
    """Rows of a panel paired (reference, other) by ``first_of_row``: label-free first, leaked second."""
    cells = [(row, col, c) for (p, row, col), c in cells_by_decl(sheet, STUDY).items() if p == panel]
    out = []
    for ref_row, col, ref in cells:
        if not first_of_row(ref_row):
            continue
        for row, col2, other in cells:
            if col2 == col and other is not ref and _partner(ref_row, row, panel):
                d = reader.difference(ref, other, "auc")
                out.append(
                    {
                        "reference": " / ".join(ref_row),
                        "leaked": " / ".join(row),
                        "test": col[0],
                        "reference_auc": est_dict(reader.stats(ref)),
                        "leaked_auc": est_dict(reader.stats(other)),
                        "difference": None if d is None else d.to_dict(),
                    }
                )
    return out


def _partner(ref_row: tuple, row: tuple, panel: str) -> bool:
    if panel == "prompt":  # same model, the leakage_audit prompt
        return row[0] == ref_row[0] and row[1] == "leakage_audit prompt"
    return row[0] == "CPML (label-fed classifier)"  # cpml: the label-fed variant against the label-free run


def build(sheet: JobSheet, records, audit_records: dict[str, dict], ev: EvalConfig) -> dict:
    """Every part's numbers; ``audit_records``: the audit evaluations by scoring (:func:`by_scoring`)."""
    reader = CellReader(records, ev)
    return {
        "selection": _selection_part(sheet, records, audit_records, ev),
        "cpml": _pairs(sheet, "cpml", reader, lambda r: r[0] == "CPML (label-free)"),
        "prompt": _pairs(sheet, "prompt", reader, lambda r: r[1] == "label-free prompt"),
        "missing": sheet.missing.get(STUDY),
        "stats": [s for c in sheet.cells.get(STUDY, []) if (s := reader.stats(c)) is not None],
    }


def _d(d: dict | None) -> str:
    if d is None:
        return "-"
    ci = "" if d["ci_low"] is None else f" [{100 * d['ci_low']:+.1f}, {100 * d['ci_high']:+.1f}]"
    return f"{100 * d['value']:+.1f}{ci}"


def render_markdown(built: dict, notes: list[str]) -> str:
    lines = [
        "# Label leakage audit",
        "",
        "## (a) Checkpoint selection: label-free, eval mode with the label's prompt, as released",
        "",
        "| Model | Selection | Epoch(s) picked | Val AUC it saw | Val AUC label-free | Test AUC |",
        "|---|---|---|---|---|---|",
    ]
    for e in built["selection"]:
        for name, s in e["selections"].items():
            lines.append(
                f"| {e['model']} | {name} | {', '.join(map(str, s['epochs']))} | "
                f"{', '.join(f'{100 * v:.1f}' for v in s['val_auc_seen'])} | "
                f"{', '.join(f'{100 * v:.1f}' for v in s['val_auc_label_free'])} | {_fmt(s['test_auc'])} |"
            )
        for name in e["missing"]:
            lines.append(f"| {e['model']} | {name} | not evaluated on this profile | | | |")
        lines += ["", "| Test AUC difference | Selections compared | Points |", "|---|---|---|"]
        lines += [
            f"| {name} | {SELECTIONS[b]} − {SELECTIONS[a]} | {_d(e['shares'][name])} |"
            for name, (a, b) in SHARES.items()
        ]
    if not built["selection"]:
        lines.append("Not built on this profile.")
    for title, key in (
        ("(b) CPML: published label-fed classifier vs label-free training", "cpml"),
        ("(c) Test prompt: leakage_audit (true label's prompts) vs label-free", "prompt"),
    ):
        lines += [
            "",
            f"## {title}",
            "",
            "| Label-free | Leaked | Tested on | AUC label-free | AUC leaked | ΔAUC (leaked − label-free) |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['reference']} | {r['leaked']} | {r['test']} | {_fmt(r['reference_auc'])} | "
            f"{_fmt(r['leaked_auc'])} | {_d(r['difference'])} |"
            for r in built[key]
        ]
        if not built[key]:
            lines.append("| not built on this profile | | | | | |")
    lines += ["", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def write_report(
    evaluations: list[str | Path],
    audit_evaluations: list[str | Path],
    out_prefix: str | Path,
    *,
    sheet: JobSheet,
    wf,
    profile: str,
    config_hash: str,
    ev: EvalConfig,
) -> list[Path]:
    """Render ``<out_prefix>.{md,json}``."""
    records = read_evaluations(evaluations)
    audit = _read_audit(audit_evaluations)
    built = build(sheet, records, audit, ev)
    notes = [
        provenance_line(wf.dataset, profile, records, config_hash),
        "(a) is one training run scoring its validation split three ways every epoch; the label-free scoring "
        "is the run's own selection, the other two only pick further checkpoints (each pass leaves the model "
        "bit-identical, so the training is unchanged by them and an epoch two scorings both pick gives the "
        "same checkpoint). The label's share is eval mode with the label's prompt − label-free; training "
        "mode's share (dropout, batch statistics, landmark zeroing, and training's prompt draw, a valid "
        "prompt of the label's class or an invalid one, in place of the mean of the class's prompts) is as "
        "released − eval mode with the label's prompt. (b) trains CPML a second time with the label-fed "
        "classifier. (c) retrains nothing.",
        diff_legend(ev),
        legend("ci", built["stats"]),
        resamples_note(ev.n_bootstrap),
    ]
    if wf.dataset == "synthff":
        notes.insert(0, SYNTHETIC_NOTE)
    if built["missing"]:
        notes.append(f"Not built on this profile: {built['missing']}.")
    if not wf.leakage_cpml:
        notes.append("Left out on this profile: CPML's label-fed run (workflow.leakage_cpml: false).")
    out = Path(out_prefix)
    paths = [out.with_suffix(".md"), out.with_suffix(".json"), out.with_suffix(".html")]
    write_markdown(paths[0], render_markdown(built, notes))  # and its .html page
    write_json(
        paths[1],
        {
            "report": STUDY,
            "title": "Label leakage audit (measured)",
            "notes": notes,
            "bootstrap_resamples": ev.n_bootstrap,
            **{k: v for k, v in built.items() if k != "stats"},
        },
    )
    return paths
