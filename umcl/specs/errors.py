"""User-facing errors: one line that names the file and the fix."""

from __future__ import annotations

from pathlib import Path


class UmclError(Exception):
    """An error caused by the user's input or environment, printed as one line by the CLI.

    Always say *what* is wrong, *which file* (when there is one) and *how to fix it*. The parts
    stay available as ``message``, ``path`` and ``fix``.
    """

    def __init__(self, message: str, path: str | Path | None = None, fix: str | None = None):
        self.message = message.strip().replace("\n", " ")
        self.path = path
        self.fix = fix.strip().replace("\n", " ") if fix else None
        parts = []
        if path is not None:
            parts.append(f"{path}:")
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
