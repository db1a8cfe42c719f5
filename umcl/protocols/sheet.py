"""The job sheet: every table's protocol expanded, for one profile, into explicit validated jobs.

``build_sheet(wf)`` turns the declared protocols (umcl.protocols.tables) into

* ``runs``: every training run (RunKey), each once however many tables use it (a run is its
  key: Table 6's DF-trained UMCL is Table 10's model D; Table 11's "Views" is Table 3's UMCL c23),
  plus the LRNet runs that initialise UMCL's and CPML's L-encoders;
* ``evaluations``: per run, every evaluation cell (EvalKey) any table needs; one ``umcl evaluate``
  process scores a run on all of them;
* ``cells``: per table, each declared cell with its EvalKeys (one per seed);
* ``missing``: tables whose protocol needs a dataset this profile does not have, with the reason
  (those tables render the paper's rows only).

The Snakefile expands over this sheet (wildcard constraints and targets come from it), the DVC
generator writes its stages from it, and ``python -m umcl.protocols.sheet --profile P`` prints it
as a TSV. The profile's ``workflow`` section chooses seeds and detectors for every table, and the
train/test compressions of Table 3's grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from umcl.errors import UmclError
from umcl.protocols.claims import CLAIM_PROTOCOLS
from umcl.protocols.keys import EvalKey, RunKey, Selection
from umcl.protocols.spec import NATIVE, CellDecl, Protocol
from umcl.protocols.studies import study_protocols
from umcl.protocols.tables import PROTOCOLS
from umcl.protocols.variants import get_variant
from umcl.specs.platforms import PLATFORM_LEVELS, SOURCE_COMPRESSIONS
from umcl.specs.workflow import MAIN


@dataclass(frozen=True)
class DataSource:
    """Where the videos of one dataset role come from on this profile.

    ``part``: the data folder under results/<profile>/ (``data`` for FF++); ``dataset``: the adapter
    (``synthff`` for SynthFF and its look-alikes); ``variant``: SynthFF look (umcl/data/synthff/variants.py);
    ``root``: the user's folder for a real dataset; ``native``: the compression a NATIVE test uses.
    """

    role: str
    part: str
    dataset: str
    native: str
    variant: str | None = None
    root: str | None = None


@dataclass
class TableCell:
    """A declared cell and its evaluations (one per seed)."""

    decl: CellDecl
    keys: list[EvalKey]


@dataclass
class JobSheet:
    runs: list[RunKey] = field(default_factory=list)
    evaluations: dict[RunKey, list[EvalKey]] = field(default_factory=dict)
    cells: dict[str, list[TableCell]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    sources: dict[str, DataSource] = field(default_factory=dict)

    def runs_of(self, tables: list[str] | None = None) -> list[RunKey]:
        """Runs whose evaluations ``tables`` read (all tables when None)."""
        if tables is None:
            return [r for r, keys in self.evaluations.items() if keys]
        keys = {k.run for t in tables for c in self.cells.get(t, []) for k in c.keys}
        return [r for r in self.evaluations if r in keys]

    def source_of(self, role: str) -> DataSource:
        return self.sources[role]

    def rows(self) -> list[dict]:
        """The sheet as table rows: one per evaluation cell of every table."""
        out = []
        for table, cells in self.cells.items():
            for c in cells:
                for k in c.keys:
                    out.append(
                        {
                            "table": table,
                            "panel": c.decl.panel or "",
                            "row": "|".join(c.decl.row),
                            "column": "|".join(c.decl.column),
                            "run": k.run.to_path(),
                            "test": k.test_path,
                        }
                    )
        return out


def data_sources(wf) -> dict[str, DataSource]:
    """The dataset roles available on a profile (``workflow`` section, umcl.specs.workflow.WorkflowConfig)."""
    out = {
        "ff++": DataSource(
            "ff++",
            MAIN,
            wf.dataset,
            "c23",
            "ff" if wf.dataset == "synthff" else None,
            None if wf.dataset == "synthff" else wf.root,
        )
    }
    native = {"celebdf": "orig", "dfd": "c23", "dfdc": "orig"}
    for role in ("celebdf", "dfd", "dfdc"):
        if wf.dataset == "synthff":
            # SynthFF look-alikes (raw + c23 only: NATIVE tests use c23; DFDC also trains there)
            out[role] = DataSource(role, role, "synthff", "c23", variant=role)
        elif getattr(wf, f"{role}_root", None):
            out[role] = DataSource(role, role, role, native[role], root=getattr(wf, f"{role}_root"))
    return out


def _resolve(sel: Selection, sources: dict[str, DataSource]) -> Selection:
    return replace(sel, compression=sources[sel.dataset].native) if sel.compression == NATIVE else sel


def _wanted(p: Protocol, cell: CellDecl, wf) -> bool:
    if cell.model.detector not in wf.detectors and not p.own_detectors:
        return False
    if cell.model.variant is not None and get_variant(cell.model.variant).detector != cell.model.detector:
        raise UmclError(f"{p.table}: variant {cell.model.variant} is not a {cell.model.detector} variant")
    if p.follows_profile_compressions:  # a platform level (Table U) is tested wherever it can be made
        tested = cell.test.compression in wf.test_compressions or cell.test.compression in PLATFORM_LEVELS
        return cell.train.compression in wf.train_compressions and tested
    return True


def build_sheet(wf, protocols: dict[str, Protocol] | None = None) -> JobSheet:
    """Expand ``protocols`` (default: every table, the profile's studies, umcl.protocols.studies, and the
    claims check's own runs, umcl.protocols.claims) for the profile ``wf`` (module docstring)."""
    if protocols is None:
        protocols = {**PROTOCOLS, **study_protocols(wf), **CLAIM_PROTOCOLS}
    sheet = JobSheet(sources=data_sources(wf))
    # FF++ levels this profile has: its compressions, and the platform levels (test videos only, made from
    # the raw, c23 and c40 test videos: umcl.specs.platforms) where it has those three
    platforms = set(SOURCE_COMPRESSIONS) <= set(wf.compressions)
    ff_levels = set(wf.compressions) | (set(PLATFORM_LEVELS) if platforms else set())
    runs: dict[RunKey, None] = {}
    evals: dict[RunKey, dict[EvalKey, None]] = {}
    for table, p in protocols.items():
        absent = sorted(p.datasets - set(sheet.sources))
        if absent:
            sheet.missing[table] = (
                f"this profile has no {', '.join(absent)} data (dataset {wf.dataset}; set "
                f"workflow.{absent[0]}_root to the dataset folder)"
            )
            sheet.cells[table] = []
            continue
        cells, t_runs, t_evals = [], {}, {}
        for decl in p.cells:
            if not _wanted(p, decl, wf):
                continue
            train, test = _resolve(decl.train, sheet.sources), _resolve(decl.test, sheet.sources)
            absent = [s.compression for s in (train, test) if s.dataset == "ff++" and s.compression not in ff_levels]
            if absent:
                sheet.missing[table] = (
                    f"this profile has no FF++ videos at {absent[0]} "
                    f"(workflow.compressions: {', '.join(wf.compressions)})"
                )
                break
            keys = []
            for seed in wf.seeds_of(table):
                run = RunKey(decl.model.detector, train, seed, decl.model.variant)
                key = EvalKey(run, test, decl.condition)
                keys.append(key)
                t_runs[run] = None
                t_evals.setdefault(run, {})[key] = None
                if run.initialiser is not None:
                    t_runs[run.initialiser] = None
            cells.append(TableCell(decl, keys))
        if not cells and table not in sheet.missing:  # e.g. Tables 7/8 on a profile that trains no raw model
            sheet.missing[table] = (
                f"this profile trains or tests none of its models (workflow.detectors: "
                f"{', '.join(wf.detectors)}; train_compressions: {', '.join(wf.train_compressions)})"
            )
        if table in sheet.missing:
            sheet.cells[table] = []
            continue
        sheet.cells[table] = cells
        runs.update(t_runs)
        for run, keys in t_evals.items():
            evals.setdefault(run, {}).update(keys)
    sheet.runs = sorted(runs, key=RunKey.to_path)
    sheet.evaluations = {r: sorted(evals.get(r, {}), key=EvalKey.to_path) for r in sheet.runs}
    return sheet
