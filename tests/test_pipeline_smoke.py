"""End to end on the smoke profile: real SynthFF videos, real x264, real MTCNN, real training.

Runs `snakemake --config profile=smoke` cold in a temporary working directory (``--directory``;
the checkout's own ``results/`` and ``reports/`` are not used; the test checks that none of
their smoke files was deleted), then checks the Table 3 report (a number in every cell we evaluate) and that every
evaluation cell's ``metrics.json`` equals scikit-learn recomputed on the scores it names. Outputs
are found by globbing inside the temporary directory and reading the evaluation indexes, so the
test does not depend on the exact folder layout.
Slow (minutes on 2 cores) but part of CI.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from _metric_refs import sklearn_metrics

from umcl.specs.vocab import TEXT_CACHE_ENV

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROFILE = "smoke"


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file under the checkout's smoke outputs (results/ and reports/)."""
    files = [p for top in ("results", "reports") for p in (root / top).glob(f"{PROFILE}*/**/*") if p.is_file()]
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in files}


def _outputs(work: Path, name: str) -> list[Path]:
    return sorted(p for p in work.rglob(name) if ".snakemake" not in p.parts)


def _evaluation_cells(work: Path):
    """(metrics.json, the scores it was computed on) for every evaluation cell under ``work``.

    Read from each evaluation index (``evaluation.json``: a cell names its metrics file, its
    scores file and its method subset = real videos + the fakes of those methods); a
    ``metrics.json`` with a ``scores.csv`` beside it (one-cell ``umcl evaluate --out``) counts too.
    """
    for index_path in _outputs(work, "evaluation.json"):
        index = json.loads(index_path.read_text())
        for cell in index["cells"]:
            scores = pd.read_csv(index_path.parent / cell["scores"], dtype={"id": str})
            if cell.get("methods") is not None:
                scores = scores[(scores["label"] == 0) | scores["method"].isin(cell["methods"])]
            yield index_path.parent / cell["metrics"], scores
    for metrics_path in _outputs(work, "metrics.json"):
        if (metrics_path.parent / "scores.csv").is_file():
            yield metrics_path, pd.read_csv(metrics_path.parent / "scores.csv", dtype={"id": str})


@pytest.mark.slow
def test_smoke_pipeline_end_to_end(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    before = _snapshot(REPO)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "HF_HUB_OFFLINE": "1"}
    env.pop(TEXT_CACHE_ENV, None)  # the pipeline sets its own per-profile cache (checked below)
    # its own process group: on a timeout the jobs snakemake started are ended too, not left running
    proc = subprocess.Popen(
        [
            str(BIN / "snakemake"),
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(work),
            "--workflow-profile",
            str(REPO / "workflow" / "profiles" / "local"),
            "--cores",
            str(os.cpu_count() or 2),
            "--config",
            f"profile={PROFILE}",
        ],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=1800)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f"smoke pipeline still running after 30 min; last output:\n{output[-3000:]}")
    assert proc.returncode == 0, output[-5000:]
    # nothing of the checkout's own smoke outputs was deleted (contents are not compared: a dry run
    # elsewhere, e.g. tests/test_workflow.py, rewrites results/<profile>/config.resolved.yaml there)
    gone = sorted(set(before) - set(_snapshot(REPO)))
    assert not gone, f"the checkout's smoke outputs lost {len(gone)} file(s), e.g. {gone[:3]}"

    # the report: one Table 3, every cell we evaluate filled
    summaries = _outputs(work, "table3.json")
    assert len(summaries) == 1, summaries
    summary = json.loads(summaries[0].read_text())
    md = summaries[0].with_suffix(".md").read_text()
    tex = summaries[0].with_suffix(".tex").read_text()
    assert "not comparable to the paper" in md and r"\bottomrule" in tex
    assert summary["cells_expected"] > 0 and summary["cells_filled"] == summary["cells_expected"], summary

    # every evaluation cell's metrics against scikit-learn on its own scores (a flipped AUC fails here)
    cells = list(_evaluation_cells(work))
    assert cells, "no evaluation cell with both a metrics file and its scores"
    for metrics_path, scores in cells:
        metrics = json.loads(metrics_path.read_text())
        ref = sklearn_metrics(scores["label"], scores["score"], metrics.get("threshold", 0.5))
        got = {k: metrics[k]["value"] for k in ref}
        assert got == pytest.approx(ref, abs=1e-6), metrics_path

    # every job wrote a log, and the training logs report their epochs
    logs = _outputs(work, "*.log")
    assert logs, "no job logs"

    def rule_of(log: Path) -> str:
        parts = log.relative_to(work).parts
        return parts[parts.index("logs") + 1] if "logs" in parts[:-1] else ""

    train_logs = [p for p in logs if rule_of(p) == "train"]
    assert train_logs, [str(p) for p in logs]
    for log in train_logs:
        assert re.search(r"epoch (\d+)/\1\b", log.read_text()), log  # the last epoch ran

    # the CPML/UMCL jobs shared one cache of the prompt embeddings (results/<profile>/text-embeddings):
    # only the first job loaded the text encoder
    cached = list(work.glob(f"results/{PROFILE}/text-embeddings/prompts-minilm-*.pt"))
    assert cached, "no prompt-embedding cache under results/<profile>/text-embeddings"

    # the HTML report (issue 11 §5): `snakemake --report` builds one self-contained page holding every
    # report() output of the run: Table 3, Table 9 and the claims as HTML pages (the viewer shows HTML inline,
    # Markdown only as a download), and the figures' images
    html_path = work / "report.html"
    done = subprocess.run(
        [
            str(BIN / "snakemake"),
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(work),
            "--report",
            str(html_path),
            "--config",
            f"profile={PROFILE}",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    html = html_path.read_text()
    embedded = set(re.findall(r"filename=([\w.-]+);base64,", html))
    wanted = {"table3.html", "table9.html", "claims.html", "figure6.png", "figure9.png"}
    assert wanted <= embedded, f"missing from the HTML report: {sorted(wanted - embedded)}"
    assert not re.search(r"""(?:src|href)=["']https?://""", html), "the report loads something from the network"
