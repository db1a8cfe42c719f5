"""``umcl report table3``: render the paper's Table 3 beside ours from metrics files."""

from __future__ import annotations

import argparse
from pathlib import Path

from umcl.config import config_hash, load_config, section
from umcl.errors import UmclError
from umcl.logs import get_logger, setup_logging

HELP = ("render report tables: table3 (cross-compression AUC/ACC, paper vs ours; .tex/.md/.json) or "
        "difficulty (SynthFF difficulty sweep over several result folders; .md/.json)")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", choices=["table3", "difficulty"], help="which table to render")
    parser.add_argument("--config", type=Path, help="table3: resolved config the metrics were made with")
    parser.add_argument("--metrics", nargs="+", type=Path,
                        help="table3: metrics.json files laid out as <detector>/<train>/seed<S>/<test>/metrics.json")
    parser.add_argument("--results", nargs="+", type=Path,
                        help="difficulty: result folders results/<profile> of the sweep runs")
    parser.add_argument("--out", required=True, type=Path, help="output prefix, e.g. reports/table3")
    parser.add_argument("--profile", default="custom", help="profile name for the provenance line")
    parser.add_argument("--log", type=Path, default=None, help="also log to this file")


def run(args: argparse.Namespace) -> int:
    from umcl.report.table3 import write_table3
    from umcl.workflow import WorkflowConfig

    setup_logging(args.log)
    log = get_logger("report")
    if args.table == "difficulty":
        from umcl.report.difficulty import write_sweep

        if not args.results:
            raise UmclError("`umcl report difficulty` needs --results", fix="pass the sweep's results/<profile> folders")
        paths = write_sweep(args.results, args.out)
        log.info("wrote %s", ", ".join(str(p) for p in paths))
        return 0
    if args.config is None or not args.metrics:
        raise UmclError("`umcl report table3` needs --config and --metrics",
                        fix="pass the resolved config and the metrics.json files")
    cfg = load_config(args.config)
    dataset = section(cfg, "workflow", WorkflowConfig).dataset
    paths = write_table3(args.metrics, args.out, dataset=dataset, profile=args.profile,
                         config_hash=config_hash(cfg))
    log.info("wrote %s", ", ".join(str(p) for p in paths))
    return 0
