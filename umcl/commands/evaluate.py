"""``umcl evaluate``: score a trained run's selected checkpoint on one split and compression."""

from __future__ import annotations

import argparse

from umcl.config import load_config
from umcl.logs import setup_logging

HELP = "score the validation-selected checkpoint of a run on a test set → scores.csv + metrics.json"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="config YAML (section evaluation: bootstrap settings)")
    parser.add_argument("--run", required=True, help="run folder written by `umcl train`")
    parser.add_argument("--manifest", required=True, help="preprocessed manifest CSV holding the test videos")
    parser.add_argument("--test-compression", required=True, help="compression of the test videos (raw, c23, c40)")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"), help="split to score (default test)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--out", required=True, help="output folder (scores.csv, metrics.json)")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    parser.add_argument("--log", help="also log to this file")


def run(args: argparse.Namespace) -> int:
    from umcl.evaluation.predict import evaluate_run

    setup_logging(args.log)
    config = load_config(args.config) if args.config else {}
    evaluate_run(config, args.run, args.manifest, args.test_compression, args.out, split=args.split,
                 device=args.device, progress=not args.no_progress)
    return 0
