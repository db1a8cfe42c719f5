"""Logging to the console and, for long steps, to a log file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_file: str | Path | None = None, level: int = logging.INFO) -> logging.Logger:
    """Configure the ``umcl`` logger: stderr always, plus ``log_file`` when given."""
    logger = logging.getLogger("umcl")
    logger.setLevel(level)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logger.addHandler(console)
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_file, mode="a")
        fh.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(fh)
    logger.propagate = False
    return logger


def get_logger(name: str) -> logging.Logger:
    """A child of the ``umcl`` logger."""
    return logging.getLogger(f"umcl.{name}")


def _file_handlers() -> list[logging.FileHandler]:
    return [h for h in logging.getLogger("umcl").handlers if isinstance(h, logging.FileHandler)]


def log_to_files(message: str, exc_info: bool = False) -> None:
    """Write ``message`` (an error the CLI prints) as an ERROR record to the log files only, not
    to the console, which already shows it."""
    handlers = _file_handlers()
    if not handlers:
        return
    record = logging.getLogger("umcl").makeRecord(
        "umcl", logging.ERROR, "", 0, message, None, sys.exc_info() if exc_info else None
    )
    for handler in handlers:
        handler.handle(record)


def close_log_files() -> None:
    """Detach and close the ``umcl`` logger's log files (the console handler stays)."""
    logger = logging.getLogger("umcl")
    for handler in _file_handlers():
        logger.removeHandler(handler)
        handler.close()
