"""Fuzz the manifest reader: any bytes as ``manifest.csv``, read as training and evaluation read it."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._contract import check, instrumented, run, scratch  # noqa: E402

with instrumented():
    from umcl.data.manifest import read_manifest
    from umcl.data.videos import read_rows

TMP = scratch("manifest")
MANIFEST = TMP / "manifest.csv"


def _read() -> None:
    read_manifest(MANIFEST)
    read_rows(MANIFEST)


def test_one_input(data: bytes) -> None:
    MANIFEST.write_bytes(data)
    check("manifest", data, _read, (MANIFEST.name,))


if __name__ == "__main__":
    run(test_one_input)
