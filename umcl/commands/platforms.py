"""``umcl platforms``: the test videos of unknown platforms (Table U), made from a manifest's test split."""

from __future__ import annotations

import argparse
from pathlib import Path

from umcl.data.platforms import make_platform_tree
from umcl.logs import setup_logging
from umcl.specs.platforms import PLATFORM_LEVELS

HELP = "re-encode a manifest's raw test videos as unknown platforms would (HEVC/AV1/VP9 at x264's bitrates, chains)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--manifest", type=Path, required=True, help="manifest with the raw, c23 and c40 test videos")
    parser.add_argument("--out", type=Path, required=True, help="folder for the videos, manifest.csv, platforms.json")
    parser.add_argument("--levels", nargs="+", default=list(PLATFORM_LEVELS), help="platform levels (default: all)")
    parser.add_argument("--workers", type=int, default=1, help="parallel videos (each encoder runs one thread)")
    parser.add_argument(
        "--max-videos",
        type=int,
        default=None,
        help="re-encode a seeded subset of this many raw test videos, half real and half fake (default: all)",
    )
    parser.add_argument("--log", type=Path, default=None, help="append the log to this file")


def run(args: argparse.Namespace) -> int:
    setup_logging(args.log)
    make_platform_tree(args.manifest, args.out, tuple(args.levels), max(1, args.workers), args.max_videos)
    return 0
