"""One renderer for every table: the paper's rows beside ours, as booktabs LaTeX, Markdown and JSON.

A table is driven by its *table spec*: the paper-values file (umcl/specs/paper_values/tableN.yaml,
read by umcl.specs.paper_tables: panels, rows, columns, printed values and deltas) and the
table's protocol (umcl.protocols.tables: which of our evaluations fills which cell). For each
paper row of a detector we train, an "ours" row follows it; rows of methods we do not train stay
paper-only. Our numbers come from the evaluation indexes ``umcl evaluate --tests`` wrote
(``eval/<run>/evaluation.json``); each cell is identified by the EvalKey in its metrics file's
provenance, never by its path.

Statistics (umcl.evaluation.aggregate; cell text and legend from umcl.report.cells, style
``ci+std``): a cell's value is the mean over seeds of the per-seed metric on the whole test set;
the bracket is the stratified bootstrap interval over test videos of that mean; with two or more
seeds ``±`` is the sample standard deviation over seeds (with one seed none is printed: never
``± 0.00``). ACC in the tables is at the fixed threshold 0.5 (as the paper's); ACC at the
validation-chosen threshold and balanced accuracy are in the Markdown's "More statistics" section
and in the JSON. An average column ("Avg") is the mean of the row's cells (no interval).

One metric path: :func:`cell_stats` calls umcl.evaluation.aggregate.aggregate_seeds on the cell's per-seed
scores, the function whose one-seed result each ``metrics.json`` holds (run_metrics); the seeds' joint
bootstrap needs every seed's scores, which no single evaluation has.

The reports index imports umcl.report.figures inside its function: that module loads torch and
matplotlib, which a table's rendering never needs.
"""

from __future__ import annotations

import statistics
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from umcl.errors import UmclError
from umcl.evaluation.aggregate import aggregate_seeds
from umcl.evaluation.config import EvalConfig, resamples_note
from umcl.io_utils import read_json_file, write_json, write_text
from umcl.metrics import subset
from umcl.protocols.keys import EvalKey
from umcl.protocols.sheet import JobSheet, TableCell
from umcl.protocols.spec import Protocol
from umcl.protocols.tables import get_protocol
from umcl.report.cells import format_cell, legend, threshold_legend
from umcl.report.claims.address import ADDRESSABLE
from umcl.report.claims.results import CellKey, Stat
from umcl.report.html import write_markdown
from umcl.specs.paper_tables import Column, Panel, PaperTable, Row, load_paper_table
from umcl.specs.tables import TABLE_SPECS

SYNTHETIC_NOTE = (
    "These numbers come from SynthFF, a small synthetic stand-in for FaceForensics++ "
    "(and SynthFF look-alikes of Celeb-DF, DFD and DFDC) generated offline by this suite; "
    "they are not comparable to the paper's numbers in absolute terms."
)
SELECTION_NOTE = "Checkpoints were selected on the validation split only; test sets were never used for selection."
ARROW_MD = {1: "↑", -1: "↓"}
ARROW_TEX = {1: r"$\uparrow$", -1: r"$\downarrow$"}


# ---------------------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class CellRecord:
    """One evaluated cell of one seed: its metrics and where its per-video scores are."""

    key: EvalKey
    metrics: dict
    scores: Path
    val_scores: Path
    methods: tuple[str, ...] | None


def read_evaluations(paths: list[str | Path]) -> dict[EvalKey, CellRecord]:
    """Every cell of the given evaluation indexes, keyed by the EvalKey in its metrics' provenance."""
    out: dict[EvalKey, CellRecord] = {}
    fix = "re-run `umcl evaluate` for this run"
    for index_path in map(Path, paths):
        index = read_json_file(index_path, "evaluation index", fix)
        base = index_path.parent
        try:
            cells, val = index["cells"], index["provenance"]["val_scores"]
        except (KeyError, TypeError) as exc:
            raise UmclError(f"evaluation index lacks {exc}", index_path, fix) from exc
        for cell in cells:
            mpath = base / cell["metrics"]
            metrics = read_json_file(mpath, "metrics", fix)
            try:
                key = EvalKey.from_dict(metrics["provenance"]["key"])
            except (KeyError, TypeError) as exc:
                raise UmclError("metrics provenance names no evaluation key", mpath, fix) from exc
            if key in out:
                raise UmclError(f"second evaluation of {key.to_path()}", mpath, "pass each evaluation index once")
            out[key] = CellRecord(key, metrics, base / metrics["provenance"]["scores"], base / val, key.test.methods)
    return out


def _scores(path: Path, cache: dict) -> pd.DataFrame:
    if path not in cache:
        if not path.is_file():
            raise UmclError("scores file missing", path, "re-run `umcl evaluate` for this run")
        cache[path] = pd.read_csv(path)
    return cache[path]


def cell_stats(keys: list[EvalKey], records: dict[EvalKey, CellRecord], ev: EvalConfig, cache: dict):
    """Seed-aggregated statistics of one cell (umcl.evaluation.aggregate.CellStats); None if any seed is missing."""
    recs = [records.get(k) for k in keys]
    if not recs or any(r is None for r in recs):
        return None
    test = {
        k.run.seed: subset(_scores(r.scores, cache), r.methods)[["key", "label", "score"]]
        for k, r in zip(keys, recs, strict=True)
    }
    val = {k.run.seed: _scores(r.val_scores, cache)[["key", "label", "score"]] for k, r in zip(keys, recs, strict=True)}
    return aggregate_seeds(test, val, **ev.stats_kwargs())


# ---------------------------------------------------------------------------------------- building
@dataclass
class Entry:
    """A rendered cell: value in percent, our estimate (fractions; None for paper values and
    averages), delta in percentage points (None = none)."""

    value: float | None
    est: object | None = None  # umcl.evaluation.aggregate.Estimate
    delta: float | None = None
    diagonal: bool = False
    ours: bool = False
    #: printed instead of a number (``n/a``: the row's condition does not apply to the model)
    text: str | None = None
    #: printed with its sign (Table 8's Gain)
    signed: bool = False

    @property
    def ci(self) -> tuple[float, float] | None:
        return None if self.est is None or self.est.ci is None else (100 * self.est.ci[0], 100 * self.est.ci[1])

    @property
    def sd(self) -> float | None:
        return None if self.est is None or self.est.seed_std is None else 100 * self.est.seed_std


@dataclass
class OutRow:
    panel: str
    label: str
    source: str  # "paper" or "ours"
    entries: list[Entry]
    key: tuple[str, ...] = ()


@dataclass
class Built:
    table: str
    title: str
    panels: list[tuple[Panel, list[OutRow]]]
    stats: dict[tuple, object] = field(default_factory=dict)  # (panel, row, column) -> CellStats
    keys: dict[tuple, list[EvalKey]] = field(default_factory=dict)
    #: (panel, row, column) -> our delta/gain against the reference row (Protocol.delta_rows / gain_rows)
    derived: dict[tuple, float] = field(default_factory=dict)


def _metric_of(panel: Panel, column_key: tuple[str, ...], protocol: Protocol) -> tuple[tuple[str, ...], str]:
    """(protocol column key, metric) of a paper column (the ``metric`` level, if any, is split off)."""
    if "metric" in panel.column_levels:
        i = panel.column_levels.index("metric")
        return column_key[:i] + column_key[i + 1 :], column_key[i]
    return column_key, protocol.metrics[0]


def _decls_of(protocol: Protocol, cells: list[TableCell], panel: Panel, single: bool) -> dict:
    return {
        (c.decl.row, c.decl.column): c for c in cells if c.decl.panel == panel.id or (c.decl.panel is None and single)
    }


def build(
    table: str,
    protocol: Protocol,
    paper: PaperTable,
    sheet: JobSheet,
    records: dict[EvalKey, CellRecord],
    ev: EvalConfig,
) -> Built:
    """Every output row of a table: paper rows, and an "ours" row after each trained row we evaluated."""
    cells = sheet.cells.get(table, [])
    built = Built(table, protocol.title, [])
    cache: dict = {}
    single = len(paper.panels) == 1
    for panel in paper.panels:
        decls = _decls_of(protocol, cells, panel, single)
        rows: list[OutRow] = []
        for prow, pvals in zip(panel.rows, panel.values, strict=True):
            deltas = panel.deltas[panel.rows.index(prow)] if panel.deltas is not None else [None] * len(pvals)
            rows.append(
                OutRow(
                    panel.id,
                    _label(protocol, prow.key, prow.label),
                    "paper",
                    [
                        Entry(
                            v,
                            delta=d,
                            diagonal=_is_diagonal(protocol, prow.key, c.key),
                            signed=_metric_of(panel, c.key, protocol)[1] == "gain",
                        )
                        for v, d, c in zip(pvals, deltas, panel.columns, strict=True)
                    ],
                    prow.key,
                )
            )
            ours = _our_row(protocol, panel, prow, decls, records, ev, cache, built)
            if ours is not None:
                rows.append(ours)
        for extra in protocol.extra_rows:
            row = None
            if extra.panel == panel.id or (extra.panel is None and single):
                row = _extra_row(protocol, panel, extra, decls, records, ev, cache, built)
            if row is not None:
                _insert_extra(rows, row)
        _fill_row_pairs(protocol, panel, rows, built)
        built.panels.append((panel, rows))
    return built


def _label(protocol: Protocol, key: tuple[str, ...], label: str) -> str:
    """The printed row label, after the row key's first ``protocol.row_label_levels`` levels (Tables 7, 8)."""
    return ": ".join(list(key[: protocol.row_label_levels]) + [label])


def _extra_row(protocol: Protocol, panel: Panel, extra, decls: dict, records, ev, cache, built: Built) -> OutRow | None:
    """A row of ours the paper does not print (umcl.protocols.spec.ExtraRow); n/a where it does not apply;
    None when the profile evaluates no cell of its model (first row-key level), e.g. a detector it does not train."""
    if not any(r[:1] == extra.row[:1] for r, _ in decls):
        return None
    if extra.not_applicable is not None:
        return OutRow(
            panel.id,
            _label(protocol, extra.row, extra.label),
            "ours",
            [Entry(None, ours=True, text="n/a") for _ in panel.columns],
            extra.row,
        )
    return _our_row(protocol, panel, Row(extra.row, extra.label), decls, records, ev, cache, built)


def _insert_extra(rows: list[OutRow], row: OutRow) -> None:
    """After the last row sharing the row key's first level (the same method), else at the end."""
    same = [i for i, r in enumerate(rows) if r.key[:1] == row.key[:1]]
    rows.insert(same[-1] + 1 if same else len(rows), row)


def _fill_row_pairs(protocol: Protocol, panel: Panel, rows: list[OutRow], built: Built) -> None:
    """Our rows' changes against a reference row (``delta_rows``, in parentheses) and ``gain`` columns
    (``gain_rows``: the first metric minus the reference row's); gains of rows without one are n/a."""
    ours = {r.key: r for r in rows if r.source == "ours"}
    for a, b in protocol.delta_rows:
        if a not in ours or b not in ours:
            continue
        for j, col in enumerate(panel.columns):
            ea, eb = ours[a].entries[j], ours[b].entries[j]
            if ea.value is not None and eb.value is not None and ea.text is None:
                ea.delta = round(ea.value - eb.value, 2)
                built.derived[(panel.id, a, col.key, "delta")] = ea.delta
    gain_cols = [j for j, c in enumerate(panel.columns) if _metric_of(panel, c.key, protocol)[1] == "gain"]
    if not gain_cols:
        return
    first = {
        j: next(
            i
            for i, c in enumerate(panel.columns)
            if _metric_of(panel, c.key, protocol)
            == (_metric_of(panel, panel.columns[j].key, protocol)[0], protocol.metrics[0])
        )
        for j in gain_cols
    }
    pairs = dict(protocol.gain_rows)
    for key, row in ours.items():
        for j in gain_cols:
            ref = ours.get(pairs.get(key))
            if key not in pairs:
                row.entries[j] = Entry(None, ours=True, text="n/a")
            elif ref is not None and None not in (row.entries[first[j]].value, ref.entries[first[j]].value):
                gain = round(row.entries[first[j]].value - ref.entries[first[j]].value, 2)
                row.entries[j] = Entry(gain, ours=True, signed=True)
                built.derived[(panel.id, key, panel.columns[j].key, "gain")] = gain


def _is_diagonal(protocol: Protocol, row_key: tuple, column_key: tuple) -> bool:
    return protocol.diagonal_deltas and bool(row_key) and bool(column_key) and row_key[0] == column_key[0]


def _our_row(protocol: Protocol, panel: Panel, prow: Row, decls: dict, records, ev, cache, built: Built):
    if not any(r == prow.key for r, _ in decls):
        return None
    entries: list[Entry] = []
    for col in panel.columns:
        ckey, metric = _metric_of(panel, col.key, protocol)
        tc = decls.get((prow.key, ckey))
        if tc is None:
            entries.append(Entry(None, ours=True))
            continue
        stats = cell_stats(tc.keys, records, ev, cache)
        built.keys[(panel.id, prow.key, ckey)] = tc.keys
        if stats is None or metric not in stats.estimates:  # derived metrics (gain): _fill_row_pairs
            entries.append(Entry(None, ours=True))
            continue
        built.stats[(panel.id, prow.key, ckey)] = stats
        est = stats.estimates[metric]
        entries.append(Entry(100.0 * est.value, est, ours=True, diagonal=_is_diagonal(protocol, prow.key, col.key)))
    _fill_average(protocol, panel, entries)
    if protocol.diagonal_deltas:
        _fill_deltas(panel, prow, entries)
    return OutRow(panel.id, _label(protocol, prow.key, prow.label), "ours", entries, prow.key)


def _fill_average(protocol: Protocol, panel: Panel, entries: list[Entry]) -> None:
    if protocol.average_column is None:
        return
    for j, col in enumerate(panel.columns):
        if col.key[-1] != protocol.average_column:
            continue
        siblings = [
            entries[i].value
            for i, c in enumerate(panel.columns)
            if c.key[:-1] == col.key[:-1] and c.key[-1] != protocol.average_column
        ]
        if siblings and all(v is not None for v in siblings):
            entries[j] = Entry(statistics.fmean(siblings), ours=True)


def _fill_deltas(panel: Panel, prow: Row, entries: list[Entry]) -> None:
    """Change against the same metric's in-compression cell of the row (Table 3)."""
    for j, col in enumerate(panel.columns):
        if entries[j].value is None or entries[j].diagonal:
            continue
        diag = [i for i, c in enumerate(panel.columns) if c.key[0] == prow.key[0] and c.key[1:] == col.key[1:]]
        if diag and entries[diag[0]].value is not None:
            entries[j].delta = round(entries[j].value - entries[diag[0]].value, 2)


# ---------------------------------------------------------------------------------------- text
#: how our cells show their statistics (umcl.report.cells): value, ± seed s.d. (2+ seeds), bootstrap CI
CELL_STYLE = "ci+std"


def format_entry(e: Entry, latex: bool) -> str:
    """``71.30 [58.2, 83.0]`` (``71.30 ± 4.1 [58.2, 83.0]`` with several seeds) (+ delta); '-' where
    there is no number."""
    if e.text is not None:
        return e.text
    if e.value is None:
        return "-"
    text = (
        format_cell(e.est, CELL_STYLE, latex=latex, digits=2, spread_digits=1)
        if e.est is not None
        else f"{e.value:+.2f}"
        if e.signed
        else f"{e.value:.2f}"
    )
    arrows = ARROW_TEX if latex else ARROW_MD
    if e.diagonal:  # the in-compression cell of a row with deltas (Table 3)
        text += " (-)"
    elif e.delta is not None:
        text += " (0.00)" if round(e.delta, 2) == 0 else f" ({arrows[1 if e.delta > 0 else -1]}{abs(e.delta):.2f})"
    return text


#: plain-text characters LaTeX does not take as text, and what prints them (any font encoding, no package)
TEX_TEXT = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"$<$",
    ">": r"$>$",
    "|": r"$|$",  # OT1 (LaTeX's default encoding) prints these as ¡ ¿ —
    "±": r"$\pm$",
    "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
    "→": r"$\rightarrow$",
    "²": r"$^2$",
    "³": r"$^3$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "≠": r"$\neq$",
    "≈": r"$\approx$",
    "×": r"$\times$",
    "·": r"$\cdot$",
    "−": r"$-$",
    "–": "--",
    "—": "---",
    "…": r"\ldots{}",
    "“": "``",
    "”": "''",
    "‘": "`",
    "’": "'",
    "°": r"$^\circ$",
    "√": r"$\surd$",
    "∞": r"$\infty$",
}


def _tex_char(ch: str) -> str:
    """One character as LaTeX text: :data:`TEX_TEXT`, Greek letters in math mode, others as they are."""
    if ch in TEX_TEXT:
        return TEX_TEXT[ch]
    name = unicodedata.name(ch, "")
    if name.startswith(("GREEK SMALL LETTER ", "GREEK CAPITAL LETTER ")):
        letter = name.rsplit(" ", 1)[1].lower().replace("lamda", "lambda")  # Unicode spells it LAMDA
        if "CAPITAL" in name:
            letter = letter.capitalize()
        if letter in _TEX_GREEK:
            return f"$\\{letter}$"
    return ch


#: Greek letters LaTeX has a macro for (capitals that look Latin, and omicron, have none)
_TEX_GREEK = {
    *"alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau upsilon "
    "phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split()
}


def tex_escape(text: str) -> str:
    """Plain text (titles, labels, notes) as LaTeX text that compiles with pdflatex: special
    characters escaped, arrows, ±, dashes, quotes and Greek letters spelled in LaTeX (tests/test_latex_compiles.py)."""
    return "".join(_tex_char(ch) for ch in text)


def legend_lines(built: Built, ev: EvalConfig) -> list[str]:
    """What our numbers, intervals and thresholds are (umcl.report.cells), for the notes under the table."""
    if not built.stats:
        return ["Ours: no results yet ('-')."]
    return [
        legend(CELL_STYLE, built.stats.values()),
        threshold_legend(ev.threshold) + " The table's ACC columns are ACC@0.5 (as the paper's); ACC@val and "
        "BACC: the Markdown's 'More statistics' and the JSON. '-' = no result.",
    ]


def provenance_line(dataset: str, profile: str, records: dict[EvalKey, CellRecord], config_hash: str) -> str:
    seeds = sorted({k.run.seed for k in records})
    commits = sorted(
        {
            str(r.metrics.get("provenance", {}).get("commit"))[:12]
            for r in records.values()
            if r.metrics.get("provenance", {}).get("commit")
        }
    )
    return (
        f"Ours: dataset {dataset}, profile {profile}, seeds {','.join(map(str, seeds)) or 'none'} "
        f"({len(records)} evaluated cells), commit {','.join(commits) or 'unknown'}, config hash {config_hash}."
    )


def test_counts(built: Built) -> str:
    """Test real:fake video counts of every test set our cells use."""
    seen: dict[str, tuple[int, int]] = {}
    for key, stats in built.stats.items():
        k = built.keys[key][0]
        seen.setdefault(k.test.slug, (stats.n_real, stats.n_fake))
    if not seen:
        return ""
    return "Test videos (real:fake): " + "; ".join(f"{s} {r}:{f}" for s, (r, f) in sorted(seen.items())) + "."


def _header(panel: Panel) -> list[str]:
    return ["Method", "Source"] + [c.label for c in panel.columns]


def render_markdown(built: Built, paper: PaperTable, notes: list[str]) -> str:
    parts = [f"# {built.title}", ""]
    for i, n in enumerate(notes):
        parts += [f"*{n}*" if i == 0 else n, ""]
    for panel, rows in built.panels:
        if panel.title:
            parts += [f"## {panel.title}", ""]
        body = [[r.label, r.source] + [format_entry(e, latex=False) for e in r.entries] for r in rows]
        parts += [tabulate(body, headers=_header(panel), tablefmt="github", disable_numparse=True), ""]
    more = more_statistics(built)
    if more:
        parts += ["## More statistics (ours)", "", more, ""]
    if paper.source == BEYOND_THE_PAPER:
        parts += ["No paper values: this table is beyond the paper.", ""]
    else:
        parts += [f"Paper caption ({paper.source}): {paper.caption}", ""]
    return "\n".join(parts)


def more_statistics(built: Built) -> str:
    """Per cell: AUC, ACC and balanced ACC at 0.5 and at the validation-chosen threshold, counts, seeds."""

    def pct(s, name: str) -> str:
        e = s.estimates.get(name)
        return "-" if e is None else f"{100 * e.value:.2f}"

    body = []
    for (panel, row, col), s in built.stats.items():
        body.append(
            [
                panel,
                " / ".join(row),
                " / ".join(col),
                pct(s, "auc"),
                pct(s, "acc"),
                pct(s, "acc_val"),
                pct(s, "bacc"),
                pct(s, "bacc_val"),
                f"{s.n_real}:{s.n_fake}",
                s.n_seeds,
            ]
        )
    if not body:
        return ""
    return tabulate(
        body,
        headers=["Panel", "Row", "Column", "AUC", "ACC@0.5", "ACC@val", "BACC@0.5", "BACC@val", "real:fake", "seeds"],
        tablefmt="github",
        disable_numparse=True,
    )


def render_latex(built: Built, notes: list[str]) -> str:
    """Booktabs ``table*`` (needs \\usepackage{booktabs}); one tabular per panel."""
    lines = [
        f"% Generated by `umcl report {built.table}`; do not edit. Needs \\usepackage{{booktabs}}.",
        r"\begin{table*}[t]",
        r"\centering",
        r"\scriptsize",
        r"\setlength{\tabcolsep}{3pt}",
        r"\caption{" + tex_escape(built.title) + "}",
        r"\label{tab:" + built.table + "-repro}",
    ]
    for panel, rows in built.panels:
        n = len(panel.columns)
        if panel.title:
            lines.append(r"\par\smallskip\textbf{" + tex_escape(panel.title) + r"}\par")
        lines += [
            r"\begin{tabular}{ll" + "c" * n + "}",
            r"\toprule",
            " & ".join(tex_escape(h) for h in _header(panel)) + r" \\",
            r"\midrule",
        ]
        for r in rows:
            lines.append(
                " & ".join([tex_escape(r.label), r.source] + [format_entry(e, latex=True) for e in r.entries]) + r" \\"
            )
        lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [
        r"\par\smallskip\parbox{\linewidth}{\footnotesize " + r" \\ ".join(tex_escape(n) for n in notes) + "}",
        r"\end{table*}",
        "",
    ]
    return "\n".join(lines)


def summary(built: Built, notes: list[str], missing: str | None) -> dict:
    """Machine-readable numbers behind the table."""
    ours = {}
    for (panel, row, col), s in built.stats.items():
        ours[f"{panel}|{'/'.join(row)}|{'/'.join(col)}"] = {
            "keys": [k.to_path() for k in built.keys[(panel, row, col)]],
            **s.to_dict(),
        }
    derived = {
        f"{panel}|{'/'.join(row)}|{'/'.join(col)}|{what}": v for (panel, row, col, what), v in built.derived.items()
    }
    return {
        "table": built.table,
        "title": built.title,
        "notes": notes,
        "missing": missing,
        "cells_expected": len(built.keys),
        "cells_filled": len(built.stats),
        "ours": ours,
        "derived": derived,
    }


#: the ``source`` of the layout of a table beyond the paper (:func:`own_layout`)
BEYOND_THE_PAPER = "beyond the paper"


def own_layout(protocol: Protocol) -> PaperTable:
    """The printed layout of a table beyond the paper: one panel of its protocol's columns and no paper rows
    (its rows are the protocol's ``extra_rows``, ours only)."""
    if not protocol.columns:
        raise UmclError(f"{protocol.table} has neither paper values nor declared columns", fix="declare its columns")
    n_col, n_row = len(protocol.columns[0][0]), len(protocol.cells[0].row)
    panel = Panel(
        "main",
        None,
        tuple(f"row{i}" for i in range(n_row)),
        tuple(f"column{i}" for i in range(n_col)),
        (),
        tuple(Column(key, label) for key, label in protocol.columns),
        (),
    )
    return PaperTable(protocol.table, BEYOND_THE_PAPER, protocol.title, protocol.metrics, (panel,))


def write_table(
    table: str,
    evaluations: list[str | Path],
    out_prefix: str | Path,
    *,
    sheet: JobSheet,
    dataset: str,
    profile: str,
    config_hash: str,
    ev: EvalConfig,
) -> list[Path]:
    """Render ``table`` to ``<out_prefix>.{tex,md,json}`` (atomic writes)."""
    protocol = get_protocol(table)
    spec = TABLE_SPECS[table]
    paper = own_layout(protocol) if spec.paper is None else load_paper_table(spec.paper_values)
    records = read_evaluations(evaluations)
    built = build(table, protocol, paper, sheet, records, ev)
    missing = sheet.missing.get(table)
    notes = [provenance_line(dataset, profile, records, config_hash), *protocol.notes]
    if missing:
        notes.append(f"Only the paper's rows are shown: {missing}.")
    if dataset == "synthff":
        notes.insert(0, SYNTHETIC_NOTE)
    notes += [*legend_lines(built, ev), resamples_note(ev.n_bootstrap), SELECTION_NOTE]
    counts = test_counts(built)
    if counts:
        notes.append(counts)
    out_prefix = Path(out_prefix)
    paths = [out_prefix.with_suffix(s) for s in (".tex", ".md", ".json", ".html")]
    write_text(paths[0], render_latex(built, notes))
    write_markdown(paths[1], render_markdown(built, paper, notes))  # and its .html page
    write_json(paths[2], {**summary(built, notes, missing), "bootstrap_resamples": ev.n_bootstrap})
    return paths


def claims_results(sheet: JobSheet, records: dict[EvalKey, CellRecord], ev: EvalConfig) -> dict:
    """Our seed-aggregated cells of every table as the claims' input (umcl.report.claims): cell key
    (``CellKey.from_decl``) → ``Stat`` in percent; cells without every seed's evaluation are left out."""
    out: dict = {}
    cache: dict = {}
    for table, cells in sheet.cells.items():
        if table not in ADDRESSABLE:  # a study (umcl.protocols.studies), not a paper table nor the claims' runs
            continue
        for cell in cells:
            stats = cell_stats(cell.keys, records, ev, cache)
            if stats is None:
                continue
            for metric in ADDRESSABLE[table].metrics:
                out.setdefault(CellKey.from_decl(cell.decl, metric).key, Stat.from_cell_stats(stats, metric))
    return out


def _complexity_index_line(path: Path, data: dict) -> str:
    """The index line of Table 9's measurement (benchmarks/complexity.py writes ``table9.json``)."""
    names = {"cpml": "CPML", "umcl": "UMCL"}
    who = " and ".join(names.get(d, d) for d in data.get("detectors", {})) or "the detectors"
    return (
        f"- [Table 9: computational complexity]({path.stem}.md) ([JSON]({path.name})): parameters, GFLOPs "
        f"per sample, inference throughput and peak memory of {who} at {data.get('size', '?')} size on "
        f"{data.get('device', '?')}, beside the paper's values and the parameter-count hypotheses."
    )


def write_index(tables: list[str | Path], out: str | Path, profile: str) -> Path:
    """``reports/index.md``: one line per artefact (tables, Table 9, figures, claims, studies) saying
    what it shows and, for the tables, how full it is. ``tables``: each artefact's ``.json`` summary."""
    lines = [f"# Reports (profile {profile})", ""]
    for path in map(Path, tables):
        data = read_json_file(path, "report summary", "re-run the step that wrote it (snakemake reports/index.md)")
        if "parameter_hypotheses" in data:  # reports/table9.json (benchmarks/complexity.py)
            lines.append(_complexity_index_line(path, data))
            continue
        if "report" in data and "cells_expected" not in data:  # a study beyond the paper (umcl.protocols.studies)
            lines.append(
                f"- [{data.get('title', data['report'])}]({path.stem}.md) ([JSON]({path.name})): "
                "a report beyond the paper's tables."
            )
            continue
        if "claims" in data:  # reports/claims.json (umcl.report.claims)
            counts = {v: sum(c.get("verdict") == v for c in data["claims"]) for v in data.get("verdicts", [])}
            lines.append(
                f"- [The paper's claims, checked]({path.stem}.md) ([JSON]({path.name})): "
                + ", ".join(f"{n} {v}" for v, n in counts.items())
                + "."
            )
            continue
        if "figure" in data:  # reports/figureN.json (umcl.report.figures)
            from umcl.report.figures import (
                figure_index_line,  # torch and matplotlib: only for a figure
            )

            lines.append(figure_index_line(path, data))
            continue
        status = (
            f"paper rows only ({data['missing']})"
            if data.get("missing")
            else f"{data.get('cells_filled', 0)} of {data.get('cells_expected', 0)} of our cells filled"
        )
        lines.append(
            f"- [{data.get('title', path.stem)}]({path.stem}.md) ([LaTeX]({path.stem}.tex), "
            f"[JSON]({path.name})): {status}."
        )
    lines += [
        "",
        "All tables and figures in one page: `snakemake --report reports/report.html` (Snakemake's "
        "report, with captions); Figure 9's curves and the training curves: `dvc plots show` (dvc.yaml plots).",
    ]
    out = Path(out)
    write_text(out, "\n".join(lines) + "\n")
    return out
