"""``umcl report table3``: render the paper's Table 3 beside ours from metrics files."""

from __future__ import annotations

import argparse
from pathlib import Path

from umcl.config import config_hash, load_config, section
from umcl.logs import get_logger, setup_logging

HELP = "render report tables (table3: cross-compression AUC/ACC, paper vs ours) as .tex, .md and .json"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", choices=["table3"], help="which table to render")
    parser.add_argument("--config", required=True, type=Path, help="resolved config the metrics were made with")
    parser.add_argument("--metrics", required=True, nargs="+", type=Path,
                        help="metrics.json files laid out as <detector>/<train>/seed<S>/<test>/metrics.json")
    parser.add_argument("--out", required=True, type=Path, help="output prefix, e.g. reports/table3")
    parser.add_argument("--profile", default="custom", help="profile name for the provenance line")
    parser.add_argument("--log", type=Path, default=None, help="also log to this file")


def run(args: argparse.Namespace) -> int:
    from umcl.report.table3 import write_table3
    from umcl.workflow import WorkflowConfig

    setup_logging(args.log)
    log = get_logger("report")
    cfg = load_config(args.config)
    dataset = section(cfg, "workflow", WorkflowConfig).dataset
    paths = write_table3(args.metrics, args.out, dataset=dataset, profile=args.profile,
                         config_hash=config_hash(cfg))
    log.info("wrote %s", ", ".join(str(p) for p in paths))
    return 0
