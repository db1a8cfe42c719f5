"""Fuzz the paper-values reader: any bytes as a ``table{N}.yaml`` transcription, loaded and walked."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._contract import check, instrumented, run, scratch  # noqa: E402

with instrumented():
    from umcl.specs.paper_tables import load_paper_table

TMP = scratch("paper")
TABLE = TMP / "table3.yaml"


def _read() -> None:
    table = load_paper_table(TABLE)
    list(table.cells())
    table.trained_rows()


def test_one_input(data: bytes) -> None:
    TABLE.write_bytes(data)
    check("paper_values", data, _read, (TABLE.name,))


if __name__ == "__main__":
    run(test_one_input)
