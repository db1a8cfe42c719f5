"""``umcl train``: train one registered detector at one compression, selecting on validation.

Its step's modules are imported inside its functions: torch and the rest load only when the command runs
(``umcl --help`` stays fast).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from umcl.config import config_errors_name, load_config
from umcl.errors import UmclError
from umcl.logs import setup_logging

HELP = (
    "train a detector with its source's optimiser and lr schedule (training.per_detector overrides), "
    "balanced batches; select the epoch on the validation split"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", help="config YAML (sections training, detectors.<name>); default: built-in defaults"
    )
    parser.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one key of --config (dotted path, YAML value), as `umcl validate-config --set`",
    )
    parser.add_argument(
        "--config-out",
        type=Path,
        metavar="YAML",
        help="validate --config with its --set overrides, write it merged here (as `umcl "
        "validate-config --out`) and train with that file (the pipeline's per-job config)",
    )
    parser.add_argument("--detector", required=True, help="registered detector name (umcl, xception, lrnet, cpml)")
    parser.add_argument("--manifest", required=True, help="preprocessed manifest CSV (umcl preprocess --out-manifest)")
    parser.add_argument(
        "--train-compression", required=True, help="compression to train and validate on (raw, c23, c40)"
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        help="train on the fakes of these manipulation methods only "
        "(real videos always; default: every method in the manifest)",
    )
    parser.add_argument("--seed", type=int, help="overrides training.seed")
    parser.add_argument("--epochs", type=int, help="overrides training.epochs")
    parser.add_argument("--out", required=True, help="run folder (checkpoints/, selection.json, history.csv)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from checkpoints/last.pt")
    parser.add_argument(
        "--if-exists",
        choices=["error", "resume-or-restart"],
        default="error",
        help="when --out already holds a run: refuse (default), or continue it if it was "
        "started with the same settings and otherwise start over (the pipeline's choice)",
    )
    parser.add_argument("--stop-after", type=int, metavar="N", help="end after epoch N (continue later with --resume)")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    parser.add_argument("--log", help="log file (default: OUT/train.log)")


def run(args: argparse.Namespace) -> int:
    from umcl.training.runtime import launch_rank
    from umcl.training.trainer import Trainer, build_spec

    if args.stop_after is not None and args.stop_after < 1:
        raise UmclError(
            f"--stop-after must be >= 1 (the epoch to end after), got {args.stop_after}; 0 would "
            "end before any epoch and leave no checkpoint",
            fix="pass --stop-after 1 or more, or drop it",
        )
    check_run_folder(Path(args.out))
    # a failure's one-line error lands here too (cli); under torchrun only rank 0 logs progress
    setup_logging(args.log or Path(args.out) / "train.log", logging.INFO if launch_rank() == 0 else logging.WARNING)
    if args.assignments or args.config_out:
        if not (args.config and args.config_out):
            raise UmclError(
                "--set and --config-out need --config and --config-out",
                fix="pass --config BASE.yaml --config-out JOB.yaml (and any --set KEY=VALUE)",
            )
        from umcl.commands.validate_config import validated_config

        validated_config(Path(args.config), args.assignments, args.config_out, option="--config-out")
        args.config = str(args.config_out)  # train from the written file, exactly as by hand
    config = load_config(args.config) if args.config else {}
    flags = [flag for flag, value in (("--seed", args.seed), ("--epochs", args.epochs)) if value is not None]
    source = f"{args.config or 'built-in defaults'} with {' '.join(flags)}" if flags else args.config
    with config_errors_name(source):
        spec = build_spec(
            config,
            args.detector,
            args.manifest,
            args.train_compression,
            seed=args.seed,
            epochs=args.epochs,
            methods=args.methods,
        )
    Trainer(spec, args.out, progress=not args.no_progress).fit(
        resume=args.resume, stop_after=args.stop_after, if_exists=args.if_exists
    )
    return 0


#: what a run folder may hold before its first run.json (a killed first attempt: its log)
_BEFORE_RUN = {"train.log", "checkpoints"}


def check_run_folder(out: Path) -> None:
    """Refuse an ``--out`` that is a file, or a non-empty folder that holds no training run (a
    dataset, another step's output): training writes into it and must not mix with other files."""
    if not out.exists():
        return
    if not out.is_dir():
        raise UmclError(
            "--out exists and is a file, but it is the run folder; it was left untouched",
            out,
            "give --out a new folder path",
        )
    names = {p.name for p in out.iterdir()}
    if names and "run.json" not in names and not names <= _BEFORE_RUN:
        raise UmclError(
            "--out is a folder that holds other files and no training run; it was left untouched",
            out,
            "give --out a new or empty folder",
        )
