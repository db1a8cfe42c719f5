"""The claims' input: a mapping from a seed-free cell key to a statistic in percent.

A key (:class:`CellKey`, string form ``detector[+variant]|train|test|condition|metric`` with the
selection slugs of umcl.protocols.keys, e.g. ``umcl+ablC|ffpp-DF-c23|ffpp-NT-c23|clean|auc``) names
one protocol cell with its seeds aggregated; ``CellKey.from_decl`` / ``from_eval`` build it from a
protocol cell or an evaluation key. A :class:`Stat` holds ``{value, ci_low, ci_high, n_seeds,
n_real, n_fake}`` in percent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from umcl.errors import UmclError
from umcl.protocols.keys import Selection
from umcl.protocols.spec import NATIVE


def selection(dataset: str, compression: str = NATIVE, method: str | None = None) -> str:
    """A protocol selection as written in cell keys: the slug of :class:`umcl.protocols.keys.Selection`.

    ``selection("ff++", "c23")`` → ``ffpp-all-c23``; ``selection("ff++", "c23", "Deepfakes")`` →
    ``ffpp-DF-c23``; ``selection("celebdf")`` → ``celebdf-all-native``.
    """
    return Selection(dataset, compression, (method,) if method else None).slug


@dataclass(frozen=True)
class CellKey:
    """One protocol cell, seeds aggregated: model (detector + training variant) × training selection × test
    selection × test-time condition × metric."""

    detector: str
    train: str
    test: str
    condition: str = "clean"
    variant: str | None = None
    metric: str = "auc"

    @property
    def key(self) -> str:
        """``detector[+variant]|train|test|condition|metric``."""
        det = self.detector + (f"+{self.variant}" if self.variant else "")
        return "|".join((det, self.train, self.test, self.condition, self.metric))

    @classmethod
    def parse(cls, text: str) -> CellKey:
        """Inverse of :attr:`key`."""
        parts = text.split("|")
        if len(parts) != 5 or not all(parts):
            raise UmclError(f"cell key {text!r} is not detector[+variant]|train|test|condition|metric")
        det, _, variant = parts[0].partition("+")
        return cls(det, parts[1], parts[2], parts[3], variant or None, parts[4])

    @classmethod
    def from_decl(cls, decl, metric: str = "auc") -> CellKey:
        """The key of a protocol cell declaration (:class:`umcl.protocols.spec.CellDecl`)."""
        return cls(decl.model.detector, decl.train.slug, decl.test.slug, decl.condition, decl.model.variant, metric)

    @classmethod
    def from_eval(cls, key, metric: str = "auc") -> CellKey:
        """The seed-free cell of an :class:`umcl.protocols.keys.EvalKey` (its run's seed is dropped)."""
        return cls(key.run.detector, key.run.train.slug, key.test.slug, key.condition, key.run.variant, metric)

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class Stat:
    """A measured cell in percent: point value, 95 % interval (None = none), seeds and test counts."""

    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n_seeds: int | None = None
    n_real: int | None = None
    n_fake: int | None = None

    @property
    def has_interval(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None

    @classmethod
    def from_mapping(cls, raw: Mapping, where: str = "") -> Stat:
        """Build from ``{value, ci_low, ci_high, n_seeds, n_real, n_fake}``; bad values raise :class:`UmclError`."""
        names = [f.name for f in dataclasses.fields(cls)]
        if set(raw) - set(names) or "value" not in raw:
            raise UmclError(f"result {where}: needs 'value' and only {names} (got {sorted(raw)})")
        stat = cls(**{k: raw[k] for k in raw})
        nums = [stat.value] + [v for v in (stat.ci_low, stat.ci_high) if v is not None]
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in nums):
            raise UmclError(f"result {where}: value and interval must be numbers")
        if (stat.ci_low is None) != (stat.ci_high is None):
            raise UmclError(f"result {where}: give both ci_low and ci_high, or neither")
        if stat.ci_low is not None and not stat.ci_low <= stat.value <= stat.ci_high:
            raise UmclError(f"result {where}: interval [{stat.ci_low}, {stat.ci_high}] must contain {stat.value}")
        return stat

    @classmethod
    def from_cell_stats(cls, cell, metric: str = "auc") -> Stat:
        """From a :class:`umcl.evaluation.aggregate.CellStats` (fractions → percent).

        The interval is the test-video bootstrap interval ``ci``, widened to cover the seed
        interval ``seed_ci`` when there are several seeds (a claim is about the method, so
        training randomness counts too); None when the cell has neither.
        """
        est = cell.estimates[metric]
        bounds = [b for b in (est.ci, est.seed_ci) if b is not None]
        lo = min(b[0] for b in bounds) * 100 if bounds else None
        hi = max(b[1] for b in bounds) * 100 if bounds else None
        return cls(est.value * 100, lo, hi, cell.n_seeds, cell.n_real, cell.n_fake)


Results = Mapping[str, Stat]


def as_results(raw: Mapping) -> dict[str, Stat]:
    """Normalise ``{CellKey or key string: Stat or mapping}`` into ``{key string: Stat}`` (keys validated)."""
    out: dict[str, Stat] = {}
    for k, v in raw.items():
        key = k.key if isinstance(k, CellKey) else CellKey.parse(str(k)).key
        out[key] = v if isinstance(v, Stat) else Stat.from_mapping(v, key)
    if len(out) >= 3 and all(0.0 <= s.value <= 1.0 for s in out.values()):
        raise UmclError(
            "every result value is in [0, 1]: these look like fractions, the claims read percent",
            fix="multiply by 100 (Stat.from_cell_stats does)",
        )
    return out
