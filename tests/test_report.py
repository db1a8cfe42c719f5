"""`umcl report table3` from synthetic metrics JSONs: content, deltas, notes and LaTeX structure."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from umcl.cli import main as umcl_main
from umcl.errors import UmclError
from umcl.report.paper import load_paper_values
from umcl.report.table3 import SYNTHETIC_NOTE, build_rows, read_results, write_table3

COMPS = ("raw", "c23", "c40")
DETS = ("xception", "lrnet", "cpml", "umcl")
SEEDS = (0, 1)


def fake_value(det: str, train: str, test: str, metric: str, seed: int) -> float:
    """A deterministic, distinct fraction per cell."""
    base = 0.9 - 0.1 * abs(COMPS.index(train) - COMPS.index(test)) - 0.01 * DETS.index(det)
    return round(base - (0.02 if metric == "acc" else 0.0) + 0.01 * seed, 4)


def write_metrics(root: Path) -> list[Path]:
    paths = []
    for det in DETS:
        for train in COMPS:
            for seed in SEEDS:
                for test in COMPS:
                    p = root / det / train / f"seed{seed}" / test / "metrics.json"
                    p.parent.mkdir(parents=True)
                    data = {m: {"value": fake_value(det, train, test, m, seed),
                                "ci_low": fake_value(det, train, test, m, seed) - 0.05,
                                "ci_high": fake_value(det, train, test, m, seed) + 0.05}
                            for m in ("auc", "acc", "eer", "ap")}
                    data["provenance"] = {"commit": "abcdef1234567890"}
                    p.write_text(json.dumps(data))
                    paths.append(p)
    return paths


@pytest.fixture()
def table(tmp_path: Path) -> dict:
    metrics = write_metrics(tmp_path / "eval")
    cfg = tmp_path / "config.yaml"
    cfg.write_text("workflow:\n  dataset: synthff\n")
    out = tmp_path / "reports" / "table3"
    code = umcl_main(["report", "table3", "--config", str(cfg), "--metrics", *map(str, metrics),
                      "--out", str(out), "--profile", "test"])
    assert code == 0
    return {"md": out.with_suffix(".md").read_text(), "tex": out.with_suffix(".tex").read_text(),
            "json": json.loads(out.with_suffix(".json").read_text()), "metrics": metrics, "dir": out.parent}


def test_every_trained_cell_filled_and_deltas_derived(table: dict) -> None:
    pv = load_paper_values()
    rows = build_rows(pv, read_results(table["metrics"]))
    ours = [r for r in rows if r.source == "ours"]
    assert len(ours) == 3 * 4
    for r in ours:
        det = pv.trained_detectors()[r.method]
        for test in COMPS:
            for k in ("auc", "acc"):
                e = r.entries[(test, k)]
                vals = [100 * fake_value(det, r.train, test, k, s) for s in SEEDS]
                assert e.value == pytest.approx(sum(vals) / 2)
                assert e.n == 2 and e.std == pytest.approx(abs(vals[0] - vals[1]) / 2 ** 0.5)
                assert e.ci == pytest.approx((sum(vals) / 2 - 5, sum(vals) / 2 + 5))
                diag = sum(100 * fake_value(det, r.train, r.train, k, s) for s in SEEDS) / 2
                if test == r.train:
                    assert e.delta is None
                else:
                    assert e.delta == pytest.approx(e.value - diag, abs=0.006)


def test_paper_rows_and_paper_only_methods(table: dict) -> None:
    md = table["md"]
    for method in ("UIA-ViT", "DFIL", "MaskRelation"):
        lines = [ln for ln in md.splitlines() if f"| {method}" in ln]
        assert len(lines) == 3 and all("| paper" in ln for ln in lines)
    # a paper cell with its derived delta, and the missing Xception c40 cells
    assert "74.92 (↓21.40)" in md
    xc40 = next(ln for ln in md.splitlines() if ln.startswith("| FF++ (c40)") and "Xception" in ln and "paper" in ln)
    assert xc40.count("| -") == 4 and "92.40 (-)" in xc40


def test_notes_and_provenance(table: dict) -> None:
    for text in (table["md"], table["tex"]):
        assert "not comparable to the paper" in text
        assert "validation split only" in text
    assert SYNTHETIC_NOTE in table["md"]
    assert "profile test, seeds 0,1 (72 metrics files), commit abcdef123456, config hash" in table["md"]
    assert table["json"]["ours"]["train_raw"]["umcl"]["test_c40"]["auc"]["n"] == 2


def _strip_escaped(tex: str) -> str:
    return re.sub(r"\\[{}&%$#_]", "", tex)


def test_latex_structure(table: dict) -> None:
    tex = table["tex"]
    plain = _strip_escaped(tex)
    depth = 0
    for ch in plain:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert rule in tex
    assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") == 1
    spec = re.search(r"\\begin\{tabular\}\{([lcr]+)\}", tex).group(1)
    body = tex.split(r"\toprule")[1].split(r"\bottomrule")[0]
    rows = [ln for ln in body.splitlines() if ln.rstrip().endswith(r"\\")]
    assert len(rows) == 2 + 3 * 7 + 3 * 4  # two header rows, paper rows, ours rows
    for ln in rows:
        cells = re.split(r"(?<!\\)&", ln)
        span = sum(int(n) - 1 for n in re.findall(r"\\multicolumn\{(\d+)\}", ln))
        assert len(cells) + span == len(spec), ln


def test_outputs_are_complete_files(table: dict) -> None:
    assert sorted(p.name for p in table["dir"].iterdir()) == ["table3.json", "table3.md", "table3.tex"]


def test_untrained_sets_have_no_ours_rows(tmp_path: Path) -> None:
    metrics = [p for p in write_metrics(tmp_path) if "/c23/seed" in p.as_posix()]
    rows = build_rows(load_paper_values(), read_results(metrics))
    assert {(r.train, r.method) for r in rows if r.source == "ours"} == {
        ("c23", m) for m in ("Xception", "LRNet", "CPML", "UMCL")}
    assert len([r for r in rows if r.source == "paper"]) == 21


def test_missing_metric_is_one_line_error(tmp_path: Path) -> None:
    p = tmp_path / "umcl" / "raw" / "seed0" / "c23" / "metrics.json"
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps({"auc": {"value": 0.5}}))
    with pytest.raises(UmclError, match="metric 'acc' missing") as err:
        write_table3([p], tmp_path / "t3", "synthff", "x", "h")
    assert "\n" not in str(err.value)
    bad = tmp_path / "elsewhere.json"
    bad.write_text("{}")
    with pytest.raises(UmclError, match="names no detector"):
        read_results([bad])
    p.write_text(json.dumps({"auc": {"value": 0.5}, "acc": {"value": 0.5}}))
    with pytest.raises(UmclError, match="second metrics file"):
        read_results([p, p])


def test_identity_from_provenance(tmp_path: Path) -> None:
    p = tmp_path / "anywhere.json"
    p.write_text(json.dumps({"auc": {"value": 0.8, "ci_low": 0.7, "ci_high": 0.9}, "acc": {"value": 0.75},
                             "provenance": {"detector": "lrnet", "train_compression": "c23", "seed": 3,
                                            "test_compression": "raw"}}))
    res = read_results([p])
    assert res.cell("c23", "lrnet", "raw", "auc").values == [pytest.approx(80.0)]
    assert res.cell("c23", "lrnet", "raw", "acc").ci is None and res.seeds == {3}


@pytest.mark.skipif(shutil.which("pdflatex") is None,
                    reason="pdflatex not installed (apt-get install texlive-latex-base texlive-latex-recommended)")
def test_latex_compiles_in_a_minimal_document(table: dict, tmp_path: Path) -> None:
    doc = tmp_path / "doc.tex"
    doc.write_text("\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage{booktabs}\n"
                   "\\usepackage{amssymb}\n\\usepackage[landscape,margin=1cm]{geometry}\n"
                   "\\begin{document}\n" + table["tex"] + "\n\\end{document}\n")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 0
