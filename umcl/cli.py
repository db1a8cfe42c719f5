"""The ``umcl`` command: one subcommand per pipeline step; the same command works by hand.

Each subcommand lives in ``umcl/commands/<name>.py`` and exposes ``HELP`` (one line),
``configure(parser)`` and ``run(args) -> int | None``. Commands are imported lazily so that
``umcl --help`` stays fast and one broken step does not break the others.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from umcl.errors import UmclError
from umcl.logs import close_log_files, log_to_files

# name -> module under umcl.commands (order is the pipeline's order)
COMMANDS: dict[str, str] = {
    "fetch": "fetch",
    "generate": "generate",
    "compress": "compress",
    "platforms": "platforms",
    "manifest": "manifest",
    "preprocess": "preprocess",
    "pretrain": "pretrain",
    "train": "train",
    "evaluate": "evaluate",
    "report": "report",
    "figure": "figure",
    "pulse": "pulse",
    "pulse-study": "pulse_study",
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


#: torch's CPU allocator backs large tensors with transparent huge pages when this is 1: a batch of float
#: frames then takes a few hundred page faults instead of thousands, which made up much of a test-time
#: condition's cost (docs/contracts.md, "CLI"); a value the user set is kept
HUGE_PAGES_ENV = "THP_MEM_ALLOC_ENABLE"


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault(HUGE_PAGES_ENV, "1")  # before torch's first large allocation reads it
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if getattr(args, "_module", None) is None:
        parser.print_help()
        return 2
    close_log_files()  # a log file of an earlier in-process call must not receive this one's errors
    try:
        code = args._module.run(args)
    except UmclError as exc:
        return _fail(f"umcl {args.command}: error: {exc}", 2)
    except KeyboardInterrupt:
        return _fail(f"umcl {args.command}: interrupted", 130)
    except OSError as exc:
        if exc.filename is None:  # not about a file the user named: a bug, keep the traceback
            log_to_files(f"umcl {args.command}: failed", exc_info=True)
            raise
        where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
        return _fail(
            f"umcl {args.command}: error: {where}: {exc.strerror or type(exc).__name__} — fix: "
            "check that the path exists, is writable and its disk has space",
            2,
        )
    except Exception:
        log_to_files(f"umcl {args.command}: failed", exc_info=True)
        raise
    finally:
        close_log_files()
    return int(code or 0)


def _fail(message: str, code: int) -> int:
    """Print the one-line error and put it in the step's log file too (``--log``, OUT/train.log)."""
    print(message, file=sys.stderr)
    log_to_files(message)
    return code


if __name__ == "__main__":
    sys.exit(main())
