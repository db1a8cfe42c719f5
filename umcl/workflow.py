"""The pipeline's settings (config section ``workflow``) and its file layout.

One place that knows where every output of the pipeline lives. The Snakefile, the DVC
generator (``umcl/workflow_dvc.py``) and the reports read paths from here, so they can not
drift apart; which runs and evaluations exist comes from the job sheet (umcl.protocols.sheet),
and run/evaluation keys become paths only in umcl.protocols.keys. Layout for profile ``P``::

    results/P/config.resolved.yaml                 merged + validated config every step reads
    results/P/<part>/synthff/                      SynthFF root (FF++ layout; absent for ff++)
    results/P/<part>/manifest.csv                  one row per video
    results/P/<part>/preprocessed.csv, cache/      preprocessed manifest and per-video caches
        parts: data (FF++ or SynthFF), pretrain_data (SynthFF for pre-training on ff++ profiles),
        celebdf, dfd, dfdc (the cross-dataset tables' data, when the profile has them),
        platforms (Table U's test videos, umcl.data.platforms: <level>/<method>/<id>.mp4, platforms.json)
    results/P/pretrain/encoders.pt                 pre-trained P-encoder
    results/P/runs/<run key>/                      checkpoints/, selection.json   (e.g. umcl/ffpp-all-c23/seed0)
    results/P/eval/<run key>/<testset>/evaluation.json   the run's cells on one test dataset (index)
    results/P/eval/<run key>/<testset>/<test>/<condition>/metrics.json   one cell (+ its key in provenance)
    results/P/eval/<run key>/<testset>/scores/*.csv     per-video scores (validation and each test set)
    results/P/logs/<rule>/...log                   one log per job
    reports/<table>.{tex,md,json}, reports/index.md   profile ``default``
    reports/P/<table>.{tex,md,json}, reports/P/index.md   any other profile
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import yaml

from umcl.config import REPO_ROOT, config_hash, load_config, parse_yaml, section
from umcl.config_schema import section_classes
from umcl.errors import ConfigError
from umcl.io_utils import write_text
from umcl.protocols.figures import figure_specs
from umcl.protocols.keys import DATASET_SLUG, EvalKey, RunKey, with_initialisers
from umcl.protocols.sheet import JobSheet, build_sheet
from umcl.protocols.variants import get_variant
from umcl.specs.platforms import PLATFORM_LEVELS, PLATFORMS_PART
from umcl.specs.vocab import USES_PRETRAINED
from umcl.specs.workflow import MAIN, PRETRAIN_DATA, ClaimsRuns, WorkflowConfig
from umcl.training.config import GUARDS, training_for

DEFAULT_PROFILE = "default"
#: the first line of results/<profile>/config.resolved.yaml starts so, followed by the profile file
RESOLVED_HEADER = "# Resolved from "
#: a report's files; the .html is its Markdown as a page (umcl.report.html) for `snakemake --report`
REPORT_FORMATS = ("tex", "md", "json", "html")


def builtin_profiles() -> dict[str, Path]:
    """The profiles known by name: ``default`` and every ``config/profiles/NAME.yaml``."""
    named = {p.stem: p for p in sorted((REPO_ROOT / "config" / "profiles").glob("*.yaml"))}
    return {DEFAULT_PROFILE: REPO_ROOT / "config" / "default.yaml", **named}


def profile_name(profile: str) -> str:
    """The name used in output paths (``results/<name>/``, ``reports/<name>/``): a profile name, or a
    YAML file's stem. A file named like a built-in profile (``/elsewhere/default.yaml``) that is not that
    profile's file is refused: it would share the built-in profile's folders and overwrite its runs."""
    if not profile.endswith((".yaml", ".yml")):
        return profile
    path = Path(profile)
    builtin = builtin_profiles().get(path.stem)
    if builtin is not None and path.resolve() != builtin.resolve():
        raise ConfigError(
            f"profile file is named like the built-in profile '{path.stem}', whose results are "
            f"results/{path.stem}/; it would share (and overwrite) them",
            path,
            f"rename the file (e.g. my-{path.stem}{path.suffix}) so that it gets a folder of its own",
        )
    return path.stem


def profile_arg(config: dict) -> str:
    """The ``profile=`` of ``snakemake --config`` (``default`` when not given); an empty one is refused."""
    if "profile" not in config:
        return DEFAULT_PROFILE
    value = config["profile"]
    if value is None or not str(value).strip():
        raise ConfigError(
            "`--config profile=` is empty",
            fix="write profile=NAME (default or one of "
            f"{sorted(builtin_profiles())}) or profile=FILE.yaml, or leave it out for default",
        )
    return str(value).strip()


def check_results_owner(layout: Layout, profile_path: str | Path) -> None:
    """Refuse a profile file whose ``results/<name>/`` was made from another file of the same name
    (its ``config.resolved.yaml`` header says which): the two would overwrite each other's runs."""
    resolved = Path(layout.resolved_config)
    if not resolved.is_file():
        return
    first = resolved.read_text(errors="replace").split("\n", 1)[0]
    if not first.startswith(RESOLVED_HEADER):
        return
    source = Path(first[len(RESOLVED_HEADER) :].rsplit(" (config hash", 1)[0])
    if source.resolve() != Path(profile_path).resolve():
        raise ConfigError(
            f"{layout.results}/ holds the results of another profile file of the same name "
            f"({source}); the two would overwrite each other's runs",
            profile_path,
            f"rename the file so that it gets a folder of its own, or move {layout.results}/ away",
        )


def profile_file(profile: str) -> Path:
    """``default`` → config/default.yaml; ``NAME`` → config/profiles/NAME.yaml; a ``.yaml`` path as is."""
    if profile.endswith((".yaml", ".yml")):
        path = Path(profile)
        if not path.is_file():
            raise ConfigError("profile file not found", path, "pass an existing YAML file as profile=")
        return path
    if profile == DEFAULT_PROFILE:
        return REPO_ROOT / "config" / "default.yaml"
    path = REPO_ROOT / "config" / "profiles" / f"{profile}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (REPO_ROOT / "config" / "profiles").glob("*.yaml"))
        raise ConfigError(f"unknown profile '{profile}'", fix=f"use default, one of {known}, or a .yaml file")
    return path


def set_key(cfg: dict, assignment: str) -> None:
    """Apply ``a.b.c=value`` (value parsed as YAML, as config files are: umcl.config.parse_yaml) to
    ``cfg`` in place."""
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise ConfigError(f"bad --set '{assignment}'", fix="write --set section.key=value")
    *parents, last = key.split(".")
    node = cfg
    for p in parents:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set '{key}': '{p}' is not a mapping")
    try:
        node[last] = parse_yaml(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"--set '{key}': value is not valid YAML ({str(exc).splitlines()[0]})",
            fix="write --set section.key=value with a YAML value, e.g. a.b=3 or a.b=[0, 1]",
        ) from None


def check_sections(cfg: dict) -> None:
    """Build every section's dataclass so that range checks fail before anything runs."""
    for name, cls in section_classes().items():
        if name == "detectors":
            for det, det_cls in cls.items():
                section(cfg.get("detectors") or {}, det, det_cls)
        else:
            section(cfg, name, cls)


def testset_of(key: EvalKey) -> str:
    """The evaluate job (``eval/<run>/<testset>/``) that scores ``key``: its test dataset's slug, or ``platforms``
    for Table U's platform levels, so that the tables without them never wait for their videos."""
    return PLATFORMS_PART if key.test.compression in PLATFORM_LEVELS else DATASET_SLUG[key.test.dataset]


@dataclass(frozen=True)
class Layout:
    """Paths of every pipeline output for one profile (relative to the repository root)."""

    profile: str
    wf: WorkflowConfig

    @property
    def sheet(self) -> JobSheet:
        """The job sheet of this profile (umcl.protocols.sheet.JobSheet), built once."""
        cache = self.__dict__.setdefault("_cache", {})
        if "sheet" not in cache:
            cache["sheet"] = build_sheet(self.wf)
        return cache["sheet"]

    @property
    def results(self) -> str:
        return f"results/{self.profile}"

    @property
    def resolved_config(self) -> str:
        return f"{self.results}/config.resolved.yaml"

    @property
    def data(self) -> str:
        return self.data_dir(MAIN)

    @property
    def parts(self) -> list[str]:
        """Data parts: the main dataset, SynthFF for P-encoder pre-training when main is not SynthFF,
        and the cross-dataset roles this profile has."""
        main = [MAIN] if self.wf.dataset == "synthff" else [MAIN, PRETRAIN_DATA]
        platforms = [PLATFORMS_PART] if self.platform_levels else []
        return main + [s.part for s in self.sheet.sources.values() if s.part != MAIN] + platforms

    @property
    def platform_levels(self) -> list[str]:
        """The platform levels (umcl.specs.platforms) this profile's evaluations test: the ``platforms`` part
        makes them from the main part's test videos."""
        tested = {
            k.test.compression for keys in self.sheet.evaluations.values() for k in keys if k.test.dataset == "ff++"
        }
        return [lv for lv in PLATFORM_LEVELS if lv in tested]

    @property
    def pretrain_part(self) -> str:
        return MAIN if self.wf.dataset == "synthff" else PRETRAIN_DATA

    def source_of_part(self, part: str):
        """The DataSource of a data part (None for pretrain_data)."""
        return next((s for s in self.sheet.sources.values() if s.part == part), None)

    def part_of(self, role: str) -> str:
        """The data part holding a dataset role (``ff++`` → ``data``)."""
        return self.sheet.source_of(role).part

    def dataset_of(self, part: str) -> str:
        src = self.source_of_part(part)
        return "synthff" if src is None else src.dataset

    def variant_of(self, part: str) -> str | None:
        """SynthFF look of a generated part (None: the profile's ``synthff.variant``)."""
        src = self.source_of_part(part)
        return None if src is None or part == MAIN else src.variant

    def data_dir(self, part: str) -> str:
        return f"{self.results}/{part}"

    def root_of(self, part: str) -> str:
        """Dataset root: generated SynthFF under results/, or the user's folder."""
        if self.dataset_of(part) == "synthff":
            return f"{self.data_dir(part)}/synthff"
        return str(self.source_of_part(part).root)

    @property
    def root(self) -> str:
        return self.root_of(MAIN)

    def stamp(self, name: str, part: str = MAIN) -> str:
        """A file that marks a step done whose real outputs live in a shared folder."""
        return f"{self.data_dir(part)}/stamps/{name}.done"

    def manifest_of(self, part: str) -> str:
        return f"{self.data_dir(part)}/manifest.csv"

    def preprocessed_of(self, part: str) -> str:
        return f"{self.data_dir(part)}/preprocessed.csv"

    def cache_of(self, part: str) -> str:
        return f"{self.data_dir(part)}/cache"

    @property
    def manifest(self) -> str:
        return self.manifest_of(MAIN)

    @property
    def preprocessed(self) -> str:
        return self.preprocessed_of(MAIN)

    @property
    def pretrained(self) -> str:
        return f"{self.results}/pretrain/encoders.pt"

    @property
    def text_cache(self) -> str:
        """Folder of the frozen T-encoder's prompt embeddings ($UMCL_TEXT_CACHE for every job of the
        profile): the first CPML/UMCL job embeds the prompt table, later ones read it instead of
        importing transformers and loading MiniLM (a large part of a job's start-up: docs/pipeline.md)."""
        return f"{self.results}/text-embeddings"

    # ------------------------------------------------------------------ runs and evaluations
    def run_dir(self, run: RunKey | str) -> str:
        """``run``: a RunKey, or a path pattern (Snakemake wildcards)."""
        return f"{self.results}/runs/{run.to_path() if isinstance(run, RunKey) else run}"

    def selection(self, run: RunKey | str) -> str:
        return f"{self.run_dir(run)}/selection.json"

    def best_checkpoint(self, run: RunKey | str) -> str:
        return f"{self.run_dir(run)}/checkpoints/best.pt"

    def job_config(self, run: RunKey | str) -> str:
        """Resolved config plus this run's overrides (pre-trained encoders, training variant)."""
        path = run.to_path() if isinstance(run, RunKey) else run
        return f"{self.results}/configs/{path}.yaml"

    def eval_dir(self, run: RunKey | str, testset: str) -> str:
        """A run's evaluations on one test dataset (``testset``: its path slug, e.g. ``ffpp``)."""
        return f"{self.results}/eval/{run.to_path() if isinstance(run, RunKey) else run}/{testset}"

    def evaluation(self, run: RunKey | str, testset: str) -> str:
        """The index of a run's evaluation cells on one test dataset (``umcl evaluate --tests``)."""
        return f"{self.eval_dir(run, testset)}/evaluation.json"

    def log(self, rule: str, *parts: object) -> str:
        return f"{self.results}/logs/{rule}/" + ("/".join(str(p) for p in parts) or "main") + ".log"

    def benchmark(self, rule: str, *parts: object) -> str:
        """Snakemake ``benchmark:`` file of a job (wall time, CPU time, memory; read by
        ``benchmarks/pipeline_breakdown.py`` for the per-rule time breakdown of docs/pipeline.md)."""
        return f"{self.results}/benchmarks/{rule}/" + ("/".join(str(p) for p in parts) or "main") + ".tsv"

    @property
    def reports(self) -> str:
        return "reports" if self.profile == DEFAULT_PROFILE else f"reports/{self.profile}"

    def report_prefix(self, table: str) -> str:
        return f"{self.reports}/{table}"

    def report_files(self, table: str) -> list[str]:
        return [f"{self.report_prefix(table)}.{ext}" for ext in REPORT_FORMATS]

    @property
    def index(self) -> str:
        return f"{self.reports}/index.md"

    @property
    def claims(self) -> str:
        """Prefix of the claims report (``.md``, ``.html``, ``.json``; umcl.report.claims) over ``workflow.tables``."""
        return f"{self.reports}/claims"

    def claims_evaluation_files(self) -> list[str]:
        """The evaluations the claims report reads: ``workflow.tables``' and the claims check's own runs'
        (umcl.protocols.claims)."""
        return self.evaluation_files([*self.wf.tables, *get_args(ClaimsRuns)])

    def runs(self, tables: list[str] | None = None) -> list[RunKey]:
        """Training runs the profile's tables need (``tables`` None: ``workflow.tables``), LRNet
        initialisers included."""
        return with_initialisers(self.sheet.runs_of(list(self.wf.tables) if tables is None else tables))

    def evaluated_runs(self, tables: list[str] | None = None) -> list[RunKey]:
        return self.sheet.runs_of(list(self.wf.tables) if tables is None else tables)

    def evaluation_files(self, tables: list[str] | None = None) -> list[str]:
        """One index per (run, test dataset) that ``tables`` (None: ``workflow.tables``) read."""
        tables = list(self.wf.tables) if tables is None else tables
        pairs = {
            (k.run.to_path(), testset_of(k)): None for t in tables for c in self.sheet.cells.get(t, []) for k in c.keys
        }
        return [self.evaluation(run, testset) for run, testset in sorted(pairs)]

    @property
    def figures(self) -> list[str]:
        """``workflow.figures`` this profile can draw (they need UMCL among ``workflow.detectors``)."""
        return [f for f in self.wf.figures if f in figure_specs(self.wf)]

    def figure_files(self, figure: str) -> list[str]:
        """A figure's picture, PDF, data (npz, or csv for Figure 9) and numbers (json, md)."""
        data = "csv" if figure == "figure9" else "npz"
        return [f"{self.report_prefix(figure)}.{ext}" for ext in ("png", "pdf", data, "json", "md")]

    @property
    def complexity_files(self) -> list[str]:
        """Table 9's measurement (``benchmarks/complexity.py``): its Markdown, JSON, HTML page and LaTeX."""
        return [f"{self.report_prefix('table9')}.{ext}" for ext in ("md", "json", "html", "tex")]

    def study_files(self, study: str) -> list[str]:
        """A study's report files (umcl.protocols.studies: paper_vs_released .tex/.md/.json/.html,
        leakage .md/.json/.html)."""
        exts = REPORT_FORMATS if study == "paper_vs_released" else ("md", "json", "html")
        return [f"{self.report_prefix(study)}.{ext}" for ext in exts]

    @property
    def pulse_files(self) -> list[str]:
        """reports/pulse (umcl.pulse_study): Markdown, JSON and figure."""
        return [f"{self.report_prefix('pulse')}.{ext}" for ext in ("md", "json", "png")]

    @property
    def pulse_work(self) -> str:
        """The pulse study's own SynthFF set."""
        return f"{self.results}/data/pulse_study"

    def audit_evaluation(self, run: RunKey | str, testset: str, scoring: str) -> str:
        """The index of a run's cells scored with the checkpoint its leakage audit's ``scoring`` selects
        (``selection_<scoring>.json``, umcl.training.scoring)."""
        path = run.to_path() if isinstance(run, RunKey) else run
        return f"{self.results}/eval_audit/{scoring}/{path}/{testset}/evaluation.json"

    def all_report_files(self) -> list[str]:
        return (
            [f for s in self.wf.studies for f in self.study_files(s)]
            + [f for t in self.wf.tables for f in self.report_files(t)]
            + [f for fig in self.figures for f in self.figure_files(fig)]
            + [self.index, f"{self.claims}.md", f"{self.claims}.html"]
            + self.complexity_files
            + (self.pulse_files if self.wf.pulse_study.enabled else [])
        )


def load_profile(profile: str, check: bool = True) -> tuple[dict, Layout]:
    """Load ``profile`` (schema-validated), optionally build every section, return (config, layout).

    ``check=False`` skips the per-section dataclass checks (they import every step, torch
    included); the Snakefile relies on its training jobs for those (``umcl train --config-out``
    checks every section as ``umcl validate-config`` does).
    """
    cfg = load_config(profile_file(profile))
    if check:
        check_sections(cfg)
    wf = section(cfg, "workflow", WorkflowConfig)
    return cfg, Layout(profile_name(profile), wf)


def resolved_text(cfg: dict, source: str | Path) -> str:
    """The merged config as written to ``results/<profile>/config.resolved.yaml``."""
    header = f"{RESOLVED_HEADER}{source} (config hash {config_hash(cfg)}); generated, do not edit.\n"
    return header + yaml.safe_dump(cfg, sort_keys=False)


def check_resolved(cfg: dict, source: str | Path, out: str | Path) -> bool:
    """Whether ``out`` lacks or differs from the merged config; range-check every section then.

    Called by the Snakefile while it is parsed (a bad value stops even ``snakemake -n`` before any job),
    writing nothing: a dry run must leave results/ alone. The range checks import torch (slow:
    docs/deviations/workflow.md), so they run only when the content changed."""
    out = Path(out)
    if out.is_file() and out.read_text() == resolved_text(cfg, source):
        return False
    check_sections(cfg)
    return True


def write_resolved(cfg: dict, source: str | Path, out: str | Path, check: bool = True) -> bool:
    """Write the merged config to ``out``, only when it changed (after the range checks unless ``check``
    is False: :func:`check_resolved` ran them). Returns whether the file was (re)written.

    The Snakefile calls it in its ``onstart`` handler, which Snakemake runs only when jobs are about to
    run (never in a dry run), and the rule ``resolve_config`` when the file is missing. Not a rule that
    re-runs on a config edit: every step reads this file through ``ancient()`` and re-runs on a hash of
    just the sections it reads (``params``), and a rule that re-creates a file others read through
    ``ancient()`` makes Snakemake 9 schedule that rule alone (snakemake/snakemake#4166): after a config
    edit only the config would be rewritten. Keeping the file's mtime unless its content changes avoids
    that; the rule runs only when the file is missing, when every step after it runs anyway.
    """
    out = Path(out)
    text = resolved_text(cfg, source)
    if out.is_file() and out.read_text() == text:
        return False
    if check:
        check_sections(cfg)
    write_text(out, text)
    return True


def one_of(values) -> str:
    """A Snakemake wildcard constraint matching exactly these strings (longest first)."""
    return "|".join(re.escape(v) for v in sorted(set(values), key=len, reverse=True))


def section_hash(cfg: dict, *names: str) -> str:
    """Hash of the named sections only: a rule re-runs when the settings it reads change."""
    return config_hash({n: cfg.get(n) for n in names})


def run_settings_hash(cfg: dict, run: RunKey) -> str:
    """Hash of what one run's training reads (the train rule's params: the run re-trains when, and only
    when, it changes): its detector's *resolved* training settings (umcl.training.config.training_for:
    source recipe < shared ``training`` < ``training.per_detector.<its detector>``, so another detector's
    ``per_detector`` entry never touches it), its detector section, its variant's overlay, and the
    ``pretrain`` section for detectors that start from the pre-trained P-encoder."""
    training = {k: v for k, v in dataclasses.asdict(training_for(cfg, run.detector)).items() if k not in GUARDS}
    parts = {
        "training": training,
        "detector": (cfg.get("detectors") or {}).get(run.detector),
        "variant": get_variant(run.variant).settings() if run.variant else {},
    }
    if run.detector in USES_PRETRAINED:
        parts["pretrain"] = cfg.get("pretrain")
    return config_hash(parts)


def main(argv: list[str] | None = None) -> int:
    """Print the job sheet of a profile as TSV (``--profile NAME``, default ``default``)."""
    ap = argparse.ArgumentParser(prog="python -m umcl.workflow", description=main.__doc__)
    ap.add_argument("--profile", default="default")
    args = ap.parse_args(argv)
    _, layout = load_profile(args.profile, check=False)
    sheet = build_sheet(layout.wf)
    cols = ["table", "panel", "row", "column", "run", "test"]
    print("\t".join(cols))
    for r in sheet.rows():
        print("\t".join(str(r[c]) for c in cols))
    for table, why in sheet.missing.items():
        print(f"# {table}: not built on this profile: {why}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
