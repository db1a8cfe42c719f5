"""`umcl report <table>`: the one renderer, on Table 3 from hand-made evaluation indexes of two seeds
(values against scikit-learn, deltas, paper rows, notes, LaTeX structure), and every table's LaTeX."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import accuracy_score, roc_auc_score

from umcl.cli import main as umcl_main
from umcl.errors import UmclError
from umcl.protocols.keys import DATASET_SLUG
from umcl.protocols.sheet import build_sheet
from umcl.protocols.tables import PROTOCOLS
from umcl.report.render import SYNTHETIC_NOTE, read_evaluations
from umcl.specs.vocab import FF_METHODS
from umcl.specs.workflow import WorkflowConfig

SEEDS = (0, 1)
N = 16  # real and fake test videos per test set


def scores_for(run_path: str, test_slug: str, seed: int) -> pd.DataFrame:
    """Deterministic per-video scores, distinct per run, test set and seed."""
    digest = hashlib.sha256(f"{run_path}|{test_slug}|{seed}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    labels = np.r_[np.zeros(N), np.ones(N)].astype(int)
    score = np.clip(rng.normal(0.45 + 0.2 * labels, 0.2), 0, 1)
    method = ["original"] * N + [m for m in FF_METHODS for _ in range(N // len(FF_METHODS))]
    return pd.DataFrame(
        {
            "dataset": "synthff",
            "method": method,
            "compression": "c23",
            "id": [f"{i:03d}" for i in range(2 * N)],
            "key": [f"v{i}" for i in range(2 * N)],
            "label": labels,
            "score": score,
        }
    )


def write_evaluations(root: Path, sheet, table: str) -> list[Path]:
    """The files `umcl evaluate --tests` writes, for every cell of ``table`` (scores made up)."""
    by_index: dict[Path, list] = {}
    for cell in sheet.cells[table]:
        for k in cell.keys:
            base = root / k.run.to_path() / DATASET_SLUG[k.test.dataset]
            by_index.setdefault(base, []).append(k)
    for base, keys in by_index.items():
        run_path = keys[0].run.to_path()
        (base / "scores").mkdir(parents=True, exist_ok=True)
        scores_for(run_path, "val", 0).to_csv(base / "scores/val.csv", index=False)
        cells = []
        for k in keys:
            name = f"scores/{DATASET_SLUG[k.test.dataset]}-{k.test.compression}/{k.condition}.csv"
            (base / name).parent.mkdir(parents=True, exist_ok=True)
            scores_for(run_path, k.test.slug, k.run.seed).to_csv(base / name, index=False)
            (base / k.test_path).mkdir(parents=True)
            (base / k.test_path / "metrics.json").write_text(
                json.dumps({"provenance": {"key": k.to_dict(), "scores": name, "commit": "abcdef1234567890"}})
            )
            cells.append({"key": k.to_dict(), "metrics": f"{k.test_path}/metrics.json"})
        (base / "evaluation.json").write_text(
            json.dumps({"cells": cells, "provenance": {"val_scores": "scores/val.csv"}})
        )
    return sorted(b / "evaluation.json" for b in by_index)


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("t3")
    cfg = {"workflow": {"dataset": "synthff", "seeds": list(SEEDS)}, "evaluation": {"n_bootstrap": 30}}
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
    sheet = build_sheet(WorkflowConfig(seeds=list(SEEDS)))
    indexes = write_evaluations(tmp / "eval", sheet, "table3")
    out = tmp / "reports" / "table3"
    assert (
        umcl_main(
            [
                "report",
                "table3",
                "--config",
                str(tmp / "config.yaml"),
                "--evaluations",
                *map(str, indexes),
                "--out",
                str(out),
                "--profile",
                "test",
            ]
        )
        == 0
    )
    return {
        "md": out.with_suffix(".md").read_text(),
        "tex": out.with_suffix(".tex").read_text(),
        "json": json.loads(out.with_suffix(".json").read_text()),
        "sheet": sheet,
        "dir": out.parent,
        "indexes": indexes,
        "tmp": tmp,
    }


def _expected(sheet, row: tuple[str, str], test: str, metric: str) -> float:
    cell = next(c for c in sheet.cells["table3"] if c.decl.row == row and c.decl.column == (test,))
    vals = []
    for k in cell.keys:
        s = scores_for(k.run.to_path(), k.test.slug, k.run.seed)
        vals.append(
            roc_auc_score(s["label"], s["score"]) if metric == "auc" else accuracy_score(s["label"], s["score"] >= 0.5)
        )
    return 100 * float(np.mean(vals))


def test_every_trained_cell_is_the_mean_over_seeds_with_deltas(table: dict) -> None:
    ours = table["json"]["ours"]
    assert table["json"]["cells_filled"] == table["json"]["cells_expected"] == 3 * 4 * 3
    md_rows = [ln for ln in table["md"].splitlines() if "| ours" in ln]
    assert len(md_rows) == 3 * 4
    for key, cell in ours.items():
        _, row, col = key.split("|")
        row_key = tuple(row.split("/"))
        for metric in ("auc", "acc"):
            got = 100 * cell["metrics"][metric]["value"]
            assert got == pytest.approx(_expected(table["sheet"], row_key, col, metric), abs=1e-9)
        assert cell["n_seeds"] == 2 and cell["n_real"] == cell["n_fake"] == N
        assert cell["metrics"]["auc"]["seed_std"] is not None
    # UMCL trained on raw, tested on c40: value, ± seed s.d., CI, and the change against raw->raw
    # each row names its training compression (the default run's table printed three unlabelled blocks)
    assert [ln.split("|")[1].split(":")[0].strip() for ln in md_rows] == ["raw"] * 4 + ["c23"] * 4 + ["c40"] * 4
    umcl_raw = [ln for ln in md_rows if ln.startswith("| raw: UMCL (Ours)")][0]
    auc_c40 = _expected(table["sheet"], ("raw", "UMCL"), "c40", "auc")
    diag = _expected(table["sheet"], ("raw", "UMCL"), "raw", "auc")
    arrow = "↑" if auc_c40 > diag else "↓"
    assert f"{auc_c40:.2f} ± " in umcl_raw and f"({arrow}{abs(round(auc_c40 - diag, 2)):.2f})" in umcl_raw
    assert umcl_raw.count("(-)") == 2  # the in-compression AUC and ACC cells


def test_paper_rows_and_paper_only_methods(table: dict) -> None:
    md = table["md"]
    for method in ("UIA-ViT", "DFIL", "MaskRelation"):
        lines = [ln for ln in md.splitlines() if ln.startswith("| ") and f": {method}" in ln.split("|")[1]]
        assert len(lines) == 3 and all("| paper" in ln for ln in lines)
    assert "| ours" not in "".join(ln for ln in md.splitlines() if "UIA-ViT" in ln)
    # the paper's printed Xception c40 row: '-' cells and the diagonal '(-)'
    xc40 = [ln for ln in md.splitlines() if ln.startswith("| c40: Xception") and "| paper" in ln][0]
    assert xc40.count("| -") == 4 and "(-)" in xc40


def test_notes_provenance_and_legend(table: dict) -> None:
    for text in (table["md"], table["tex"]):
        assert "not comparable to the paper" in text and "validation split only" in text
    md = table["md"]
    assert SYNTHETIC_NOTE in md
    assert "profile test, seeds 0,1 (72 evaluated cells), commit abcdef123456, config hash" in md
    assert "sample standard deviation over the seeds" in md and "bootstrap resamples" in md
    assert f"{N} real : {N} fake" in md and "Test videos (real:fake)" in md
    assert "ACC@val" in md  # the validation-threshold accuracy is reported (More statistics)


def _strip_escaped(tex: str) -> str:
    return re.sub(r"\\[{}&%$#_]", "", tex)


def check_latex_structure(tex: str, n_tabulars: int) -> None:
    depth = 0
    for ch in _strip_escaped(tex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") == tex.count(r"\toprule") == n_tabulars
    for block in tex.split(r"\begin{tabular}")[1:]:
        spec = re.match(r"\{([lcr]+)\}", block).group(1)
        body = block.split(r"\end{tabular}")[0]
        for ln in [x for x in body.splitlines() if x.rstrip().endswith(r"\\")]:
            assert len(re.split(r"(?<!\\)&", ln)) == len(spec), ln


def test_latex_structure(table: dict) -> None:
    check_latex_structure(table["tex"], 1)
    assert f"Test videos (real:fake): ffpp-all-c23 {N}:{N}; ffpp-all-c40 {N}:{N}; ffpp-all-raw {N}:{N}." in table["md"]
    # each of our cells names the evaluations it averages, one per seed, as evaluation paths
    for name, cell in table["json"]["ours"].items():
        assert len(cell["keys"]) == len(SEEDS) and all(k.count("/") >= 3 for k in cell["keys"]), name
    body = table["tex"].split(r"\midrule")[1].split(r"\bottomrule")[0]
    assert len([ln for ln in body.splitlines() if ln.rstrip().endswith(r"\\")]) == 3 * 7 + 3 * 4


def test_outputs_are_complete_files(table: dict) -> None:
    assert sorted(p.name for p in table["dir"].iterdir()) == ["table3.html", "table3.json", "table3.md", "table3.tex"]


def test_paper_gains_print_signed_and_the_markdown_layout(tmp_path: Path) -> None:
    """Table 8's paper Gain cells print their sign (AUC cells do not); the Markdown table's first two columns
    are Method and Source; only the first note (the provenance line) is in italics."""
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"workflow": {"dataset": "ff++", "root": "/x"}}))
    out = tmp_path / "table8"
    assert umcl_main(["report", "table8", "--config", str(tmp_path / "c.yaml"), "--out", str(out), "--paper-only"]) == 0
    md = out.with_suffix(".md").read_text()
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in md.splitlines() if line.startswith("|")]
    assert rows[0][:4] == ["Method", "Source", "FF++ (raw) AUC", "FF++ (raw) Gain"]
    assert ["UMCL: Simple Prompt", "paper", "96.85", "+8.47"] in [r[:4] for r in rows]
    notes = [line for line in md.split("\n\n")[1:] if line and not line.startswith(("|", "#"))]
    assert notes[0].startswith("*Ours: dataset ff++") and notes[0].endswith("*")
    assert not any(n.startswith("*") for n in notes[1:])
    tex = out.with_suffix(".tex").read_text().splitlines()
    assert tex[1:7] == [
        r"\begin{table*}[t]",
        r"\centering",
        r"\scriptsize",
        r"\setlength{\tabcolsep}{3pt}",
        r"\caption{Robustness to adversarial prompts (paper Table 8)}",
        r"\label{tab:table8-repro}",
    ]
    assert tex[-2].startswith(r"\par\smallskip\parbox{\linewidth}{\footnotesize ") and tex[-2].endswith("}")
    assert tex[-1] == r"\end{table*}"


def test_every_table_renders_paper_rows_without_results(tmp_path: Path) -> None:
    """No evaluations yet (or a profile without the dataset): the paper's rows, our rows '-', and why."""
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"workflow": {"dataset": "ff++", "root": "/x"}}))
    for t in PROTOCOLS:
        out = tmp_path / t
        assert umcl_main(["report", t, "--config", str(tmp_path / "c.yaml"), "--out", str(out), "--paper-only"]) == 0
        data = json.loads(out.with_suffix(".json").read_text())
        assert data["cells_filled"] == 0
        check_latex_structure(
            out.with_suffix(".tex").read_text(), out.with_suffix(".tex").read_text().count(r"\toprule")
        )
        if t in ("table4", "table5"):
            assert "Only the paper's rows are shown" in out.with_suffix(".md").read_text() and data["missing"]
    index = tmp_path / "index.md"
    assert (
        umcl_main(
            [
                "report",
                "index",
                "--tables",
                *(str(tmp_path / f"{t}.json") for t in PROTOCOLS),
                "--out",
                str(index),
                "--profile",
                "x",
            ]
        )
        == 0
    )
    lines = [ln for ln in index.read_text().splitlines() if ln.startswith("- [")]
    assert len(lines) == len(PROTOCOLS) and "paper rows only" in "".join(lines)


def test_duplicate_or_broken_evaluations_are_one_line_errors(table: dict, tmp_path: Path) -> None:
    with pytest.raises(UmclError, match="second evaluation of") as err:
        read_evaluations([table["indexes"][0], table["indexes"][0]])
    assert "\n" not in str(err.value)
    bad = tmp_path / "evaluation.json"
    bad.write_text("{not json")
    with pytest.raises(UmclError, match="evaluation index is not valid JSON"):
        read_evaluations([bad])
    bad.write_text(json.dumps({"cells": [{"metrics": "m.json"}], "provenance": {"val_scores": "v.csv"}}))
    (tmp_path / "m.json").write_text(json.dumps({"auc": {"value": 0.5}}))
    with pytest.raises(UmclError, match="names no evaluation key"):
        read_evaluations([bad])


@pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="pdflatex not installed (apt-get install texlive-latex-base texlive-latex-recommended)",
)
def test_latex_compiles_in_a_minimal_document(table: dict, tmp_path: Path) -> None:
    doc = tmp_path / "doc.tex"
    doc.write_text(
        "\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage{booktabs}\n"
        "\\usepackage{amssymb}\n\\usepackage[landscape,margin=1cm]{geometry}\n"
        "\\begin{document}\n" + table["tex"] + "\n\\end{document}\n"
    )
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 0


def test_claims_read_our_cells_by_protocol_key(table: dict) -> None:
    """`umcl report claims` gets every Table 3 cell under its protocol key, with the table's numbers."""
    from umcl.evaluation.config import EvalConfig
    from umcl.report.claims import CellKey
    from umcl.report.render import claims_results

    results = claims_results(table["sheet"], read_evaluations(table["indexes"]), EvalConfig(n_bootstrap=30))
    assert len(results) == 3 * 4 * 3 * 2  # train × detector × test × (auc, acc)
    for decl_cell in table["sheet"].cells["table3"]:
        d = decl_cell.decl
        stat = results[CellKey.from_decl(d, "auc").key]
        assert stat.value == pytest.approx(_expected(table["sheet"], d.row, d.column[0], "auc"), abs=1e-9)
        assert stat.n_seeds == 2 and stat.ci_low <= stat.value <= stat.ci_high
    out = table["tmp"] / "claims"
    assert (
        umcl_main(
            [
                "report",
                "claims",
                "--config",
                str(table["tmp"] / "config.yaml"),
                "--evaluations",
                *map(str, table["indexes"]),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    verdicts = {c["id"]: c["verdict"] for c in json.loads(out.with_suffix(".json").read_text())["claims"]}
    measured_t3 = [
        c
        for c in json.loads(out.with_suffix(".json").read_text())["claims"]
        if c["kind"] == "measured"
        and all(
            "+" not in k.split("|")[0]  # no training variant
            and k.split("|")[1].startswith("ffpp-all")
            and k.split("|")[3] == "clean"
            and k.split("|")[2].startswith("ffpp-all")
            for k in c["needs"]
        )
    ]
    assert measured_t3 and all(verdicts[c["id"]] != "not testable on this data" for c in measured_t3)


@pytest.mark.parametrize("name", [t for t in PROTOCOLS if t != "table3"])
def test_every_table_fills_every_cell_we_train(name: str, tmp_path: Path) -> None:
    """The default profile's protocol of each table maps onto its paper-values file: every declared cell
    lands in a paper cell and is filled from its evaluations (one seed: no ±)."""
    (tmp_path / "c.yaml").write_text(
        yaml.safe_dump({"workflow": {"dataset": "synthff"}, "evaluation": {"n_bootstrap": 10}})
    )
    sheet = build_sheet(WorkflowConfig())
    indexes = write_evaluations(tmp_path / "eval", sheet, name)
    out = tmp_path / name
    assert (
        umcl_main(
            [
                "report",
                name,
                "--config",
                str(tmp_path / "c.yaml"),
                "--evaluations",
                *map(str, indexes),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["cells_filled"] == data["cells_expected"] == len(sheet.cells[name]) > 0
    ours = [ln for ln in out.with_suffix(".md").read_text().splitlines() if "| ours" in ln]
    assert ours and all("±" not in ln for ln in ours)
    assert all(c.strip() != "-" for ln in ours for c in ln.strip("|").split("|")[2:]), ours


def test_table_and_claims_state_their_bootstrap_resamples(table: dict) -> None:
    """The table's notes and JSON, and the claims report built from the same evaluations, name the count."""
    assert table["json"]["bootstrap_resamples"] == 30
    assert "Bootstrap resamples: 30 for every interval of this report" in table["md"]
    out = table["tmp"] / "claims_resamples"
    assert (
        umcl_main(
            [
                "report",
                "claims",
                "--config",
                str(table["tmp"] / "config.yaml"),
                "--evaluations",
                *map(str, table["indexes"]),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads(out.with_suffix(".json").read_text())["bootstrap_resamples"] == 30
    assert "Bootstrap resamples: 30 for every interval of this report" in out.with_suffix(".md").read_text()


# ----------------------------------------------------------------------------------------- what reviewers read
def _cell_scores(sheet, table: str, row: tuple[str, ...], col: tuple[str, ...]):
    """Per seed: (test scores, that run's validation scores), as write_evaluations made them."""
    cell = next(c for c in sheet.cells[table] if c.decl.row == row and c.decl.column == col)
    return {
        k.run.seed: (scores_for(k.run.to_path(), k.test.slug, k.run.seed), scores_for(k.run.to_path(), "val", 0))
        for k in cell.keys
    }


def _best_val_threshold(val: pd.DataFrame) -> float:
    """The validation threshold by brute force with scikit-learn: highest balanced accuracy among cuts
    midway between distinct scores (and the two ends), ties to the one nearest 0.5, then the lower."""
    from sklearn.metrics import balanced_accuracy_score

    u = np.unique(val["score"].to_numpy())
    cuts = [u[0], *((u[:-1] + u[1:]) / 2), np.nextafter(u[-1], np.inf)]
    ba = [balanced_accuracy_score(val["label"], val["score"] >= c) for c in cuts]
    best = [c for c, b in zip(cuts, ba, strict=True) if b >= max(ba) - 1e-12]
    return min(best, key=lambda c: (round(abs(c - 0.5), 12), c))


def test_acc_at_val_uses_each_runs_validation_scores(table: dict) -> None:
    """ACC@val's threshold is chosen on the run's VALIDATION scores (never on the cell's test scores), one
    per seed, and ACC@val is the test accuracy at it; the fixture's validation scores differ from every test set."""
    from umcl.metrics import choose_threshold

    moved = 0
    for key, cell in table["json"]["ours"].items():
        _, row, col = key.split("|")
        per_seed = _cell_scores(table["sheet"], "table3", tuple(row.split("/")), (col,))
        accs = []
        for seed, (test, val) in per_seed.items():
            t = cell["val_thresholds"][str(seed)]
            assert t == pytest.approx(choose_threshold(val["label"], val["score"]), abs=1e-12)
            assert t == pytest.approx(_best_val_threshold(val), abs=1e-12)
            moved += t != pytest.approx(choose_threshold(test["label"], test["score"]), abs=1e-12)
            accs.append(accuracy_score(test["label"], test["score"] >= t))
        assert cell["metrics"]["acc_val"]["value"] == pytest.approx(np.mean(accs), abs=1e-12)
    assert moved > len(table["json"]["ours"])  # test-chosen thresholds would differ in most cells


def _md_cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_table3_deltas_of_every_row_are_against_its_own_compression(table: dict) -> None:
    """Every training block (raw, c23, c40): each cell's delta is its value minus the row's in-compression
    cell of the same metric (the diagonal prints '(-)'), not against the raw column."""
    from umcl.specs.paper_tables import load_paper_table

    paper = load_paper_table("3").panels[0]
    labels = {f"{r.key[0]}: {r.label}": r.key for r in paper.rows}
    seen = set()
    for line in (ln for ln in table["md"].splitlines() if "| ours" in ln):
        label, _, *cells = _md_cells(line)
        row = labels[label]
        train = row[0]
        assert len(cells) == len(paper.columns)
        for text, (test, metric) in zip(cells, (c.key for c in paper.columns), strict=True):
            value = _expected(table["sheet"], row, test, metric)
            assert text.startswith(f"{value:.2f}"), (line, test, metric)
            if test == train:
                assert text.endswith("(-)")
                continue
            delta = round(value - _expected(table["sheet"], row, train, metric), 2)
            got = re.search(r"\((↑|↓)?(\d+\.\d\d)\)$", text)
            assert got is not None, text
            assert float(got.group(2)) == pytest.approx(abs(delta), abs=0.0051)
            assert got.group(1) == (None if round(delta, 2) == 0 else "↑" if delta > 0 else "↓")
            seen.add(train)
    assert seen == {"raw", "c23", "c40"}


def test_more_statistics_columns_are_the_named_statistics(table: dict) -> None:
    """The Markdown's "More statistics": AUC, ACC@0.5, ACC@val, BACC@0.5, BACC@val of each cell equal the
    JSON and scikit-learn (at 0.5 and at each seed's validation threshold)."""
    from sklearn.metrics import balanced_accuracy_score

    md = table["md"].split("## More statistics (ours)")[1]
    lines = [ln for ln in md.splitlines() if ln.startswith("| ")]
    assert _md_cells(lines[0])[3:8] == ["AUC", "ACC@0.5", "ACC@val", "BACC@0.5", "BACC@val"]
    rows = lines[1:]
    assert len(rows) == len(table["json"]["ours"])
    for line in rows:
        panel, row, col, *vals = _md_cells(line)
        row_key, test = tuple(row.split(" / ")), col
        cell = table["json"]["ours"][f"{panel}|{'/'.join(row_key)}|{test}"]
        per_seed = _cell_scores(table["sheet"], "table3", row_key, (test,))
        ref = {"auc": [], "acc": [], "acc_val": [], "bacc": [], "bacc_val": []}
        for t, v in per_seed.values():
            thr = _best_val_threshold(v)
            ref["auc"].append(roc_auc_score(t["label"], t["score"]))
            ref["acc"].append(accuracy_score(t["label"], t["score"] >= 0.5))
            ref["acc_val"].append(accuracy_score(t["label"], t["score"] >= thr))
            ref["bacc"].append(balanced_accuracy_score(t["label"], t["score"] >= 0.5))
            ref["bacc_val"].append(balanced_accuracy_score(t["label"], t["score"] >= thr))
        for name, text in zip(("auc", "acc", "acc_val", "bacc", "bacc_val"), vals[:5], strict=True):
            assert text == f"{100 * cell['metrics'][name]['value']:.2f}", (line, name)
            assert float(text) == pytest.approx(100 * np.mean(ref[name]), abs=0.0051), (line, name)
        assert vals[5] == f"{N}:{N}" and vals[6] == "2"


def test_more_statistics_marks_statistics_a_cell_lacks() -> None:
    """A cell without validation scores (or without ACC) shows '-' for what it lacks; no cells: no section."""
    from types import SimpleNamespace

    from umcl.evaluation.aggregate import CellStats, Estimate
    from umcl.report.render import more_statistics

    auc = Estimate("auc", 0.71234, None, (0.71234,), None, None)
    built = SimpleNamespace(
        stats={("table3", ("UMCL", "raw"), ("c23",)): CellStats({"auc": auc}, (0,), 20, 30, 0, 0.95, 0)}
    )
    lines = [ln for ln in more_statistics(built).splitlines() if ln.startswith("| ")]
    assert _md_cells(lines[1]) == ["table3", "UMCL / raw", "c23", "71.23", "-", "-", "-", "-", "20:30", "1"]
    assert more_statistics(SimpleNamespace(stats={})) == ""


def test_index_line_of_a_partial_complexity_measurement(tmp_path: Path) -> None:
    """Table 9's index line names detectors it has no display name for as they are, and '?' for what is missing."""
    from umcl.report.render import write_index

    (tmp_path / "table9.json").write_text(
        json.dumps({"parameter_hypotheses": [], "detectors": {"umcl": {}, "lrnet": {}}})
    )
    (tmp_path / "t9b.json").write_text(json.dumps({"parameter_hypotheses": [], "size": "paper", "device": "cuda"}))
    out = write_index([tmp_path / "table9.json", tmp_path / "t9b.json"], tmp_path / "index.md", "x")
    lines = [ln for ln in out.read_text().splitlines() if ln.startswith("- [")]
    assert lines[0].endswith(
        "peak memory of UMCL and lrnet at ? size on ?, beside the paper's values and the parameter-count hypotheses."
    )
    assert "of the detectors at paper size on cuda," in lines[1]


def test_claims_results_skip_studies_and_cells_without_every_seed(table: dict) -> None:
    """A study's cells (not a paper table) are skipped, not the end of the list; a cell missing one seed's
    evaluation is left out while every other cell stays."""
    from dataclasses import replace

    from umcl.evaluation.config import EvalConfig
    from umcl.report.claims import CellKey
    from umcl.report.render import claims_results

    records = read_evaluations(table["indexes"])
    first = table["sheet"].cells["table3"][0]
    del records[first.keys[1]]  # seed 1 of the first cell
    sheet = replace(table["sheet"], cells={"a_study": table["sheet"].cells["table3"][:1], **table["sheet"].cells})
    results = claims_results(sheet, records, EvalConfig(n_bootstrap=0))
    assert len(results) == (3 * 4 * 3 - 1) * 2
    assert CellKey.from_decl(first.decl, "auc").key not in results
    last = table["sheet"].cells["table3"][-1]
    assert results[CellKey.from_decl(last.decl, "acc").key].value == pytest.approx(
        _expected(table["sheet"], last.decl.row, last.decl.column[0], "acc"), abs=1e-9
    )


def test_a_table_beyond_the_paper_prints_our_rows_only(tmp_path: Path) -> None:
    """Table U (no paper-values file): its protocol's columns, our twelve rows, no paper row, and says so."""
    (tmp_path / "c.yaml").write_text(
        yaml.safe_dump({"workflow": {"dataset": "synthff"}, "evaluation": {"n_bootstrap": 10}})
    )
    sheet = build_sheet(WorkflowConfig())
    indexes = write_evaluations(tmp_path / "eval", sheet, "tableU")
    out = tmp_path / "tableU"
    args = ["report", "tableU", "--config", str(tmp_path / "c.yaml"), "--evaluations", *map(str, indexes)]
    assert umcl_main([*args, "--out", str(out)]) == 0
    md = out.with_suffix(".md").read_text()
    table = md.split("## More statistics")[0]
    rows = [ln for ln in table.splitlines() if ln.startswith("| ") and "Method" not in ln]
    assert len(rows) == 12 and all("| ours" in ln for ln in rows)
    assert "No paper values" in md and "Paper caption" not in md
    header = next(ln for ln in md.splitlines() if "Method" in ln)
    assert [c.strip() for c in header.strip("|").split("|")][2:] == [label for _, label in PROTOCOLS["tableU"].columns]
    assert "raw: Xception" in md and "c40: UMCL" in md
    check_latex_structure(out.with_suffix(".tex").read_text(), 1)
