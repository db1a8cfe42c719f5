"""``umcl fetch``: never downloads by itself — prints instructions, verifies a tree, or runs the user's script."""

from __future__ import annotations

import argparse
from pathlib import Path

from umcl.data import fetch
from umcl.errors import UmclError
from umcl.io_utils import require_folder

HELP = "instructions for obtaining a dataset, a check of the tree on disk, or (with --yes) the user's FF++ script"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, choices=fetch.FETCH_DATASETS)
    parser.add_argument("--root", help="dataset root: verify it (or the output folder of --script)")
    parser.add_argument("--script", help="your copy of the official FF++ download script (ff++ and dfd)")
    parser.add_argument(
        "--yes", action="store_true", help="really run --script (otherwise its commands are only printed)"
    )
    parser.add_argument("--compressions", nargs="+", default=["c23"], choices=fetch.COMPRESSIONS)
    parser.add_argument("--methods", nargs="+", help="FF++ methods (default: the paper's four)")
    parser.add_argument("--server", help="passed to the download script's --server (e.g. EU2)")


def run(args: argparse.Namespace) -> int:
    if args.script:
        if not args.root:
            raise UmclError("--script needs --root (the download folder)", args.script, "add --root ROOT")
        if not Path(args.script).is_file():
            raise UmclError(
                "download script not found", args.script, f"request it via {fetch.FF_FORM} and pass its path"
            )
        commands = fetch.script_commands(
            args.script, args.root, args.dataset, args.compressions, args.methods, args.server
        )
        print(fetch.format_commands(commands))
        if not args.yes:
            print("Not run. Add --yes to run these commands (they download from the FF++ servers).")
            return 0
        fetch.run_commands(commands)
    if args.root and Path(args.root).exists():
        require_folder(args.root, "dataset root", "pass the folder that holds (or will hold) the dataset")
    if args.root:
        checks = fetch.verify(args.dataset, args.root, args.compressions, args.methods)
        print(fetch.format_checks(checks))
        if all(c.ok for c in checks):
            return 0
        print(fetch.instructions(args.dataset, args.compressions))
        return 1
    print(fetch.instructions(args.dataset, args.compressions))
    return 0
