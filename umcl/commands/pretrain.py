"""``umcl pretrain``: pre-train UMCL's P-encoder on SynthFF real videos and their ground-truth pulse.

Its step's modules are imported inside its functions: torch and the rest load only when the command runs
(``umcl --help`` stays fast).
"""

from __future__ import annotations

import argparse

from umcl.config import load_config
from umcl.logs import setup_logging

HELP = (
    "pre-train the P-encoder (PhysFormer) on SynthFF ground-truth pulse → weights for detectors.umcl.physformer_weights"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="config YAML (sections pretrain, detectors.umcl)")
    parser.add_argument("--manifest", required=True, help="preprocessed SynthFF manifest CSV")
    parser.add_argument("--out", required=True, help="weight file to write (plus OUT.json with provenance)")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    parser.add_argument("--log", help="also log to this file")


def run(args: argparse.Namespace) -> int:
    from umcl.training.pretrain import pretrain

    setup_logging(args.log)
    pretrain(load_config(args.config) if args.config else {}, args.manifest, args.out, progress=not args.no_progress)
    return 0
