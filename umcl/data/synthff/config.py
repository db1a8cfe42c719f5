"""Settings of the SynthFF generator (config section ``synthff``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from umcl.errors import ConfigError
from umcl.specs.splits import MAX_IDENTITIES
from umcl.specs.vocab import FF_METHODS

VARIANTS: tuple[str, ...] = ("ff", "celebdf", "dfd", "dfdc")


@dataclass
class SynthFFConfig:
    """How many synthetic people, how long, how large, which fakes, how hard.

    ``resolution``/``fps`` left at ``None`` take the variant's defaults (see ``variants.py``).
    ``difficulty`` in [-0.5, 1] scales only the *visible* blending artefacts of every manipulation
    (mask softness, colour mismatch, jitter, re-rendering blur); the pulse physics of each method
    is fixed. It is set once per dataset, never per model. The default, -0.5, comes from the
    difficulty sweep (docs/results/synthff-difficulty.md): at the embedded default's CPU scale,
    -0.5 and 0 are the admissible values of {-0.5, 0, 0.5, 1}, and at -0.5 the detectors find
    Deepfakes and FaceSwap in every seed.
    """

    seed: int = 0
    n_identities: int = 20
    n_frames: int = 96
    fps: float | None = None
    resolution: int | None = None
    methods: list[str] = field(default_factory=lambda: list(FF_METHODS))
    variant: str = "ff"
    difficulty: float = -0.5
    pulse_amplitude: float = 0.004  # relative green-channel BVP modulation of skin
    hr_min: float = 50.0
    hr_max: float = 110.0
    # fractions of identity pairs in the val and test splits (FF++: 70 + 70 of 500 pairs = 14 % each);
    # a small dataset may give test more than FF++'s share so its test set is not a handful of videos
    val_fraction: float = 0.14
    test_fraction: float = 0.14
    #: identities of the look-alike datasets the pipeline generates for the cross-dataset tables
    #: (``umcl generate --variant celebdf|dfd|dfdc``); None = ``n_identities``. They are mostly test
    #: sets, so a profile can make them smaller than the main dataset.
    lookalike_identities: int | None = None
    workers: int = 1

    def __post_init__(self) -> None:
        if self.n_identities < 2 or self.n_identities % 2:
            raise ConfigError(
                f"synthff.n_identities must be an even number >= 2, got {self.n_identities}",
                fix="set synthff.n_identities to an even number (pairs make the fakes)",
            )
        if self.lookalike_identities is not None and (self.lookalike_identities < 2 or self.lookalike_identities % 2):
            raise ConfigError(
                f"synthff.lookalike_identities must be an even number >= 2 or null, got {self.lookalike_identities}",
                fix="set it to an even number (pairs make the fakes)",
            )
        if self.n_identities > MAX_IDENTITIES:
            raise ConfigError(f"synthff.n_identities must be <= {MAX_IDENTITIES}", fix="use fewer identities")
        if self.n_frames < 8:
            raise ConfigError(f"synthff.n_frames must be >= 8, got {self.n_frames}", fix="raise synthff.n_frames")
        if self.resolution is not None and not 64 <= self.resolution <= 2048:
            raise ConfigError(
                f"synthff.resolution must be in [64, 2048], got {self.resolution}",
                fix="set synthff.resolution (e.g. 256)",
            )
        if self.resolution is not None and self.resolution % 2:
            raise ConfigError(
                f"synthff.resolution must be even (x264 4:2:0), got {self.resolution}", fix="use an even resolution"
            )
        if self.fps is not None and not 5 <= self.fps <= 120:
            raise ConfigError(f"synthff.fps must be in [5, 120], got {self.fps}", fix="set synthff.fps (e.g. 25)")
        bad = [m for m in self.methods if m not in FF_METHODS]
        if bad:
            raise ConfigError(f"unknown synthff.methods {bad}", fix=f"use a subset of {list(FF_METHODS)}")
        if self.variant not in VARIANTS:
            raise ConfigError(f"unknown synthff.variant {self.variant!r}", fix=f"use one of {list(VARIANTS)}")
        if not -0.5 <= self.difficulty <= 1.0:
            raise ConfigError(
                f"synthff.difficulty must be in [-0.5, 1], got {self.difficulty}",
                fix="-0.5 = the strongest artefacts, 1 = the subtlest",
            )
        if not 0.0 <= self.pulse_amplitude <= 0.05:
            raise ConfigError("synthff.pulse_amplitude must be in [0, 0.05]", fix="a real BVP is ~0.001-0.01")
        if not 30 <= self.hr_min < self.hr_max <= 200:
            raise ConfigError(
                "synthff.hr_min/hr_max must satisfy 30 <= hr_min < hr_max <= 200", fix="e.g. hr_min: 50, hr_max: 110"
            )
        if self.workers < 1:
            raise ConfigError("synthff.workers must be >= 1", fix="set workers: 1")
        if not (
            0.0 < self.val_fraction < 1.0
            and 0.0 < self.test_fraction < 1.0
            and self.val_fraction + self.test_fraction < 1.0
        ):
            raise ConfigError(
                f"synthff.val_fraction + test_fraction must be in (0, 1), each > 0, got "
                f"{self.val_fraction} + {self.test_fraction}",
                fix="e.g. val_fraction: 0.14, test_fraction: 0.14 (FF++'s split)",
            )


def lookalike(cfg: SynthFFConfig, variant: str) -> SynthFFConfig:
    """The settings of the look-alike dataset ``variant`` (the pipeline's cross-dataset parts): the same
    as ``cfg`` with that look, and ``lookalike_identities`` identities when the look differs."""
    import dataclasses

    if variant == cfg.variant or cfg.lookalike_identities is None:
        return dataclasses.replace(cfg, variant=variant)
    return dataclasses.replace(cfg, variant=variant, n_identities=cfg.lookalike_identities)
