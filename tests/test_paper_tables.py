"""The transcribed paper tables (umcl/specs/paper_values/table*.yaml) match the paper, cell by cell.

Which tables and their printed shapes: the registry (umcl.specs.tables). The paper's Markdown is parsed here
independently of the YAML values: every printed value, every printed delta, the row labels and their order
must agree, so a typo in a transcription fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from umcl.errors import UmclError
from umcl.specs.paper_tables import PaperTable, load_all_paper_tables, load_paper_table
from umcl.specs.tables import PAPER_SPECS, PAPER_TABLES

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO.parent / "shared" / "paper" / "UMCL_paper.md"  # CI: shared/ is the repo's sibling

_CELL = re.compile(
    r"^(?P<v>-|[+-]?\d[\d,]*(?:\.\d+)?)\s*"
    r"(?:\(\s*(?:-|\$?\s*\\(?P<dir>up|down)arrow\s*(?P<d>\d+(?:\.\d+)?)\s*\$?)\s*\))?$"
)
_NUMBER = re.compile(r"^[+-]?\d[\d,]*\.\d+$|^\d[\d,]*$")


def parse_cell(cell: str) -> tuple[float | None, float | None]:
    """``'74.92 (\\downarrow 21.40)'`` → (74.92, -21.40); ``'-'`` → (None, None); ``'2,953,211'`` → 2953211."""
    m = _CELL.match(cell.strip())
    assert m, f"unparsed cell {cell!r}"
    value = None if m["v"] == "-" else float(m["v"].replace(",", ""))
    delta = None if m["d"] is None else float(m["d"]) * (1 if m["dir"] == "up" else -1)
    return value, delta


def _squash(label: str) -> str:
    """A label without spaces or LaTeX math markup (``$\\sigma=0.01$`` → ``σ=0.01``)."""
    return re.sub(r"\s+", "", label.replace("\\sigma", "σ").replace("$", ""))


def table_lines(text: str, n: int) -> list[list[str]]:
    """The tab-separated lines printed after the caption ``Table n:`` (header lines included)."""
    m = re.search(rf"^Table {n}: ", text, flags=re.M)
    assert m, f"Table {n} caption not found in the paper"
    out: list[list[str]] = []
    for line in text[m.end() :].splitlines()[1:]:
        if "\t" in line:
            out.append(line.split("\t"))
        elif line.strip() and out:
            break
    return out


def data_lines(lines: list[list[str]], n_cols: int) -> list[list[str]]:
    """Lines with ``n_cols`` cells whose cells after the first label cells hold numbers or '-'."""
    out = []
    for cols in lines:
        if len(cols) != n_cols:
            continue
        cells = [c.strip() for c in cols]
        if any(_CELL.match(c) and c != "-" for c in cells):
            out.append(cells)
    return out


def _panel(labels: list[str], values: list, deltas: list | None = None) -> dict:
    return {"labels": labels, "values": values, "deltas": deltas}


def regular_table(text: str, n: int, groups: int) -> tuple[list[dict], list[list[str]]]:
    """A table printed as lines of ``groups`` group-label cells (carried down, e.g. the training set), then its
    panels side by side, each a row label and its value cells (widths: the registry's printed shape).
    Returns the panels and each line's group cells."""
    widths = [columns for _, columns in PAPER_SPECS[n].printed]
    rows = data_lines(table_lines(text, n), groups + sum(1 + w for w in widths))
    panels, at = [], groups
    for w in widths:
        parsed = [[parse_cell(c) for c in r[at + 1 : at + 1 + w]] for r in rows]
        deltas = [[d for _, d in p] for p in parsed]
        printed = any(d is not None for line in deltas for d in line)
        panels.append(_panel([r[at] for r in rows], [[v for v, _ in p] for p in parsed], deltas if printed else None))
        at += 1 + w
    return panels, [r[:groups] for r in rows]


#: tables the paper prints irregularly, parsed by hand in parsed_paper_tables
IRREGULAR = (6, 7)


def parsed_paper_tables(text: str, tables: dict[str, PaperTable]) -> dict[str, list[dict]]:
    """{table: [panel: {labels, values, deltas}]} read from the paper text. Regular tables: one parser
    (:func:`regular_table`; group-label cells: the transcription's row levels but the last); Tables 6 and 7 by hand."""
    out: dict[str, list[dict]] = {}
    groups: dict[str, list[list[str]]] = {}
    for n in PAPER_TABLES:
        if n not in IRREGULAR:
            levels = len(tables[str(n)].panels[0].row_levels) - 1
            out[str(n)], groups[str(n)] = regular_table(text, n, levels)
    out["3_train"] = [g[0] for g in groups["3"]]  # type: ignore[assignment]
    out["8_method"] = [g[0] for g in groups["8"]]  # type: ignore[assignment]
    for n in ("10", "11"):
        assert [c.strip() for c in table_lines(text, int(n))[0]] == ["Model", "DF", "F2F", "FS", "NT", "Avg."]
    # Table 6: 13 cells; the numbers in printed order (the bottom half misplaces empty/label cells)
    rows = [[c.strip() for c in r] for r in table_lines(text, 6) if r[0].strip() and r[0].strip() != "Method"]
    assert len(rows) == 28, f"Table 6: expected 28 method lines, got {len(rows)}"
    grids = []
    for half in (rows[:14], rows[14:]):
        vals = []
        for r in half:
            nums = [float(c) for c in r[1:] if _NUMBER.match(c)]
            vals.append(nums + [None] * (10 - len(nums)))
        grids.append(_panel([r[0] for r in half], vals))
    out["6"] = grids
    out["6_train_labels"] = [
        [c for c in rows[0][1:] if c in ("DF", "FS", "F2F", "NT")],  # type: ignore
        [c for c in rows[14][1:] if c in ("DF", "FS", "F2F", "NT")],
    ]
    # Table 7: train, method (carried), degradation, 4 printed value columns (the 4th repeats the 3rd)
    rows = data_lines(table_lines(text, 7), 7)
    parsed = [[parse_cell(c) for c in r[3:]] for r in rows]
    out["7"] = [
        _panel([r[2] for r in rows], [[v for v, _ in p[:3]] for p in parsed], [[d for _, d in p[:3]] for p in parsed])
    ]
    out["7_dup"] = [(p[2], p[3]) for p in parsed]  # type: ignore[assignment]
    out["7_method"] = [r[1] for r in rows]  # type: ignore[assignment]
    return out


@pytest.fixture(scope="module")
def tables() -> dict[str, PaperTable]:
    return load_all_paper_tables()


@pytest.fixture(scope="module")
def paper(tables: dict[str, PaperTable]) -> dict[str, list[dict]]:
    if not PAPER.is_file():
        pytest.skip(f"paper text not found at {PAPER} (shared/ is expected beside the repo)")
    return parsed_paper_tables(PAPER.read_text(), tables)


@pytest.mark.parametrize("n", [str(t) for t in PAPER_TABLES])
def test_every_cell_and_row_label_matches_the_paper(n: str, paper: dict, tables: dict) -> None:
    ours = tables[n]
    assert len(ours.panels) == len(paper[n]), f"Table {n}: panel count"
    for p, printed in zip(ours.panels, paper[n], strict=True):
        assert [_squash(r.label) for r in p.rows] == [_squash(lb) for lb in printed["labels"]], f"Table {n} rows"
        assert [list(v) for v in p.values] == printed["values"], f"Table {n} panel {p.id} values"
        if printed["deltas"] is not None:
            assert p.deltas is not None, f"Table {n}: the paper prints deltas"
            assert [list(d) for d in p.deltas] == printed["deltas"], f"Table {n} panel {p.id} deltas"
        else:
            assert p.deltas is None


def test_cell_counts(paper: dict, tables: dict) -> None:
    """Every printed cell is transcribed: the registry's printed shapes (umcl.specs.tables), the loaded files
    and the cells parsed from the paper agree panel by panel (Table 7: three stored columns of four printed)."""
    assert sorted(tables) == sorted(map(str, PAPER_TABLES)) and set(PAPER_TABLES) <= {
        int(n) for n in paper if n.isdigit()
    }
    for n, t in tables.items():
        spec = PAPER_SPECS[int(n)]
        assert tuple((len(p.rows), len(p.columns)) for p in t.panels) == spec.printed, n
        parsed = tuple((len(p["values"]), len(p["values"][0])) for p in paper[n])
        assert parsed == spec.printed, n
        assert sum(len(p.rows) * len(p.columns) for p in t.panels) == spec.printed_cells


def test_loader_refuses_a_transcription_of_another_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A paper-values file that drops a printed row fails to load, naming the registry's printed shape."""
    import umcl.specs.paper_tables as pt

    text = (pt.PAPER_VALUES_DIR / "table10.yaml").read_text()
    cut = text.replace("  - {key: D, label: D,", "  - {key: X, label: X,").split("values:")[0]
    values = "values:\n  - [1, 2, 3, 4, 5]\n  - [1, 2, 3, 4, 5]\n  - [1, 2, 3, 4, 5]\n"
    rows = cut.replace('  - {key: X, label: X, detector: umcl, note: "full UMCL (ASA and CQSL)"}\n', "")
    (tmp_path / "table10.yaml").write_text(rows + values)
    monkeypatch.setattr(pt, "PAPER_VALUES_DIR", tmp_path)
    monkeypatch.setattr("umcl.specs.tables.PAPER_VALUES_DIR", tmp_path)
    with pytest.raises(UmclError, match="the paper prints"):
        pt.load_paper_table(10)


def test_row_groups_match_the_paper(paper: dict, tables: dict) -> None:
    """Multi-level row keys follow the paper's printed groups (training set, method)."""
    train = {"FF++ (raw)": "raw", "FF++ (c23)": "c23", "FF++(c40)": "c40", "FF++ (c40)": "c40"}
    carried, groups = None, []
    for label in paper["3_train"]:
        carried = train[label] if label else carried
        groups.append(carried)
    assert [r.key[0] for r in tables["3"].panels[0].rows] == groups
    carried, methods = None, []
    for label in paper["7_method"]:
        carried = label.split()[0] if label else carried
        methods.append(carried)
    assert [r.key[0] for r in tables["7"].panels[0].rows] == methods
    carried, methods = None, []
    for label in paper["8_method"]:
        carried = label or carried
        methods.append(carried)
    assert [r.key[0] for r in tables["8"].panels[0].rows] == methods
    # Table 6: the training subsets of the printed halves, in order
    assert paper["6_train_labels"] == [["DF", "FS"], ["F2F", "NT"]]
    for p, (a, b) in zip(tables["6"].panels, paper["6_train_labels"], strict=True):
        assert [c.key[0] for c in p.columns] == [a] * 5 + [b] * 5
        assert [c.key[1] for c in p.columns] == ["DF", "F2F", "FS", "NT", "Avg"] * 2


def test_table7_fourth_printed_column_repeats_the_third(paper: dict) -> None:
    """Why three test columns are stored for Table 7's four printed ones."""
    assert all(c40 == dup for c40, dup in paper["7_dup"])


def test_hand_spot_checks(tables: dict) -> None:
    """Cells typed from the paper by hand (no paper file needed)."""
    t = tables
    assert t["4"].value("UMCL", "c23", "dfd") == 94.74
    assert t["4"].value("IID", "c40", "celebdf") == 82.04
    assert t["4"].value("GHF", "c23", "ff++") == 98.36 and t["4"].value("GHF", "c40", "ff++") == 95.73
    assert t["5"].value("LRNet", "dfdc", "ff++/raw") is None
    assert t["5"].value("UMCL", "dfdc", "ff++/raw") == 89.11
    assert t["6"].value("MaskRelation", "DF", "FS") == 17.52
    assert t["6"].value("UMCL", "NT", "Avg") == 94.53
    assert t["6"].value("Xception", "NT", "NT") is None
    assert t["7"].value(("UMCL", "frames-0.5"), "c40") == 80.04
    assert t["7"].delta(("UMCL", "landmarks-0.05"), "c23") == 44.73
    assert t["8"].value(("CPML", "opposite"), "c23", "auc") == 9.82
    assert t["9"].value("params_m", "UMCL") == 175.82
    assert t["9"].value("throughput", "CPML") == 2953211
    assert t["10"].value("B", "Avg.") == 70.29
    assert t["11"].value("Gain", "NT") == -1.47


def test_trained_rows_name_registered_detectors(tables: dict) -> None:
    from umcl.models.umcl import ABLATIONS
    from umcl.protocols.tables import PROTOCOLS
    from umcl.specs.vocab import DETECTORS

    for t in tables.values():
        for p in t.panels:
            for r in p.rows:
                assert r.detector is None or r.detector in DETECTORS, (t.table, r)
                for c in p.columns:
                    assert c.detector is None or c.detector in DETECTORS
    # which model fills a row is the protocol's: Table 10's rows A–C are UMCL's ablation variants, D plain UMCL
    variants = {c.row[0]: c.model.variant for c in PROTOCOLS["table10"].cells}
    expected = [None if a == "D" else f"abl{a}" for a in sorted(ABLATIONS)]
    assert [variants[r.key[0]] for r in tables["10"].trained_rows()] == expected
    assert {r.detector for r in tables["6"].trained_rows()} == set(DETECTORS)


def test_lookup_errors(tables: dict) -> None:
    with pytest.raises(KeyError):
        tables["4"].value("MesoNet", "c23", "ff++")  # MesoNet is printed in the c40 part only
    with pytest.raises(KeyError):
        tables["10"].value("E", "DF")


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "tableX.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _minimal() -> dict:
    return {
        "table": "X",
        "source": "s",
        "caption": "c",
        "metrics": ["auc"],
        "row_levels": ["method"],
        "column_levels": ["test"],
        "rows": ["a", "b"],
        "columns": ["DF", "NT"],
        "values": [[1.0, 2.0], [3.0, None]],
    }


def test_loader_validates_shape(tmp_path: Path) -> None:
    assert load_paper_table(_write(tmp_path, _minimal())).value("b", "NT") is None
    bad_row = _minimal() | {"values": [[1.0, 2.0], [3.0]]}
    with pytest.raises(UmclError, match="row 2 must have 2 entries"):
        load_paper_table(_write(tmp_path, bad_row))
    bad_rows = _minimal() | {"values": [[1.0, 2.0]]}
    with pytest.raises(UmclError, match="list of 2 rows"):
        load_paper_table(_write(tmp_path, bad_rows))
    with pytest.raises(UmclError, match="not a number"):
        load_paper_table(_write(tmp_path, _minimal() | {"values": [[1.0, "x"], [3.0, 4.0]]}))
    with pytest.raises(UmclError, match="level"):
        load_paper_table(_write(tmp_path, _minimal() | {"rows": [["a", "z"], "b"]}))
    with pytest.raises(UmclError, match="duplicate"):
        load_paper_table(_write(tmp_path, _minimal() | {"rows": ["a", "a"]}))
    no_caption = {k: v for k, v in _minimal().items() if k != "caption"}
    with pytest.raises(UmclError, match="caption"):
        load_paper_table(_write(tmp_path, no_caption))
    with pytest.raises(UmclError, match="cannot read"):
        load_paper_table(tmp_path / "missing.yaml")
