"""The paper's published tables (``umcl/specs/paper_values/table{N}.yaml``): one typed loader.

Each YAML file transcribes one table of the paper once, exactly as printed, and is tested cell by
cell against the paper text (tests/test_paper_tables.py). File format (see table6.yaml):

* ``table`` (int or str), ``source`` (where it is printed), ``caption`` (the printed caption),
  ``metrics`` (e.g. ``[auc]``), optional ``notes`` (list of strings: transcription remarks).
* Either one panel at top level, or ``panels:`` a list of panels (Table 4: left and right parts
  with different rows). A panel has ``id``, optional ``title``, and:
* ``row_levels`` / ``column_levels``: names of the key levels (e.g. ``[train, method]``).
* ``rows``: in printed order; each ``{key, label, detector, condition, note}`` where
  ``key`` is a string (one level) or a list (one item per level), ``label`` the printed name,
  ``detector`` the registry name of a detector this suite trains (null = paper-only row),
  ``condition`` a test-time condition key (Tables 7–8). Which model and training variant fills a
  row is the table's protocol's (umcl.protocols.tables), not the file's.
* ``columns``: in printed order; each a string, a list (one item per level), or a mapping
  ``{key, label, detector}``.
* ``values``: one list per row, one number (or null where the paper prints '-' or nothing) per
  column. Optional ``deltas``: same shape, the printed signed delta in parentheses (null = none).

:func:`load_paper_table` validates the shape (a registered table's against the printed shape in
umcl.specs.tables) and returns a :class:`PaperTable` whose
:meth:`PaperTable.value` reads a cell by row key and column key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from umcl.specs.errors import UmclError
from umcl.specs.tables import PAPER_SPECS, PAPER_TABLES, PAPER_VALUES_DIR

Key = tuple[str, ...]


def _as_key(raw: Any, levels: int, where: str, path: Path) -> Key:
    """A row/column key as a tuple of ``levels`` strings."""
    key = tuple(str(k) for k in raw) if isinstance(raw, (list, tuple)) else (str(raw),)
    if len(key) != levels:
        raise UmclError(
            f"{where}: key {list(key)} must have {levels} level(s)",
            path,
            fix="give one key item per entry of row_levels/column_levels",
        )
    return key


@dataclass(frozen=True)
class Row:
    """One printed row: its key, printed label and what this suite trains for it (if anything)."""

    key: Key
    label: str
    detector: str | None = None
    condition: str | None = None
    note: str | None = None

    @property
    def trained(self) -> bool:
        """True for rows of a detector this suite trains (False = paper-only row)."""
        return self.detector is not None


@dataclass(frozen=True)
class Column:
    """One printed column: its key, printed label and (Table 9) the detector it describes."""

    key: Key
    label: str
    detector: str | None = None


@dataclass(frozen=True)
class Panel:
    """A rectangular block of a table: rows × columns of values (and optional printed deltas)."""

    id: str
    title: str | None
    row_levels: tuple[str, ...]
    column_levels: tuple[str, ...]
    rows: tuple[Row, ...]
    columns: tuple[Column, ...]
    values: tuple[tuple[float | None, ...], ...]
    deltas: tuple[tuple[float | None, ...], ...] | None = None

    def row_index(self, row: str | Key) -> int:
        key = (row,) if isinstance(row, str) else tuple(row)
        for i, r in enumerate(self.rows):
            if r.key == key:
                return i
        raise KeyError(f"panel {self.id!r} has no row {list(key)}")

    def column_index(self, column: Key) -> int:
        for i, c in enumerate(self.columns):
            if c.key == tuple(column):
                return i
        raise KeyError(f"panel {self.id!r} has no column {list(column)}")

    def has(self, row: str | Key, column: Key) -> bool:
        try:
            self.row_index(row), self.column_index(column)
        except KeyError:
            return False
        return True

    def cells(self) -> Iterator[tuple[Row, Column, float | None, float | None]]:
        """Every cell in printed order: (row, column, value, printed delta or None)."""
        for i, r in enumerate(self.rows):
            for j, c in enumerate(self.columns):
                d = self.deltas[i][j] if self.deltas is not None else None
                yield r, c, self.values[i][j], d


@dataclass(frozen=True)
class PaperTable:
    """One table of the paper as printed (values in the table's unit, None = '-' / not printed)."""

    table: str
    source: str
    caption: str
    metrics: tuple[str, ...]
    panels: tuple[Panel, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    path: Path | None = None

    def panel(self, id: str) -> Panel:
        for p in self.panels:
            if p.id == id:
                return p
        raise KeyError(f"table {self.table} has no panel {id!r}")

    def _find(self, row: str | Key, column: tuple[str, ...], panel: str | None) -> tuple[Panel, int, int]:
        panels = [self.panel(panel)] if panel is not None else list(self.panels)
        hits = [p for p in panels if p.has(row, column)]
        if len(hits) != 1:
            what = "no" if not hits else "more than one"
            raise KeyError(
                f"table {self.table}: {what} cell at row {row!r}, column {list(column)}"
                + ("" if panel else " (pass panel=...)")
            )
        p = hits[0]
        return p, p.row_index(row), p.column_index(column)

    def value(self, row: str | Key, *column: str, panel: str | None = None) -> float | None:
        """The printed value at ``row`` (a key or tuple of key levels) and ``column`` levels."""
        p, i, j = self._find(row, column, panel)
        return p.values[i][j]

    def delta(self, row: str | Key, *column: str, panel: str | None = None) -> float | None:
        """The printed signed delta in parentheses at that cell (None if none is printed)."""
        p, i, j = self._find(row, column, panel)
        return None if p.deltas is None else p.deltas[i][j]

    def row(self, row: str | Key, panel: str | None = None) -> Row:
        for p in [self.panel(panel)] if panel else self.panels:
            try:
                return p.rows[p.row_index(row)]
            except KeyError:
                continue
        raise KeyError(f"table {self.table} has no row {row!r}")

    def trained_rows(self) -> list[Row]:
        """Rows of detectors this suite trains (each once, in printed order)."""
        seen: dict[Key, Row] = {}
        for p in self.panels:
            for r in p.rows:
                if r.trained and r.key not in seen:
                    seen[r.key] = r
        return list(seen.values())

    def cells(self) -> Iterator[tuple[Panel, Row, Column, float | None, float | None]]:
        for p in self.panels:
            for r, c, v, d in p.cells():
                yield p, r, c, v, d


def _number(v: Any, where: str, path: Path) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise UmclError(f"{where}: {v!r} is not a number or null", path, fix="write a number, or null for '-'")
    return float(v)


def _grid(raw: Any, n_rows: int, n_cols: int, name: str, path: Path, pid: str) -> tuple[tuple[float | None, ...], ...]:
    if not isinstance(raw, list) or len(raw) != n_rows:
        raise UmclError(f"panel {pid}: {name} must be a list of {n_rows} rows (one per entry of rows)", path)
    out = []
    for i, line in enumerate(raw):
        if not isinstance(line, list) or len(line) != n_cols:
            raise UmclError(
                f"panel {pid}: {name} row {i + 1} must have {n_cols} entries (one per column), got {line!r}", path
            )
        out.append(tuple(_number(v, f"panel {pid} {name}[{i + 1}]", path) for v in line))
    return tuple(out)


_FORMAT_FIX = "see umcl/specs/paper_tables.py for the format"


def _list(raw: Any, what: str, path: Path) -> list:
    """``raw`` if it is a list, else a one-line error naming ``what`` (e.g. ``panel p0: rows``)."""
    if not isinstance(raw, list):
        raise UmclError(f"{what} must be a list, got {type(raw).__name__}", path, _FORMAT_FIX)
    return raw


def _text(raw: dict, name: str, where: str, path: Path) -> str | None:
    """The optional string ``raw[name]`` (None when absent or null)."""
    value = raw.get(name)
    if value is not None and not isinstance(value, str):
        raise UmclError(f"{where}: {name} must be a string or null, got {value!r}", path, _FORMAT_FIX)
    return value


def _panel(raw: Any, path: Path, default_id: str) -> Panel:
    if not isinstance(raw, dict):
        raise UmclError(f"panel {default_id} must be a mapping, got {type(raw).__name__}", path, _FORMAT_FIX)
    pid = str(raw.get("id", default_id))
    missing = [k for k in ("row_levels", "column_levels", "rows", "columns") if k not in raw]
    if missing:
        raise UmclError(
            f"panel {pid}: missing {missing}", path, fix="give row_levels, column_levels, rows, columns, values"
        )
    row_levels = tuple(_list(raw["row_levels"], f"panel {pid}: row_levels", path))
    column_levels = tuple(_list(raw["column_levels"], f"panel {pid}: column_levels", path))
    rows = []
    for i, r in enumerate(_list(raw["rows"], f"panel {pid}: rows", path)):
        r = r if isinstance(r, dict) else {"key": r}
        where = f"panel {pid} row {i + 1}"
        key = _as_key(r.get("key"), len(row_levels), where, path)
        rows.append(
            Row(
                key,
                str(r.get("label", key[-1])),
                *(_text(r, n, where, path) for n in ("detector", "condition", "note")),
            )
        )
    cols = []
    for j, c in enumerate(_list(raw["columns"], f"panel {pid}: columns", path)):
        c = c if isinstance(c, dict) else {"key": c}
        where = f"panel {pid} column {j + 1}"
        key = _as_key(c.get("key"), len(column_levels), where, path)
        cols.append(Column(key, str(c.get("label", " ".join(key))), _text(c, "detector", where, path)))
    if len({r.key for r in rows}) != len(rows) or len({c.key for c in cols}) != len(cols):
        raise UmclError(f"panel {pid}: duplicate row or column keys", path, _FORMAT_FIX)
    values = _grid(raw.get("values"), len(rows), len(cols), "values", path, pid)
    deltas = _grid(raw["deltas"], len(rows), len(cols), "deltas", path, pid) if "deltas" in raw else None
    return Panel(
        pid,
        _text(raw, "title", f"panel {pid}", path),
        row_levels,
        column_levels,
        tuple(rows),
        tuple(cols),
        values,
        deltas,
    )


def _read_text(path: Path) -> str:
    """The file's UTF-8 text (a byte-order mark dropped), or a one-line error saying why it cannot be read."""
    try:
        data = path.read_bytes()
    except (OSError, ValueError) as exc:  # missing, a folder, permission, a name too long or with a NUL byte
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise UmclError(reason.lower(), path, _FORMAT_FIX) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UmclError("file is not UTF-8 text", path, "save the file as UTF-8") from None


def load_paper_table(table: int | str | Path) -> PaperTable:
    """Load ``table{N}.yaml`` from :data:`PAPER_VALUES_DIR` (or a path) and validate its shape."""
    path = Path(table) if isinstance(table, Path) else PAPER_VALUES_DIR / f"table{table}.yaml"
    try:
        text = _read_text(path)
    except UmclError as exc:
        raise UmclError(f"cannot read paper table ({exc.message})", path, exc.fix) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UmclError(
            f"paper table is not valid YAML ({str(exc).splitlines()[0]})", path, "fix the YAML syntax"
        ) from None
    if not isinstance(raw, dict):
        raise UmclError("a paper table file must be a mapping", path, _FORMAT_FIX)
    missing = [k for k in ("table", "source", "caption", "metrics") if k not in raw]
    if missing:
        raise UmclError(f"missing {missing}", path, fix=_FORMAT_FIX)
    panels_raw = _list(raw.get("panels") or [raw], "panels", path)
    panels = tuple(_panel(p, path, f"p{i}") for i, p in enumerate(panels_raw))
    if len({p.id for p in panels}) != len(panels):
        raise UmclError("duplicate panel ids", path, _FORMAT_FIX)
    metrics = tuple(str(m) for m in _list(raw["metrics"], "metrics", path))
    notes = tuple(str(n) for n in _list(raw.get("notes") or [], "notes", path))
    # a registry file must hold the printed shape, however it is loaded (the reports load it by path)
    here = path.resolve()
    spec = next((s for s in PAPER_SPECS.values() if s.paper_values and s.paper_values.resolve() == here), None)
    shape = tuple((len(p.rows), len(p.columns)) for p in panels)
    if spec is not None and shape != spec.printed:
        raise UmclError(
            f"panels of {shape} rows × columns, but the paper prints {spec.printed}",
            path,
            "transcribe every printed row and column (the printed shape is declared in umcl/specs/tables.py)",
        )
    return PaperTable(str(raw["table"]), str(raw["source"]), str(raw["caption"]).strip(), metrics, panels, notes, path)


def load_all_paper_tables() -> dict[str, PaperTable]:
    """Every transcribed table, keyed by its number as a string."""
    return {str(n): load_paper_table(n) for n in PAPER_TABLES}
