"""`umcl report difficulty`: per-method AUCs, verdicts and admissibility from sweep result folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from umcl.cli import main as umcl_main
from umcl.metrics import compute_metrics
from umcl.protocols.keys import EvalKey, RunKey, Selection
from umcl.report.difficulty import admissible, read_sweep

METHODS = ("Deepfakes", "FaceSwap", "Face2Face", "NeuralTextures")


def write_run(root: Path, difficulty: float, separation: dict[str, float], seed: int = 0) -> pd.DataFrame:
    """A finished sweep run: resolved config + one evaluation whose fake scores shift per method."""
    rng = np.random.default_rng(seed)
    (root / "data" / "synthff").mkdir(parents=True)
    (root / "data" / "synthff" / "encoder.json").write_text(json.dumps({"synthff": {"difficulty": difficulty}}))
    rows = [("original", f"{i:03d}", 0, rng.normal()) for i in range(12)]
    for m in METHODS:
        rows += [(m, f"{i:03d}_{i + 1:03d}", 1, rng.normal() + separation.get(m, 0.0)) for i in range(12)]
    scores = pd.DataFrame(rows, columns=["method", "id", "label", "score"])
    scores.insert(0, "dataset", "synthff")
    scores["key"] = [f"synthff/{m}/c23/{i}" for m, i in zip(scores["method"], scores["id"], strict=True)]
    # the pipeline's layout: eval/<run key>/<testset>/evaluation.json (umcl.evaluation.sheet_eval)
    key = EvalKey(RunKey("xception", Selection("ff++", "c23"), 0), Selection("ff++", "c23"))
    ev = root / "eval" / key.run.to_path() / "ffpp"
    (ev / "scores" / "ffpp-c23").mkdir(parents=True)
    scores.to_csv(ev / "scores" / "ffpp-c23" / "clean.csv", index=False)
    metrics = compute_metrics(scores["label"], 1 / (1 + np.exp(-scores["score"])), n_boot=200, seed=0)
    metrics["provenance"] = {"key": key.to_dict(), "scores": "scores/ffpp-c23/clean.csv"}
    (ev / key.test_path).mkdir(parents=True)
    (ev / key.test_path / "metrics.json").write_text(json.dumps(metrics))
    (ev / "evaluation.json").write_text(
        json.dumps(
            {
                "cells": [{"key": key.to_dict(), "metrics": f"{key.test_path}/metrics.json"}],
                "provenance": {"val_scores": "scores/val.csv"},
            }
        )
    )
    return scores


def test_per_method_auc_matches_sklearn_and_verdicts(tmp_path: Path) -> None:
    write_run(tmp_path / "d0", 0.0, {m: 8.0 for m in METHODS})
    mixed = write_run(tmp_path / "d5", 0.5, {"Deepfakes": 3.0, "FaceSwap": 1.5, "Face2Face": 1.0}, seed=1)
    write_run(tmp_path / "d9", 1.0, {}, seed=2)
    cells = read_sweep([tmp_path / "d0", tmp_path / "d5", tmp_path / "d9"])
    assert [c.difficulty for c in cells] == [0.0, 0.5, 1.0]
    real = mixed[mixed.label == 0]
    for m in METHODS:
        both = pd.concat([real, mixed[mixed.method == m]])
        assert cells[1].per_method_auc[m] == pytest.approx(100 * roc_auc_score(both.label, both.score))
    assert cells[0].verdict == "saturated"
    assert cells[1].verdict == "informative"
    assert cells[2].verdict == "chance"
    # one detector per difficulty here: all saturated / all at chance are not admissible
    assert admissible(cells) == {0.0: False, 0.5: True, 1.0: False}


def test_cli_writes_markdown_and_json(tmp_path: Path) -> None:
    write_run(tmp_path / "d5", 0.5, {"Deepfakes": 3.0})
    out = tmp_path / "reports" / "sweep"
    assert umcl_main(["report", "difficulty", "--results", str(tmp_path / "d5"), "--out", str(out)]) == 0
    md = out.with_suffix(".md").read_text()
    assert "SynthFF" in md and "Deepfakes" in md and "| 0.50" in md
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["cells"][0]["detector"] == "xception" and set(data["admissible"]) == {"0.50"}
    assert data["bootstrap_resamples"] == [200] and "Bootstrap resamples: 200 for every interval" in md


def test_folder_without_evaluations_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "run" / "data" / "synthff").mkdir(parents=True)
    (tmp_path / "run" / "data" / "synthff" / "encoder.json").write_text('{"synthff": {"difficulty": 0.5}}')
    out = tmp_path / "sweep"
    assert umcl_main(["report", "difficulty", "--results", str(tmp_path / "run"), "--out", str(out)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no evaluations found" in err[0]
    assert not out.with_suffix(".md").exists()
    assert umcl_main(["report", "difficulty", "--results", str(tmp_path / "nothing"), "--out", str(out)]) != 0
    assert "encoder.json" in capsys.readouterr().err
