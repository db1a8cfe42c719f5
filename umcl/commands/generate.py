"""``umcl generate``: write the SynthFF dataset (raw videos, ground truth, splits)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from umcl.config import config_errors_name, load_config, section
from umcl.data.synthff import SynthFFConfig, generate
from umcl.data.synthff.config import lookalike
from umcl.logs import setup_logging

HELP = "generate the SynthFF dataset (raw videos + ground truth + splits) in the FF++ layout"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML config with a `synthff` section (defaults if omitted)")
    parser.add_argument("--out", type=Path, required=True, help="dataset root to write")
    parser.add_argument("--workers", type=int, default=None, help="parallel processes (default: synthff.workers)")
    parser.add_argument(
        "--variant",
        default=None,
        help="SynthFF look (ff, celebdf, dfd, dfdc; default: synthff.variant): the pipeline's cross-dataset parts",
    )
    parser.add_argument("--log", type=Path, default=None, help="append the log to this file")


def run(args: argparse.Namespace) -> int:
    setup_logging(args.log)
    with config_errors_name(args.config):
        cfg = section(load_config(args.config) if args.config else None, "synthff", SynthFFConfig)
    if args.workers is not None:
        cfg = dataclasses.replace(cfg, workers=args.workers)
    if args.variant is not None:
        cfg = lookalike(cfg, args.variant)  # __post_init__ validates the name
    generate(cfg, args.out)
    return 0
