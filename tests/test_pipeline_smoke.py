"""End to end on the smoke profile: real SynthFF videos, real x264, real MTCNN, real training.

Runs `snakemake --config profile=smoke` cold in a copy-free temporary results tree and checks
that reports/smoke/table3.{tex,md,json} exist with a number in every cell we train. Slow
(minutes on 2 cores) but part of CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from umcl.workflow import load_profile

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_smoke_pipeline_end_to_end() -> None:
    _, layout = load_profile("smoke", check=False)
    for path in (REPO / layout.results, REPO / Path(layout.report_prefix).parent):
        shutil.rmtree(path, ignore_errors=True)  # cold run: nothing cached from earlier runs
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [str(BIN / "snakemake"), "--workflow-profile", "workflow/profiles/local", "--cores", str(os.cpu_count() or 2),
         "--config", "profile=smoke"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]

    md = (REPO / f"{layout.report_prefix}.md").read_text()
    tex = (REPO / f"{layout.report_prefix}.tex").read_text()
    summary = json.loads((REPO / f"{layout.report_prefix}.json").read_text())
    assert "not comparable to the paper" in md and r"\bottomrule" in tex
    ours = [line for line in md.splitlines() if line.startswith("| FF++") and "| ours" in line]
    assert len(ours) == len(layout.wf.train_compressions) * len(layout.wf.detectors)
    for line in ours:
        cells = [c.strip() for c in line.strip("|").split("|")][3:]
        assert all(c != "-" and "±" in c for c in cells), line
    for det, train, seed, test in layout.evaluations():
        cell = summary["ours"][f"train_{train}"][det][f"test_{test}"]
        assert 0.0 <= cell["auc"]["mean"] <= 100.0 and cell["auc"]["n"] == 1
    for log in (REPO / layout.results / "logs").rglob("*.log"):
        assert log.stat().st_size >= 0
