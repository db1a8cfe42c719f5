"""Per-rule time breakdown of a pipeline run, from Snakemake's ``benchmark:`` files.

Every rule writes ``results/<profile>/benchmarks/<rule>/<job>.tsv`` (umcl.workflow.Layout.benchmark):
wall seconds (``s``), CPU seconds (``cpu_time``) and peak memory (``max_rss``) of each job. This
script sums them per rule, so a reader sees where a cold ``make reproduce`` spends its time::

    python benchmarks/pipeline_breakdown.py results/default [--wall 1834] [--out docs/results/x.md]

``--wall`` is the run's measured wall-clock time (e.g. from ``time make reproduce``): the table then
also shows each rule's share of it. With jobs running side by side the per-rule wall times add up to
more than the run's wall time; the CPU seconds do not depend on that overlap.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def read_benchmarks(results: Path) -> pd.DataFrame:
    """One row per job: rule, job name, wall s, CPU s, max RSS (MB)."""
    rows = []
    for tsv in sorted((results / "benchmarks").rglob("*.tsv")):
        rule = tsv.relative_to(results / "benchmarks").parts[0]
        table = pd.read_csv(tsv, sep="\t")
        if table.empty:
            continue
        last = table.iloc[-1]
        cpu = pd.to_numeric(last.get("cpu_time"), errors="coerce")
        rss = pd.to_numeric(last.get("max_rss"), errors="coerce")
        rows.append(
            {
                "rule": rule,
                "job": str(tsv.relative_to(results / "benchmarks" / rule).with_suffix("")),
                "wall_s": float(last["s"]),
                "cpu_s": float(cpu) if pd.notna(cpu) else float("nan"),
                "max_rss_mb": float(rss) if pd.notna(rss) else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=["rule", "job", "wall_s", "cpu_s", "max_rss_mb"])


def breakdown(jobs: pd.DataFrame, wall: float | None = None) -> pd.DataFrame:
    """Per rule: jobs, summed wall and CPU seconds, the slowest job, peak memory; sorted by wall time."""
    if jobs.empty:
        return pd.DataFrame(columns=["rule", "jobs", "wall_s", "cpu_s", "slowest_s", "max_rss_mb"])
    out = jobs.groupby("rule").agg(
        jobs=("job", "count"),
        wall_s=("wall_s", "sum"),
        cpu_s=("cpu_s", "sum"),
        slowest_s=("wall_s", "max"),
        max_rss_mb=("max_rss_mb", "max"),
    )
    out = out.sort_values("wall_s", ascending=False).reset_index()
    total = pd.DataFrame(
        [
            {
                "rule": "all rules",
                "jobs": int(out["jobs"].sum()),
                "wall_s": out["wall_s"].sum(),
                "cpu_s": out["cpu_s"].sum(),
                "slowest_s": out["slowest_s"].max(),
                "max_rss_mb": out["max_rss_mb"].max(),
            }
        ]
    )
    out = pd.concat([out, total], ignore_index=True)
    if wall:
        out["share_of_run_wall_%"] = 100.0 * out["wall_s"] / wall
    return out


def to_markdown(table: pd.DataFrame) -> str:
    """The breakdown as a Markdown table (seconds to one decimal)."""
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in table.iterrows():
        cells = [f"{v:.1f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="results/<profile> of a finished run")
    parser.add_argument("--wall", type=float, default=None, help="the run's measured wall-clock seconds")
    parser.add_argument("--out", type=Path, default=None, help="also write the Markdown table here")
    args = parser.parse_args(argv)
    if not (args.results / "benchmarks").is_dir():
        print(
            f"error: {args.results}: no benchmarks/ folder; run the pipeline first (every rule writes "
            "one benchmark file per job)",
            file=sys.stderr,
        )
        return 2
    text = to_markdown(breakdown(read_benchmarks(args.results), args.wall))
    print(text, end="")
    if args.out:
        from umcl.errors import UmclError
        from umcl.io_utils import write_text

        try:  # atomic, and never over a file of another format or one the step did not write
            args.out.parent.mkdir(parents=True, exist_ok=True)
            write_text(args.out, text)
        except UmclError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
