"""``umcl manifest``: list a dataset's videos with labels and splits into one manifest CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from umcl.data.adapters import DATASETS, build_records
from umcl.data.manifest import check_no_split_overlap, filter_rows, write_manifest
from umcl.errors import UmclError
from umcl.io_utils import check_output_path, require_folder
from umcl.logs import get_logger, setup_logging

HELP = "write the manifest CSV (dataset,method,compression,split,label,path,id) of a dataset on disk"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--root", required=True, help="dataset root folder")
    parser.add_argument("--out", required=True, help="manifest CSV to write")
    parser.add_argument("--methods", nargs="+", help="manipulation methods (FF++ default: the paper's four)")
    parser.add_argument("--compressions", nargs="+", help="raw c23 c40 (default: those on disk); Celeb-DF/DFDC: orig")
    parser.add_argument("--splits-dir", help="FF++/SynthFF: folder with train/val/test.json (beats ROOT/splits)")
    parser.add_argument("--test-list", help="Celeb-DF: List_of_testing_videos.txt (default: ROOT's, else shipped copy)")
    parser.add_argument(
        "--dfd-grouping",
        choices=("actors", "target"),
        default="actors",
        help="DFD: 'actors' = no actor in two splits (drops cross-split fakes); 'target' = by target actor",
    )
    parser.add_argument(
        "--dfdc-test",
        choices=("split", "public"),
        default="split",
        help="DFDC: 'split' = paper's 70/20/10 of the training parts; 'public' = ROOT/test/ is the test split",
    )
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="list only the videos on disk when expected ones are missing (they are reported)",
    )
    parser.add_argument("--log", help="also log to this file")


def run(args: argparse.Namespace) -> int:
    if Path(args.root).exists():  # a missing root: the adapter says what it should hold
        require_folder(args.root, f"{args.dataset} root", "pass the dataset's root folder with --root")
    check_output_path(args.out, is_dir=False, new_format="text")
    setup_logging(args.log)
    log = get_logger("manifest")
    layout_ff = args.dataset in ("ff++", "synthff")
    has_levels = layout_ff or args.dataset == "dfd"
    result = build_records(
        args.dataset,
        args.root,
        methods=args.methods if layout_ff else None,
        compressions=args.compressions if has_levels else None,
        splits_dir=args.splits_dir,
        dfd_grouping=args.dfd_grouping,
        dfdc_test=args.dfdc_test,
        celebdf_test_list=args.test_list,
        allow_missing=args.allow_missing,
    )
    rows = result.records
    if not layout_ff:  # adapters without method/compression options: filter their records
        rows = filter_rows(rows, methods=args.methods, compression=None if has_levels else args.compressions)
        if not rows:
            raise UmclError(
                "--methods/--compressions leave no videos",
                args.root,
                "use the method and compression names listed in docs/deviations/data.md",
            )
    check_no_split_overlap(rows)
    result.records = rows
    for path in result.missing[:5]:
        log.warning("missing: %s", path)
    if len(result.missing) > 5:
        log.warning("... and %d more missing videos", len(result.missing) - 5)
    write_manifest(rows, args.out)
    log.info("%s: %s -> %s", args.dataset, result.summary(), args.out)
    return 0
