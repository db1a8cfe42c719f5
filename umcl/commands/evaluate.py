"""``umcl evaluate``: score a trained run's selected checkpoint: on one split and compression
(``--manifest --test-compression``), or on every job-sheet cell of the run at once (``--key --tests``).

Its step's modules are imported inside its functions: torch and the rest load only when the command runs
(``umcl --help`` stays fast).
"""

from __future__ import annotations

import argparse

from umcl.config import load_config
from umcl.logs import setup_logging

HELP = "score the validation-selected checkpoint of a run on a test set → scores.csv + metrics.json"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="config YAML (section evaluation: bootstrap settings)")
    parser.add_argument("--run", required=True, help="run folder written by `umcl train`")
    parser.add_argument("--manifest", help="preprocessed manifest CSV holding the test videos")
    parser.add_argument("--test-compression", help="compression of the test videos (raw, c23, c40)")
    parser.add_argument(
        "--key",
        help="the run's key (umcl.protocols.keys.RunKey path, e.g. umcl/ffpp-all-c23/seed0); "
        "with --tests and --manifests: evaluate every cell in one process",
    )
    parser.add_argument("--tests", nargs="+", help="cells: <test selection>/<condition>, e.g. ffpp-DF-c23/clean")
    parser.add_argument(
        "--manifests",
        nargs="+",
        metavar="DATASET=CSV",
        help="preprocessed manifest of each dataset role (ff++, celebdf, dfd, dfdc); a role given twice reads both",
    )
    parser.add_argument(
        "--split", default="test", choices=("train", "val", "test"), help="split to score (default test)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--out", required=True, help="output folder (scores.csv, metrics.json)")
    parser.add_argument(
        "--selection",
        default="selection.json",
        help="the run's selection record naming the checkpoint to score (default selection.json; "
        "selection_as_released.json, selection_label_prompt.json: the leakage audit's other selections, "
        "umcl.training.scoring, reports/leakage.md)",
    )
    parser.add_argument(
        "--allow-unfinished",
        action="store_true",
        help="score a run whose training did not reach training.epochs (refused otherwise)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    parser.add_argument("--log", help="also log to this file")


def run(args: argparse.Namespace) -> int:
    from umcl.config import config_errors_name, section
    from umcl.evaluation.config import EvalConfig
    from umcl.evaluation.predict import check_finished, evaluate_run
    from umcl.evaluation.sheet_eval import OUTPUT_KIND, adopt_earlier_evaluation
    from umcl.io_utils import check_output_path

    adopt_earlier_evaluation(args.out)
    check_output_path(args.out, is_dir=True, kind=OUTPUT_KIND)  # never --run or another folder
    setup_logging(args.log)
    config = load_config(args.config) if args.config else {}
    with config_errors_name(args.config):
        section(config, "evaluation", EvalConfig)  # range errors before any scoring, naming the file
    if not args.allow_unfinished:
        check_finished(args.run)
    if args.key or args.tests:
        from umcl.errors import UmclError
        from umcl.evaluation.sheet_eval import evaluate_cells
        from umcl.protocols.keys import RunKey

        if not (args.key and args.tests and args.manifests):
            raise UmclError("--key, --tests and --manifests go together", fix="pass all three (or none)")
        bad = [m for m in args.manifests if "=" not in m]
        if bad:
            raise UmclError(
                f"--manifests entry {bad[0]!r} is not DATASET=CSV",
                fix="write e.g. ff++=results/P/data/preprocessed.csv",
            )
        manifests: dict[str, list[str]] = {}  # a role may name several (Table U's platform videos)
        for role, path in (m.split("=", 1) for m in args.manifests):
            manifests.setdefault(role, []).append(path)
        evaluate_cells(
            config,
            args.run,
            RunKey.from_path(args.key),
            args.tests,
            manifests,
            args.out,
            device=args.device,
            progress=not args.no_progress,
            selection_file=args.selection,
        )
        return 0
    if not (args.manifest and args.test_compression):
        from umcl.errors import UmclError

        raise UmclError("`umcl evaluate` needs --manifest and --test-compression (or --key, --tests, --manifests)")
    evaluate_run(
        config,
        args.run,
        args.manifest,
        args.test_compression,
        args.out,
        split=args.split,
        device=args.device,
        progress=not args.no_progress,
        selection_file=args.selection,
    )
    return 0
