"""User-facing errors: one line that names the file and the fix."""

from __future__ import annotations

from pathlib import Path

#: the characters ``str.splitlines`` breaks at; none may reach an error line unescaped
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def one_line(text: str, newline: str = " ") -> str:
    """``text`` on one line: each newline becomes ``newline``, any other line break its escape (``\\x1c``).

    Messages quote values from the user's files (a manifest cell, a ``--set`` value), which may
    hold any character; escaping keeps the error one line and still shows what was there.
    """
    if not any(c in text for c in _LINE_BREAKS):
        return text
    return "".join(
        newline if c == "\n" else c.encode("unicode_escape").decode("ascii") if c in _LINE_BREAKS else c for c in text
    )


class UmclError(Exception):
    """An error caused by the user's input or environment, printed as one line by the CLI.

    Always say *what* is wrong, *which file* (when there is one) and *how to fix it*. The parts
    stay available as ``message``, ``path`` and ``fix``.
    """

    def __init__(self, message: str, path: str | Path | None = None, fix: str | None = None):
        self.message = one_line(message.strip())
        self.path = path
        self.fix = one_line(fix.strip()) if fix else None
        parts = []
        if path is not None:
            parts.append(one_line(str(path), newline="\\n") + ":")
        parts.append(self.message)
        if self.fix:
            parts.append(f"— fix: {self.fix}")
        super().__init__(" ".join(parts))


class BadVideoError(UmclError):
    """A video that cannot be used: unreadable, empty, too short, or without a face."""


class ConfigError(UmclError):
    """A configuration that fails validation (``path``: the config file, when known)."""


class MissingWeightsError(UmclError):
    """Pretrained weights that are needed but not present locally."""


class EnvironmentFailure(UmclError):
    """The machine, not the input, failed (disk full, permission denied, out of memory): a batch
    stops here instead of recording the video as bad (umcl.io_utils.environment_error)."""
