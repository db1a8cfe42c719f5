"""The protocol layer: keys, job sheet (shared runs, conditions never retrain), one-process evaluation
of a run on all its cells, the table renderer's statistics, and the Table 11 test-time leak."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from _train_fixtures import write_cache  # registers the "toy_test" detector
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from umcl.data.manifest import VideoRecord, write_manifest
from umcl.errors import UmclError
from umcl.evaluation.config import EvalConfig
from umcl.protocols.keys import EvalKey, RunKey, Selection
from umcl.protocols.sheet import build_sheet
from umcl.protocols.spec import CellDecl, Model, Protocol
from umcl.protocols.tables import PROTOCOLS
from umcl.specs.vocab import COMPRESSIONS, FF_METHODS
from umcl.specs.workflow import WorkflowConfig
from umcl.workflow import load_profile

# ----------------------------------------------------------------------------------------- keys
selections = st.builds(
    Selection,
    st.sampled_from(["ff++", "celebdf", "dfd", "dfdc"]),
    st.sampled_from([*COMPRESSIONS, "orig"]),
    st.one_of(st.none(), st.lists(st.sampled_from(FF_METHODS), min_size=1, max_size=4, unique=True).map(tuple)),
)
runs = st.builds(
    RunKey,
    st.sampled_from(["xception", "lrnet", "cpml", "umcl"]),
    selections,
    st.integers(0, 99),
    st.sampled_from([None, "ablA", "ablB", "ablC", "pairs"]),
)
conditions = st.sampled_from(
    [
        "clean",
        "frames-r0.50",
        "landmarks-s0.05",
        "prompt-opposite-labelfree",
        "frames-r0.30_prompt-unrelated-labelfree_seed1",
    ]
)


@settings(max_examples=200, deadline=None)
@given(runs, selections, conditions)
def test_key_round_trips(run: RunKey, test: Selection, condition: str) -> None:
    key = EvalKey(run, test, condition)
    assert RunKey.from_path(run.to_path()) == run
    assert EvalKey.from_path(key.to_path()) == key
    assert EvalKey.from_dict(json.loads(json.dumps(key.to_dict()))) == key
    assert EvalKey.from_test_path(run, key.test_path) == key
    assert key.to_path().startswith(run.to_path() + "/")


@pytest.mark.parametrize(
    "bad",
    [
        "umcl/ffpp-all-c23",
        "umcl/ffpp-XX-c23/seed0",
        "umcl/zz-all-c23/seed0",
        "um cl/ffpp-all-c23/seed0",
        "umcl/ffpp-all-c23/seedX",
    ],
)
def test_bad_run_paths_are_one_line_errors(bad: str) -> None:
    with pytest.raises(UmclError) as err:
        RunKey.from_path(bad)
    assert "\n" not in str(err.value)


def test_protocol_refuses_a_cell_declared_twice_and_pairs_naming_a_row_without_cells() -> None:
    """A Protocol checks its own declaration: one cell per (panel, row, column), and every delta/gain pair
    names two rows that have cells (either end missing is refused; a well-formed pair is accepted)."""
    ff = Selection("ff++", "c23")

    def cell(row: str, column: str = "auc") -> CellDecl:
        return CellDecl(row=(row,), column=(column,), model=Model("toy_test"), train=ff, test=ff)

    ok = Protocol("tableX", "t", (cell("a"), cell("b"), cell("a", "acc")), delta_rows=((("a",), ("b",)),))
    assert ok.rows == [(None, ("a",)), (None, ("b",))]
    Protocol("tableX", "t", (cell("a"), cell("b")), gain_rows=((("b",), ("a",)),))
    with pytest.raises(UmclError) as e:
        Protocol("tableX", "t", (cell("a"), cell("b"), cell("a")))
    assert str(e.value).splitlines()[0] == "tableX: cell (None, ('a',), ('auc',)) declared twice"
    for pairs in ((("a",), ("z",)), (("z",), ("a",))):
        for field in ("delta_rows", "gain_rows"):
            with pytest.raises(UmclError) as e:
                Protocol("tableX", "t", (cell("a"), cell("b")), **{field: (pairs,)})
            assert str(e.value).startswith(f"tableX: delta/gain rows {pairs[0]} -> {pairs[1]} name a row without")


# ----------------------------------------------------------------------------------------- sheet
def test_shared_runs_are_trained_once() -> None:
    _, layout = load_profile("default", check=False)
    sheet = layout.sheet
    assert len(sheet.runs) == len(set(sheet.runs)) == len(layout.runs(list(sheet.cells)))  # tables and studies

    def runs_of(table: str, row: str) -> set[RunKey]:
        return {k.run for c in sheet.cells[table] if c.decl.row[-1] == row for k in c.keys}

    # Table 10's model D is Table 6's UMCL trained on Deepfakes; Table 11's Views is Table 3's UMCL c23
    t6_umcl_df = {r for r in runs_of("table6", "UMCL") if r.train.methods == ("Deepfakes",)}
    assert runs_of("table10", "D") == t6_umcl_df and len(t6_umcl_df) == 1
    t3_umcl_c23 = {r for r in runs_of("table3", "UMCL") if r.train.compression == "c23"}
    t11_seeds = set(layout.wf.seeds_of("table11"))  # the default runs Table 11 with fewer seeds than Table 3
    assert runs_of("table11", "Views") == {r for r in t3_umcl_c23 if r.seed in t11_seeds} and t11_seeds
    assert {r.variant for r in runs_of("table10", "A") | runs_of("table11", "c23 & c40")} == {"ablA", "pairs"}
    # every UMCL/CPML run has the LRNet run (same selection and seed) that initialises its L-encoder
    for run in sheet.runs:
        if run.detector in ("umcl", "cpml"):
            assert RunKey("lrnet", run.train, run.seed) in sheet.runs
    # every evaluation belongs to a run of the sheet, and every table of the default has cells
    assert all(k.run == run for run, keys in sheet.evaluations.items() for k in keys)
    assert all(sheet.cells[t] for t in PROTOCOLS) and not sheet.missing


def test_test_time_conditions_never_add_a_training_run() -> None:
    """An attack/degradation is an evaluation of an existing run: same runs, more evaluations."""
    wf = WorkflowConfig()
    base = PROTOCOLS["table11"]
    attacked = replace(
        base,
        cells=base.cells
        + tuple(
            replace(c, condition=cond, column=c.column + (cond,))
            for c in base.cells
            for cond in ("prompt-opposite-labelfree", "frames-r0.50")
        ),
    )
    plain = build_sheet(wf, {"t": base})
    more = build_sheet(wf, {"t": attacked})
    assert more.runs == plain.runs
    assert sum(map(len, more.evaluations.values())) == 3 * sum(map(len, plain.evaluations.values()))


def test_missing_dataset_table_keeps_paper_rows_and_says_why() -> None:
    _, layout = load_profile("paper", check=False)
    sheet = layout.sheet
    assert set(sheet.missing) == {"table4", "table5"} and "celebdf_root" in sheet.missing["table4"]
    assert not sheet.cells["table4"] and layout.evaluation_files(["table4"]) == []
    wf = replace(layout.wf, celebdf_root="/x/celebdf", dfd_root="/x/dfd")
    full = build_sheet(wf)
    assert "table4" not in full.missing and "table5" in full.missing
    assert {k.test.compression for c in full.cells["table4"] for k in c.keys if k.test.dataset == "celebdf"} == {
        "orig"
    }  # Celeb-DF ships one version


def test_profile_seeds_and_detectors_expand_every_table() -> None:
    wf = WorkflowConfig(seeds=[0, 1, 2], detectors=["lrnet", "umcl"])
    sheet = build_sheet(wf, PROTOCOLS)  # the paper's tables (the issue-12 studies train umcl-released too)
    for cells in sheet.cells.values():
        for c in cells:
            assert [k.run.seed for k in c.keys] == [0, 1, 2] and c.decl.model.detector in ("lrnet", "umcl")
    assert {r.detector for r in sheet.runs} == {"lrnet", "umcl"}


def test_table_seeds_override_seeds_for_one_table_only() -> None:
    """workflow.table_seeds: Table 3 with three seeds, Table 6 with one; a run Table 4 shares with Table 3
    is trained once per seed of either, and the unknown-table key is refused."""
    wf = WorkflowConfig(
        seeds=[0, 1, 2], detectors=["umcl"], table_seeds={t: [0] for t in ("table4", "table6", "table10", "table11")}
    )
    sheet = build_sheet(wf, PROTOCOLS)
    assert {tuple(k.run.seed for k in c.keys) for c in sheet.cells["table3"]} == {(0, 1, 2)}
    assert {tuple(k.run.seed for k in c.keys) for c in sheet.cells["table6"]} == {(0,)}
    assert {tuple(k.run.seed for k in c.keys) for c in sheet.cells["table4"]} == {(0,)}
    per_method = {r for r in sheet.runs if r.train.methods and r.detector == "umcl"}
    assert per_method and {r.seed for r in per_method} == {0}
    assert {
        r.seed
        for r in sheet.runs
        if r.detector == "umcl" and not r.train.methods and r.train.dataset == "ff++" and r.variant is None
    } == {0, 1, 2}
    with pytest.raises(Exception, match="table_seeds"):
        WorkflowConfig(table_seeds={"table99": [0]})


# ----------------------------------------------------------------------------------------- evaluation
T = 8
CONFIG = {
    "training": {"epochs": 2, "batch_size": 4, "lr_warmup": 0.05, "lr": 0.01, "warmup_fraction": 0.2, "seed": 1},
    "detectors": {"toy_test": {"hidden": 8}},
    "evaluation": {"n_bootstrap": 20},
}


@pytest.fixture(scope="module")
def two_method_manifest(tmp_path_factory) -> Path:
    """c23 videos: per split real + Deepfakes + Face2Face fakes (each fake method its own ids)."""
    root = tmp_path_factory.mktemp("proto")
    rng = np.random.default_rng(0)
    (root / "cache").mkdir()
    rows, vid = [], 0
    for split, n in (("train", 6), ("val", 4), ("test", 5)):
        for method, label in (("original", 0), ("Deepfakes", 1), ("Face2Face", 1)):
            for _ in range(n):
                vid += 1
                cache = root / "cache" / f"{vid:03d}.npz"
                write_cache(cache, label, rng, T)
                rows.append(
                    VideoRecord(
                        "synthff",
                        method,
                        "c23",
                        split,
                        label,
                        f"v/{vid:03d}.mp4",
                        f"{vid:03d}",
                        cache=str(cache.relative_to(root)),
                        status="ok",
                        n_frames=T,
                        detection_rate=1.0,
                    )
                )
    return write_manifest(rows, root / "manifest.csv")


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix != ".log"
    }


@pytest.fixture(scope="module")
def toy_run(two_method_manifest, tmp_path_factory) -> tuple[Path, RunKey]:
    from umcl.training.trainer import Trainer, build_spec

    run = tmp_path_factory.mktemp("run") / "run"
    Trainer(
        build_spec(CONFIG, "toy_test", two_method_manifest, "c23", methods=["Deepfakes"]), run, progress=False
    ).fit()
    return run, RunKey("toy_test", Selection("ff++", "c23", ("Deepfakes",)), 1)


def test_one_process_scores_every_cell_and_conditions_reuse_the_checkpoint(two_method_manifest, toy_run, tmp_path):
    from umcl.data.videos import read_rows
    from umcl.evaluation.sheet_eval import evaluate_cells

    run, key = toy_run
    before = _digest(run)
    fingerprint = json.loads((run / "run.json").read_text())["fingerprint"]
    tests = ["ffpp-all-c23/clean", "ffpp-DF-c23/clean", "ffpp-F2F-c23/clean", "ffpp-DF-c23/frames-r0.50"]
    out = tmp_path / "eval"
    index = evaluate_cells(
        CONFIG, run, key, tests, {"ff++": str(two_method_manifest)}, out, device="cpu", progress=False
    )
    # a test-time condition re-uses the trained checkpoint: the run folder is byte-identical
    assert _digest(run) == before and json.loads((run / "run.json").read_text())["fingerprint"] == fingerprint
    assert [EvalKey.from_dict(c["key"]).test_path for c in index["cells"]] == tests
    rows = read_rows(two_method_manifest)
    val = pd.read_csv(out / "scores/val.csv", dtype={"id": str})  # the training selection's val split
    assert sorted(val["key"]) == sorted(r.key for r in rows if r.split == "val" and r.method != "Face2Face")
    clean = pd.read_csv(out / "scores/ffpp-c23/clean.csv", dtype={"id": str})
    assert sorted(clean["key"]) == sorted(r.key for r in rows if r.split == "test")
    degraded = pd.read_csv(out / "scores/ffpp-c23/frames-r0.50.csv", dtype={"id": str})
    assert list(degraded["key"]) == list(clean["key"]) and not np.allclose(degraded["score"], clean["score"])
    for cell in index["cells"]:
        m = json.loads((out / cell["metrics"]).read_text())
        k = EvalKey.from_dict(m["provenance"]["key"])  # the key travels in the provenance
        scores = pd.read_csv(out / m["provenance"]["scores"], dtype={"id": str})
        want = (
            scores if k.test.methods is None else scores[(scores["label"] == 0) | scores["method"].isin(k.test.methods)]
        )
        assert m["n_real"] == 5 and m["n_fake"] == (10 if k.test.methods is None else 5)
        assert m["auc"]["value"] == pytest.approx(roc_auc_score(want["label"], want["score"]), abs=1e-12)
        assert m["val_threshold"] is not None and "acc_val" in m
        assert m["provenance"]["run_fingerprint"] == fingerprint


def test_train_validates_writes_and_trains_from_its_job_config(two_method_manifest, tmp_path):
    """The pipeline's train job (one process): `umcl train --config --set --config-out` writes the file
    `umcl validate-config --set --out` writes, and the run is trained from it (its settings and history)."""
    from umcl.cli import main

    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump({k: v for k, v in CONFIG.items() if k != "detectors"}))  # toy_test: no schema
    sets = ["--set", "training.epochs=1", "--set", "training.batch_size=6"]
    assert main(["validate-config", "--config", str(base), *sets, "--out", str(tmp_path / "reference.yaml")]) == 0
    run, job = tmp_path / "run", tmp_path / "job.yaml"
    assert (
        main(
            [
                "train",
                "--config",
                str(base),
                *sets,
                "--config-out",
                str(job),
                "--detector",
                "toy_test",
                "--manifest",
                str(two_method_manifest),
                "--train-compression",
                "c23",
                "--out",
                str(run),
                "--no-progress",
            ]
        )
        == 0
    )
    assert job.read_text() == (tmp_path / "reference.yaml").read_text()
    info = json.loads((run / "run.json").read_text())
    assert info["training"]["epochs"] == 1 and info["training"]["batch_size"] == 6
    assert len(pd.read_csv(run / "history.csv")) == 1


def test_evaluation_refuses_a_run_of_another_key(two_method_manifest, toy_run, tmp_path):
    from umcl.evaluation.sheet_eval import evaluate_cells

    run, key = toy_run
    other = replace(key, train=Selection("ff++", "c23"))  # trained on Deepfakes only, not on all methods
    with pytest.raises(UmclError, match="run.json describes") as err:
        evaluate_cells(
            CONFIG,
            run,
            other,
            ["ffpp-all-c23/clean"],
            {"ff++": str(two_method_manifest)},
            tmp_path / "e",
            device="cpu",
            progress=False,
        )
    assert "\n" not in str(err.value) and not (tmp_path / "e").exists()


def test_cli_evaluate_key_mode_and_table_report(two_method_manifest, toy_run, tmp_path):
    """`umcl evaluate --key --tests --manifests` then the renderer on a one-cell protocol."""
    from umcl.cli import main
    from umcl.protocols.sheet import JobSheet, TableCell
    from umcl.report.render import build, format_entry, read_evaluations
    from umcl.specs.paper_tables import load_paper_table

    run, key = toy_run
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(json.dumps({"evaluation": CONFIG["evaluation"]}))  # the CLI validates against the schema
    out = tmp_path / "eval"
    assert (
        main(
            [
                "evaluate",
                "--config",
                str(cfg),
                "--run",
                str(run),
                "--key",
                key.to_path(),
                "--tests",
                "ffpp-DF-c23/clean",
                "ffpp-F2F-c23/clean",
                "--manifests",
                f"ff++={two_method_manifest}",
                "--out",
                str(out),
                "--device",
                "cpu",
                "--no-progress",
            ]
        )
        == 0
    )
    records = read_evaluations([out / "evaluation.json"])
    assert set(records) == {EvalKey(key, Selection("ff++", "c23", (m,))) for m in ("Deepfakes", "Face2Face")}
    # Table 10 row A's DF and F2F cells filled from these evaluations (one seed)
    decl = [
        CellDecl(("A",), (c,), Model("toy_test"), key.train, Selection("ff++", "c23", (m,)))
        for c, m in (("DF", "Deepfakes"), ("F2F", "Face2Face"))
    ]
    proto = Protocol("table10", "t", tuple(decl), average_column="Avg.")
    sheet = JobSheet(cells={"table10": [TableCell(d, [EvalKey(key, d.test)]) for d in decl]})
    built = build("table10", proto, load_paper_table(10), sheet, records, EvalConfig(n_bootstrap=20))
    ours = [r for _, rows in built.panels for r in rows if r.source == "ours"]
    assert len(ours) == 1
    df_cell, f2f_cell = ours[0].entries[0], ours[0].entries[1]
    want = records[EvalKey(key, decl[0].test)].metrics["auc"]["value"] * 100
    assert df_cell.value == pytest.approx(want) and df_cell.ci is not None and df_cell.sd is None
    assert f2f_cell.value == pytest.approx(records[EvalKey(key, decl[1].test)].metrics["auc"]["value"] * 100)
    text = format_entry(df_cell, latex=False)
    assert "±" not in text and "[" in text  # one seed: never a spread
    assert ours[0].entries[2].value is None  # FS not evaluated: '-' ...
    assert ours[0].entries[4].value is None  # ... so no average either


def test_cli_evaluate_key_mode_replaces_its_own_earlier_result(two_method_manifest, toy_run, tmp_path):
    """A second `umcl evaluate --key --tests` into the same --out (Snakemake re-running the job after a change)
    replaces the first; an evaluation folder marked by an earlier version (marker kind ``output`` listing
    evaluation.json) is adopted; any other folder stays refused."""
    from umcl.cli import main
    from umcl.io_utils import OUTPUT_MARKER

    run, key = toy_run
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(json.dumps({"evaluation": CONFIG["evaluation"]}))
    out = tmp_path / "eval"

    def evaluate(tests: list[str]) -> int:
        argv = ["evaluate", "--config", str(cfg), "--run", str(run), "--key", key.to_path(), "--tests", *tests]
        argv += ["--manifests", f"ff++={two_method_manifest}", "--out", str(out), "--device", "cpu", "--no-progress"]
        return main(argv)

    assert evaluate(["ffpp-DF-c23/clean"]) == 0
    assert evaluate(["ffpp-DF-c23/clean", "ffpp-F2F-c23/clean"]) == 0  # the same folder, a changed job
    cells = json.loads((out / "evaluation.json").read_text())["cells"]
    assert len(cells) == 2
    marker = out / OUTPUT_MARKER
    earlier = json.loads(marker.read_text())
    marker.write_text(json.dumps({**earlier, "kind": "output"}))  # as earlier versions wrote it
    assert evaluate(["ffpp-F2F-c23/clean"]) == 0
    assert json.loads(marker.read_text())["kind"] == "evaluate"
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    (other / OUTPUT_MARKER).write_text(json.dumps({"kind": "output", "files": ["notes.txt"]}))
    out = other
    assert evaluate(["ffpp-DF-c23/clean"]) != 0
    assert (other / "notes.txt").read_text() == "mine" and not (other / "evaluation.json").exists()


def test_two_seeds_print_the_seed_spread_and_average_column(tmp_path):
    """Hand-made evaluations of two seeds: value = mean over seeds of the per-seed AUC, ± s.d. shown,
    Avg = mean of the row's cells."""
    from umcl.protocols.sheet import JobSheet, TableCell
    from umcl.report.render import build, format_entry, read_evaluations
    from umcl.specs.paper_tables import load_paper_table

    rng = np.random.default_rng(3)
    methods = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")
    keys_per_seed, indexes, aucs = {}, [], {}
    for seed in (0, 1):
        run = RunKey("umcl", Selection("ff++", "c23", ("Deepfakes",)), seed, "ablB")
        base = tmp_path / run.to_path() / "ffpp"
        (base / "scores/ffpp-c23").mkdir(parents=True)
        n = 12
        labels = np.r_[np.zeros(n), np.ones(4 * n)].astype(int)
        method = ["original"] * n + [m for m in methods for _ in range(n)]
        score = np.clip(rng.normal(0.4 + 0.3 * labels, 0.25), 0, 1)
        df = pd.DataFrame(
            {
                "dataset": "synthff",
                "method": method,
                "compression": "c23",
                "id": [f"{i:03d}" for i in range(5 * n)],
                "key": [f"k{i}" for i in range(5 * n)],
                "label": labels,
                "score": score,
            }
        )
        df.to_csv(base / "scores/ffpp-c23/clean.csv", index=False)
        df.iloc[:20].assign(label=[0] * 10 + [1] * 10).to_csv(base / "scores/val.csv", index=False)
        cells = []
        for m in methods:
            k = EvalKey(run, Selection("ff++", "c23", (m,)))
            keys_per_seed.setdefault(m, []).append(k)
            sub = df[(df["label"] == 0) | (df["method"] == m)]
            aucs.setdefault(m, []).append(roc_auc_score(sub["label"], sub["score"]))
            (base / k.test_path).mkdir(parents=True)
            (base / k.test_path / "metrics.json").write_text(
                json.dumps(
                    {
                        "auc": {"value": aucs[m][-1]},
                        "provenance": {"key": k.to_dict(), "scores": "scores/ffpp-c23/clean.csv"},
                    }
                )
            )
            cells.append({"key": k.to_dict(), "metrics": f"{k.test_path}/metrics.json"})
        (base / "evaluation.json").write_text(
            json.dumps({"cells": cells, "provenance": {"val_scores": "scores/val.csv"}})
        )
        indexes.append(base / "evaluation.json")
    abbrev = {"Deepfakes": "DF", "Face2Face": "F2F", "FaceSwap": "FS", "NeuralTextures": "NT"}
    decls = [
        CellDecl(
            ("B",),
            (abbrev[m],),
            Model("umcl", "ablB"),
            Selection("ff++", "c23", ("Deepfakes",)),
            Selection("ff++", "c23", (m,)),
        )
        for m in methods
    ]
    sheet = JobSheet(cells={"table10": [TableCell(d, keys_per_seed[m]) for d, m in zip(decls, methods, strict=True)]})
    proto = Protocol("table10", "t", tuple(decls), average_column="Avg.")
    built = build("table10", proto, load_paper_table(10), sheet, read_evaluations(indexes), EvalConfig(n_bootstrap=50))
    ours = [r for _, rows in built.panels for r in rows if r.source == "ours"][0]
    for e, m in zip(ours.entries[:4], methods, strict=True):
        assert e.value == pytest.approx(100 * np.mean(aucs[m]), abs=1e-9)
        assert e.sd == pytest.approx(100 * np.std(aucs[m], ddof=1), abs=1e-9)
        assert "±" in format_entry(e, latex=False)
    assert ours.entries[4].value == pytest.approx(np.mean([100 * np.mean(aucs[m]) for m in methods]))


# ----------------------------------------------------------------------------------------- Table 11 leak
def test_table11_pairs_model_never_reads_the_real_c40_copy_at_test_time():
    """Eval mode: the c23&c40-trained UMCL scores a video identically with or without its real c40
    partner in the batch (the leak fed it an input the synthetic-views model never gets)."""
    from umcl.registry import build_detector

    torch.manual_seed(0)
    small = dict(
        frames=8,
        image_size=32,
        physformer_dim=24,
        physformer_ff_dim=36,
        physformer_layers=3,
        d=32,
        contrastive_views="compression_pairs",
    )
    model = build_detector("umcl", small).eval()
    batch = {
        "frames": torch.rand(2, 3, 8, 32, 32),
        "landmarks": torch.rand(2, 8, 136),
        "label": torch.tensor([0, 1]),
        "key": ["a", "b"],
    }
    partner = {"frames_lq": torch.rand(2, 3, 8, 32, 32), "landmarks_lq": torch.rand(2, 8, 136)}
    with torch.no_grad():
        alone = model.score(model(batch))
        with_partner = model.score(model({**batch, **partner}))
    assert torch.equal(alone, with_partner)
    from umcl.scoring import test_inputs

    assert "frames_lq" in model.inputs and "frames_lq" not in test_inputs(model)


def test_training_on_one_method_reads_real_videos_and_that_method_only(two_method_manifest, tmp_path):
    from umcl.training.trainer import Trainer, build_spec

    spec = build_spec(CONFIG, "toy_test", two_method_manifest, "c23", methods=["Deepfakes"])
    train, val = Trainer(spec, tmp_path / "r", progress=False)._datasets(("frames", "landmarks"))
    for ds, n in ((train, 6), (val, 4)):
        assert sorted({r.method for r in ds.rows}) == ["Deepfakes", "original"] and len(ds.rows) == 2 * n
    every = build_spec(CONFIG, "toy_test", two_method_manifest, "c23")
    assert spec.fingerprint() != every.fingerprint()


# ----------------------------------------------------------------------------------------- the tables' declarations
# Each table as the paper describes it (§5.2, §5.3, §5.6; forced choices in docs/deviations/workflow.md), hard-coded
# here so a change of a declaration cannot move the expectation with it. The protocols are built afresh by their
# functions (umcl.protocols.tables.tableN), as PROTOCOLS is at import.
DETECTOR_ROWS = {"Xception": "xception", "LRNet": "lrnet", "CPML": "cpml", "UMCL": "umcl"}
ABBREV = {"Deepfakes": "DF", "Face2Face": "F2F", "FaceSwap": "FS", "NeuralTextures": "NT"}
#: Table 4: left panel trained on FF++ c23 (all methods), tested on FF++ c23, Celeb-DF and DFD; right panel
#: trained on FF++ c40, tested on FF++ c40's Deepfakes class (IID protocol) and Celeb-DF
TABLE4 = {
    ("c23", "ff++"): ("ffpp-all-c23", "ffpp-all-c23"),
    ("c23", "celebdf"): ("ffpp-all-c23", "celebdf-all-native"),
    ("c23", "dfd"): ("ffpp-all-c23", "dfd-all-c23"),
    ("c40", "ff++"): ("ffpp-all-c40", "ffpp-DF-c40"),
    ("c40", "celebdf"): ("ffpp-all-c40", "celebdf-all-native"),
}


def _declared(protocol) -> dict:
    """(row, column) -> (panel, detector, variant, train slug, test slug, condition); each cell once."""
    out = {
        (c.row, c.column): (c.panel, c.model.detector, c.model.variant, c.train.slug, c.test.slug, c.condition)
        for c in protocol.cells
    }
    assert len(out) == len(protocol.cells)
    return out


def test_table4_declares_the_papers_train_and_test_selections() -> None:
    """Every Table 4 cell: its panel, the detector of its row, its training and test selections, clean."""
    from umcl.protocols import tables
    from umcl.specs.paper_tables import load_paper_table

    p = tables.table4()
    assert _declared(p) == {
        ((row,), col): (col[0], DETECTOR_ROWS[row], None, train, test, "clean")
        for row in ("Xception", "CPML", "UMCL")
        for col, (train, test) in TABLE4.items()
    }
    assert (p.table, p.metrics, p.average_column, p.diagonal_deltas) == ("table4", ("auc",), None, False)
    paper = {panel.id: {c.key for c in panel.columns} for panel in load_paper_table(4).panels}
    assert paper == {"c23": {c for c in TABLE4 if c[0] == "c23"}, "c40": {c for c in TABLE4 if c[0] == "c40"}}


def test_tables_3_5_6_10_11_declare_the_papers_selections() -> None:
    from umcl.protocols import tables

    comps = ("raw", "c23", "c40")
    t3 = tables.table3()
    assert _declared(t3) == {
        ((tr, row), (te,)): (None, det, None, f"ffpp-all-{tr}", f"ffpp-all-{te}", "clean")
        for tr in comps
        for row, det in DETECTOR_ROWS.items()
        for te in comps
    }
    assert (t3.metrics, t3.diagonal_deltas, t3.follows_profile_compressions, t3.row_label_levels) == (
        ("auc", "acc"),
        True,
        True,
        1,
    )
    t5 = {
        ("dfdc", "dfdc"): ("dfdc-all-native", "dfdc-all-native"),
        ("ff++/raw", "dfdc"): ("ffpp-all-raw", "dfdc-all-native"),
        ("dfdc", "ff++/raw"): ("dfdc-all-native", "ffpp-all-raw"),
    }
    assert _declared(tables.table5()) == {
        ((row,), col): (None, det, None, tr, te, "clean")
        for row, det in DETECTOR_ROWS.items()
        for col, (tr, te) in t5.items()
    }
    panel = {"DF": "top", "FS": "top", "F2F": "bottom", "NT": "bottom"}
    t6 = tables.table6()
    assert _declared(t6) == {
        ((row,), (a, b)): (panel[a], det, None, f"ffpp-{a}-c23", f"ffpp-{b}-c23", "clean")
        for row, det in DETECTOR_ROWS.items()
        for a in ABBREV.values()
        for b in ABBREV.values()
    }
    assert (t6.metrics, t6.average_column, t6.follows_profile_compressions) == (("auc",), "Avg", False)
    t10 = tables.table10()
    variants = {"A": "ablA", "B": "ablB", "C": "ablC", "D": None}
    assert _declared(t10) == {
        ((row,), (b,)): (None, "umcl", v, "ffpp-DF-c23", f"ffpp-{b}-c23", "clean")
        for row, v in variants.items()
        for b in ABBREV.values()
    }
    assert t10.average_column == "Avg."
    t11 = tables.table11()
    assert _declared(t11) == {
        ((row,), (b,)): (None, "umcl", v, "ffpp-all-c23", f"ffpp-{b}-c23", "clean")
        for row, v in {"c23 & c40": "pairs", "Views": None}.items()
        for b in ABBREV.values()
    }
    assert t11.average_column == "Avg."
    for fn in (tables.table3, tables.table4, tables.table5, tables.table6, tables.table10, tables.table11):
        p = fn()
        assert p.table == fn.__name__ and "paper Table" in p.title and not p.extra_rows and not p.gain_rows
        assert p == PROTOCOLS[p.table]


#: Table 7's degradations (paper §5.6): row key level 2 -> condition key
T7_ROWS = {
    "none": "clean",
    "frames-0.9": "frames-r0.90",
    "frames-0.7": "frames-r0.70",
    "frames-0.5": "frames-r0.50",
    "frames-0.3": "frames-r0.30",
    "landmarks-0.01": "landmarks-s0.01",
    "landmarks-0.05": "landmarks-s0.05",
}
T8_ATTACKS = ("simple", "description", "unrelated", "opposite")


def test_tables_7_and_8_declare_the_papers_conditions_on_the_raw_trained_runs() -> None:
    """Table 7: every detector trained on FF++ raw, tested on raw/c23/c40 under each degradation (landmark noise
    n/a for Xception), changes against the same detector's no-degradation row. Table 8: CPML and UMCL under each
    attack label-chosen (paper rows) and label-free, a clean reference, gain = UMCL - CPML row by row."""
    from umcl.protocols import tables

    comps = ("raw", "c23", "c40")
    t7 = tables.table7()
    want = {
        ((name, deg), (te,)): (None, DETECTOR_ROWS[name], None, "ffpp-all-raw", f"ffpp-all-{te}", cond)
        for name in ("CPML", "UMCL", "Xception", "LRNet")
        for deg, cond in T7_ROWS.items()
        for te in comps
        if not (name == "Xception" and deg.startswith("landmarks"))
    }
    assert _declared(t7) == want
    assert set(t7.delta_rows) == {
        ((name, deg), (name, "none"))
        for name in ("CPML", "UMCL", "Xception", "LRNet")
        for deg in T7_ROWS
        if deg != "none" and (name, deg) in {r for r, _ in want}
    }
    assert {(e.row, e.not_applicable is not None) for e in t7.extra_rows} == {
        ((name, deg), name == "Xception" and deg.startswith("landmarks"))
        for name in ("Xception", "LRNet")
        for deg in T7_ROWS
    }
    assert (t7.follows_profile_compressions, t7.row_label_levels, t7.gain_rows) == (True, 1, ())
    t8 = tables.table8()
    rows8 = (
        {"reference": "clean"}
        | {a: f"prompt-{a}-labelchosen" for a in T8_ATTACKS}
        | {f"{a}-labelfree": f"prompt-{a}-labelfree" for a in T8_ATTACKS}
    )
    assert _declared(t8) == {
        ((name, r), (te,)): (None, DETECTOR_ROWS[name], None, "ffpp-all-raw", f"ffpp-all-{te}", c)
        for name in ("CPML", "UMCL")
        for r, c in rows8.items()
        for te in comps
    }
    assert set(t8.gain_rows) == {(("UMCL", r), ("CPML", r)) for r in rows8} and t8.delta_rows == ()
    assert {e.row for e in t8.extra_rows} == {
        (name, r) for name in ("CPML", "UMCL") for r in rows8 if r not in T8_ATTACKS
    }
    assert all(e.not_applicable is None for e in t8.extra_rows)
    assert (t8.follows_profile_compressions, t8.row_label_levels) == (True, 1)
    assert t7 == PROTOCOLS["table7"] and t8 == PROTOCOLS["table8"]


def test_figures_read_the_runs_their_captions_name() -> None:
    """Figure 6/9: UMCL trained on FF++ raw (else the first training compression), tested on every test
    compression; Figure 8: UMCL and its three variants on FF++ Deepfakes c23; each with its LRNet initialiser."""
    from umcl.protocols.figures import figure_runs, figure_specs

    wf = WorkflowConfig(seeds=[3, 4])
    specs = figure_specs(wf)
    assert sorted(specs) == ["figure6", "figure8", "figure9"]
    f6, f8, f9 = specs["figure6"], specs["figure8"], specs["figure9"]
    assert (
        {t: r.to_path() for t, r in f6.runs.items()}
        == {"UMCL": "umcl/ffpp-all-raw/seed3"}
        == {t: r.to_path() for t, r in f9.runs.items()}
    )
    assert (f6.test_compressions, f6.methods, f9.test_compressions) == (("raw", "c23", "c40"), None, ())
    assert {t: r.to_path() for t, r in f8.runs.items()} == {
        "UMCL (full, D)": "umcl/ffpp-DF-c23/seed3",
        "w/o ASA (C)": "umcl+ablC/ffpp-DF-c23/seed3",
        "w/o CQSL": "umcl+woCQSL/ffpp-DF-c23/seed3",
        "w/o ASA & CQSL": "umcl+woASACQSL/ffpp-DF-c23/seed3",
    }
    assert (f8.test_compressions, f8.methods) == (("c23",), ("Deepfakes",))
    assert (f6.needs_features, f8.needs_features, f9.needs_features) == (True, True, False)
    assert {name: spec.name for name, spec in specs.items()} == {n: n for n in specs}  # each spec names itself
    assert [r.to_path() for r in figure_runs(wf)] == [
        "lrnet/ffpp-DF-c23/seed3",
        "lrnet/ffpp-all-raw/seed3",
        "umcl+ablC/ffpp-DF-c23/seed3",
        "umcl+woASACQSL/ffpp-DF-c23/seed3",
        "umcl+woCQSL/ffpp-DF-c23/seed3",
        "umcl/ffpp-DF-c23/seed3",
        "umcl/ffpp-all-raw/seed3",
    ]
    assert [r.to_path() for r in figure_runs(wf, ["figure9"])] == [
        "lrnet/ffpp-all-raw/seed3",
        "umcl/ffpp-all-raw/seed3",
    ]
    no_raw = figure_specs(WorkflowConfig(train_compressions=["c40", "c23"], test_compressions=["c23"]))
    assert no_raw["figure6"].runs["UMCL"].to_path() == "umcl/ffpp-all-c40/seed0"
    assert no_raw["figure6"].test_compressions == ("c23",)
    raw_second = figure_specs(WorkflowConfig(train_compressions=["c23", "raw"]))
    assert raw_second["figure6"].runs["UMCL"].to_path() == "umcl/ffpp-all-raw/seed0"  # raw wherever it is listed
    assert figure_specs(WorkflowConfig(detectors=["xception", "cpml"])) == {}
    assert figure_runs(WorkflowConfig(detectors=["xception"])) == []


def test_training_variants_are_the_overlays_their_tables_describe() -> None:
    """Table 10's A (L only), B (P only, CQSL), C (L+P+T concatenated, CQSL, no ASA); Figure 8's two; Table 11's
    real c23/c40 views; a released switch back at the paper's value; names registered once."""
    from umcl.models.umcl import UMCLConfig
    from umcl.protocols.variants import VARIANTS, Variant, get_variant, register_variant, released_switch_variant

    u = "detectors.umcl."
    flags = lambda **kw: {u + k: v for k, v in kw.items()}  # noqa: E731
    assert get_variant("ablA").settings() == flags(
        use_landmarks=True, use_rppg=False, use_text=False, use_asa=False, use_cqsl=False
    )
    assert get_variant("ablB").settings() == flags(
        use_landmarks=False, use_rppg=True, use_text=False, use_asa=False, use_cqsl=True
    )
    assert get_variant("ablC").set_args() == [
        f"{u}use_asa=false",
        f"{u}use_cqsl=true",
        f"{u}use_landmarks=true",
        f"{u}use_rppg=true",
        f"{u}use_text=true",
    ]
    assert get_variant("woCQSL").settings() == flags(use_cqsl=False)
    assert get_variant("woASACQSL").set_args() == [f"{u}use_asa=false", f"{u}use_cqsl=false"]
    assert get_variant("pairs").set_args() == [
        f'{u}contrastive_views="compression_pairs"',
        'training.lq_compression="c40"',
    ]
    assert {v.detector for k, v in VARIANTS.items() if k.startswith(("abl", "wo", "pairs"))} == {"umcl"}
    assert released_switch_variant("lrnet_feature_noise") == "paperLrnetFeatureNoise"
    released = get_variant("paperAffinityForm")
    assert (released.detector, released.settings()) == (
        "umcl-released",
        {"detectors.umcl-released.affinity_form": UMCLConfig().affinity_form},
    )
    from typing import get_args

    from umcl.specs.released import ReleasedSwitch

    assert len(get_args(ReleasedSwitch)) == 19  # the ten of the first reading, nine of the second
    assert sum(v.detector == "umcl-released" for v in VARIANTS.values()) == len(get_args(ReleasedSwitch))
    with pytest.raises(UmclError, match="variant 'ablA' registered twice"):
        register_variant(Variant("ablA", "umcl", "again"))
    fresh = Variant("_test_only", "umcl", "a test variant", {"training.epochs": 1})
    try:
        assert register_variant(fresh) is fresh and get_variant("_test_only") is fresh
    finally:
        VARIANTS.pop("_test_only", None)
    with pytest.raises(UmclError, match="unknown training variant '_test_only'") as e:
        get_variant("_test_only")
    assert str(e.value).endswith(f" — fix: use one of {sorted(VARIANTS)}") and "'ablA'" in str(e.value)
