"""The registry of result tables: one :class:`TableSpec` per table, the list every other list derives from.

From :data:`TABLE_SPECS` come the config vocabulary (``workflow.tables``: :data:`TableName`, and so
config/schema.json), the default table list (:data:`DEFAULT_TABLES`, and so ``rule all`` and dvc.yaml),
the report targets and Snakemake's ``table`` wildcard, the paper-values files the reports and claims read
(:attr:`TableSpec.paper_values`) and the tests' table lists. Each table's cells and rendering options are
its protocol (umcl.protocols.tables.PROTOCOLS: one per spec here, same name, same order, checked when it is
built); the claims address its cells as (table, row, column) through that protocol
(umcl.report.claims.address). :data:`PAPER_TABLES` adds Table 9, which is measured by
benchmarks/complexity.py instead of a protocol. How to add a table: docs/pipeline.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

#: the transcribed paper tables: ``table{N}.yaml`` (read by umcl.specs.paper_tables)
PAPER_VALUES_DIR = Path(__file__).with_name("paper_values")


@dataclass(frozen=True)
class TableSpec:
    """One result table: its report name, the paper's table it reproduces and that table's printed shape."""

    name: str
    #: number of the paper's table whose printed values are transcribed (paper_values/table{N}.yaml);
    #: None for a table beyond the paper (its report has our rows only)
    paper: int | None
    #: (rows, value columns) of each panel as the paper prints it, in printed order; the paper-values
    #: loader refuses a transcription of another shape. () for a table beyond the paper
    printed: tuple[tuple[int, int], ...] = ()
    #: built by `rule all` / `make reproduce` unless the profile's ``workflow.tables`` says otherwise
    default: bool = True

    @property
    def paper_values(self) -> Path | None:
        """The transcribed paper-values file (None beyond the paper)."""
        return None if self.paper is None else PAPER_VALUES_DIR / f"table{self.paper}.yaml"

    @property
    def printed_cells(self) -> int:
        """How many value cells the paper prints (rows × columns over the panels)."""
        return sum(rows * columns for rows, columns in self.printed)


#: every table with a protocol (umcl.protocols.tables), in report order
TABLE_SPECS: dict[str, TableSpec] = {
    s.name: s
    for s in (
        TableSpec("table3", 3, ((21, 6),)),
        TableSpec("table4", 4, ((12, 3), (12, 2))),
        TableSpec("table5", 5, ((10, 3),)),
        TableSpec("table6", 6, ((14, 10), (14, 10))),
        TableSpec("table7", 7, ((14, 3),)),
        TableSpec("table8", 8, ((8, 6),)),
        TableSpec("table10", 10, ((4, 5),)),
        TableSpec("table11", 11, ((3, 5),)),
        TableSpec("tableU", None),
    )
}
#: Table 9 (complexity): measured by benchmarks/complexity.py (rule report_table9), not by a protocol
COMPLEXITY_SPEC = TableSpec("table9", 9, ((4, 2),))
#: every transcribed paper table by number, in the paper's order
PAPER_SPECS: dict[int, TableSpec] = {
    s.paper: s for s in sorted((*TABLE_SPECS.values(), COMPLEXITY_SPEC), key=lambda s: s.paper or 0) if s.paper
}
PAPER_TABLES: tuple[int, ...] = tuple(PAPER_SPECS)
#: the tables as a config vocabulary (``workflow.tables``, ``workflow.table_seeds``)
TableName = Literal[tuple(TABLE_SPECS)]  # type: ignore[valid-type]
#: ``workflow.tables``' default
DEFAULT_TABLES: tuple[str, ...] = tuple(name for name, spec in TABLE_SPECS.items() if spec.default)
