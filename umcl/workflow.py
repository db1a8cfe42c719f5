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
        celebdf, dfd, dfdc (the cross-dataset tables' data, when the profile has them)
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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from umcl.config import REPO_ROOT, config_hash, load_config, section
from umcl.errors import ConfigError
from umcl.protocols.keys import DATASET_SLUG, RunKey
from umcl.vocab import COMPRESSIONS, USES_PRETRAINED, Compression, DetectorName

DEFAULT_PROFILE = "default"
MAIN, PRETRAIN_DATA = "data", "pretrain_data"  # data parts (see Layout.parts)
#: a report's files; the .html is its Markdown as a page (umcl.report.html) for `snakemake --report`
REPORT_FORMATS = ("tex", "md", "json", "html")
TableName = Literal["table3", "table4", "table5", "table6", "table7", "table8", "table10", "table11"]
#: the paper's figures this suite draws (umcl.report.figures; their runs: umcl.protocols.figures)
FigureName = Literal["figure6", "figure8", "figure9"]
#: reports beyond the paper's tables (issue 12; their protocols: umcl.protocols.studies)
StudyName = Literal["paper_vs_released", "leakage"]
#: switches of ``umcl-released`` (umcl.released.RELEASED_CONFIG) that reports/paper_vs_released can flip back
ReleasedSwitch = Literal["affinity_form", "text_affinity_scale", "alpha", "beta", "ce_views", "contrastive_views",
                         "cqsl_form", "hr_term", "landmark_zero_prob", "lrnet_feature_noise"]


@dataclass
class Resources:
    """Scheduler resources of one rule (Snakemake tokens; the SLURM profile maps them)."""

    threads: int = 1
    mem_mb: int = 2000
    #: GPUs per job (a Snakemake resource token; locally bounded by ``--resources gpu=N``)
    gpu: int = 0
    #: wall-clock minutes (used by the SLURM executor)
    runtime: int = 60

    def __post_init__(self) -> None:
        if self.threads < 1 or self.mem_mb < 1 or self.gpu < 0 or self.runtime < 1:
            raise ConfigError("workflow.resources: threads, mem_mb, runtime must be >= 1 and gpu >= 0")


@dataclass
class StageResources:
    """Resources per rule group."""

    generate: Resources = field(default_factory=lambda: Resources(threads=2, mem_mb=4000))
    compress: Resources = field(default_factory=lambda: Resources(threads=2, mem_mb=2000))
    manifest: Resources = field(default_factory=lambda: Resources(threads=1, mem_mb=1000, runtime=10))
    preprocess: Resources = field(default_factory=lambda: Resources(threads=2, mem_mb=8000))
    pretrain: Resources = field(default_factory=lambda: Resources(threads=2, mem_mb=8000))
    train: Resources = field(default_factory=lambda: Resources(threads=2, mem_mb=8000))
    evaluate: Resources = field(default_factory=lambda: Resources(threads=1, mem_mb=4000))
    report: Resources = field(default_factory=lambda: Resources(threads=1, mem_mb=1000, runtime=10))


@dataclass
class WorkflowConfig:
    """Settings of the pipeline itself (section ``workflow``)."""

    #: ``synthff`` generates the data offline; ``ff++`` reads FaceForensics++ from ``root``
    dataset: Literal["synthff", "ff++"] = "synthff"
    #: dataset root (FF++ layout, see docs/contracts.md); required for ff++, ignored for synthff
    root: str | None = None
    #: manipulation methods to use; None = every method found under the root
    methods: list[str] | None = None
    #: compressions to produce (synthff) or read (ff++); raw must be first for synthff
    compressions: list[Compression] = field(default_factory=lambda: list(COMPRESSIONS))
    #: Table 3's grid: training and test compressions (the other tables declare theirs)
    train_compressions: list[Compression] = field(default_factory=lambda: list(COMPRESSIONS))
    test_compressions: list[Compression] = field(default_factory=lambda: list(COMPRESSIONS))
    #: detectors trained for every table (rows of other detectors stay paper-only)
    detectors: list[DetectorName] = field(default_factory=lambda: ["xception", "lrnet", "cpml", "umcl"])
    seeds: list[int] = field(default_factory=lambda: [0])
    #: seeds of particular tables, overriding ``seeds`` for them (e.g. 3 seeds for Table 3, one for the
    #: tables that add training runs); a run shared with another table is trained once per seed either way
    table_seeds: dict[TableName | StudyName, list[int]] = field(default_factory=dict)
    #: tables built by `rule all` / `make reproduce` (every table is still a target of its own)
    tables: list[TableName] = field(default_factory=lambda: ["table3", "table4", "table5", "table6", "table7",
                                                             "table8", "table10", "table11"])
    #: figures built by `rule all` / `make reproduce` (each is a target of its own; [] = none)
    figures: list[FigureName] = field(default_factory=lambda: ["figure6", "figure8", "figure9"])
    #: Table 9 (benchmarks/complexity.py, built by `rule all`): ``paper`` measures the paper's model sizes,
    #: ``small`` the test sizes (seconds; the smoke profile); the training-step timing is left out either way
    table9_size: Literal["paper", "small"] = "paper"
    #: reports beyond the paper built by `rule all` / `make reproduce` (umcl.protocols.studies; [] = none)
    studies: list[StudyName] = field(default_factory=lambda: ["paper_vs_released", "leakage"])
    #: reports/paper_vs_released: training compressions of Table 3's grid on which ``umcl-released`` is trained
    #: (tested on every ``test_compressions``), and Table 6's training manipulations (tested on all four)
    released_train_compressions: list[Compression] = field(default_factory=lambda: ["c23"])
    released_table6_methods: list[Literal["Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures"]] = field(
        default_factory=lambda: ["Deepfakes"])
    #: reports/paper_vs_released's ablation: ``umcl-released`` retrained with each of these switches back at the
    #: paper's value (FF++ c23; [] = not trained, the report lists the declared switches as missing)
    released_ablation: list[ReleasedSwitch] = field(default_factory=list)
    #: reports/leakage: also train CPML with its published label-fed classifier (one run, FF++ c23)
    leakage_cpml: bool = True
    #: ff++ profiles: roots of the cross-dataset tables' datasets (None: those tables show paper rows only);
    #: synthff profiles generate SynthFF look-alikes instead (umcl/data/synthff/variants.py)
    celebdf_root: str | None = None
    dfd_root: str | None = None
    dfdc_root: str | None = None
    resources: StageResources = field(default_factory=StageResources)

    def __post_init__(self) -> None:
        if self.dataset != "synthff" and not self.root:
            raise ConfigError(f"workflow.root is required for dataset '{self.dataset}'",
                              fix="set workflow.root to the dataset folder (FF++ layout)")
        for name in ("compressions", "train_compressions", "test_compressions", "detectors", "seeds", "tables"):
            values = getattr(self, name)
            if not values or len(set(values)) != len(values):
                raise ConfigError(f"workflow.{name} must be a non-empty list without repeats, got {values}")
        for table, seeds in self.table_seeds.items():
            if table not in get_args(TableName) + get_args(StudyName):
                raise ConfigError(f"workflow.table_seeds names unknown table {table!r}",
                                  fix=f"use one of {list(get_args(TableName) + get_args(StudyName))}")
            if not seeds or len(set(seeds)) != len(seeds):
                raise ConfigError(f"workflow.table_seeds.{table} must be a non-empty list without repeats, got {seeds}")
        missing = sorted(set(self.train_compressions + self.test_compressions) - set(self.compressions))
        if missing:
            raise ConfigError(f"workflow train/test compressions {missing} are not in workflow.compressions")

    def seeds_of(self, table: str) -> list[int]:
        """The seeds ``table`` is run with (``table_seeds`` for it, else ``seeds``)."""
        return list(self.table_seeds.get(table, self.seeds))  # type: ignore[call-overload]


def profile_name(profile: str) -> str:
    """The name used in output paths: a profile name, or a YAML file's stem."""
    return Path(profile).stem if profile.endswith((".yaml", ".yml")) else profile


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


def config_chain(path: str | Path) -> list[Path]:
    """The file and every file it ``extends:`` (in that order; parents relative to their child).

    The one implementation of ``extends:`` (``umcl.config.load_config`` merges along it): a
    missing, binary or malformed file, a non-string ``extends:`` and a circular chain each raise a
    one-line :class:`ConfigError` naming the file.
    """
    from umcl.config import read_config_file

    chain = [Path(path)]
    while True:
        parent = read_config_file(chain[-1]).get("extends")
        if parent is None:
            return chain
        if not isinstance(parent, str) or not parent.strip():
            raise ConfigError(f"`extends:` must name a YAML file, got {parent!r}", chain[-1],
                              "write `extends: <file>.yaml` (relative to this file) or remove it")
        try:
            nxt = (chain[-1].parent / parent).resolve()
        except (OSError, ValueError) as exc:  # a NUL byte, a lone surrogate
            raise ConfigError(f"`extends:` names an unusable path {parent!r} ({type(exc).__name__})", chain[-1],
                              "write `extends: <file>.yaml` (relative to this file) or remove it") from None
        seen = [c.resolve() for c in chain]
        if nxt in seen:
            loop = " -> ".join(c.name for c in chain[seen.index(nxt):]) + f" -> {nxt.name}"
            raise ConfigError(f"circular `extends:` ({loop})", chain[-1], "remove the loop")
        chain.append(nxt)


def set_key(cfg: dict, assignment: str) -> None:
    """Apply ``a.b.c=value`` (value parsed as YAML) to ``cfg`` in place."""
    import yaml

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
        node[last] = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set '{key}': value is not valid YAML ({str(exc).splitlines()[0]})",
                          fix="write --set section.key=value with a YAML value, e.g. a.b=3 or a.b=[0, 1]") from None


def check_sections(cfg: dict) -> None:
    """Build every section's dataclass so that range checks fail before anything runs."""
    from umcl.config_schema import section_classes  # local: imports the step modules

    for name, cls in section_classes().items():
        if name == "detectors":
            for det, det_cls in cls.items():
                section(cfg.get("detectors") or {}, det, det_cls)
        else:
            section(cfg, name, cls)


@dataclass(frozen=True)
class Layout:
    """Paths of every pipeline output for one profile (relative to the repository root)."""

    profile: str
    wf: WorkflowConfig

    @property
    def sheet(self):
        """The job sheet of this profile (umcl.protocols.sheet.JobSheet), built once."""
        from umcl.protocols.sheet import build_sheet

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
        return main + [s.part for s in self.sheet.sources.values() if s.part != MAIN]

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
        importing transformers and loading MiniLM (about 15 s of each train and evaluate job)."""
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

    def runs(self, tables: list[str] | None = None) -> list[RunKey]:
        """Training runs the profile's tables need (``tables`` None: ``workflow.tables``), LRNet
        initialisers included."""
        wanted = self.sheet.runs_of(list(self.wf.tables) if tables is None else tables)
        deps = [RunKey("lrnet", r.train, r.seed) for r in wanted if r.detector in USES_PRETRAINED]
        return sorted(dict.fromkeys(wanted + deps), key=RunKey.to_path)

    def evaluated_runs(self, tables: list[str] | None = None) -> list[RunKey]:
        return self.sheet.runs_of(list(self.wf.tables) if tables is None else tables)

    def evaluation_files(self, tables: list[str] | None = None) -> list[str]:
        """One index per (run, test dataset) that ``tables`` (None: ``workflow.tables``) read."""
        tables = list(self.wf.tables) if tables is None else tables
        pairs = {(k.run.to_path(), DATASET_SLUG[k.test.dataset]): None
                 for t in tables for c in self.sheet.cells.get(t, []) for k in c.keys}
        return [self.evaluation(run, testset) for run, testset in sorted(pairs)]

    @property
    def figures(self) -> list[str]:
        """``workflow.figures`` this profile can draw (they need UMCL among ``workflow.detectors``)."""
        from umcl.protocols.figures import figure_specs

        return [f for f in self.wf.figures if f in figure_specs(self.wf)]

    def figure_files(self, figure: str) -> list[str]:
        """A figure's picture, PDF, data (npz, or csv for Figure 9) and numbers (json, md)."""
        data = "csv" if figure == "figure9" else "npz"
        return [f"{self.report_prefix(figure)}.{ext}" for ext in ("png", "pdf", data, "json", "md")]

    @property
    def complexity_files(self) -> list[str]:
        """Table 9's measurement (``benchmarks/complexity.py``): its Markdown, JSON and HTML page."""
        return [f"{self.report_prefix('table9')}.{ext}" for ext in ("md", "json", "html")]

    def study_files(self, study: str) -> list[str]:
        """A study's report files (umcl.protocols.studies: paper_vs_released .tex/.md/.json/.html, leakage .md/.json/.html)."""
        exts = REPORT_FORMATS if study == "paper_vs_released" else ("md", "json", "html")
        return [f"{self.report_prefix(study)}.{ext}" for ext in exts]

    def audit_evaluation(self, run: RunKey | str, testset: str) -> str:
        """The index of a run's cells scored with its leakage-audit checkpoint (``selection_audit.json``)."""
        path = run.to_path() if isinstance(run, RunKey) else run
        return f"{self.results}/eval_audit/{path}/{testset}/evaluation.json"

    def all_report_files(self) -> list[str]:
        return ([f for s in self.wf.studies for f in self.study_files(s)]
                + [f for t in self.wf.tables for f in self.report_files(t)]
                + [f for fig in self.figures for f in self.figure_files(fig)] + [self.index, f"{self.claims}.md", f"{self.claims}.html"]
                + self.complexity_files)


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
    import yaml

    header = f"# Resolved from {source} (config hash {config_hash(cfg)}); generated, do not edit.\n"
    return header + yaml.safe_dump(cfg, sort_keys=False)


def write_resolved(cfg: dict, source: str | Path, out: str | Path) -> bool:
    """Range-check every section and write the merged config to ``out``, only when it changed.

    Called by the Snakefile while it is parsed, not by a rule: every step reads this file through
    ``ancient()`` and re-runs on a hash of just the sections it reads (``params``), and a rule that
    re-creates a file others read through ``ancient()`` makes Snakemake 9 schedule that rule alone
    (snakemake/snakemake#4166): after a config edit only the config would be rewritten. Writing it
    here keeps its mtime unless its content changes, and the range checks (which import torch,
    10-20 s) run only then. Returns whether the file was (re)written.
    """
    from umcl.io_utils import write_text

    out = Path(out)
    text = resolved_text(cfg, source)
    if out.is_file() and out.read_text() == text:
        return False
    check_sections(cfg)
    write_text(out, text)
    return True


def one_of(values) -> str:
    """A Snakemake wildcard constraint matching exactly these strings (longest first)."""
    import re

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
    import dataclasses

    from umcl.protocols.variants import get_variant  # local: variants are a protocol-layer registry
    from umcl.training.config import training_for
    from umcl.vocab import USES_PRETRAINED

    parts = {"training": dataclasses.asdict(training_for(cfg, run.detector)),
             "detector": (cfg.get("detectors") or {}).get(run.detector),
             "variant": get_variant(run.variant).settings() if run.variant else {}}
    if run.detector in USES_PRETRAINED:
        parts["pretrain"] = cfg.get("pretrain")
    return config_hash(parts)
