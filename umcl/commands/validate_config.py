"""``umcl validate-config``: load a config (with ``extends:``), check every section, write it merged."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "validate a config against config/schema.json and every section's dataclass; optionally write it merged"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="config or profile YAML")
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                        help="override one key (dotted path, YAML value), e.g. workflow.seeds=[0,1]")
    parser.add_argument("--out", type=Path, help="write the merged, validated config here (atomically)")


def run(args: argparse.Namespace) -> int:
    from umcl.config import config_hash, load_config, validate_config
    from umcl.io_utils import write_text
    from umcl.workflow import check_sections, resolved_text, set_key

    cfg = load_config(args.config)
    for assignment in args.assignments:
        set_key(cfg, assignment)
    if args.assignments:
        validate_config(cfg, source=args.config)
    check_sections(cfg)
    if args.out is not None:
        write_text(args.out, resolved_text(cfg, args.config))
    print(f"{args.config}: valid (config hash {config_hash(cfg)})")
    return 0
