"""``EvalConfig``: the ``evaluation`` section of the config."""

from __future__ import annotations

from dataclasses import dataclass

from umcl.errors import ConfigError
from umcl.metrics import N_BOOTSTRAP


def resamples_note(n_boot: int) -> str:
    """The sentence every report carries about its number of bootstrap resamples."""
    if n_boot == 0:
        return "Bootstrap resamples: 0 (no intervals)."
    text = f"Bootstrap resamples: {n_boot:,} for every interval of this report (stratified over the test videos)."
    if n_boot < N_BOOTSTRAP:
        text += (
            f" Fewer than the suite's {N_BOOTSTRAP:,}: the intervals' endpoints carry more Monte-Carlo error "
            "than docs/statistics.md states."
        )
    return text


@dataclass(frozen=True)
class EvalConfig:
    """How test scores become reported numbers (video level; see umcl.metrics)."""

    n_bootstrap: int = N_BOOTSTRAP
    """Bootstrap resamples for the confidence intervals (0 = no intervals); :data:`N_BOOTSTRAP`."""
    ci: float = 0.95
    """Confidence level of the percentile intervals."""
    threshold: float = 0.5
    """ACC (``acc``, ``bacc``): a video is called fake when its mean P(fake) >= threshold (fixed;
    never tuned on test). ``acc_val``/``bacc_val`` use a threshold chosen on the validation split
    (``umcl.metrics.choose_threshold``)."""
    seed: int = 0
    """Seed of the bootstrap resampling."""

    def stats_kwargs(self) -> dict:
        """Keyword arguments of ``umcl.evaluation.aggregate.aggregate_seeds`` from this section."""
        return {"n_boot": self.n_bootstrap, "ci": self.ci, "seed": self.seed, "threshold": self.threshold}

    def __post_init__(self) -> None:
        if self.n_bootstrap < 0:
            raise ConfigError(f"evaluation.n_bootstrap must be >= 0, got {self.n_bootstrap}")
        if not 0.0 < self.ci < 1.0:
            raise ConfigError(f"evaluation.ci must be in (0, 1), got {self.ci}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"evaluation.threshold must be in [0, 1], got {self.threshold}")
