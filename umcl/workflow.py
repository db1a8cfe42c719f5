"""The pipeline's settings (config section ``workflow``) and its file layout.

One place that knows where every output of the pipeline lives. The Snakefile, the DVC
generator (``umcl/workflow_dvc.py``) and the report read paths from here, so the three can
not drift apart. Layout for profile ``P``::

    results/P/config.resolved.yaml                 merged + validated config every step reads
    results/P/data/synthff/                        SynthFF root (FF++ layout; absent for ff++)
    results/P/data/manifest.csv                    one row per video
    results/P/data/preprocessed.csv, cache/        preprocessed manifest and per-video caches
    results/P/pretrain_data/...                    same, SynthFF for pre-training (ff++ profiles only)
    results/P/pretrain/encoders.pt                 pre-trained P-encoder
    results/P/runs/<detector>/<train>/seed<S>/     checkpoints/, selection.json
    results/P/eval/<detector>/<train>/seed<S>/<test>/  scores.csv, metrics.json
    results/P/logs/<rule>/...log                   one log per job
    reports/table3.{tex,md,json}                   profile ``default``
    reports/P/table3.{tex,md,json}                 any other profile
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from umcl.config import REPO_ROOT, config_hash, load_config, section
from umcl.errors import ConfigError

Compression = Literal["raw", "c23", "c40"]
DetectorName = Literal["xception", "lrnet", "cpml", "umcl"]
DEFAULT_PROFILE = "default"
MAIN, PRETRAIN_DATA = "data", "pretrain_data"  # data parts (see Layout.parts)
REPORT_FORMATS = ("tex", "md", "json")


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
    compressions: list[Compression] = field(default_factory=lambda: ["raw", "c23", "c40"])
    train_compressions: list[Compression] = field(default_factory=lambda: ["raw", "c23", "c40"])
    test_compressions: list[Compression] = field(default_factory=lambda: ["raw", "c23", "c40"])
    detectors: list[DetectorName] = field(default_factory=lambda: ["xception", "lrnet", "cpml", "umcl"])
    seeds: list[int] = field(default_factory=lambda: [0])
    resources: StageResources = field(default_factory=StageResources)

    def __post_init__(self) -> None:
        if self.dataset != "synthff" and not self.root:
            raise ConfigError(f"workflow.root is required for dataset '{self.dataset}'",
                              fix="set workflow.root to the dataset folder (FF++ layout)")
        for name in ("compressions", "train_compressions", "test_compressions", "detectors", "seeds"):
            values = getattr(self, name)
            if not values or len(set(values)) != len(values):
                raise ConfigError(f"workflow.{name} must be a non-empty list without repeats, got {values}")
        missing = sorted(set(self.train_compressions + self.test_compressions) - set(self.compressions))
        if missing:
            raise ConfigError(f"workflow train/test compressions {missing} are not in workflow.compressions")


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
    """The file and every file it ``extends:`` (in that order)."""
    import yaml

    chain = [Path(path)]
    while True:
        data = yaml.safe_load(chain[-1].read_text()) or {}
        parent = data.get("extends") if isinstance(data, dict) else None
        if parent is None:
            return chain
        nxt = (chain[-1].parent / parent).resolve()
        if nxt in [c.resolve() for c in chain]:
            raise ConfigError("circular `extends:`", chain[-1], "remove the loop")
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
    node[last] = yaml.safe_load(raw)


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
        """Data parts: the main dataset, plus SynthFF for P-encoder pre-training when main is not SynthFF."""
        return [MAIN] if self.wf.dataset == "synthff" else [MAIN, PRETRAIN_DATA]

    @property
    def pretrain_part(self) -> str:
        return MAIN if self.wf.dataset == "synthff" else PRETRAIN_DATA

    def dataset_of(self, part: str) -> str:
        return self.wf.dataset if part == MAIN else "synthff"

    def data_dir(self, part: str) -> str:
        return f"{self.results}/{part}"

    def root_of(self, part: str) -> str:
        """Dataset root: generated SynthFF under results/, or the user's FF++ folder."""
        return f"{self.data_dir(part)}/synthff" if self.dataset_of(part) == "synthff" else str(self.wf.root)

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

    def run_dir(self, detector: str, train: str, seed: int | str) -> str:
        return f"{self.results}/runs/{detector}/{train}/seed{seed}"

    def selection(self, detector: str, train: str, seed: int | str) -> str:
        return f"{self.run_dir(detector, train, seed)}/selection.json"

    def best_checkpoint(self, detector: str, train: str, seed: int | str) -> str:
        return f"{self.run_dir(detector, train, seed)}/checkpoints/best.pt"

    def job_config(self, detector: str, train: str, seed: int | str) -> str:
        """Resolved config plus this job's overrides (pre-trained encoder paths)."""
        return f"{self.results}/configs/{detector}/{train}/seed{seed}.yaml"

    def eval_dir(self, detector: str, train: str, seed: int | str, test: str) -> str:
        return f"{self.results}/eval/{detector}/{train}/seed{seed}/{test}"

    def metrics(self, detector: str, train: str, seed: int | str, test: str) -> str:
        return f"{self.eval_dir(detector, train, seed, test)}/metrics.json"

    def scores(self, detector: str, train: str, seed: int | str, test: str) -> str:
        return f"{self.eval_dir(detector, train, seed, test)}/scores.csv"

    def log(self, rule: str, *parts: object) -> str:
        return f"{self.results}/logs/{rule}/" + ("/".join(str(p) for p in parts) or "main") + ".log"

    @property
    def report_prefix(self) -> str:
        return "reports/table3" if self.profile == DEFAULT_PROFILE else f"reports/{self.profile}/table3"

    def runs(self) -> list[tuple[str, str, int]]:
        """Every training job: (detector, training compression, seed)."""
        return [(d, t, s) for d in self.wf.detectors for t in self.wf.train_compressions for s in self.wf.seeds]

    def evaluations(self) -> list[tuple[str, str, int, str]]:
        """Every evaluation job: (detector, training compression, seed, test compression)."""
        return [(d, t, s, e) for d, t, s in self.runs() for e in self.wf.test_compressions]

    def metrics_files(self) -> list[str]:
        return [self.metrics(*job) for job in self.evaluations()]

    def report_files(self) -> list[str]:
        return [f"{self.report_prefix}.{ext}" for ext in REPORT_FORMATS]


def load_profile(profile: str, check: bool = True) -> tuple[dict, Layout]:
    """Load ``profile`` (schema-validated), optionally build every section, return (config, layout).

    ``check=False`` skips the per-section dataclass checks (they import every step, torch
    included); the Snakefile relies on its first job, ``umcl validate-config``, for those.
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


def section_hash(cfg: dict, *names: str) -> str:
    """Hash of the named sections only: a rule re-runs when the settings it reads change."""
    return config_hash({n: cfg.get(n) for n in names})
