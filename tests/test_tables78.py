"""Tables 7 and 8 (issue 11 §1-§2) on the protocol layer: declared cells match the paper-values files and
the claims, they add evaluations but never a training run (sheet and Snakemake dry runs on every
profile), an attack/degradation evaluation reuses the trained checkpoint, and the renderer's numbers
(our AUCs = scikit-learn, changes against no degradation, Gain = UMCL − CPML, n/a rows) are right."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import roc_auc_score
from test_protocols import CONFIG, _digest, toy_run, two_method_manifest  # noqa: F401  (fixtures)

from umcl.cli import main as umcl_main
from umcl.conditions import TestCondition, table7_conditions, table8_conditions
from umcl.protocols.keys import DATASET_SLUG, EvalKey
from umcl.protocols.sheet import build_sheet
from umcl.protocols.tables import PROTOCOLS, T78_TRAIN
from umcl.registry import get_entry, load_all
from umcl.report.claims import CLAIMS, CellKey, cells_of, required_cells
from umcl.specs.condition_keys import degradation_of
from umcl.specs.paper_tables import load_paper_table
from umcl.specs.vocab import DETECTORS, READS_LANDMARKS
from umcl.specs.workflow import WorkflowConfig
from umcl.workflow import load_profile

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
T78 = ("table7", "table8")
REPORTS = {"default": "reports", "smoke": "reports/smoke", "paper": "reports/paper"}


# ----------------------------------------------------------------------------------------- declarations
@pytest.mark.parametrize("table", T78)
def test_paper_rows_are_declared_with_the_paper_values_conditions(table: str) -> None:
    """Every trained paper row is filled on every test column by its own detector, trained on FF++ raw,
    under the condition its paper-values row names; every declared condition key is canonical."""
    paper = load_paper_table(table.removeprefix("table")).panels[0]
    decls = {(c.row, c.column): c for c in PROTOCOLS[table].cells}
    tests = {c.key[0] for c in paper.columns}
    for row in paper.rows:
        for test in tests:
            d = decls[(row.key, (test,))]
            assert (d.model.detector, d.condition) == (row.detector, row.condition)
            assert d.train.slug == f"ffpp-all-{T78_TRAIN}" and d.test.slug == f"ffpp-all-{test}"
    for d in PROTOCOLS[table].cells:
        assert TestCondition.from_key(d.condition).key == d.condition
    conditions = {d.condition for d in PROTOCOLS[table].cells}
    if table == "table7":  # clean + every registered degradation at the paper's levels
        assert conditions == {c.key for c in table7_conditions()}
    else:  # every attack label-chosen (paper rows) and label-free, and the no-attack reference
        assert conditions == {c.key for c in table8_conditions()} | {"clean"}


def test_landmark_noise_applies_only_to_detectors_that_read_landmarks() -> None:
    load_all()
    assert set(READS_LANDMARKS) == {d for d in DETECTORS if "landmarks" in get_entry(d).cls.inputs}
    assert degradation_of("landmarks-s0.05") == "landmark_noise"
    assert degradation_of("frames-r0.50_seed1") == "frame_sampling"
    assert degradation_of("clean") is None and degradation_of("prompt-opposite-labelfree") is None
    p = PROTOCOLS["table7"]
    na = {x.row for x in p.extra_rows if x.not_applicable}
    assert na == {("Xception", "landmarks-0.01"), ("Xception", "landmarks-0.05")}
    assert not {c.row for c in p.cells} & na
    declared = {(c.model.detector, c.condition) for c in p.cells}
    for det in ("xception", "lrnet", "cpml", "umcl"):  # frame sampling applies to every detector
        assert {(det, k) for k in ("frames-r0.90", "frames-r0.70", "frames-r0.50", "frames-r0.30")} <= declared
    assert ("lrnet", "landmarks-s0.05") in declared and ("xception", "landmarks-s0.05") not in declared
    assert all("beyond the paper" in x.label for x in p.extra_rows)


def test_claims_read_exactly_cells_the_tables_declare() -> None:
    """Every cell the measured claims need is declared by a protocol; Table 7/8 claims by these two."""
    from umcl.protocols.claims import CLAIM_PROTOCOLS  # the claims check's own runs (T3-drop)

    declared = {
        CellKey.from_decl(d, m).key
        for p in {**PROTOCOLS, **CLAIM_PROTOCOLS}.values()
        for d in p.cells
        for m in p.metrics
    }
    assert {k.key for k in required_cells()} <= declared
    t78 = {CellKey.from_decl(d).key for t in T78 for d in PROTOCOLS[t].cells}
    needs = [k for c in CLAIMS if c.kind == "measured" and c.id.startswith(("T7-", "T8-")) for k in cells_of(c)]
    assert needs and {k.key for k in needs} <= t78


# ----------------------------------------------------------------------------------------- no new runs
@pytest.mark.parametrize("profile", sorted(REPORTS))
def test_tables_7_and_8_add_evaluations_but_no_training_run(profile: str) -> None:
    _, layout = load_profile(profile, check=False)
    wf = layout.wf
    full = build_sheet(wf, PROTOCOLS)  # the paper's tables (the issue-12 studies add runs of their own)
    without = build_sheet(wf, {t: p for t, p in PROTOCOLS.items() if t not in T78})
    table3 = build_sheet(wf, {"table3": PROTOCOLS["table3"]})
    assert full.runs == without.runs  # not one run more, on any profile
    used = {k.run for t in T78 for c in full.cells[t] for k in c.keys}
    assert used <= set(table3.runs)  # the very runs (checkpoints) of Table 3, trained once
    new = {k for r in full.runs for k in full.evaluations[r]} - {
        k for r in without.runs for k in without.evaluations[r]
    }
    assert new == {k for t in T78 for c in full.cells[t] for k in c.keys if k.condition != "clean"} - {
        k for r in without.runs for k in without.evaluations[r]
    }
    if "raw" in wf.train_compressions:
        assert used == {r for r in table3.runs if r.train.compression == "raw"} and new
        assert all(full.cells[t] for t in T78) and not {t for t in T78 if t in full.missing}
    else:  # smoke trains on c23 only: the paper's rows, and why ours are missing
        assert not used and all("train_compressions" in full.missing[t] for t in T78)


def _job_counts(stdout: str) -> dict[str, int]:
    stats = stdout.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", stats, re.M)}


@pytest.mark.parametrize("profile", sorted(REPORTS))
def test_dry_run_targets_train_nothing_beyond_table3(profile: str) -> None:
    """`snakemake -n reports/table7.tex reports/table8.tex` (with Table 3) plans Table 3's train and
    evaluate jobs and nothing more: the conditions are cells inside the same evaluation jobs."""
    _, layout = load_profile(profile, check=False)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    targets = [f"{REPORTS[profile]}/{t}.tex" for t in ("table3", *T78)]
    proc = subprocess.run(
        [str(BIN / "snakemake"), "-n", "--forceall", *targets, "--config", f"profile={profile}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    jobs = _job_counts(proc.stdout)
    assert jobs["train"] == len(layout.runs(["table3"])) and jobs["report"] == 3
    assert jobs["evaluate"] == len(layout.evaluation_files(["table3"]))
    assert set(T78) <= set(layout.wf.tables) or profile == "smoke"  # part of `make reproduce` (rule all)


def test_an_attack_evaluation_reuses_the_checkpoint(two_method_manifest, toy_run, tmp_path):  # noqa: F811
    """Prompt attacks (both modes) and degradations are scored from the trained run, which stays
    byte-identical; every cell carries that run's fingerprint."""
    from umcl.evaluation.sheet_eval import evaluate_cells

    run, key = toy_run
    before, fingerprint = _digest(run), json.loads((run / "run.json").read_text())["fingerprint"]
    tests = [
        "ffpp-all-c23/clean",
        "ffpp-all-c23/prompt-opposite-labelchosen",
        "ffpp-all-c23/prompt-opposite-labelfree",
        "ffpp-all-c23/landmarks-s0.05",
    ]
    index = evaluate_cells(
        CONFIG, run, key, tests, {"ff++": str(two_method_manifest)}, tmp_path / "e", device="cpu", progress=False
    )
    assert _digest(run) == before
    assert [EvalKey.from_dict(c["key"]).test_path for c in index["cells"]] == tests
    for cell in index["cells"]:
        assert (
            json.loads((tmp_path / "e" / cell["metrics"]).read_text())["provenance"]["run_fingerprint"] == fingerprint
        )


# ----------------------------------------------------------------------------------------- rendering
def _scores(run_path: str, test: str, condition: str) -> pd.DataFrame:
    """Made-up per-video scores that differ by run, test set and condition (deterministic)."""
    digest = hashlib.sha256(f"{run_path}|{test}|{condition}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    labels = np.array([0] * 12 + [1] * 12)
    score = np.clip(0.5 + (labels - 0.5) * rng.uniform(0.0, 0.6) + rng.normal(0, 0.25, labels.size), 0.001, 0.999)
    return pd.DataFrame(
        {
            "key": [f"v{i}" for i in range(labels.size)],
            "label": labels,
            "score": score,
            "method": np.where(labels == 1, "Deepfakes", "original"),
        }
    )


def _write(root: Path, sheet, table: str) -> list[Path]:
    by_index: dict[Path, list] = {}
    for cell in sheet.cells[table]:
        for k in cell.keys:
            by_index.setdefault(root / k.run.to_path() / DATASET_SLUG[k.test.dataset], []).append(k)
    for base, keys in by_index.items():
        (base / "scores").mkdir(parents=True, exist_ok=True)
        _scores(keys[0].run.to_path(), "val", "clean").to_csv(base / "scores/val.csv", index=False)
        cells = []
        for k in keys:
            name = f"scores/{k.test.slug}/{k.condition}.csv"
            (base / name).parent.mkdir(parents=True, exist_ok=True)
            _scores(k.run.to_path(), k.test.slug, k.condition).to_csv(base / name, index=False)
            (base / k.test_path).mkdir(parents=True)
            (base / k.test_path / "metrics.json").write_text(
                json.dumps({"provenance": {"key": k.to_dict(), "scores": name}})
            )
            cells.append({"key": k.to_dict(), "metrics": f"{k.test_path}/metrics.json"})
        (base / "evaluation.json").write_text(
            json.dumps({"cells": cells, "provenance": {"val_scores": "scores/val.csv"}})
        )
    return sorted(b / "evaluation.json" for b in by_index)


def _auc(det: str, test: str, condition: str) -> float:
    s = _scores(f"{det}/ffpp-all-raw/seed0", f"ffpp-all-{test}", condition)
    return 100 * roc_auc_score(s["label"], s["score"])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("t78")
    (tmp / "c.yaml").write_text(yaml.safe_dump({"workflow": {"dataset": "synthff"}, "evaluation": {"n_bootstrap": 10}}))
    sheet = build_sheet(WorkflowConfig())
    out = {}
    for t in T78:
        indexes = _write(tmp / "eval" / t, sheet, t)
        assert (
            umcl_main(
                [
                    "report",
                    t,
                    "--config",
                    str(tmp / "c.yaml"),
                    "--evaluations",
                    *map(str, indexes),
                    "--out",
                    str(tmp / t),
                ]
            )
            == 0
        )
        out[t] = {
            "md": (tmp / f"{t}.md").read_text(),
            "json": json.loads((tmp / f"{t}.json").read_text()),
            "tex": (tmp / f"{t}.tex").read_text(),
        }
    return out


def _md_row(md: str, label: str, source: str = "ours") -> list[str]:
    for line in md.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 2 and cells[0] == label and cells[1] == source:
            return cells[2:]
    raise AssertionError(f"no {source} row {label!r}")


def _num(cell: str) -> float:
    return float(cell.split()[0])


def test_table7_cells_and_changes_against_no_degradation(rendered) -> None:
    t7 = rendered["table7"]
    assert t7["json"]["cells_filled"] == t7["json"]["cells_expected"] == len(PROTOCOLS["table7"].cells)
    for label, det, cond in (
        ("UMCL: Sampling ratio 50%", "umcl", "frames-r0.50"),
        ("CPML: Pertubation with σ=0.05", "cpml", "landmarks-s0.05"),
        ("LRNet: Sampling ratio 30% (beyond the paper)", "lrnet", "frames-r0.30"),
    ):
        for cell, test in zip(_md_row(t7["md"], label), ("raw", "c23", "c40"), strict=True):
            value, clean = _auc(det, test, cond), _auc(det, test, "clean")
            assert _num(cell) == pytest.approx(value, abs=0.006)
            delta = round(round(value, 10) - round(clean, 10), 2)
            arrow = "(0.00)" if delta == 0 else f"({'↑' if delta > 0 else '↓'}{abs(delta):.2f})"
            assert cell.endswith(arrow), (cell, arrow)
    assert _md_row(t7["md"], "Xception: Pertubation with σ=0.01 (beyond the paper)") == ["n/a"] * 3
    assert all("(" not in c.split("]")[-1] for c in _md_row(t7["md"], "UMCL: No degradation"))  # its own reference
    assert _md_row(t7["md"], "UMCL: Sampling ratio 50%", "paper")[0] == "92.30 (↑23.91)"  # the paper's, as printed
    assert any("change against the same model's No-degradation row" in n for n in t7["json"]["notes"])


def test_table8_gain_is_umcl_minus_cpml_and_label_free_rows_are_shown(rendered) -> None:
    t8 = rendered["table8"]
    assert t8["json"]["cells_filled"] == t8["json"]["cells_expected"] == len(PROTOCOLS["table8"].cells)
    for label, cond in (
        ("Opposite Prompt", "prompt-opposite-labelchosen"),
        ("Unrelated Prompt, label-free (beyond the paper)", "prompt-unrelated-labelfree"),
        ("No attack: label-free default prompt (reference) (beyond the paper)", "clean"),
    ):
        umcl, cpml = _md_row(t8["md"], f"UMCL: {label}"), _md_row(t8["md"], f"CPML: {label}")
        for j, test in enumerate(("raw", "c23", "c40")):
            u, c = _auc("umcl", test, cond), _auc("cpml", test, cond)
            assert _num(umcl[2 * j]) == pytest.approx(u, abs=0.006) and _num(cpml[2 * j]) == pytest.approx(c, abs=0.006)
            assert float(umcl[2 * j + 1]) == pytest.approx(round(u, 2) - round(c, 2), abs=0.011)
            assert umcl[2 * j + 1][0] in "+-" and cpml[2 * j + 1] == "n/a"
    assert _md_row(t8["md"], "UMCL: Opposite Prompt", "paper")[1] == "+83.52"
    assert len(t8["json"]["derived"]) == 9 * 3  # UMCL's nine rows × three test sets
    notes = " ".join(t8["json"]["notes"])
    assert "Description row equals its Table 7 No-degradation row" in notes and "Label-free" in notes
    assert r"\toprule" in t8["tex"] and "n/a" in t8["tex"]


def test_smoke_profile_renders_the_paper_rows_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        yaml.safe_dump({"workflow": {"dataset": "synthff", "train_compressions": ["c23"]}})
    )
    for t in T78:
        assert umcl_main(["report", t, "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / t)]) == 0
        data = json.loads((tmp_path / f"{t}.json").read_text())
        assert data["cells_expected"] == 0 and "train_compressions: c23" in data["missing"]
        assert "Only the paper's rows are shown" in (tmp_path / f"{t}.md").read_text()
