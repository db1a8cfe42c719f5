"""A protocol: the training runs and evaluation cells of one table, declared as data.

A :class:`Protocol` lists :class:`CellDecl` entries, each one table cell: its panel, row key and
column key in the table's paper-values file (umcl/report/paper_values/tableN.yaml, read by
umcl.report.paper_tables; the metric level, where a table has one, is added by the renderer), the
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

    def __post_init__(self) -> None:
        seen = set()
        for c in self.cells:
            if (c.panel, c.row, c.column) in seen:
                raise UmclError(f"{self.table}: cell ({c.panel}, {c.row}, {c.column}) declared twice")
            seen.add((c.panel, c.row, c.column))

    @property
    def datasets(self) -> set[str]:
        """Every dataset role the protocol trains or tests on."""
        return {c.train.dataset for c in self.cells} | {c.test.dataset for c in self.cells}

    @property
    def rows(self) -> list[tuple[str | None, tuple[str, ...]]]:
        """(panel, row key) in declaration order."""
        return list(dict.fromkeys((c.panel, c.row) for c in self.cells))
