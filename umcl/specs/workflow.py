"""The pipeline's settings (config section ``workflow``): what a profile builds, declared without torch.

:class:`umcl.workflow.Layout` turns these settings into file paths; the job sheet
(umcl.protocols.sheet) turns them into runs and evaluations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from umcl.specs.errors import ConfigError
from umcl.specs.released import ReleasedSwitch
from umcl.specs.seeds import check_seed
from umcl.specs.tables import DEFAULT_TABLES, TableName
from umcl.specs.vocab import COMPRESSIONS, Compression, DetectorName

MAIN, PRETRAIN_DATA = "data", "pretrain_data"  # data parts (see Layout.parts)
#: the paper's figures this suite draws (umcl.report.figures; their runs: umcl.protocols.figures)
FigureName = Literal["figure6", "figure8", "figure9"]
#: reports beyond the paper's tables (their protocols: umcl.protocols.studies)
StudyName = Literal["paper_vs_released", "leakage"]
#: runs the claims check adds beyond the tables (umcl.protocols.claims); a key of ``table_seeds``
ClaimsRuns = Literal["claims"]


@dataclass
class PulseStudyConfig:
    """``workflow.pulse_study``: reports[/P]/pulse.{md,json,png} (umcl.pulse_study)."""

    #: built by ``rule all`` / ``make reproduce`` (it stays a target of its own either way)
    enabled: bool = True
    #: identities of the study's own SynthFF set (even; originals = this, fakes = this per method)
    n_identities: int = 4
    #: frames per video (>= one 160-frame window at 30 fps: 134 at 25 fps)
    n_frames: int = 160
    #: frame size of the study's set (None = the variant's; SynthFF's ``ff`` default is 256)
    resolution: int | None = 128
    #: open-rppg weight sets compared (umcl.models.open_rppg)
    weights: list[str] = field(default_factory=lambda: ["pure", "rlap"])
    #: compression levels at which the fakes are read (the originals: raw, c23, c40)
    fake_levels: list[str] = field(default_factory=lambda: ["raw"])

    def __post_init__(self) -> None:
        if self.n_identities < 2 or self.n_identities % 2:
            raise ConfigError(
                f"workflow.pulse_study.n_identities must be an even number >= 2, got {self.n_identities}",
                fix="set it to an even number (pairs make the fakes)",
            )
        if self.n_frames < 134:
            raise ConfigError(
                f"workflow.pulse_study.n_frames must be >= 134, got {self.n_frames}",
                fix="raise it: one 160-frame window at 30 fps needs 134 frames at 25 fps",
            )
        bad = [w for w in self.weights if w not in ("pure", "rlap")]
        if bad:
            raise ConfigError(f"workflow.pulse_study.weights has {bad[0]!r}", fix="use pure and/or rlap")
        bad = [lv for lv in self.fake_levels if lv not in ("raw", "c23", "c40")]
        if bad:
            raise ConfigError(f"workflow.pulse_study.fake_levels has {bad[0]!r}", fix="use raw, c23, c40")


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
    table_seeds: dict[TableName | StudyName | ClaimsRuns, list[int]] = field(default_factory=dict)
    #: tables built by `rule all` / `make reproduce` (every table is still a target of its own)
    tables: list[TableName] = field(default_factory=lambda: list(DEFAULT_TABLES))
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
        default_factory=lambda: ["Deepfakes"]
    )
    #: reports/paper_vs_released's ablation: ``umcl-released`` retrained with each of these switches back at the
    #: paper's value (FF++ c23; [] = not trained, the report lists the declared switches as missing). The
    #: test-time switch (scoring mode) is evaluated on the ``umcl-released`` run itself on every profile.
    released_ablation: list[ReleasedSwitch] = field(default_factory=list)
    #: reports/leakage: also train CPML with its published label-fed classifier (one run, FF++ c23)
    leakage_cpml: bool = True
    #: Table U: how many of the raw test videos are re-encoded at the platform levels (a seeded subset with
    #: half real and half fake videos, umcl.data.videos.select_rows; None: every raw test video)
    platform_max_videos: int | None = None
    #: reports/pulse (umcl.pulse_study): SynthFF's pulse read zero-shot by open-rppg's PhysFormers and
    #: POS/CHROM/GREEN on a SynthFF set of its own; ``enabled``: built by `rule all` / `make reproduce`
    pulse_study: PulseStudyConfig = field(default_factory=PulseStudyConfig)
    #: ff++ profiles: roots of the cross-dataset tables' datasets (None: those tables show paper rows only);
    #: synthff profiles generate SynthFF look-alikes instead (umcl/data/synthff/variants.py)
    celebdf_root: str | None = None
    dfd_root: str | None = None
    dfdc_root: str | None = None
    resources: StageResources = field(default_factory=StageResources)

    def __post_init__(self) -> None:
        if self.dataset != "synthff" and not self.root:
            raise ConfigError(
                f"workflow.root is required for dataset '{self.dataset}'",
                fix="set workflow.root to the dataset folder (FF++ layout)",
            )
        for name in ("compressions", "train_compressions", "test_compressions", "detectors", "seeds", "tables"):
            values = getattr(self, name)
            if not values or len(set(values)) != len(values):
                raise ConfigError(f"workflow.{name} must be a non-empty list without repeats, got {values}")
        for table, seeds in self.table_seeds.items():
            known = get_args(TableName) + get_args(StudyName) + get_args(ClaimsRuns)
            if table not in known:
                raise ConfigError(
                    f"workflow.table_seeds names unknown table {table!r}", fix=f"use one of {list(known)}"
                )
            if not seeds or len(set(seeds)) != len(seeds):
                raise ConfigError(f"workflow.table_seeds.{table} must be a non-empty list without repeats, got {seeds}")
        for table, seeds in {
            "seeds": self.seeds,
            **{f"table_seeds.{t}": v for t, v in self.table_seeds.items()},
        }.items():
            for seed in seeds:
                check_seed(seed, f"workflow.{table}")
        if self.platform_max_videos is not None and self.platform_max_videos < 2:
            raise ConfigError(
                "workflow.platform_max_videos must be >= 2 (one real and one fake video), "
                f"got {self.platform_max_videos}",
                fix="raise it, or leave it out to re-encode every raw test video",
            )
        missing = sorted(set(self.train_compressions + self.test_compressions) - set(self.compressions))
        if missing:
            raise ConfigError(f"workflow train/test compressions {missing} are not in workflow.compressions")

    def seeds_of(self, table: str) -> list[int]:
        """The seeds ``table`` is run with (``table_seeds`` for it, else ``seeds``)."""
        return list(self.table_seeds.get(table, self.seeds))  # type: ignore[call-overload]
