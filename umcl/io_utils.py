"""Safe file input and output.

Output: a step either writes its whole output or leaves nothing behind, and an output path never
destroys anything the step did not itself write (docs/contracts.md, "Output paths"):

* a folder output replaces an existing folder only when that folder is empty or is a previous
  output of the same kind, recognised by the marker file :data:`OUTPUT_MARKER` that
  :func:`atomic_path` writes into every folder output (listing its files) and holding nothing else;
* a file output never replaces a folder, and replaces an existing file only when both are of the
  same format (text by text, zip by zip, MP4 by MP4, ...; see :func:`file_format`), or the old file
  is empty;
* a folder output never replaces a file.

Input: :func:`read_text_file` and :func:`read_json_file` turn a missing, binary or malformed file
into a one-line :class:`~umcl.errors.UmclError` naming the file and the fix.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from umcl.errors import EnvironmentFailure, UmclError

#: file written into every folder output by :func:`atomic_path` (JSON: kind, files)
OUTPUT_MARKER = ".umcl-output"
_SNIFF_BYTES = 8192
#: leading bytes -> format name (checked in order)
_MAGIC = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"\x93NUMPY", "npy"),
    (b"\x80", "pickle"),
    (b"\x1a\x45\xdf\xa3", "matroska"),
    (b"RIFF", "riff"),
    (b"\x89PNG", "png"),
    (b"\xff\xd8\xff", "jpeg"),
)


def file_format(path: str | Path) -> str:
    """A coarse format name from a file's first bytes: ``empty``, ``text``, ``zip``, ``mp4``, ... .

    ``text`` means UTF-8 without NUL bytes (CSV, JSON, YAML, Markdown, LaTeX); anything else
    unrecognised is ``binary:<first 4 bytes in hex>``.
    """
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head:
        return "empty"
    if len(head) >= 8 and head[4:8] == b"ftyp":
        return "mp4"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            return "text"
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 3:  # a multi-byte character cut by the sniff window
                return "text"
    return f"binary:{head[:4].hex()}"


def _marker_of(folder: Path) -> dict | None:
    marker = folder / OUTPUT_MARKER
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _listing(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}


def check_output_path(
    target: str | Path, is_dir: bool, kind: str = "output", new_format: str | None = None, option: str = "--out"
) -> None:
    """Raise a one-line :class:`UmclError` if writing ``target`` would destroy what the step did not write.

    ``is_dir``: the output is a folder. ``kind``: which step's folder output may be replaced (the
    marker's ``kind``). ``new_format``: the :func:`file_format` of the new file, when known (a file
    of another format is never replaced). ``option``: the command-line option named in the fix.
    Commands call this before doing any work; :func:`atomic_path` calls it again before it commits.
    """
    target = Path(target)
    if not os.path.lexists(target):
        return
    keep = "it was left untouched"
    if target.is_dir():
        if not is_dir:
            raise UmclError(
                f"is a folder, but this output is a file; {keep}",
                target,
                f"give {option} a file path (a new name, or a file inside that folder)",
            )
        if not any(target.iterdir()):
            return
        marker = _marker_of(target)  # checked before listing: a dataset folder is never walked
        if marker is None:
            raise UmclError(
                f"folder exists and is not an output of this step; {keep}",
                target,
                f"choose a new {option} folder, or delete this one yourself",
            )
        if marker.get("kind") != kind:
            raise UmclError(
                f"folder is the output of another step ({marker.get('kind')!r}, not {kind!r}); {keep}",
                target,
                f"choose a new {option} folder",
            )
        extra = sorted(_listing(target) - set(marker.get("files") or []) - {OUTPUT_MARKER})
        if extra:
            raise UmclError(
                f"folder holds files this step did not write ({', '.join(extra[:3])}"
                f"{', ...' if len(extra) > 3 else ''}); {keep}",
                target,
                f"move those files away, or choose a new {option} folder",
            )
        return
    if is_dir:
        raise UmclError(
            f"exists and is a file, but this output is a folder; {keep}", target, f"give {option} a new folder path"
        )
    if not target.is_file():
        raise UmclError(f"exists and is not a regular file; {keep}", target, f"give {option} another path")
    old = file_format(target)
    if new_format is not None and old not in ("empty", new_format):
        raise UmclError(
            f"holds a {old} file, but this output is {new_format}; {keep}", target, f"give {option} a new file path"
        )


@contextlib.contextmanager
def atomic_path(
    target: str | Path, suffix: str | None = None, kind: str = "output", option: str = "--out"
) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` only on success.

    Works for files and folders (the caller creates one or the other at the yielded path). On an
    exception the temporary is removed and ``target`` is left untouched. An existing ``target`` is
    replaced only under the rules of :func:`check_output_path` (``kind``, ``option`` are passed on);
    a folder output gets the marker file :data:`OUTPUT_MARKER` listing its files.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sfx = suffix if suffix is not None else "".join(target.suffixes)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{sfx}", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{tmp}: nothing was written for {target}")
        is_dir = tmp.is_dir()
        check_output_path(target, is_dir, kind, None if is_dir else file_format(tmp), option)
        if is_dir:
            files = sorted(_listing(tmp))
            (tmp / OUTPUT_MARKER).write_text(json.dumps({"kind": kind, "files": files}, indent=1) + "\n")
            _replace_folder(tmp, target)
        else:
            os.replace(tmp, target)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
        raise


def _replace_folder(new: Path, target: Path) -> None:
    """Move folder ``new`` onto ``target`` (already checked replaceable); the old one goes last."""
    if not target.exists():
        os.replace(new, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    old.rmdir()
    os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as pretty JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def write_text(path: str | Path, text: str) -> None:
    """Write text atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


#: errno -> (what it says, the fix) for failures of the machine rather than of the input
_ENVIRONMENT_ERRNOS = {
    errno.ENOSPC: ("no space left on the disk", "free space on that disk (or write to another one)"),
    errno.EDQUOT: ("disk quota exceeded", "free space within your quota (or write to another disk)"),
    errno.EROFS: ("the file system is read-only", "write to a writable disk"),
    errno.EACCES: ("permission denied", "make the file or its folder readable and writable for you (chmod)"),
    errno.EPERM: ("operation not permitted", "make the file or its folder writable for you"),
    errno.ENOMEM: ("out of memory", "free memory or use fewer workers"),
    errno.EMFILE: ("too many open files", "raise the open-file limit (ulimit -n) or use fewer workers"),
    errno.ENFILE: ("too many open files on the system", "close other programs or use fewer workers"),
}


def environment_error(exc: BaseException, path: str | Path, then: str = "") -> EnvironmentFailure | None:
    """The one-line :class:`EnvironmentFailure` for ``exc`` when the machine failed while working on
    ``path`` (disk full, permission denied, out of memory: errno in :data:`_ENVIRONMENT_ERRNOS`, or a
    MemoryError); None for any other exception (then the input itself is at fault). ``then`` is added
    to the fix (e.g. how to continue)."""
    if isinstance(exc, MemoryError):
        said, fix = _ENVIRONMENT_ERRNOS[errno.ENOMEM]
    elif isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS:
        said, fix = _ENVIRONMENT_ERRNOS[exc.errno]
        said = f"{said} ({errno.errorcode[exc.errno]})"
    else:
        return None
    return EnvironmentFailure(f"cannot go on: {said}", path, fix + (f", then {then}" if then else ""))


def unreadable_reason(path: Path) -> str | None:
    """Why ``path`` cannot be opened although something is there: a symbolic-link loop, a broken link or
    no permission (None when it simply does not exist)."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop"
        if exc.errno == errno.EACCES:
            return "cannot be reached: permission denied on a folder above it"
        if path.is_symlink():
            return f"is a broken symbolic link (to {os.readlink(path)})"
    return None


def read_text_file(path: str | Path, what: str, fix: str) -> str:
    """The UTF-8 text of ``path``; a missing, unreadable or binary file is a one-line :class:`UmclError`.

    ``what`` names the file's role (e.g. ``"manifest"``), ``fix`` says how to get a good one.
    """
    path = Path(path)
    try:
        is_dir, is_file = path.is_dir(), path.is_file()
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte, a lone surrogate
        raise UmclError(f"cannot open {what} ({_reason(exc)})", path, fix) from None
    if is_dir:
        raise UmclError(f"{what} is a folder, not a file", path, fix)
    if not is_file:
        reason = unreadable_reason(path)
        raise UmclError(
            f"{what} {reason}" if reason else f"{what} not found",
            path,
            "make the link point to the file" if reason and "link" in reason else fix,
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise UmclError(
                f"cannot read {what}: permission denied",
                path,
                "make it readable for you (chmod u+r) or copy it somewhere readable",
            ) from None
        raise UmclError(f"cannot read {what} ({exc.strerror or type(exc).__name__})", path, fix) from exc
    if b"\x00" in data:
        raise UmclError(f"{what} is a binary file, not text", path, fix)
    try:
        return data.decode("utf-8-sig")  # a byte-order mark (spreadsheet exports) is not part of the text
    except UnicodeDecodeError as exc:
        raise UmclError(f"{what} is not UTF-8 text (byte {exc.start})", path, fix) from exc


def _reason(exc: BaseException) -> str:
    """An OS error's reason without the path it repeats (e.g. ``File name too long``)."""
    return getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}"


def require_folder(path: str | Path, what: str, fix: str) -> Path:
    """``path`` as a folder that exists; a missing path or a file is a one-line :class:`UmclError`."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UmclError(f"{what} is a file, not a folder", path, fix)
    if not path.is_dir():
        raise UmclError(f"{what} not found", path, fix)
    return path


def read_json_file(path: str | Path, what: str, fix: str) -> Any:
    """Parse ``path`` as JSON; a missing, binary or malformed file is a one-line :class:`UmclError`."""
    text = read_text_file(path, what, fix)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UmclError(f"{what} is not valid JSON ({exc})", path, fix) from exc


def write_or_check_generated(path: str | Path, text: str, check: bool, regenerate: str) -> int:
    """Write a generated file atomically, or with ``check`` return 1 when the committed one is stale.

    ``regenerate`` is the command that rewrites it (named in the one-line message).
    """
    import sys

    path = Path(path)
    if check:
        if not path.is_file() or path.read_text() != text:
            print(f"{path}: out of date — fix: run `{regenerate}`", file=sys.stderr)
            return 1
        return 0
    write_text(path, text)
    print(f"wrote {path}")
    return 0
