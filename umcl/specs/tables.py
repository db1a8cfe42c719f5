"""The registry of result tables: one :class:`TableSpec` per table, the list every other list derives from.

The config vocabulary (``workflow.tables``: :data:`TableName`, and so config/schema.json), the default
table list, the reports' paper-values files and the tests' table lists are read from :data:`TABLE_SPECS`;
each table's cells are its protocol (umcl.protocols.tables.PROTOCOLS, keyed by the same names and
checked against this registry when it is built).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from umcl.specs.paper_tables import PAPER_VALUES_DIR


@dataclass(frozen=True)
class TableSpec:
    """One result table: its report name, the paper's table it reproduces, and whether it is built by default."""

    name: str
    #: number of the paper's table whose printed values are transcribed (paper_values/table{N}.yaml);
    #: None for a table beyond the paper (its report has our rows only)
    paper: int | None
    #: built by `rule all` / `make reproduce` unless the profile's ``workflow.tables`` says otherwise
    default: bool = True

    @property
    def paper_values(self) -> Path | None:
        """The transcribed paper-values file (None beyond the paper)."""
        return None if self.paper is None else PAPER_VALUES_DIR / f"table{self.paper}.yaml"


#: every table the pipeline renders, in report order
TABLE_SPECS: dict[str, TableSpec] = {
    s.name: s
    for s in (
        TableSpec("table3", 3),
        TableSpec("table4", 4),
        TableSpec("table5", 5),
        TableSpec("table6", 6),
        TableSpec("table7", 7),
        TableSpec("table8", 8),
        TableSpec("table10", 10),
        TableSpec("table11", 11),
    )
}
#: the tables as a config vocabulary (``workflow.tables``, ``workflow.table_seeds``)
TableName = Literal[tuple(TABLE_SPECS)]  # type: ignore[valid-type]
#: ``workflow.tables``' default
DEFAULT_TABLES: tuple[str, ...] = tuple(name for name, spec in TABLE_SPECS.items() if spec.default)
