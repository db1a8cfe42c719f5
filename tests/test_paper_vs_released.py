"""reports/paper_vs_released (issue 12 §2): the study's protocol, its variants, the renderer on made-up
evaluation files of two seeds (cells and paired differences against scikit-learn), and its Snakemake target."""

from __future__ import annotations

import json
import shutil
import typing

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import accuracy_score, roc_auc_score
from test_report import write_evaluations
from test_workflow import job_counts, snakemake

from umcl.cli import main as umcl_main
from umcl.metrics import stratified_resamples
from umcl.models.umcl import UMCLConfig
from umcl.protocols.keys import DATASET_SLUG
from umcl.protocols.sheet import build_sheet
from umcl.protocols.studies import (
    ABLATION_SWITCHES,
    LEAKAGE_AUDIT_SCORINGS,
    TEST_TIME_SWITCHES,
    study_protocols,
)
from umcl.protocols.variants import get_variant, released_switch_variant
from umcl.registry import get_entry
from umcl.released import RELEASED_CONFIG
from umcl.specs.released import ReleasedSwitch
from umcl.specs.workflow import WorkflowConfig
from umcl.workflow import load_profile

SEEDS = (0, 1)
N_BOOT = 40


def test_every_released_switch_has_a_variant_back_at_the_paper_value() -> None:
    assert set(typing.get_args(ReleasedSwitch)) == set(RELEASED_CONFIG)
    released_defaults = get_entry("umcl-released").config_cls()
    for switch in RELEASED_CONFIG:
        v = get_variant(released_switch_variant(switch))
        assert v.detector == "umcl-released"
        ((key, value),) = v.settings().items()
        assert key == f"detectors.umcl-released.{switch}" and value == getattr(UMCLConfig(), switch)
        assert value != getattr(released_defaults, switch)  # the overlay really flips the switch
    assert get_variant("labelFed").settings() == {"detectors.cpml.label_fed_classifier": True}


def test_protocol_shares_runs_with_tables_3_and_6_and_adds_few() -> None:
    wf = WorkflowConfig()
    sheet = build_sheet(wf)
    tables = set(sheet.runs_of(list(wf.tables)))
    study = set(sheet.runs_of(["paper_vs_released"]))
    added = sorted(r.to_path() for r in study - tables)
    # umcl (paper) runs are Table 3's c23 run and Table 6's DF run; only umcl-released is new
    assert added == ["umcl-released/ffpp-DF-c23/seed0", "umcl-released/ffpp-all-c23/seed0"]
    assert set(sheet.runs_of(["paper_vs_released", "leakage"])) - tables - study == {
        r for r in sheet.runs if r.to_path() == "cpml+labelFed/ffpp-all-c23/seed0"
    }
    # the ablation trains one run per configured switch, none by default
    wf2 = WorkflowConfig(released_ablation=list(ABLATION_SWITCHES))
    models = {r.model for r in build_sheet(wf2).runs_of(["paper_vs_released"])}
    assert {f"umcl-released+{released_switch_variant(s)}" for s in ABLATION_SWITCHES} <= models
    assert not any("+paper" in r.model for r in study)
    # a profile without UMCL has no study
    assert study_protocols(WorkflowConfig(detectors=["xception"])) == {}


def test_studies_declare_their_train_and_test_selections() -> None:
    """Every cell of both studies, hard-coded for a profile with two training compressions, two Table 6
    manipulations and one retrained switch: Table 3's grid, Table 6's one-method training and one-method test
    selections, the ablation and the leakage audit's panels (model, train, test, test-time condition)."""
    wf = WorkflowConfig(
        train_compressions=["raw", "c23"],
        released_train_compressions=["raw", "c23"],
        released_table6_methods=["Deepfakes", "FaceSwap"],
        released_ablation=["lrnet_feature_noise"],
    )
    umcl = {"UMCL (paper)": ("umcl", None), "UMCL (released)": ("umcl-released", None)}
    abbrev = {"Deepfakes": "DF", "Face2Face": "F2F", "FaceSwap": "FS", "NeuralTextures": "NT"}
    c23 = ("ff++", "c23", None)
    want = []
    for train in ("raw", "c23"):
        for label, model in umcl.items():
            want += [("table3", (label, train), (t,), model, ("ff++", train, None), ("ff++", t, None), "clean")
                     for t in ("raw", "c23", "c40")]  # fmt: skip
    for m in ("Deepfakes", "FaceSwap"):
        for label, model in umcl.items():
            train_on, test_on = ("ff++", "c23", (m,)), [("ff++", "c23", (t,)) for t in abbrev]
            want += [
                ("table6", (label, abbrev[m]), (abbrev[t],), model, train_on, test, "clean")
                for t, test in zip(abbrev, test_on, strict=True)
            ]
    released = ("umcl-released", None)
    want += [
        ("ablation", ("UMCL (released)", "all switches"), ("c23",), released, c23, c23, "clean"),
        ("ablation", ("UMCL (released)", "lrnet_feature_noise as paper"), ("c23",),
         ("umcl-released", "paperLrnetFeatureNoise"), c23, c23, "clean"),
        ("ablation", ("UMCL (released)", "module_mode as paper"), ("c23",), released, c23, c23, "mode-eval"),
    ]  # fmt: skip
    models = {**umcl, "CPML (label-free)": ("cpml", None), "CPML (label-fed classifier)": ("cpml", "labelFed")}
    leak = [("selection", ("UMCL (released)", "selection"), ("c23",), released, c23, c23, "clean")]
    leak += [("cpml", (label, "classifier"), ("c23",), models[label], c23, c23, "clean")
             for label in ("CPML (label-free)", "CPML (label-fed classifier)")]  # fmt: skip
    leak += [("prompt", (label, what), ("c23",), model, c23, c23, cond)
             for label, model in models.items()
             for what, cond in (("label-free prompt", "clean"),
                                ("leakage_audit prompt", "policy-leakage-audit"))]  # fmt: skip

    def declared(name: str) -> list[tuple]:
        return [
            (c.panel, c.row, c.column, (c.model.detector, c.model.variant),
             (c.train.dataset, c.train.compression, c.train.methods),
             (c.test.dataset, c.test.compression, c.test.methods), c.condition)
            for c in study_protocols(wf)[name].cells
        ]  # fmt: skip

    assert declared("paper_vs_released") == want
    assert declared("leakage") == leak
    studies = study_protocols(wf)
    assert (studies["paper_vs_released"].metrics, studies["leakage"].metrics) == (("auc", "acc"), ("auc",))
    assert all(p.own_detectors for p in studies.values())
    assert {k: (p.table, p.title) for k, p in studies.items()} == {
        "paper_vs_released": (
            "paper_vs_released",
            "UMCL as the paper describes it vs as its authors' code trains it",
        ),
        "leakage": ("leakage", "Label leakage audit: checkpoint selection, CPML's classifier, prompts"),
    }
    no_cpml = WorkflowConfig(leakage_cpml=False)
    assert [c.row for c in study_protocols(no_cpml)["leakage"].cells if c.panel == "cpml"] == [
        ("CPML (label-free)", "classifier")
    ]
    only_umcl = study_protocols(WorkflowConfig(detectors=["umcl"]))["leakage"]
    assert {c.model.detector for c in only_umcl.cells} == {"umcl", "umcl-released"}


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("pvr")
    wf = {"dataset": "synthff", "seeds": list(SEEDS), "released_ablation": ["lrnet_feature_noise"]}
    (tmp / "config.yaml").write_text(yaml.safe_dump({"workflow": wf, "evaluation": {"n_bootstrap": N_BOOT}}))
    sheet = build_sheet(WorkflowConfig(**wf))
    indexes = write_study_evaluations(tmp / "eval", sheet, "paper_vs_released")
    out = tmp / "reports" / "paper_vs_released"
    assert (
        umcl_main(
            [
                "report",
                "paper_vs_released",
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
        "sheet": sheet,
        "json": json.loads(out.with_suffix(".json").read_text()),
        "indexes": indexes,
        "md": out.with_suffix(".md").read_text(),
        "tex": out.with_suffix(".tex").read_text(),
        "tmp": tmp,
    }


def write_study_evaluations(root, sheet, study: str):
    """test_report's writer over the study's cells, each evaluation key once (cells may share one)."""
    from types import SimpleNamespace

    from umcl.protocols.sheet import TableCell

    seen, cells = set(), []
    for c in sheet.cells[study]:
        keys = [k for k in c.keys if k not in seen]
        seen.update(keys)
        if keys:
            cells.append(TableCell(c.decl, keys))
    return write_evaluations(root, SimpleNamespace(cells={study: cells}), study)


def _cell(sheet, panel: str, row: tuple, column: tuple):
    return next(
        c for c in sheet.cells["paper_vs_released"] if (c.decl.panel, c.decl.row, c.decl.column) == (panel, row, column)
    )


def _scores(cell, root):
    """Each seed's test scores of a cell, read from the file written for it and subset by hand."""
    out = {}
    for k in cell.keys:
        slug = DATASET_SLUG[k.test.dataset]
        s = pd.read_csv(
            root / k.run.to_path() / slug / "scores" / f"{slug}-{k.test.compression}" / f"{k.condition}.csv"
        )
        if k.test.methods:
            s = s[s["method"].isin(("original", *k.test.methods))]
        out[k.run.seed] = s.reset_index(drop=True)
    return out


def _metric(y, s, metric: str) -> float:
    return roc_auc_score(y, s) if metric == "auc" else accuracy_score(y, s >= 0.5)


def _reference_difference(a: dict, b: dict, metric: str) -> tuple[float, tuple[float, float]]:
    """released − paper: mean over seeds with scikit-learn, and the paired bootstrap with the same resamples."""
    y = a[0]["label"].to_numpy()
    assert all((f["key"].to_numpy() == a[0]["key"].to_numpy()).all() for f in [*a.values(), *b.values()])

    def diff(i):
        return np.mean([_metric(y[i], f["score"].to_numpy()[i], metric) for f in b.values()]) - np.mean(
            [_metric(y[i], f["score"].to_numpy()[i], metric) for f in a.values()]
        )

    draws = [diff(i) for i in stratified_resamples(y, N_BOOT, 0)]
    return diff(np.arange(y.size)), tuple(np.quantile(draws, [0.025, 0.975]))


def test_each_cell_has_both_values_and_the_paired_difference(report: dict) -> None:
    rows = report["json"]["rows"]
    # default grid: released trained on c23 only (3 test compressions) and on DF only (4 test manipulations)
    assert sorted((r["panel"], r["train"]) for r in rows) == [("table3", "c23")] * 3 + [("table6", "DF")] * 4
    assert report["json"]["cells_filled"] == report["json"]["cells_expected"] == 7
    for r in rows:
        paper = _cell(report["sheet"], r["panel"], ("UMCL (paper)", r["train"]), (r["test"],))
        released = _cell(report["sheet"], r["panel"], ("UMCL (released)", r["train"]), (r["test"],))
        a, b = _scores(paper, report["tmp"] / "eval"), _scores(released, report["tmp"] / "eval")
        for metric in ("auc", "acc"):
            for side, sc in (("UMCL (paper)", a), ("UMCL (released)", b)):
                want = np.mean([_metric(s["label"], s["score"].to_numpy(), metric) for s in sc.values()])
                assert r[metric][side]["value"] == pytest.approx(want, abs=1e-12)
            value, ci = _reference_difference(a, b, metric)
            d = r[metric]["difference"]
            assert d["value"] == pytest.approx(value, abs=1e-12)
            assert (d["ci_low"], d["ci_high"]) == pytest.approx(ci, abs=1e-12)
            assert d["n_videos"] == len(a[0])
    first = rows[0]
    line = next(ln for ln in report["md"].splitlines() if ln.startswith(f"| table3 | c23 | {first['test']} |"))
    assert f"{100 * first['auc']['difference']['value']:+.1f} [" in line


def test_ablation_ranks_what_it_has_and_names_what_is_missing(report: dict) -> None:
    abl = {e["switch"]: e for e in report["json"]["ablation"]}
    assert set(abl) == {*ABLATION_SWITCHES, *TEST_TIME_SWITCHES}
    assert abl["lrnet_feature_noise"]["trained"] and abl["lrnet_feature_noise"]["rank"] in (1, 2)
    assert not abl["contrastive_views"]["trained"] and abl["contrastive_views"]["d_auc"] is None
    # the test-time switch: the same run under the eval-mode condition, on every profile, never retrained
    assert abl["module_mode"]["trained"] and abl["module_mode"]["test_time"]
    mode = _cell(report["sheet"], "ablation", ("UMCL (released)", "module_mode as paper"), ("c23",))
    assert mode.decl.model.variant is None and mode.decl.condition == "mode-eval"
    assert sorted(e["rank"] for e in abl.values() if "rank" in e) == [1, 2]
    assert "module_mode as paper (test time, same checkpoint)" in report["md"]
    base = _cell(report["sheet"], "ablation", ("UMCL (released)", "all switches"), ("c23",))
    flip = _cell(report["sheet"], "ablation", ("UMCL (released)", "lrnet_feature_noise as paper"), ("c23",))
    root = report["tmp"] / "eval"
    value, _ = _reference_difference(_scores(base, root), _scores(flip, root), "auc")
    assert abl["lrnet_feature_noise"]["d_auc"]["value"] == pytest.approx(value, abs=1e-12)
    value, _ = _reference_difference(_scores(base, root), _scores(mode, root), "auc")
    assert abl["module_mode"]["d_auc"]["value"] == pytest.approx(value, abs=1e-12)
    left = " ".join(report["json"]["left_out"])
    assert "raw, c40" in left and "F2F, FS, NT" in left and "contrastive_views" in left
    assert "contrastive_views as paper (not trained)" in report["md"]
    assert "paired stratified bootstrap" in report["md"] and "SynthFF" in report["md"]
    assert report["tex"].count(r"\toprule") == 1 and r"\end{tabular}" in report["tex"]


def test_missing_evaluations_render_and_are_named(report: dict, tmp_path) -> None:
    keep = [p for p in report["indexes"] if "umcl-released/ffpp-DF" not in str(p)]
    assert len(keep) < len(report["indexes"])
    out = tmp_path / "pvr"
    assert (
        umcl_main(
            [
                "report",
                "paper_vs_released",
                "--config",
                str(report["tmp"] / "config.yaml"),
                "--evaluations",
                *map(str, keep),
                "--out",
                str(out),
                "--profile",
                "test",
            ]
        )
        == 0
    )
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["cells_filled"] == 3 and data["cells_expected"] == 7
    assert "without every seed's evaluation: table6 DF->DF" in " ".join(data["left_out"])


@pytest.mark.parametrize("profile", ["default", "smoke", "paper"])
def test_targets_dry_run(profile: str) -> None:
    _, layout = load_profile(profile, check=False)
    pvr, leak = layout.study_files("paper_vs_released"), layout.study_files("leakage")
    proc = snakemake("-n", "--forceall", pvr[0], leak[0], "--config", f"profile={profile}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    jobs = job_counts(proc.stdout)
    assert jobs["report_paper_vs_released"] == jobs["report_leakage"] == 1
    # one umcl-released c23 run per seed, its checkpoint of each audit scoring (umcl.training.scoring)
    assert jobs["evaluate_audit"] == len(layout.wf.seeds_of("leakage")) * len(LEAKAGE_AUDIT_SCORINGS)
    sheet = layout.sheet
    runs = set(sheet.runs_of(["paper_vs_released", "leakage"]))
    assert jobs["train"] == len(runs | {r for r in layout.runs(["paper_vs_released", "leakage"])})
    if set(layout.wf.studies) == {"paper_vs_released", "leakage"}:
        assert set(pvr + leak) <= set(layout.all_report_files())


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed (texlive-latex-base)")
def test_latex_compiles(report: dict, tmp_path) -> None:
    from test_latex_compiles import compile_tex

    assert all(ord(ch) < 128 for ch in report["tex"]), "non-ASCII left in the LaTeX"
    proc = compile_tex(report["tex"], tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_report_states_its_bootstrap_resamples(report: dict) -> None:
    assert report["json"]["bootstrap_resamples"] == N_BOOT
    assert f"Bootstrap resamples: {N_BOOT} for every interval of this report" in report["md"]
