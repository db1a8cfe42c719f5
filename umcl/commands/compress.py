"""``umcl compress``: make c23/c40 from the raw videos exactly like FaceForensics++."""

from __future__ import annotations

import argparse
from pathlib import Path

from umcl.config import config_errors_name, load_config, section
from umcl.data.compression import CompressionConfig, compress_tree
from umcl.errors import UmclError
from umcl.logs import setup_logging

HELP = "compress ROOT's raw videos to c23/c40 (libx264 -crf 23/40, FF++ settings)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, required=True, help="dataset root (FF++ layout)")
    parser.add_argument("--config", type=Path, default=None, help="YAML config with a `compression` section")
    parser.add_argument("--levels", nargs="+", default=None, help="levels to make (default: c23 c40)")
    parser.add_argument("--workers", type=int, default=None, help="parallel ffmpeg processes (default 1)")
    parser.add_argument("--log", type=Path, default=None, help="append the log to this file")


def run(args: argparse.Namespace) -> int:
    setup_logging(args.log)
    with config_errors_name(args.config, kinds=(UmclError,)):  # the section's values are all from the file
        cfg = section(load_config(args.config) if args.config else None, "compression", CompressionConfig)
    levels = tuple(args.levels or cfg.levels)
    workers = max(1, args.workers if args.workers is not None else cfg.workers)
    compress_tree(args.root, levels, workers)
    return 0
