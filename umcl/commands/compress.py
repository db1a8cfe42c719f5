"""``umcl compress``: make c23/c40 from the raw videos exactly like FaceForensics++."""

from __future__ import annotations

import argparse
from pathlib import Path

from umcl.data.compression import compress_tree
from umcl.logs import setup_logging

HELP = "compress ROOT's raw videos to c23/c40 (libx264 -crf 23/40, FF++ settings)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, required=True, help="dataset root (FF++ layout)")
    parser.add_argument("--levels", nargs="+", default=["c23", "c40"], help="levels to make (c23 c40)")
    parser.add_argument("--workers", type=int, default=1, help="parallel ffmpeg processes")
    parser.add_argument("--log", type=Path, default=None, help="append the log to this file")


def run(args: argparse.Namespace) -> int:
    setup_logging(args.log)
    compress_tree(args.root, tuple(args.levels), max(1, args.workers))
    return 0
