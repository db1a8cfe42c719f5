"""benchmarks/pipeline_breakdown.py sums Snakemake benchmark files per rule (checked by hand-made files)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("pipeline_breakdown", ROOT / "benchmarks" / "pipeline_breakdown.py")
pb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pb)

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write(results: Path, rule: str, job: str, wall: float, cpu: float, rss: float) -> None:
    path = results / "benchmarks" / rule / f"{job}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{wall}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")


def test_sums_per_rule_and_shares_of_the_run(tmp_path: Path) -> None:
    write(tmp_path, "train", "umcl/ffpp-all-c23/seed0", 100.0, 190.0, 900.0)
    write(tmp_path, "train", "lrnet/ffpp-all-c23/seed0", 20.0, 20.0, 300.0)
    write(tmp_path, "generate", "data", 60.0, 118.0, 400.0)
    table = pb.breakdown(pb.read_benchmarks(tmp_path), wall=240.0)
    rows = {r["rule"]: r for _, r in table.iterrows()}
    assert list(table["rule"]) == ["train", "generate", "all rules"]  # sorted by wall time, total last
    assert rows["train"]["jobs"] == 2 and rows["train"]["wall_s"] == 120.0 and rows["train"]["cpu_s"] == 210.0
    assert rows["train"]["slowest_s"] == 100.0 and rows["train"]["max_rss_mb"] == 900.0
    assert rows["all rules"]["wall_s"] == 180.0 and rows["all rules"]["cpu_s"] == 328.0
    assert rows["train"]["share_of_run_wall_%"] == pytest.approx(50.0)
    md = pb.to_markdown(table)
    assert md.splitlines()[2].startswith("| train | 2 | 120.0 | 210.0 |")


def test_missing_folder_is_one_line_error(tmp_path: Path, capsys) -> None:
    assert pb.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no benchmarks/ folder" in err[0]
