"""The workflow: dry runs of every profile, lint, config validation, generated files in sync."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from umcl.cli import main as umcl_main
from umcl.errors import ConfigError
from umcl.specs.tables import TABLE_SPECS
from umcl.workflow import load_profile

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
TABLES = tuple(TABLE_SPECS)
# profile -> (reports folder, Table 3 alone: train = evaluate jobs, every table: (train, evaluate) jobs);
# one evaluate job per run and test dataset (a run tested on FF++ and Celeb-DF has two), and one more per
# run Table U tests on the platform videos (testset ``platforms``: 12 seed-0 runs by default, 4 on smoke)
PROFILES = {
    "default": ("reports", 36, (60, 107)),  # three seeds (workflow.seeds); one for tables 5, 6, 10, 11, U (table_seeds)
    "smoke": ("reports/smoke", 4, (36, 52)),
    "paper": ("reports/paper", 36, (96, 132)),  # no Celeb-DF/DFD/DFDC: Tables 4 and 5 show paper rows only
}


def snakemake(*args: str, work: Path | None = None) -> subprocess.CompletedProcess:
    """The repository's Snakefile run in ``work`` (default: a fresh temporary folder, removed after):
    parsing the Snakefile writes results/<profile>/config.resolved.yaml, which must never land in the
    checkout (test_dry_runs_leave_the_checkout_alone). Relative paths in ``args`` are read from ``work``."""
    if work is None:
        with tempfile.TemporaryDirectory(prefix="umcl-snakemake-") as tmp:
            return snakemake(*args, work=Path(tmp))
    return subprocess.run(
        [str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--directory", str(work), *args],
        cwd=work,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )


def job_counts(stdout: str) -> dict[str, int]:
    stats = stdout.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", stats, re.M)}


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_dry_run_table3(profile: str) -> None:
    """Table 3 alone: one training job and ONE evaluation job per run (all test sets in one process)."""
    reports, n_runs, _ = PROFILES[profile]
    proc = snakemake(
        "-n",
        "--forceall",
        *(f"{reports}/table3.{ext}" for ext in ("tex", "md", "json")),
        "--config",
        f"profile={profile}",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    jobs = job_counts(proc.stdout)
    assert jobs["train"] == jobs["evaluate"] == n_runs and jobs["report"] == 1
    if profile == "paper":  # no FF++ on disk: its tree is checked at run time; SynthFF only for pre-training
        assert jobs["check_data"] == 1 and jobs["generate"] == 1 and jobs["manifest"] == jobs["preprocess"] == 2
    else:
        assert jobs["generate"] == jobs["compress"] == jobs["preprocess"] == 1


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_dry_run_every_table(profile: str) -> None:
    """Every table is a target on every profile; runs shared between tables are trained once."""
    reports, _, (n_train, n_eval) = PROFILES[profile]
    proc = snakemake("-n", "--forceall", *(f"{reports}/{t}.tex" for t in TABLES), "--config", f"profile={profile}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    jobs = job_counts(proc.stdout)
    assert jobs["train"] == n_train and jobs["evaluate"] == n_eval and jobs["report"] == len(TABLES)
    if profile == "paper":  # no Celeb-DF/DFD/DFDC roots: Tables 4 and 5 render the paper's rows only
        assert "check_data" in jobs and jobs["manifest"] == 2
    else:  # FF++-like data plus the Celeb-DF-, DFD- and DFDC-like SynthFF looks, and Table U's platform videos
        assert jobs["generate"] == jobs["compress"] == 4 and jobs["preprocess"] == 5
    assert jobs["platforms"] == 1  # Table U's test videos, made once from the main part's


def job_priorities(stdout: str) -> dict[tuple[str, int], int]:
    """(rule, priority) -> number of jobs, from a dry run's job blocks (Snakemake prints ``priority: N``
    only when it is not 0)."""
    counts: dict[tuple[str, int], int] = {}
    for block in re.split(r"^(?=(?:local)?rule \w+:$)", stdout, flags=re.M):
        rule = re.match(r"(?:local)?rule (\w+):$", block, re.M)
        if rule:
            prio = re.search(r"^\s+priority: (\d+)$", block, re.M)
            key = (rule[1], int(prio[1]) if prio else 0)
            counts[key] = counts.get(key, 0) + 1
    return counts


def test_first_table_scheduled_first() -> None:
    """`make reproduce` builds Table 3 first: its data, train, evaluate and report jobs outrank every other
    job (the look-alike datasets, the other tables' runs and evaluations), so Table 3 is ready early; what
    its UMCL/CPML runs start from (pre-training, LRNet runs) comes before the rest of it."""
    reports, n_runs, (n_train, n_eval) = PROFILES["default"]
    proc = snakemake("-n", "--forceall", *(f"{reports}/{t}.tex" for t in TABLES), "--config", "profile=default")
    assert proc.returncode == 0, proc.stderr[-2000:]
    prio = job_priorities(proc.stdout)
    # the LRNet runs (3 compressions x 3 seeds) and the P-encoder pre-training UMCL/CPML start from go first
    assert prio[("train", 2)] == 9 and prio[("pretrain", 2)] == 1
    assert prio[("train", 1)] == n_runs - 9 and prio[("evaluate", 1)] == n_runs
    assert prio[("train", 0)] == n_train - n_runs and prio[("evaluate", 0)] == n_eval - n_runs
    assert prio[("report", 1)] == 1 and prio[("report", 0)] == len(TABLES) - 1
    # the main SynthFF first; the Celeb-DF-, DFD- and DFDC-like parts (Tables 4, 5) and Table U's videos after
    assert all(prio[(rule, 1)] == 1 and prio[(rule, 0)] == 3 for rule in ("generate", "compress"))
    assert prio[("preprocess", 1)] == 1 and prio[("preprocess", 0)] == 4 and prio[("platforms", 0)] == 1


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_table9_target(profile: str) -> None:
    """Table 9 is one complexity job (benchmarks/complexity.py, no training-step timing) at the
    profile's ``workflow.table9_size``, part of `rule all`, with a LaTeX target like every table."""
    reports, _, _ = PROFILES[profile]
    proc = snakemake("-n", "-p", "--forceall", f"{reports}/table9.md", "--config", f"profile={profile}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert job_counts(proc.stdout) == {"report_table9": 1}
    size = "small" if profile == "smoke" else "paper"
    assert f"complexity.py --size {size} --no-train --out {reports}/table9 " in proc.stdout
    _, layout = load_profile(profile, check=False)
    assert f"{reports}/table9.md" in layout.all_report_files()
    assert f"{reports}/table9.tex" in layout.all_report_files()
    tex = snakemake("-n", "--forceall", f"{reports}/table9.tex", "--config", f"profile={profile}")
    assert tex.returncode == 0 and job_counts(tex.stdout) == {"report_table9": 1}


@pytest.mark.parametrize("profile", ["smoke", "paper"])  # the two data paths (SynthFF, FF++)
def test_lint_clean(profile: str) -> None:
    proc = snakemake("--lint", "--config", f"profile={profile}")
    assert proc.returncode == 0 and "Congratulations" in proc.stdout + proc.stderr, proc.stdout[-3000:]


def test_slurm_profile() -> None:
    from types import SimpleNamespace

    import yaml
    from snakemake_executor_plugin_slurm.validation import validate_slurm_extra

    prof = yaml.safe_load((REPO / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())
    assert prof["executor"] == "slurm"
    # the plugin refuses a job whose slurm_extra sets what it sets itself (the QoS did, in the real run)
    validate_slurm_extra(SimpleNamespace(resources=SimpleNamespace(**prof["default-resources"])))
    proc = snakemake(
        "-n",
        "--forceall",
        "--workflow-profile",
        str(REPO / "workflow" / "profiles" / "slurm"),
        "--config",
        "profile=paper",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "gpu=1" in proc.stdout  # GPU stages ask the scheduler for a GPU


def test_every_rule_logs_and_has_resources() -> None:
    text = "\n".join(p.read_text() for p in sorted((REPO / "workflow" / "rules").glob("*.smk")))
    blocks = [b for b in re.split(r"\n(?=[ ]*rule \w+:)", text) if re.match(r"\s*rule \w+:", b)]
    assert len(blocks) >= 9
    for block in blocks:
        name = re.search(r"rule (\w+):", block)[1]
        for directive in ("log:", "threads:", "resources:", "conda:"):
            assert directive in block, f"rule {name} lacks {directive}"
        assert "> {log} 2>&1" in block, f"rule {name} does not redirect to its log"
    assert "gpu" in (REPO / "workflow" / "rules" / "common.smk").read_text()


def _profile(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(f"extends: {REPO / 'config' / 'default.yaml'}\n{body}")
    return p


@pytest.mark.parametrize(
    "body, message",
    [
        ("training:\n  epoks: 3\n", "invalid config at 'training'"),
        ("workflow:\n  detectors: [xception, resnet]\n", "invalid config at 'workflow.detectors.1'"),
        ("training:\n  epochs: three\n", "invalid config at 'training.epochs'"),
    ],
)
def test_schema_rejects_unknown_key_and_bad_value(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        load_profile(str(_profile(tmp_path, body)), check=False)
    assert "\n" not in str(err.value)


def test_range_checks_in_validate_config(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = umcl_main(["validate-config", "--config", str(_profile(tmp_path, "training:\n  epochs: 0\n"))])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "training.epochs must be >= 1" in err and "\n" not in err


def test_snakemake_stops_on_bad_config_before_any_job(tmp_path: Path) -> None:
    bad = _profile(tmp_path, "workflow:\n  seeds: zero\n")
    proc = snakemake("-n", "--config", f"profile={bad}")
    assert proc.returncode != 0
    assert "invalid config at 'workflow.seeds'" in proc.stdout + proc.stderr


def test_range_errors_stop_snakemake_at_parse(tmp_path: Path) -> None:
    bad = _profile(tmp_path, "training:\n  epochs: 0\n")
    proc = snakemake("-n", "--config", f"profile={bad}")
    assert proc.returncode != 0 and "training.epochs must be >= 1" in proc.stdout + proc.stderr
    assert not (REPO / "results" / bad.stem / "config.resolved.yaml").exists()


def test_dry_runs_leave_the_checkout_alone(tmp_path: Path) -> None:
    """A dry run writes nothing into results/ (it used to write the resolved config while the Snakefile
    was parsed); it plans the rule resolve_config instead, and writes nothing in the checkout either."""
    profile = _profile(tmp_path, "evaluation:\n  n_bootstrap: 31\n").rename(tmp_path / "dryrun-hygiene.yaml")
    work = tmp_path / "work"
    work.mkdir()
    proc = snakemake("-n", "--forceall", "stage_evaluate", "--config", f"profile={profile}", work=work)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert job_counts(proc.stdout)["resolve_config"] == 1
    assert not (work / "results").exists()
    assert not (REPO / "results" / profile.stem).exists()


def test_resolved_config_rewritten_only_when_its_content_changes(tmp_path: Path) -> None:
    """The resolved config changes only with its content (snakemake#4166: a rule re-creating a file read
    through ancient() got scheduled alone, so a config edit needed two runs): the rule resolve_config has
    no input and no params, so it runs only when the file is missing; edits are written by the onstart
    handler (never in a dry run) after check_resolved's range checks at parse time."""
    import time

    from umcl.config import load_config
    from umcl.workflow import check_resolved, write_resolved

    profile = _profile(tmp_path, "evaluation:\n  n_bootstrap: 30\n")
    out = tmp_path / "results" / "config.resolved.yaml"
    assert check_resolved(load_config(profile), profile, out) and not out.exists()  # checks, writes nothing
    assert write_resolved(load_config(profile), profile, out)
    before = out.stat().st_mtime_ns
    time.sleep(0.01)
    assert not check_resolved(load_config(profile), profile, out)
    assert not write_resolved(load_config(profile), profile, out) and out.stat().st_mtime_ns == before
    profile.write_text(profile.read_text().replace("30", "40"))
    assert write_resolved(load_config(profile), profile, out) and "n_bootstrap: 40" in out.read_text()
    profile.write_text(profile.read_text().replace("n_bootstrap: 40", "n_bootstrap: 40\ntraining:\n  epochs: 0"))
    with pytest.raises(ConfigError, match="training.epochs"):
        check_resolved(load_config(profile), profile, out)
    with pytest.raises(ConfigError, match="training.epochs"):
        write_resolved(load_config(profile), profile, out)
    assert "n_bootstrap: 40" in out.read_text()  # a bad edit leaves the last good file
    snakefile = (REPO / "Snakefile").read_text()
    rule = snakefile.split("rule resolve_config:")[1].split("\n\n\n")[0]
    assert "input:" not in rule and "params:" not in rule
    assert "onstart:" in snakefile


def test_schema_in_sync_with_dataclasses() -> None:
    from umcl.config_schema import main

    assert main(["--check"]) == 0, "config/schema.json is stale: run `python -m umcl.config_schema`"


def test_dvc_yaml_in_sync_and_valid() -> None:
    from umcl.workflow_dvc import main

    assert main(["--check"]) == 0, "dvc.yaml is stale: run `python -m umcl.workflow_dvc`"
    dvc = BIN / "dvc"
    if not dvc.exists():
        pytest.skip("dvc not installed in this environment")
    dag = subprocess.run([str(dvc), "dag"], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120)
    assert dag.returncode == 0 and "report" in dag.stdout, dag.stderr
    # a cold dry run stops at the first stage whose deps do not exist yet (DVC issue #9021),
    # so dry-run the first stage; the others are checked by `dvc dag` and the sync test.
    dry = subprocess.run(
        [str(dvc), "repro", "--dry", "--single-item", "data"],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # the stage would run its snakemake command, or (after a `dvc repro` in this checkout, with a
    # dvc.lock) it is up to date
    would_run = "stage_data" in dry.stdout
    up_to_date = "Stage 'data' didn't change" in dry.stdout
    assert dry.returncode == 0 and (would_run or up_to_date), dry.stdout + dry.stderr


def test_dvc_stages_cover_every_rule() -> None:
    from umcl.workflow_dvc import STAGES

    proc = snakemake("--list-rules", "--config", "profile=smoke")
    paper = snakemake("--list-rules", "--config", "profile=paper")
    rules = set(proc.stdout.split()) | set(paper.stdout.split())
    rules -= {"all"} | {s.target for s in STAGES}
    covered = [r for s in STAGES for r in s.rules]
    assert len(covered) == len(set(covered)) and rules == set(covered)


@pytest.mark.parametrize("study", ["difficulty", "difficulty4"])
def test_difficulty_sweep_profiles_differ_only_in_difficulty(study: str) -> None:
    import copy

    from umcl.config import load_config

    files = sorted((REPO / "config" / "studies" / study).glob(f"{study}-*.yaml"))
    assert len(files) >= 3
    configs = [load_config(f) for f in files]
    values = [c["synthff"]["difficulty"] for c in configs]
    assert values == sorted(set(values)) and values[0] == -0.5 and values[-1] == 1.0  # the whole range

    def without_difficulty(cfg: dict) -> dict:
        cfg = copy.deepcopy(cfg)
        del cfg["synthff"]["difficulty"]
        return cfg

    assert all(without_difficulty(c) == without_difficulty(configs[0]) for c in configs)
    proc = snakemake("-n", "--forceall", "stage_evaluate", "--config", f"profile={files[0]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    jobs = job_counts(proc.stdout)
    if study == "difficulty":  # Xception + LRNet trained on c23 only
        assert jobs["train"] == 2 and jobs["evaluate"] == 2 and "pretrain" not in jobs
    else:  # all four detectors (and the LRNet start of CPML and UMCL) on c23 and c40, one seed
        assert set(configs[0]["workflow"]["detectors"]) == {"xception", "lrnet", "cpml", "umcl"}
        assert configs[0]["workflow"]["seeds"] == [0]
        assert jobs["train"] == 8 and jobs["evaluate"] == 8


def test_look_alike_parts_are_listed_and_preprocessed_at_their_tested_compression_only() -> None:
    """The Celeb-DF-, DFD- and DFDC-like SynthFF parts are generated raw and compressed to c23, the one
    compression their tables test and train at: their manifests (and so preprocessing) leave raw out."""
    proc = snakemake("-n", "-p", "--forceall", "reports/table4.md", "reports/table5.md", "--config", "profile=default")
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifests = re.findall(
        r"umcl manifest --dataset synthff --root \S+/(\w+)/synthff .*--compressions ([\w ]+?)\s+>", proc.stdout
    )
    assert sorted(manifests) == [("celebdf", "c23"), ("data", "raw c23 c40"), ("dfd", "c23"), ("dfdc", "c23")]
    levels = re.findall(r"umcl compress --root \S+/(\w+)/synthff --levels ([\w ]+?) --workers", proc.stdout)
    assert sorted(levels) == [("celebdf", "c23"), ("data", "c23 c40"), ("dfd", "c23"), ("dfdc", "c23")]
