"""reports/index.md: one line, saying what it shows, for every artefact `make reproduce` (rule all) builds.

The report_index rule reads the ``.json`` summary of every file in ``Layout.all_report_files`` (so a
new artefact cannot be left out), and ``umcl report index`` writes a line for each kind: paper tables,
Table 9's complexity measurement, figures, the claims report and studies beyond the paper.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from test_workflow import snakemake  # the repository's Snakefile in a temporary working folder

from umcl.cli import main as umcl_main
from umcl.workflow import load_profile


def _write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_one_line_per_artefact_kind(tmp_path):
    table = _write(
        tmp_path / "table7.json",
        {
            "table": "table7",
            "title": "Robustness (paper Table 7)",
            "cells_expected": 4,
            "cells_filled": 3,
            "missing": None,
        },
    )
    complexity = _write(
        tmp_path / "table9.json",
        {
            "size": "small",
            "device": "cpu",
            "batch": 1,
            "detectors": {"cpml": {}, "umcl": {}},
            "paper": {},
            "parameter_hypotheses": [],
        },
    )
    claims = _write(
        tmp_path / "claims.json",
        {"verdicts": ["holds", "fails"], "claims": [{"verdict": "holds"}, {"verdict": "fails"}, {"verdict": "holds"}]},
    )
    study = _write(tmp_path / "leakage.json", {"report": "leakage", "notes": []})
    out = tmp_path / "index.md"
    assert (
        umcl_main(
            [
                "report",
                "index",
                "--tables",
                *map(str, (table, complexity, claims, study)),
                "--out",
                str(out),
                "--profile",
                "smoke",
            ]
        )
        == 0
    )
    assert out.read_text().startswith("# Reports (profile smoke)\n\n- [")
    lines = [ln for ln in out.read_text().splitlines() if ln.startswith("- [")]
    assert len(lines) == 4
    assert lines[0].startswith("- [Robustness (paper Table 7)](table7.md)") and "3 of 4 of our cells" in lines[0]
    assert lines[1].startswith("- [Table 9: computational complexity](table9.md) ([JSON](table9.json))")
    assert "CPML and UMCL at small size on cpu" in lines[1] and "paper's values" in lines[1]
    assert lines[2].startswith("- [The paper's claims, checked](claims.md)") and "2 holds, 1 fails" in lines[2]
    assert lines[3].startswith("- [leakage](leakage.md)") and "beyond the paper" in lines[3]


def test_an_unreadable_summary_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "table9.json"
    bad.write_text("{not json")
    assert (
        umcl_main(["report", "index", "--tables", str(bad), "--out", str(tmp_path / "index.md"), "--profile", "x"]) != 0
    )
    assert not (tmp_path / "index.md").exists()


@pytest.mark.parametrize("profile", ["smoke"])
def test_the_index_rule_reads_every_artefact_rule_all_builds(profile):
    """Dry run (in a temporary working folder): report_index's command lists the .json summary of every
    artefact of rule all, Table 9 and the claims included."""
    _, layout = load_profile(profile, check=False)
    index = layout.index
    proc = snakemake("-n", "-p", "--forceall", index, "--config", f"profile={profile}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    command = re.search(r"umcl report index --tables (.+?) --out", proc.stdout)
    assert command, proc.stdout[-2000:]
    listed = command.group(1).split()
    artefacts = {os.path.splitext(f)[0] for f in layout.all_report_files() if f != index}
    assert {os.path.splitext(f)[0] for f in listed} == artefacts
    assert {f"{layout.report_prefix('table9')}.json", f"{layout.claims}.json"} <= set(listed)
