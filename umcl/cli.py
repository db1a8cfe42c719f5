"""The ``umcl`` command: one subcommand per pipeline step; the same command works by hand.

Each subcommand lives in ``umcl/commands/<name>.py`` and exposes ``HELP`` (one line),
``configure(parser)`` and ``run(args) -> int | None``. Commands are imported lazily so that
``umcl --help`` stays fast and one broken step does not break the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from umcl.errors import UmclError

# name -> module under umcl.commands (order is the pipeline's order)
COMMANDS: dict[str, str] = {
    "fetch": "fetch",
    "generate": "generate",
    "compress": "compress",
    "manifest": "manifest",
    "preprocess": "preprocess",
    "pretrain": "pretrain",
    "train": "train",
    "evaluate": "evaluate",
    "report": "report",
    "validate-config": "validate_config",
}


def _load(name: str):
    return importlib.import_module(f"umcl.commands.{COMMANDS[name]}")


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="umcl", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name in COMMANDS:
        if wanted is not None and name != wanted:
            sub.add_parser(name, help="")  # keep the choice list without importing every module
            continue
        module = _load(name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if getattr(args, "_module", None) is None:
        parser.print_help()
        return 2
    try:
        code = args._module.run(args)
    except UmclError as exc:
        print(f"umcl {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"umcl {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
