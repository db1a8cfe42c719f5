"""The transcribed Tables 3–11 (umcl/specs/paper_values/table*.yaml) match the paper, cell by cell.

The paper's Markdown is parsed here independently of the YAML files: every printed value, every
printed delta, the row labels and their order must agree, so a typo in a transcription fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from umcl.errors import UmclError
from umcl.specs.paper_tables import TABLES, PaperTable, load_all_paper_tables, load_paper_table

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


def parsed_paper_tables(text: str) -> dict[str, list[dict]]:
    """{table: [panel: {labels, values, deltas}]} read from the paper text."""
    out: dict[str, list[dict]] = {}

    def panel(labels, values, deltas=None):
        return {"labels": labels, "values": values, "deltas": deltas}

    # Table 3: train label (carried), method, 6 cells with deltas
    rows = data_lines(table_lines(text, 3), 8)
    out["3"] = [
        panel(
            [r[1] for r in rows],
            [[parse_cell(c)[0] for c in r[2:]] for r in rows],
            [[parse_cell(c)[1] for c in r[2:]] for r in rows],
        )
    ]
    out["3_train"] = [r[0] for r in rows]  # type: ignore[assignment]
    # Table 4: left method + 3 values | right method + 2 values
    rows = data_lines(table_lines(text, 4), 7)
    out["4"] = [
        panel([r[0] for r in rows], [[parse_cell(c)[0] for c in r[1:4]] for r in rows]),
        panel([r[4] for r in rows], [[parse_cell(c)[0] for c in r[5:7]] for r in rows]),
    ]
    # Table 5: method + 3 values
    rows = data_lines(table_lines(text, 5), 4)
    out["5"] = [panel([r[0] for r in rows], [[parse_cell(c)[0] for c in r[1:]] for r in rows])]
    # Table 6: 13 cells; the numbers in printed order (the bottom half misplaces empty/label cells)
    rows = [[c.strip() for c in r] for r in table_lines(text, 6) if r[0].strip() and r[0].strip() != "Method"]
    assert len(rows) == 28, f"Table 6: expected 28 method lines, got {len(rows)}"
    grids = []
    for half in (rows[:14], rows[14:]):
        vals = []
        for r in half:
            nums = [float(c) for c in r[1:] if _NUMBER.match(c)]
            vals.append(nums + [None] * (10 - len(nums)))
        grids.append(panel([r[0] for r in half], vals))
    out["6"] = grids
    out["6_train_labels"] = [
        [c for c in rows[0][1:] if c in ("DF", "FS", "F2F", "NT")],  # type: ignore
        [c for c in rows[14][1:] if c in ("DF", "FS", "F2F", "NT")],
    ]
    # Table 7: train, method (carried), degradation, 4 printed value columns (the 4th repeats the 3rd)
    rows = data_lines(table_lines(text, 7), 7)
    parsed = [[parse_cell(c) for c in r[3:]] for r in rows]
    out["7"] = [
        panel([r[2] for r in rows], [[v for v, _ in p[:3]] for p in parsed], [[d for _, d in p[:3]] for p in parsed])
    ]
    out["7_dup"] = [(p[2], p[3]) for p in parsed]  # type: ignore[assignment]
    out["7_method"] = [r[1] for r in rows]  # type: ignore[assignment]
    # Table 8: method (carried), prompt type, AUC/Gain × 3
    rows = data_lines(table_lines(text, 8), 8)
    out["8"] = [panel([r[1] for r in rows], [[parse_cell(c)[0] for c in r[2:]] for r in rows])]
    out["8_method"] = [r[0] for r in rows]  # type: ignore[assignment]
    # Table 9: quantity + 2 values
    rows = data_lines(table_lines(text, 9), 3)
    out["9"] = [panel([r[0] for r in rows], [[parse_cell(c)[0] for c in r[1:]] for r in rows])]
    # Tables 10 and 11: model + DF, F2F, FS, NT, Avg.
    for n in ("10", "11"):
        lines = table_lines(text, int(n))
        assert [c.strip() for c in lines[0]] == ["Model", "DF", "F2F", "FS", "NT", "Avg."]
        rows = data_lines(lines, 6)
        out[n] = [panel([r[0] for r in rows], [[parse_cell(c)[0] for c in r[1:]] for r in rows])]
    return out


@pytest.fixture(scope="module")
def paper() -> dict[str, list[dict]]:
    if not PAPER.is_file():
        pytest.skip(f"paper text not found at {PAPER} (shared/ is expected beside the repo)")
    return parsed_paper_tables(PAPER.read_text())


@pytest.fixture(scope="module")
def tables() -> dict[str, PaperTable]:
    return load_all_paper_tables()


@pytest.mark.parametrize("n", [str(t) for t in TABLES])
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


def test_cell_counts(tables: dict) -> None:
    """Every printed cell is transcribed (counts typed by hand from the paper)."""
    counts = {n: sum(len(p.rows) * len(p.columns) for p in t.panels) for n, t in tables.items()}
    assert counts == {
        "3": 21 * 6,
        "4": 12 * 3 + 12 * 2,
        "5": 10 * 3,
        "6": 14 * 20,
        "7": 14 * 3,
        "8": 8 * 6,
        "9": 4 * 2,
        "10": 4 * 5,
        "11": 3 * 5,
    }


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
    from umcl.specs.vocab import DETECTORS

    for t in tables.values():
        for p in t.panels:
            for r in p.rows:
                assert r.detector is None or r.detector in DETECTORS, (t.table, r)
                for c in p.columns:
                    assert c.detector is None or c.detector in DETECTORS
    assert [r.variant for r in tables["10"].trained_rows()] == sorted(ABLATIONS)
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
