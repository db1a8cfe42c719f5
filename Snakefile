# The UMCL reproduction pipeline. Choose a profile with `--config profile=NAME`:
#   default (config/default.yaml, SynthFF, offline), smoke (CI), paper (FF++ from a local root).
# Paths: umcl/workflow.py (Layout); jobs: the job sheet expanded from every table's protocol
# (umcl/protocols/: tables.py declares them, sheet.py expands them; `python -m umcl.protocols.sheet`
# prints it); settings: config/*.yaml validated against config/schema.json.
# Every step is a `umcl <step>` command; the same command works by hand (docs/pipeline.md).
import os

from snakemake.utils import min_version

from umcl.config import check_config_keys, config_hash
from umcl.protocols.figures import figure_runs, figure_specs
from umcl.protocols.keys import DATASET_SLUG
from umcl.protocols.tables import PROTOCOLS
from umcl.config import config_chain
from umcl.specs.platforms import PLATFORMS_PART
from umcl.specs.vocab import TEXT_CACHE_ENV
from umcl.workflow import (check_resolved, check_results_owner, load_profile, one_of, profile_arg, profile_file,
                           section_hash, write_resolved)

min_version("9.0")


# Every key this Snakefile reads from `config` (--config KEY=VALUE); any other key is a typo that
# would be silently ignored, so it stops the run before anything is planned.
CONFIG_KEYS = ("profile",)
check_config_keys(config, CONFIG_KEYS)
PROFILE_ARG = profile_arg(config)
# Unknown keys and wrongly typed values fail here (config/schema.json), and so do range errors of every
# section when the merged config changed (umcl.workflow.check_resolved). Nothing is written while the
# Snakefile is parsed (`snakemake -n` leaves results/ alone): the merged config every step reads is written
# when jobs start (onstart below; the rule resolve_config when it is missing), only when its content changed.
CFG, L = load_profile(PROFILE_ARG, check=False)
PROFILE = L.profile
WF = L.wf
RESOLVED = L.resolved_config
CONFIG_FILES = [os.path.relpath(p) for p in config_chain(profile_file(PROFILE_ARG))]
check_results_owner(L, CONFIG_FILES[0])  # another file of the same name must not share results/<name>/
check_resolved(CFG, CONFIG_FILES[0], RESOLVED)


onstart:
    if os.path.exists(RESOLVED):
        write_resolved(CFG, CONFIG_FILES[0], RESOLVED, check=False)


# Every job of the profile shares one cache of the frozen text encoder's prompt embeddings (the same
# tensors the encoder computes, keyed by encoder and prompt table); a cache the user set wins.
os.environ.setdefault(TEXT_CACHE_ENV, os.path.abspath(L.text_cache))
SHEET = L.sheet  # every run and evaluation of every table (umcl.protocols.sheet)
RUN_KEYS = [*SHEET.runs, *figure_runs(WF)]  # and the runs the figures read (umcl.protocols.figures)
FIGURES = figure_specs(WF)  # figure -> its runs and test selection


wildcard_constraints:
    model=one_of(r.model for r in RUN_KEYS),  # detector[+variant]; lrnet runs initialise UMCL/CPML
    train=one_of(r.train.slug for r in RUN_KEYS),
    seed=r"\d+",
    part=one_of(L.parts),
    table=one_of(t for t in SHEET.cells if t in PROTOCOLS),  # the paper's tables, not the studies
    testset=one_of([*DATASET_SLUG.values(), PLATFORMS_PART]),  # platforms: Table U's cells (umcl.workflow.testset_of)


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/studies.smk"


localrules:
    all,
    resolve_config,
    report,
    report_claims,
    report_paper_vs_released,
    report_leakage,
    report_index,
    stage_data,
    stage_pretrain,
    stage_train,
    stage_evaluate,
    stage_report,
    stage_figures,


rule all:
    default_target: True
    input:
        L.all_report_files(),


# The merged config, when it is missing (later edits: the onstart handler above, so that this rule never
# re-runs on them: snakemake/snakemake#4166, docs/deviations/workflow.md).
rule resolve_config:
    output:
        RESOLVED,
    log:
        L.log("resolve_config"),
    run:
        write_resolved(CFG, CONFIG_FILES[0], output[0], check=False)


# One target per DVC stage (dvc.yaml is generated from these; see umcl/workflow_dvc.py).
rule stage_data:
    input:
        [L.preprocessed_of(part) for part in L.parts],


rule stage_pretrain:
    input:
        pretrain_outputs(),


rule stage_train:
    input:
        [L.selection(run) for run in dict.fromkeys([*L.runs(), *L.runs(list(WF.studies)), *figure_runs(WF, L.figures)])],


rule stage_evaluate:
    input:
        L.evaluation_files(),
        L.evaluation_files(list(WF.studies)),
        audit_files() if "leakage" in WF.studies else [],


rule stage_report:
    input:
        L.all_report_files(),


rule stage_figures:
    input:
        [f for fig in L.figures for f in L.figure_files(fig)],
