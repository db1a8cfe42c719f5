"""The claims engine: verdicts, cell addressing, interval arithmetic and the power estimate.

A measured claim is data (:class:`Measured`): its quote, and one or more :class:`Check` s, each a
linear combination of protocol cells (:class:`Ref`, addressed as the protocol declares them) and a
:class:`Bound` read from the sentence. The engine turns results into a :class:`Verdict`:

* the combination's interval is interval arithmetic on the cells' 95 % intervals (each cell's
  coefficient summed first; a positive coefficient takes the cell's low end into the low end, a
  negative one its high end): conservative, it assumes nothing about how the cells' errors relate;
* a check is *supported* when its whole interval lies inside the bound, *contradicted* when it lies
  wholly outside (on the wrong side), *open* when it straddles;
* the claim **holds** when every check is supported, is **contradicted** when one is, is
  **inconclusive** when some straddle, and is **not testable on this data** when a cell or interval
  is missing. **fails** belongs to internal claims only (the paper disagrees with itself).

Power (:func:`resolving_factor`): an interval's half-width shrinks as 1/√n with the test-set size n
(the bootstrap and Hanley–McNeil intervals both do). An open check with value v, bound b and
half-width h facing the bound resolves, at an effect of the same size, once the test sets are
(h / |v − b|)² times larger.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from umcl.report.claims.results import CellKey, Results, Stat

HOLDS, CONTRADICTED, INCONCLUSIVE, NOT_TESTABLE, FAILS = (
    "holds",
    "contradicted",
    "inconclusive",
    "not testable on this data",
    "fails",
)
#: every verdict, in the headline's order; FAILS only for internal claims
VERDICTS: tuple[str, ...] = (HOLDS, CONTRADICTED, INCONCLUSIVE, NOT_TESTABLE, FAILS)
MEASURED_VERDICTS: tuple[str, ...] = (HOLDS, CONTRADICTED, INCONCLUSIVE, NOT_TESTABLE)
INTERNAL_VERDICTS: tuple[str, ...] = (HOLDS, FAILS)
SUPPORTED, OPEN = "supported", "open"
#: beyond this many times the test videos, the report says "near its bound" instead of a size
MAX_FACTOR = 1000.0
PAPER_SCOPE = "paper text (no data)"
SYNTHFF_SCOPE = "SynthFF (synthetic stand-in data; says nothing about the paper's datasets)"
REAL_SCOPE = "this run's data"


# ---------------------------------------------------------------------------- numbers and verdicts


@dataclass(frozen=True)
class Quantity:
    """A number shown with a verdict: a cell or a derived quantity, with its interval when it has one."""

    name: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    note: str | None = None

    @property
    def has_interval(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None

    def text(self) -> str:
        s = f"{self.name} = {self.value:.2f}"
        if self.has_interval:
            s += f" [{self.ci_low:.2f}, {self.ci_high:.2f}]"
        return s + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim's check. ``resolve_at``: for an inconclusive claim, the test videos
    per class (real, fake) at which an effect of the observed size would resolve (None: never)."""

    claim: str
    verdict: str
    reason: str
    numbers: tuple[Quantity, ...] = ()
    paper: tuple[Quantity, ...] = ()
    scope: str = PAPER_SCOPE
    resolve_at: tuple[int, int] | None = None
    resolve_factor: float | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------- claims as data


@dataclass(frozen=True)
class Ref:
    """A cell as its protocol declares it: table (or ``claims``, umcl.protocols.claims), row and column
    keys (those of the paper-values file), panel, and the metric read."""

    table: str
    row: tuple[str, ...]
    column: tuple[str, ...]
    panel: str | None = None
    metric: str = "auc"


@dataclass(frozen=True)
class Bound:
    """The claimed range of a quantity: above ``low`` and/or below ``high`` (strictly), and how it is read
    from the sentence (``reading``: the printed number and its rounding)."""

    low: float | None = None
    high: float | None = None
    reading: str = ""

    def text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"in ({self.low:g}, {self.high:g})"
        return f"> {self.low:g}" if self.low is not None else f"< {self.high:g}"

    def state(self, lo: float, hi: float) -> str:
        """SUPPORTED, CONTRADICTED or OPEN for an interval [lo, hi]."""
        if (self.low is not None and hi <= self.low) or (self.high is not None and lo >= self.high):
            return CONTRADICTED
        if (self.low is None or lo > self.low) and (self.high is None or hi < self.high):
            return SUPPORTED
        return OPEN


def printed(value: float, decimals: int) -> tuple[float, float]:
    """The values a number printed with ``decimals`` decimals can stand for, rounded or truncated:
    [x − half a unit, x + one unit). The paper truncates some ranges (87.74–93.29 is "87–93%")."""
    unit = 10.0**-decimals
    return value - unit / 2, value + unit


def at_least(value: float, decimals: int, what: str) -> Bound:
    """ "``what``" states a value of at least ``value`` (printed with ``decimals``): > its rounding's low end."""
    low = printed(value, decimals)[0]
    return Bound(low=low, reading=f"“{what}”: {value:.{decimals}f} as printed stands for ≥ {low:g}")


def between(low: float, high: float, decimals: int, what: str) -> Bound:
    lo, hi = printed(low, decimals)[0], printed(high, decimals)[1]
    return Bound(
        lo, hi, f"“{what}”: printed {low:.{decimals}f}–{high:.{decimals}f}, rounded or truncated: ({lo:g}, {hi:g})"
    )


def threshold(low: float | None = None, high: float | None = None, what: str = "") -> Bound:
    """A threshold the sentence states in words ("exceeding 30%", "above 88%"): tested as printed."""
    return Bound(low, high, f"“{what}”: a threshold, tested as stated")


Terms = tuple[tuple[float, Ref], ...]


@dataclass(frozen=True)
class Check:
    """One tested quantity: Σ coefficient × cell, and its bound."""

    name: str
    terms: Terms
    bound: Bound


def mean(refs: Sequence[Ref], sign: float = 1.0) -> Terms:
    return tuple((sign / len(refs), r) for r in refs)


def minus(a: Sequence[Ref], b: Sequence[Ref]) -> Terms:
    """mean(a) − mean(b)."""
    return mean(a) + mean(b, -1.0)


@dataclass(frozen=True)
class Measured:
    """A claim re-tested on results. ``partial``: checks whose cells are absent are skipped when at
    least one is complete (T3-drop on a profile that trains some compressions only)."""

    id: str
    section: str
    quote: str
    tests: str
    checks: tuple[Check, ...]
    partial: bool = False
    kind: str = field(default="measured", init=False)


@dataclass(frozen=True)
class Internal:
    """A claim of the paper against itself (its printed tables and text; no data)."""

    id: str
    section: str
    quote: str
    tests: str
    check: Callable[[], Verdict] = field(repr=False, compare=False)
    kind: str = field(default="internal", init=False)


# ---------------------------------------------------------------------------- evaluation


def _merged(terms: Terms) -> dict[Ref, float]:
    out: dict[Ref, float] = {}
    for c, r in terms:
        out[r] = out.get(r, 0.0) + c
    return {r: c for r, c in out.items() if abs(c) > 1e-12}


def combine(terms: Terms, stats: Mapping[Ref, Stat], name: str) -> Quantity:
    """Σ coefficient × cell with its interval by interval arithmetic (none if a cell has none)."""
    coef = _merged(terms)
    value = sum(c * stats[r].value for r, c in coef.items())
    if not all(stats[r].has_interval for r in coef):
        return Quantity(name, value)
    lo = sum(c * (stats[r].ci_low if c > 0 else stats[r].ci_high) for r, c in coef.items())
    hi = sum(c * (stats[r].ci_high if c > 0 else stats[r].ci_low) for r, c in coef.items())
    return Quantity(name, value, lo, hi)


def resolving_factor(q: Quantity, bound: Bound) -> float | None:
    """How many times larger the test sets must be for this open check to resolve at the same effect
    (module docstring); None when the value sits on the bound (no size resolves it)."""
    factors = []
    for b in (bound.low, bound.high):
        if b is None or not q.ci_low <= b <= q.ci_high:
            continue
        if q.value == b:
            return None
        half = (q.value - q.ci_low) if q.value > b else (q.ci_high - q.value)  # the side facing the bound
        factors.append(max((half / abs(q.value - b)) ** 2, 1.0))
    return max(factors) if factors else 1.0


def _counts(stats: Iterable[Stat]) -> tuple[int, int] | None:
    known = [(s.n_real, s.n_fake) for s in stats if s.n_real and s.n_fake]
    return min(known, key=min) if known else None


def evaluate_measured(
    claim: Measured, results: Results, resolve: Callable[[Ref], CellKey], paper: Callable[[Ref], float | None]
) -> Verdict:
    """The verdict of a measured claim on ``results`` (module docstring)."""
    cells: list[Quantity] = []
    paper_qs: list[Quantity] = []
    missing: list[str] = []
    states: list[tuple[Check, Quantity, str]] = []
    for chk in claim.checks:
        keys = {r: resolve(r) for _, r in chk.terms}
        pv = {r: paper(r) for r in keys}
        if all(v is not None for v in pv.values()):
            coef = _merged(chk.terms)
            paper_qs.append(Quantity(f"paper: {chk.name}", sum(c * pv[r] for r, c in coef.items())))
        absent = [k.key for k in keys.values() if k.key not in results]
        if absent:
            missing += absent
            continue
        stats = {r: results[k.key] for r, k in keys.items()}
        q = combine(chk.terms, stats, chk.name)
        if not q.has_interval:
            return Verdict(
                claim.id,
                NOT_TESTABLE,
                f"{chk.name} has no interval, so the data cannot decide",
                paper=tuple(paper_qs),
                scope=REAL_SCOPE,
            )
        states.append((chk, q, chk.bound.state(q.ci_low, q.ci_high)))
        for r, k in keys.items():
            s = stats[r]
            n = [f"{s.n_seeds} seed{'s' if s.n_seeds != 1 else ''}"] if s.n_seeds else []
            if s.n_real is not None and s.n_fake is not None:
                n.append(f"{s.n_real} real / {s.n_fake} fake")
            if all(c.name != k.key for c in cells):
                cells.append(Quantity(k.key, s.value, s.ci_low, s.ci_high, ", ".join(n) or None))
    missing = list(dict.fromkeys(missing))
    if missing and not (claim.partial and states):
        shown_missing = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        return Verdict(
            claim.id, NOT_TESTABLE, f"the results have no cell {shown_missing}", paper=tuple(paper_qs), scope=REAL_SCOPE
        )
    shown = [dataclasses.replace(q, note=f"claimed {c.bound.text()}: {s}") for c, q, s in states]
    skipped = f" (checks without results skipped: {len(claim.checks) - len(states)})" if missing else ""
    bad = [c.name for c, _, s in states if s == CONTRADICTED]
    open_ = [(c, q) for c, q, s in states if s == OPEN]
    factor, at = None, None
    if bad:
        verdict, why = CONTRADICTED, f"the whole interval lies outside the claimed range for: {', '.join(bad)}"
    elif not open_:
        verdict, why = HOLDS, "every interval lies inside the claimed range"
    else:
        verdict = INCONCLUSIVE
        why = f"the interval straddles the bound for: {', '.join(c.name for c, _ in open_)}"
        fs = [resolving_factor(q, c.bound) for c, q in open_]
        if any(f is None for f in fs):
            why += "; a value sits on its bound, so no test size resolves it at this effect"
        else:
            factor = max(fs)
            counts = (
                None
                if factor > MAX_FACTOR
                else _counts(s for s in (results[resolve(r).key] for c, _ in open_ for _, r in c.terms))
            )
            if counts:
                at = (math.ceil(factor * counts[0]), math.ceil(factor * counts[1]))
                why += (
                    f"; at the observed effect it would resolve with about {at[0]} real and {at[1]} fake test "
                    f"videos ({factor:.1f}× the {counts[0]} real / {counts[1]} fake of its smallest cell)"
                )
            elif factor > MAX_FACTOR:
                why += f"; the value sits near its bound: more than {MAX_FACTOR:,.0f}× the test videos would be needed"
            else:
                why += f"; at the observed effect it would resolve with {factor:.1f}× the test videos"
    return Verdict(
        claim.id, verdict, why + skipped, tuple(shown) + tuple(cells), tuple(paper_qs), REAL_SCOPE, at, factor
    )
