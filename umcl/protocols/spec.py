"""A protocol: the training runs and evaluation cells of one table, declared as data.

A :class:`Protocol` lists :class:`CellDecl` entries, each one table cell: its panel, row key and
column key in the table's paper-values file (umcl/specs/paper_values/tableN.yaml, read by
umcl.specs.paper_tables; the metric level, where a table has one, is added by the renderer), the
model that fills it (detector + optional training variant), the training selection and the test
selection with a test-time condition. Seeds and which detectors a profile trains come from the profile
(``workflow`` section) when the protocol is expanded into the job sheet (umcl.protocols.sheet).

``NATIVE`` as a compression means "the dataset's own test compression on this profile" (Celeb-DF
and DFDC ship one version, ``orig``; SynthFF's look-alikes are tested at c23).
"""

from __future__ import annotations

from dataclasses import dataclass

from umcl.errors import UmclError
from umcl.protocols.keys import CLEAN, Selection

#: placeholder compression resolved per profile (see the module docstring)
NATIVE = "native"


@dataclass(frozen=True)
class Model:
    """What is trained: a registered detector, optionally with a training variant."""

    detector: str
    variant: str | None = None


@dataclass(frozen=True)
class CellDecl:
    """One table cell (paper panel, row key, column key) and the seed-free evaluation that fills it."""

    row: tuple[str, ...]
    column: tuple[str, ...]
    model: Model
    train: Selection
    test: Selection
    condition: str = CLEAN
    panel: str | None = None


@dataclass(frozen=True)
class ExtraRow:
    """A row of ours the paper does not print ("beyond the paper", e.g. Table 7's Xception and LRNet
    rows, Table 8's label-free rows): its key (as a CellDecl's ``row``), label and panel.
    ``not_applicable``: why the row's test-time condition does not apply to its model (printed n/a)."""

    row: tuple[str, ...]
    label: str
    panel: str | None = None
    not_applicable: str | None = None


#: row key -> reference row key (both rows of ours; see Protocol.delta_rows / gain_rows)
RowPairs = tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]


@dataclass(frozen=True)
class Protocol:
    """The jobs behind one table. ``metrics``: which statistics each cell reports (auc, acc)."""

    table: str
    title: str
    cells: tuple[CellDecl, ...]
    metrics: tuple[str, ...] = ("auc",)
    #: limits set by the profile's ``workflow`` section: does this protocol follow its
    #: train/test compression lists (Table 3's grid), or always use the declared compressions
    follows_profile_compressions: bool = False
    #: last column-key level of a column holding each row's mean over the columns that share the
    #: rest of its key (Tables 6, 10, 11: "Avg"/"Avg.")
    average_column: str | None = None
    #: our rows also show each cell's change against the row's in-compression cell (Table 3)
    diagonal_deltas: bool = False
    #: rows of ours after the paper's (ExtraRow); each follows the last row sharing its first key level
    extra_rows: tuple[ExtraRow, ...] = ()
    #: our row shows, in parentheses, each cell's change against the reference row's cell (same column)
    delta_rows: RowPairs = ()
    #: a column whose ``metric`` level is ``gain`` holds our row's first metric minus the reference row's
    gain_rows: RowPairs = ()
    #: printed under the table (what its rows and parentheses mean)
    notes: tuple[str, ...] = ()
    #: leading row-key levels printed before each row's label (Tables 7, 8: the method)
    row_label_levels: int = 0
    #: the protocol chose its models itself (the studies of umcl.protocols.studies, e.g. ``umcl-released``):
    #: the profile's ``workflow.detectors`` does not filter its cells
    own_detectors: bool = False
    #: a table beyond the paper (no paper-values file): its printed columns, (column key, label) in order;
    #: its rows are its ``extra_rows``
    columns: tuple[tuple[tuple[str, ...], str], ...] = ()

    def __post_init__(self) -> None:
        seen = set()
        for c in self.cells:
            if (c.panel, c.row, c.column) in seen:
                raise UmclError(f"{self.table}: cell ({c.panel}, {c.row}, {c.column}) declared twice")
            seen.add((c.panel, c.row, c.column))
        rows = {r for _, r in self.rows}
        for a, b in self.delta_rows + self.gain_rows:
            if a not in rows or b not in rows:
                raise UmclError(f"{self.table}: delta/gain rows {a} -> {b} name a row without cells")

    @property
    def datasets(self) -> set[str]:
        """Every dataset role the protocol trains or tests on."""
        return {c.train.dataset for c in self.cells} | {c.test.dataset for c in self.cells}

    @property
    def rows(self) -> list[tuple[str | None, tuple[str, ...]]]:
        """(panel, row key) in declaration order."""
        return list(dict.fromkeys((c.panel, c.row) for c in self.cells))
