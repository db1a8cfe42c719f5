"""The contract every fuzz harness checks, shared by the harnesses of this folder.

A reader of user input, given any bytes, either returns a result or raises
:class:`umcl.errors.UmclError` whose message is one line and names the file it read (or the
command-line option the bad value came from). Anything else is a *finding*.

By default a finding is re-raised, so libFuzzer stops and writes the input as ``crash-*``. With
``FUZZ_KEEP_GOING=1`` each distinct finding (exception type and the innermost line of project code)
is written once to ``FUZZ_FINDINGS`` (default ``fuzz/findings/<harness>/``: its traceback and the
input) and fuzzing goes on, so that one ten-minute run collects every finding, not only the first.

The harnesses instrument only ``umcl`` for coverage: atheris 2.3.0's bytecode instrumentation of
PyYAML's scanner on Python 3.11 raised ``AttributeError: 'str' object has no attribute 'prefix'``
on an input that the uninstrumented parser rejects with a plain ``ParserError`` (a false finding).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

from umcl.errors import UmclError

HERE = Path(__file__).resolve().parent
_seen: set[str] = set()


class ContractError(AssertionError):
    """A UmclError that breaks the contract (several lines, or names no file)."""


def _where(exc: BaseException) -> str:
    """Exception type and the innermost frame inside the project (else the innermost frame); for a
    broken contract, the place the UmclError was raised."""
    if isinstance(exc, ContractError) and exc.__cause__ is not None:
        return "Contract:" + _where(exc.__cause__)
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/umcl/" in f.filename] or frames
    f = ours[-1] if ours else None
    loc = f"{Path(f.filename).name}:{f.lineno}" if f else "?"
    return f"{type(exc).__name__}@{loc}"


def _record(harness: str, exc: BaseException, data: bytes) -> None:
    sig = _where(exc)
    if sig in _seen:
        return
    _seen.add(sig)
    out = Path(os.environ.get("FUZZ_FINDINGS", HERE / "findings" / harness))
    out.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1(sig.encode()).hexdigest()[:10]
    (out / f"{name}.input").write_bytes(data)
    text = "".join(traceback.format_exception(exc))
    (out / f"{name}.txt").write_text(f"{sig}\n\n{text}")
    print(f"FINDING {harness} {sig} -> {out / name}.input", file=sys.stderr, flush=True)


def check(harness: str, data: bytes, call: Callable[[], object], names: tuple[str, ...]) -> None:
    """Run ``call``; a UmclError must be one line naming one of ``names``; other exceptions are findings."""
    try:
        try:
            call()
        except UmclError as exc:
            text = str(exc)
            if len(text.splitlines()) != 1:
                raise ContractError(f"UmclError message is not one line: {text!r}") from exc
            if not any(n in text for n in names):
                raise ContractError(f"UmclError names none of {list(names)}: {text!r}") from exc
    except Exception as exc:  # noqa: BLE001 - everything else is what fuzzing looks for
        if os.environ.get("FUZZ_KEEP_GOING") != "1":
            raise
        _record(harness, exc, data)


def split(data: bytes, parts: int) -> list[bytes]:
    """``data`` cut at the record separator byte 0x1e into exactly ``parts`` pieces (padded with b"")."""
    pieces = data.split(b"\x1e", parts - 1)
    return pieces + [b""] * (parts - len(pieces))


def scratch(harness: str) -> Path:
    """A temporary folder for the harness's input files, removed when the process exits."""
    folder = Path(tempfile.mkdtemp(prefix=f"fuzz-{harness}-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def instrumented():
    """Context in which imported ``umcl`` modules get coverage instrumentation (a no-op without
    atheris, so that tests/test_fuzz_seeds.py can run the harnesses on their seeds anywhere)."""
    try:
        import atheris
    except ImportError:
        return contextlib.nullcontext()
    return atheris.instrument_imports(include=["umcl"])


def run(test_one_input: Callable[[bytes], None]) -> None:
    """Start libFuzzer with this process's arguments (corpus folders, -max_total_time=...)."""
    import atheris

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
