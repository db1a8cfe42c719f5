"""Where a claim's cells live: a :class:`~umcl.report.claims.engine.Ref` resolved through the protocol
that declares it (umcl.protocols.tables, umcl.protocols.claims) to its cell key, and to the paper's
printed value of the same cell (umcl/specs/paper_values/)."""

from __future__ import annotations

import functools

from umcl.errors import UmclError
from umcl.protocols.claims import CLAIM_PROTOCOLS
from umcl.protocols.spec import CellDecl
from umcl.protocols.tables import PROTOCOLS
from umcl.report.claims.engine import Ref
from umcl.report.claims.results import CellKey
from umcl.specs.paper_tables import PaperTable, load_paper_table

#: every protocol a claim may address, by name
ADDRESSABLE = {**PROTOCOLS, **CLAIM_PROTOCOLS}


@functools.cache
def _decls(table: str) -> dict[tuple, CellDecl]:
    if table not in ADDRESSABLE:
        raise UmclError(
            f"a claim reads protocol {table!r}, which does not exist", fix=f"use one of {sorted(ADDRESSABLE)}"
        )
    return {(d.panel, d.row, d.column): d for d in ADDRESSABLE[table].cells}


def declaration(ref: Ref) -> CellDecl:
    """The protocol's declaration of ``ref`` (an error when the protocol declares no such cell)."""
    decl = _decls(ref.table).get((ref.panel, ref.row, ref.column))
    if decl is None:
        raise UmclError(f"{ref.table} declares no cell at panel {ref.panel}, row {ref.row}, column {ref.column}")
    return decl


def resolve(ref: Ref) -> CellKey:
    """The cell key the evaluation writes for ``ref`` (CellKey.from_decl of its declaration)."""
    return CellKey.from_decl(declaration(ref), ref.metric)


@functools.cache
def paper_table(n: int) -> PaperTable:
    return load_paper_table(n)


def paper_value(ref: Ref) -> float | None:
    """The paper's printed value of ``ref``'s cell; None for a cell the paper does not print (the claims
    protocol's runs, or a ``-``). Tables whose columns carry a metric level get ``ref.metric`` appended."""
    if not ref.table.startswith("table") or ref.table not in PROTOCOLS:
        return None
    t = paper_table(int(ref.table.removeprefix("table")))
    for column in (ref.column, ref.column + (ref.metric,)):
        try:
            return t.value(ref.row, *column, panel=ref.panel)
        except KeyError:
            continue
    return None
