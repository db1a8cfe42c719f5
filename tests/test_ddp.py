"""DDP on two processes (torchrun, gloo on CPU) against one process with the same global batch.

Tolerance: two processes average two half-batch gradients where one process takes the mean over
the whole batch, so sums run in another order; float32 rounding differs at the 1e-7 level per
step. Losses and weights are compared at ``rtol=1e-5, atol=1e-6`` (3 epochs, 9 steps; a wrong
batch, a missing gradient average or one rank's loss alone differ by far more); the validation and
test metrics must be equal, and per-video scores within the same tolerance.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from _ddp_train import record
from _train_fixtures import make_manifest  # registers "toy_test"

from umcl.cli import main

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
LAUNCHER = HERE / "_ddp_train.py"  # umcl's CLI with the toy detector registered
RTOL, ATOL = 1e-5, 1e-6
TRAINING = {"epochs": 3, "lr_warmup": 0.05, "lr": 0.01, "warmup_fraction": 0.2, "seed": 3}


def torchrun() -> str:
    """torchrun beside the interpreter that runs the tests (the venv's; works offline)."""
    exe = Path(sys.executable).with_name("torchrun")
    if exe.is_file():
        return str(exe)
    found = shutil.which("torchrun")
    if found is None:
        pytest.fail("torchrun not found beside the Python that runs the tests nor on PATH")
    return found


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    manifest = make_manifest(root / "data", strength=60)  # train: 4 real, 12 fake -> 12 per class
    configs = {}
    for name, batch in (("one", 8), ("two", 4)):  # the same global batch of 8
        configs[name] = root / f"{name}.yaml"
        configs[name].write_text(yaml.safe_dump({"training": {**TRAINING, "batch_size": batch}}))
    return root, manifest, configs


def train(nproc: int, config: Path, manifest: Path, out: Path, *extra: str, dropout: float = 0.0) -> dict:
    """``umcl train`` under torchrun on ``nproc`` processes (> 1) or in this one; each rank's record."""
    args = [
        "--config",
        str(config),
        "--detector",
        "toy_test",
        "--manifest",
        str(manifest),
        "--train-compression",
        "c23",
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]
    if nproc == 1:  # in-process: the same code path without a launch
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TOY_DROPOUT", str(dropout))
            assert record(["train", *args]) == 0
    else:
        cmd = [torchrun(), "--standalone", "--nproc_per_node", str(nproc), str(LAUNCHER), "train", *args]
        env = {
            **os.environ,
            "TOY_DROPOUT": str(dropout),
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")]),
        }
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {r: json.loads((out / f"ddp_rank{r}.json").read_text()) for r in range(nproc)}


def weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "last.pt", weights_only=True)["model"]


def history(run: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in json.loads((run / "history.json").read_text())]


@pytest.fixture(scope="module")
def runs(data):
    root, manifest, configs = data
    one = train(1, configs["one"], manifest, root / "one")
    two = train(2, configs["two"], manifest, root / "two")
    return root, one, two


def test_two_processes_match_one_with_the_same_global_batch(runs):
    root, one, two = runs
    steps_one = np.array(one[0]["steps"])
    steps_two = (np.array(two[0]["steps"]) + np.array(two[1]["steps"])) / 2  # equal half-batches
    assert len(steps_one) == 9 and steps_two.shape == steps_one.shape
    np.testing.assert_allclose(steps_two, steps_one, rtol=RTOL, atol=ATOL)
    assert not np.allclose(two[0]["steps"], two[1]["steps"])  # the ranks did see different videos
    a, b = weights(root / "one"), weights(root / "two")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=RTOL, atol=ATOL)
    h1, h2 = history(root / "one"), history(root / "two")
    assert [r["epoch"] for r in h2] == [1, 2, 3]
    for r1, r2 in zip(h1, h2, strict=True):  # the epoch's loss is over both ranks' batches, not rank 0's alone
        assert r2["train_total"] == pytest.approx(r1["train_total"], rel=RTOL, abs=ATOL)
        assert {k: r2[k] for k in r2 if k.startswith("val_")} == {k: r1[k] for k in r1 if k.startswith("val_")}
    assert json.loads((root / "two" / "run.json").read_text())["world_size"] == 2


def test_only_rank_0_writes_checkpoints(runs):
    root, _, two = runs
    assert two[1]["saved"] == []
    saved = two[0]["saved"]  # per epoch: best.pt when the epoch is the best so far, then last.pt
    assert saved[:2] == ["best.pt", "last.pt"] and set(saved) == {"best.pt", "last.pt"}
    assert saved.count("last.pt") == 3 and saved[-1] == "last.pt"
    assert sorted(p.name for p in (root / "two" / "checkpoints").iterdir()) == ["best.pt", "last.pt"]
    log = (root / "two" / "train.log").read_text()
    assert log.count("epoch 3/3") == 1 and log.count("train toy_test on c23") == 1


def test_resume_under_ddp_is_bit_identical(data, tmp_path):
    """With dropout each rank draws its own random numbers; a resumed run must restore them all."""
    _, manifest, configs = data
    train(2, configs["two"], manifest, tmp_path / "full", dropout=0.5)
    train(2, configs["two"], manifest, tmp_path / "part", "--stop-after", "1", dropout=0.5)
    train(2, configs["two"], manifest, tmp_path / "part", "--resume", dropout=0.5)
    a, b = weights(tmp_path / "full"), weights(tmp_path / "part")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert history(tmp_path / "full") == history(tmp_path / "part")


def test_evaluation_of_the_ddp_run_matches_one_process(runs, data):
    root, _, _ = runs
    _, manifest, configs = data
    out = {}
    for name in ("one", "two"):
        out[name] = root / f"eval_{name}"
        assert (
            main(
                [
                    "evaluate",
                    "--config",
                    str(configs[name]),
                    "--run",
                    str(root / name),
                    "--manifest",
                    str(manifest),
                    "--test-compression",
                    "c23",
                    "--out",
                    str(out[name]),
                ]
            )
            == 0
        )
    s1, s2 = (pd.read_csv(out[n] / "scores.csv", dtype={"id": str}) for n in ("one", "two"))
    assert list(s1["key"]) == list(s2["key"])
    np.testing.assert_allclose(s2["score"], s1["score"], rtol=RTOL, atol=ATOL)
    m1, m2 = (json.loads((out[n] / "metrics.json").read_text()) for n in ("one", "two"))
    for k in ("auc", "ap", "acc", "eer"):
        assert m2[k]["value"] == m1[k]["value"]
