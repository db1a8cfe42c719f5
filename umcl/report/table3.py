"""Table 3: in- and cross-compression-rate results, the paper's rows beside ours.

Rows: training set × method (paper order); for each method we train, a "paper" row and an
"ours" row; UIA-ViT, DFIL and MaskRelation are paper-only rows. Columns: test set × (AUC, ACC),
each with the change against the row's in-compression (diagonal) cell, as in the paper.
Ours = mean ± std over seeds, with a 95 % CI (the per-run confidence intervals from the
metrics JSONs, averaged over seeds). Every number comes from a metrics file the pipeline wrote.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from tabulate import tabulate

from umcl.errors import UmclError
from umcl.io_utils import write_json, write_text
from umcl.report.paper import METRICS, PaperValues, load_paper_values

# .../<detector>/<train>/seed<S>/<test>/metrics.json (umcl.workflow.Layout.eval_dir)
_PATH = re.compile(r"(?P<det>[^/]+)/(?P<train>raw|c23|c40)/seed(?P<seed>\d+)/(?P<test>raw|c23|c40)/[^/]+\.json$")
ARROW_MD = {1: "↑", -1: "↓"}
ARROW_TEX = {1: r"$\uparrow$", -1: r"$\downarrow$"}

SYNTHETIC_NOTE = ("These numbers come from SynthFF, a small synthetic stand-in for FaceForensics++ "
                  "generated offline by this suite; they are not comparable to the paper's numbers in "
                  "absolute terms (only the pattern across compression rates is).")
SELECTION_NOTE = "Checkpoints were selected on the validation split only; test sets were never used for selection."


@dataclass
class Cell:
    """One (training set, method, test set, metric) of ours: per-seed values in percent."""

    values: list[float] = field(default_factory=list)
    ci_low: list[float] = field(default_factory=list)
    ci_high: list[float] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def std(self) -> float:
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0

    @property
    def ci(self) -> tuple[float, float] | None:
        if not self.ci_low or not self.ci_high:
            return None
        return statistics.fmean(self.ci_low), statistics.fmean(self.ci_high)


@dataclass
class Results:
    """Our metrics, keyed (train, detector, test, metric), with what they were made from."""

    cells: dict[tuple[str, str, str, str], Cell] = field(default_factory=dict)
    seeds: set[int] = field(default_factory=set)
    commits: set[str] = field(default_factory=set)
    files: int = 0

    def cell(self, train: str, detector: str, test: str, metric: str) -> Cell | None:
        return self.cells.get((train, detector, test, metric))


def metric_value(data: dict, name: str, path: Path) -> tuple[float, float | None, float | None]:
    """(value, ci_low, ci_high) in percent from a metrics JSON (fractions in [0, 1] are scaled)."""
    entry = next((data[k] for k in (name, name.upper()) if k in data), None)
    if entry is None:
        raise UmclError(f"metric '{name}' missing", path, "re-run `umcl evaluate` for this run")
    if isinstance(entry, dict):
        value, lo, hi = entry.get("value"), entry.get("ci_low"), entry.get("ci_high")
    else:
        value, lo, hi = entry, None, None
    if not isinstance(value, (int, float)):
        raise UmclError(f"metric '{name}' has no numeric value", path, "re-run `umcl evaluate`")
    scale = 1.0 if str(data.get("units", data.get("unit", ""))).lower() in ("percent", "%") else 100.0
    return (value * scale, None if lo is None else lo * scale, None if hi is None else hi * scale)


def run_identity(data: dict, path: Path) -> tuple[str, str, int, str]:
    """(detector, train, seed, test) from the metrics' provenance, else from the path layout."""
    prov = data.get("provenance") if isinstance(data.get("provenance"), dict) else {}
    keys = ("detector", "train_compression", "seed", "test_compression")
    if all(prov.get(k) is not None for k in keys):
        return str(prov["detector"]), str(prov["train_compression"]), int(prov["seed"]), str(prov["test_compression"])
    m = _PATH.search(path.as_posix())
    if m is None:
        raise UmclError("metrics file names no detector/compressions/seed", path,
                        "pass `umcl evaluate` output or files named <detector>/<train>/seed<S>/<test>/metrics.json")
    return m["det"], m["train"], int(m["seed"]), m["test"]


def load_metrics(path: Path) -> dict:
    """One ``umcl evaluate`` metrics JSON; an unreadable file is a one-line error."""
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UmclError(f"cannot read metrics ({exc})", path, "re-run `umcl evaluate`") from exc


def read_results(paths: list[str | Path]) -> Results:
    """Read ``umcl evaluate`` metrics JSONs (identified by provenance or by the pipeline's layout)."""
    res = Results()
    seen: set[tuple[str, str, int, str]] = set()
    for p in map(Path, paths):
        data = load_metrics(p)
        det, train, seed, test = ident = run_identity(data, p)
        if ident in seen:
            raise UmclError(f"second metrics file for {det} trained on {train}, seed {seed}, tested on {test}", p,
                            "pass each evaluation once")
        seen.add(ident)
        for metric in METRICS:
            value, lo, hi = metric_value(data, metric, p)
            cell = res.cells.setdefault((train, det, test, metric), Cell())
            cell.values.append(value)
            if lo is not None and hi is not None:
                cell.ci_low.append(lo)
                cell.ci_high.append(hi)
        res.seeds.add(seed)
        commit = (data.get("provenance") or {}).get("commit") if isinstance(data.get("provenance"), dict) else None
        if commit:
            res.commits.add(str(commit))
        res.files += 1
    return res


@dataclass(frozen=True)
class Entry:
    """A rendered cell: value text and signed delta against the diagonal (None = none)."""

    value: float | None
    delta: float | None
    std: float | None = None
    ci: tuple[float, float] | None = None
    n: int = 0


@dataclass(frozen=True)
class Row:
    train: str
    method: str
    source: str  # "paper" or "ours"
    entries: dict[tuple[str, str], Entry]


def build_rows(pv: PaperValues, res: Results) -> list[Row]:
    """Every table row: paper rows for all methods, an "ours" row after each method trained on that set."""
    detectors = pv.trained_detectors()
    rows: list[Row] = []
    for train in pv.compressions:
        for method in pv.method_names:
            rows.append(Row(train, method, "paper", {
                (test, k): Entry(pv.value(train, method, test, k), pv.delta(train, method, test, k))
                for test in pv.compressions for k in METRICS}))
            det = detectors.get(method)
            if det is None or not any(res.cell(train, det, t, k) for t in pv.compressions for k in METRICS):
                continue  # paper-only method, or not trained on this compression in this profile
            entries = {}
            for test in pv.compressions:
                for k in METRICS:
                    cell, diag = res.cell(train, det, test, k), res.cell(train, det, train, k)
                    if cell is None:
                        entries[(test, k)] = Entry(None, None)
                        continue
                    delta = None if test == train or diag is None else round(cell.mean - diag.mean, 2)
                    entries[(test, k)] = Entry(cell.mean, delta, cell.std, cell.ci, len(cell.values))
            rows.append(Row(train, method, "ours", entries))
    return rows


def _delta_text(delta: float | None, arrows: dict[int, str], diagonal: bool) -> str:
    if diagonal:
        return " (-)"
    if delta is None:
        return ""
    if round(delta, 2) == 0:
        return " (0.00)"
    return f" ({arrows[1 if delta > 0 else -1]}{abs(delta):.2f})"


def format_entry(e: Entry, diagonal: bool, latex: bool) -> str:
    """Text of one cell: value [± std, CI] (arrow delta); '-' where there is no number."""
    if e.value is None:
        return "-"
    arrows = ARROW_TEX if latex else ARROW_MD
    if e.std is None:  # a paper value
        return f"{e.value:.2f}{_delta_text(e.delta, arrows, diagonal)}"
    pm = r"$\pm$" if latex else "±"
    text = f"{e.value:.2f} {pm} {e.std:.2f}"
    if e.ci is not None:
        ci = f"[{e.ci[0]:.1f}, {e.ci[1]:.1f}]"
        text += (r" {\tiny " + ci + "}") if latex else f" {ci}"
    return text + _delta_text(e.delta, arrows, diagonal)


def provenance_line(dataset: str, profile: str, res: Results, config_hash: str) -> str:
    """Dataset, profile, seeds, commit(s) and config hash the table was made from."""
    seeds = ",".join(str(s) for s in sorted(res.seeds)) or "none"
    commits = ",".join(sorted(c[:12] for c in res.commits)) or "unknown"
    return (f"Ours: dataset {dataset}, profile {profile}, seeds {seeds} ({res.files} metrics files), "
            f"commit {commits}, config hash {config_hash}.")


def notes(dataset: str, provenance: str) -> list[str]:
    out = [provenance,
           "Ours: mean ± std over seeds, 95% CI in brackets (per-run bootstrap CIs averaged over seeds); "
           "arrows: change against the in-compression (diagonal) cell of the same row; '-' = no result.",
           SELECTION_NOTE]
    if dataset == "synthff":
        out.insert(0, SYNTHETIC_NOTE)
    return out


def _header(pv: PaperValues) -> list[str]:
    return ["Training set", "Method", "Source"] + [
        f"{_name(t)} {k.upper()}(%)" for t in pv.compressions for k in METRICS]


def _name(comp: str) -> str:
    return f"FF++ ({comp})"


def render_markdown(pv: PaperValues, rows: list[Row], note_lines: list[str], title: str) -> str:
    """The table as GitHub Markdown (tabulate)."""
    body = [[_name(r.train), r.method, r.source] +
            [format_entry(r.entries[(t, k)], t == r.train, latex=False) for t in pv.compressions for k in METRICS]
            for r in rows]
    table = tabulate(body, headers=_header(pv), tablefmt="github", disable_numparse=True)
    return f"# {title}\n\n" + "\n\n".join(f"*{n}*" if i == 0 else n for i, n in enumerate(note_lines)) + \
        "\n\n" + table + "\n"


def tex_escape(text: str) -> str:
    """Escape LaTeX special characters in plain text."""
    repl = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
            "±": r"$\pm$", "↑": r"$\uparrow$", "↓": r"$\downarrow$"}
    return "".join(repl.get(ch, ch) for ch in text)


def render_latex(pv: PaperValues, rows: list[Row], note_lines: list[str], title: str) -> str:
    """The table as a booktabs ``table*`` (needs \\usepackage{booktabs})."""
    ncols = 3 + 2 * len(pv.compressions)
    lines = [
        "% Generated by `umcl report table3`; do not edit. Needs \\usepackage{booktabs}.",
        r"\begin{table*}[t]", r"\centering", r"\scriptsize", r"\setlength{\tabcolsep}{3pt}",
        r"\caption{" + tex_escape(title) + "}", r"\label{tab:table3-repro}",
        r"\begin{tabular}{lll" + "c" * (ncols - 3) + "}", r"\toprule",
        "Training set & Method & Source & "
        + " & ".join(r"\multicolumn{2}{c}{" + tex_escape(_name(t)) + "}" for t in pv.compressions) + r" \\",
        " ".join(r"\cmidrule(lr){%d-%d}" % (4 + 2 * i, 5 + 2 * i) for i in range(len(pv.compressions))),
        " & & & " + " & ".join(r"AUC (\%) & ACC (\%)" for _ in pv.compressions) + r" \\",
        r"\midrule",
    ]
    previous = None
    for r in rows:
        if previous is not None and r.train != previous:
            lines.append(r"\midrule")
        first = tex_escape(_name(r.train)) if r.train != previous else ""
        previous = r.train
        cells = [first, tex_escape(r.method), r.source] + [
            format_entry(r.entries[(t, k)], t == r.train, latex=True) for t in pv.compressions for k in METRICS]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [r"\par\smallskip\parbox{\linewidth}{\footnotesize " +
              r" \\ ".join(tex_escape(n) for n in note_lines) + "}"]
    lines += [r"\end{table*}", ""]
    return "\n".join(lines)


def summary(pv: PaperValues, res: Results, provenance: str) -> dict:
    """Machine-readable numbers behind the table (for `dvc metrics show`)."""
    ours: dict = {}
    for (train, det, test, k), cell in sorted(res.cells.items()):
        entry = {"mean": round(cell.mean, 4), "std": round(cell.std, 4), "n": len(cell.values)}
        if cell.ci is not None:
            entry["ci_low"], entry["ci_high"] = (round(x, 4) for x in cell.ci)
        ours.setdefault(f"train_{train}", {}).setdefault(det, {}).setdefault(f"test_{test}", {})[k] = entry
    return {"provenance": provenance, "ours": ours}


def write_table3(metrics: list[str | Path], out_prefix: str | Path, dataset: str, profile: str,
                 config_hash: str) -> list[Path]:
    """Render Table 3 from metrics files to ``<out_prefix>.{tex,md,json}`` (atomic writes)."""
    pv = load_paper_values()
    res = read_results(metrics)
    rows = build_rows(pv, res)
    prov = provenance_line(dataset, profile, res, config_hash)
    note_lines = notes(dataset, prov)
    title = "In- and cross-compression-rate evaluation (paper Table 3): paper values and this reproduction"
    out_prefix = Path(out_prefix)
    paths = [out_prefix.with_suffix(s) for s in (".tex", ".md", ".json")]
    write_text(paths[0], render_latex(pv, rows, note_lines, title))
    write_text(paths[1], render_markdown(pv, rows, note_lines, title))
    write_json(paths[2], summary(pv, res, prov))
    return paths
