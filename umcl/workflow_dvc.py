"""Generate ``dvc.yaml`` from the Snakemake workflow: one DVC stage per pipeline stage.

Each DVC stage runs ``snakemake`` on the stage's target rule, restricted with ``--allowed-rules``
to that stage's rules, so the commands live only in the Snakefile and DVC decides *when* a
stage re-runs (its deps, params from ``config/default.yaml`` and outs). Paths come from
:class:`umcl.workflow.Layout`. ``python -m umcl.workflow_dvc`` rewrites ``dvc.yaml``;
``--check`` exits 1 while the committed file is stale (``tests/test_workflow.py`` runs it).
The committed pipeline reproduces the ``default`` profile; ``--profile NAME`` rewrites ``dvc.yaml``
for another one (the GPU CI workflow, ``.github/workflows/reproduce-gpu.yml``, does this for
``paper`` in its own checkout), its params read from that profile's file.
The plots' affinity columns come from umcl.report.figures, imported inside :func:`plots` only: it
loads torch and matplotlib.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import yaml

from umcl.config import REPO_ROOT
from umcl.io_utils import write_or_check_generated
from umcl.protocols.figures import figure_specs
from umcl.specs.vocab import USES_PRETRAINED
from umcl.workflow import DEFAULT_PROFILE, Layout, load_profile, profile_file

DVC_YAML = REPO_ROOT / "dvc.yaml"
SNAKEMAKE = "snakemake --cores all --workflow-profile workflow/profiles/local --config profile={profile}"


@dataclass(frozen=True)
class Stage:
    """A group of Snakemake rules that DVC runs as one stage."""

    name: str
    rules: tuple[str, ...]
    code: tuple[str, ...]
    params: tuple[str, ...]
    deps: Callable[[Layout], list[str]]
    outs: Callable[[Layout], list[str]]
    metrics: Callable[[Layout], list[str]] = lambda L: []

    @property
    def target(self) -> str:
        return f"stage_{self.name}"


def _pulse(L: Layout, metrics: bool) -> list[str]:
    """reports/pulse's files (workflow.pulse_study.enabled): the JSON as a metric, the rest as outs."""
    return [f for f in L.pulse_files if f.endswith(".json") == metrics] if L.wf.pulse_study.enabled else []


def _audit(L: Layout) -> list[str]:
    """The leakage study's audit evaluations (workflow/rules/studies.smk), when the profile builds it."""
    return [f"{L.results}/eval_audit"] if "leakage" in L.wf.studies else []


STAGES: tuple[Stage, ...] = (
    Stage(
        "data",
        ("resolve_config", "generate", "compress", "check_data", "manifest", "platforms", "preprocess"),
        ("umcl/data", "umcl/workflow.py", "workflow/rules/data.smk"),
        ("workflow", "synthff", "compression", "preprocess"),
        deps=lambda L: [],
        outs=lambda L: [L.resolved_config, *(L.data_dir(p) for p in L.parts)],
    ),
    Stage(
        "pretrain",
        ("pretrain",),
        ("umcl/training", "umcl/models", "workflow/rules/pretrain.smk"),
        ("pretrain",),
        deps=lambda L: [L.data_dir(L.pretrain_part)],
        outs=lambda L: [L.pretrained],
    ),
    Stage(
        "train",
        ("train",),
        ("umcl/training", "umcl/models", "umcl/losses.py", "baselines", "umcl/protocols", "workflow/rules/train.smk"),
        ("training", "detectors", "pretrain"),
        deps=lambda L: [*(L.data_dir(p) for p in L.parts), L.pretrained],
        outs=lambda L: [f"{L.results}/runs", f"{L.results}/configs"],
    ),
    Stage(
        "evaluate",
        ("evaluate", "evaluate_audit"),
        ("umcl/evaluation", "umcl/protocols", "workflow/rules/evaluate.smk", "workflow/rules/studies.smk"),
        ("evaluation",),
        deps=lambda L: [*(L.data_dir(p) for p in L.parts), f"{L.results}/runs"],
        outs=lambda L: [f"{L.results}/eval", *_audit(L)],
    ),
    Stage(
        "report",
        (
            "report",
            "report_claims",
            "report_index",
            "report_table9",
            "report_paper_vs_released",
            "report_leakage",
            "report_pulse",
        ),
        (
            "umcl/report",
            "workflow/rules/report.smk",
            "workflow/rules/studies.smk",
            "benchmarks/complexity.py",
            "umcl/pulse_study.py",
            "umcl/pulse.py",
            "umcl/models/open_rppg.py",
        ),
        (),
        deps=lambda L: [
            f"{L.results}/eval",
            *_audit(L),
            *(f"{L.report_prefix(f)}.json" for f in L.figures),
        ],  # index links them
        outs=lambda L: (
            [f for t in L.wf.tables for f in L.report_files(t) if not f.endswith(".json")]
            + [
                f"{L.claims}.md",
                f"{L.claims}.html",
                L.index,
                *(f for f in L.complexity_files if not f.endswith(".json")),
            ]
            + [f for s in L.wf.studies for f in L.study_files(s) if not f.endswith(".json")]
            + _pulse(L, False)
        ),
        metrics=lambda L: (
            [f"{L.report_prefix(t)}.json" for t in L.wf.tables]
            + [f"{L.claims}.json"]
            + [f for f in L.complexity_files if f.endswith(".json")]
            + [f for s in L.wf.studies for f in L.study_files(s) if f.endswith(".json")]
            + _pulse(L, True)
        ),
    ),
    Stage(
        "figures",
        ("figure_tsne", "figure_affinity"),
        (
            "umcl/report/figures.py",
            "umcl/evaluation/features.py",
            "umcl/protocols/figures.py",
            "workflow/rules/figures.smk",
        ),
        ("figures",),
        deps=lambda L: [L.data_dir(L.part_of("ff++")), f"{L.results}/runs"],
        outs=lambda L: [f for fig in L.figures for f in L.figure_files(fig) if not f.endswith(".json")],
        metrics=lambda L: [f"{L.report_prefix(fig)}.json" for fig in L.figures],
    ),
)


def plots(L: Layout) -> list[dict]:
    """``dvc plots show``: Figure 9's affinity curves and each run's training curves (history.csv)."""
    from umcl.report.figures import (
        affinity_columns,  # torch and matplotlib: only for dvc plots
    )

    out: list[dict] = []
    if "figure9" in L.figures:
        out.append(
            {
                f"{L.report_prefix('figure9')}.csv": {
                    "x": "step",
                    "y": affinity_columns(),
                    "title": "Figure 9: modality-pair affinities",
                    "x_label": "training step",
                    "y_label": "affinity",
                }
            }
        )
    runs = sorted(
        {r for spec in figure_specs(L.wf).values() for r in spec.runs.values()} | set(L.runs()),
        key=lambda r: r.to_path(),
    )
    curves = {f"{L.run_dir(r)}/history.csv": ["train_total", "val_auc"] for r in runs}
    if curves:
        out.append({"Training curves": {"x": "epoch", "y": curves, "title": "Training loss and validation AUC"}})
    return out


def build(profile: str = DEFAULT_PROFILE) -> dict:
    """The dvc.yaml mapping for ``profile``."""
    cfg, L = load_profile(profile, check=False)
    present = set(cfg)
    params_file = profile_file(profile).resolve().relative_to(REPO_ROOT).as_posix()
    stages: dict = {}
    for st in STAGES:
        if st.name == "pretrain" and not any(r.detector in USES_PRETRAINED for r in L.runs()):
            continue
        allowed = " ".join((*st.rules, st.target))
        entry: dict = {
            "cmd": f"{SNAKEMAKE.format(profile=profile)} --allowed-rules {allowed} -- {st.target}",
            "deps": ["Snakefile", "workflow/rules/common.smk", *st.code, *st.deps(L)],
        }
        params = [p for p in st.params if p in present]
        if params:
            entry["params"] = [{params_file: params}]
        entry["outs"] = st.outs(L)
        if st.metrics(L):
            entry["metrics"] = [{m: {"cache": False}} for m in st.metrics(L)]
        stages[st.name] = entry
    return {"stages": stages, "plots": plots(L)}


def render(profile: str = DEFAULT_PROFILE) -> str:
    header = (
        "# Generated by `python -m umcl.workflow_dvc` from the Snakemake workflow; do not edit.\n"
        f"# Each stage runs snakemake for one stage of the DAG (profile {profile}). Run: dvc repro\n"
    )
    return header + yaml.safe_dump(build(profile), sort_keys=False, width=120)


def main(argv: list[str] | None = None) -> int:
    """Write dvc.yaml (``--profile NAME``: for that profile), or with ``--check`` exit 1 when it is out of date."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m umcl.workflow_dvc", description=main.__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when dvc.yaml is out of date; write nothing")
    parser.add_argument("--profile", default=DEFAULT_PROFILE, help="the profile its stages run (default: default)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    command = "python -m umcl.workflow_dvc" + ("" if args.profile == DEFAULT_PROFILE else f" --profile {args.profile}")
    return write_or_check_generated(DVC_YAML, render(args.profile), args.check, command)


if __name__ == "__main__":
    sys.exit(main())
