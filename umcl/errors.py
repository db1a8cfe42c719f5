"""User-facing errors (defined in :mod:`umcl.specs.errors`; this path is kept for the many callers)."""

from umcl.specs.errors import (
    BadVideoError,
    ConfigError,
    EnvironmentFailure,
    MissingWeightsError,
    UmclError,
    one_line,
)

__all__ = ["BadVideoError", "ConfigError", "EnvironmentFailure", "MissingWeightsError", "UmclError", "one_line"]
