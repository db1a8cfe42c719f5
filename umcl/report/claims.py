"""The paper's claims as executable checks (issue 12 §4): ``reports/claims.{md,json}``.

Each :class:`Claim` quotes a short sentence of the paper (cited by section) and has a ``check``
that returns a :class:`Verdict`: *holds*, *fails* or *not testable on this data*, with the numbers
and their intervals. Two kinds:

* ``internal``: the paper's consistency with itself, checked from the transcribed tables
  (umcl/report/paper_values/, :mod:`umcl.report.paper_tables`) and, for Table 9, from a parameter
  count of this suite's UMCL at the paper's sizes. They need no data (scope "paper text").
* ``measured``: the paper's claims re-tested on the suite's results. Input: a mapping from a cell
  key (:class:`CellKey`, string form ``detector[+variant]|train|test|condition|metric`` with the
  selection slugs of umcl.protocols.keys, e.g. ``umcl+ablC|ffpp-DF-c23|ffpp-NT-c23|clean|auc``;
  ``CellKey.from_decl`` / ``from_eval`` build it from a protocol cell or an evaluation key) to a
  :class:`Stat` ``{value, ci_low, ci_high, n_seeds, n_real, n_fake}`` in percent (seeds aggregated).
  :func:`required_cells` lists every key the claims read.

Verdict rules for measured claims (docs/claims.md):

* A derived quantity (a difference, a mean of cells) carries an interval by interval arithmetic on
  the cells' 95 % intervals: ``[a_lo - b_hi, a_hi - b_lo]`` for ``a - b``, the mean of the lows and
  of the highs for a mean. This assumes nothing about how the cells' errors depend on each other, so
  it is conservative (wider than a paired bootstrap).
* *holds* only if the whole interval is on the claimed side of the bound (``support`` =
  ``supported``); *fails* if the whole interval is on the other side (``contradicted``) or if it
  straddles the bound (``unresolved``: the data cannot support the claim at this precision);
  *not testable on this data* when a needed cell, or its interval, is absent (the reason says which).
* On SynthFF (``synthetic=True``) every measured verdict says it is about SynthFF, not the paper's data.

Printed-number comparisons allow :data:`ROUNDING`: a difference of two numbers printed with two
decimals may differ from the difference of the unrounded numbers by up to 0.01.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from umcl.errors import UmclError
from umcl.evaluation.condition_keys import attack_part
from umcl.io_utils import write_json
from umcl.protocols.keys import Selection
from umcl.protocols.spec import NATIVE
from umcl.report.html import write_markdown
from umcl.report.paper_tables import PaperTable, load_paper_table
from umcl.vocab import COMPRESSIONS, FF_METHODS

HOLDS, FAILS, NOT_TESTABLE = "holds", "fails", "not testable on this data"
VERDICTS: tuple[str, ...] = (HOLDS, FAILS, NOT_TESTABLE)
SUPPORTED, CONTRADICTED, UNRESOLVED = "supported", "contradicted", "unresolved"
#: tolerance for comparing numbers derived from two-decimal printed values
ROUNDING = 0.011
PAPER_SCOPE = "paper text (no data)"
SYNTHFF_SCOPE = "SynthFF (synthetic stand-in data; says nothing about the paper's datasets)"
REAL_SCOPE = "this run's data"


# ---------------------------------------------------------------------------- results input

def selection(dataset: str, compression: str = NATIVE, method: str | None = None) -> str:
    """A protocol selection as written in cell keys: the slug of :class:`umcl.protocols.keys.Selection`.

    ``selection("ff++", "c23")`` → ``ffpp-all-c23``; ``selection("ff++", "c23", "Deepfakes")`` →
    ``ffpp-DF-c23``; ``selection("celebdf")`` → ``celebdf-all-native`` (the protocol's declared,
    unresolved compression). Datasets are the paper's roles; on the embedded default SynthFF and
    its variants stand in for them under the same names (umcl.protocols.sheet).
    """
    return Selection(dataset, compression, (method,) if method else None).slug


@dataclass(frozen=True)
class CellKey:
    """One protocol cell, seeds aggregated: model (detector + training variant) × training selection × test
    selection × test-time condition × metric. Selections are slugs (:func:`selection`), variants the names of
    umcl.protocols.variants (``ablA``–``ablC``, ``pairs``), conditions the keys of umcl.evaluation.conditions.
    """

    detector: str
    train: str
    test: str
    condition: str = "clean"
    variant: str | None = None
    metric: str = "auc"

    @property
    def key(self) -> str:
        """``detector[+variant]|train|test|condition|metric``, e.g. ``umcl|ffpp-all-raw|ffpp-all-c40|frames-r0.50|auc``."""
        det = self.detector + (f"+{self.variant}" if self.variant else "")
        return "|".join((det, self.train, self.test, self.condition, self.metric))

    @classmethod
    def parse(cls, text: str) -> "CellKey":
        """Inverse of :attr:`key`."""
        parts = text.split("|")
        if len(parts) != 5 or not all(parts):
            raise UmclError(f"cell key {text!r} is not detector[+variant]|train|test|condition|metric")
        det, _, variant = parts[0].partition("+")
        return cls(det, parts[1], parts[2], parts[3], variant or None, parts[4])

    @classmethod
    def from_decl(cls, decl, metric: str = "auc") -> "CellKey":
        """The key of a protocol cell declaration (:class:`umcl.protocols.spec.CellDecl`: model, train, test, condition)."""
        return cls(decl.model.detector, decl.train.slug, decl.test.slug, decl.condition, decl.model.variant, metric)

    @classmethod
    def from_eval(cls, key, metric: str = "auc") -> "CellKey":
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

    @classmethod
    def from_mapping(cls, raw: Mapping, where: str = "") -> "Stat":
        """Build from ``{value, ci_low, ci_high, n_seeds, n_real, n_fake}``; bad values raise :class:`UmclError`."""
        unknown = set(raw) - {f.name for f in dataclasses.fields(cls)}
        if unknown or "value" not in raw:
            raise UmclError(f"result {where}: needs 'value' and only {[f.name for f in dataclasses.fields(cls)]}"
                            f" (got {sorted(raw)})")
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
    def from_cell_stats(cls, cell, metric: str = "auc") -> "Stat":
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
        raise UmclError("every result value is in [0, 1]: these look like fractions, the claims read percent",
                        fix="multiply by 100 (Stat.from_cell_stats does)")
    return out


# ---------------------------------------------------------------------------- verdicts

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
    """The outcome of one claim's check."""

    claim: str
    verdict: str
    reason: str
    numbers: tuple[Quantity, ...] = ()
    paper: tuple[Quantity, ...] = ()
    support: str | None = None
    scope: str = PAPER_SCOPE

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Claim:
    """A claim of the paper: where it is, the sentence it tests, and its executable check."""

    id: str
    section: str
    sentence: str
    kind: str  # "internal" | "measured"
    check: Callable[[Results], Verdict] = field(repr=False, compare=False)
    needs: tuple[CellKey, ...] = ()
    tests: str = ""  # what exactly is checked, in one line


# ---------------------------------------------------------------------------- interval arithmetic

def _cell(results: Results, key: CellKey, name: str) -> Quantity | None:
    s = results.get(key.key)
    if s is None:
        return None
    n = [f"{s.n_seeds} seed{'s' if s.n_seeds != 1 else ''}"] if s.n_seeds else []
    if s.n_real is not None and s.n_fake is not None:
        n.append(f"{s.n_real} real / {s.n_fake} fake")
    return Quantity(name, float(s.value), s.ci_low, s.ci_high, ", ".join(n) or None)


def _diff(a: Quantity, b: Quantity, name: str) -> Quantity:
    if a.has_interval and b.has_interval:
        return Quantity(name, a.value - b.value, a.ci_low - b.ci_high, a.ci_high - b.ci_low)
    return Quantity(name, a.value - b.value)


def _mean(qs: Sequence[Quantity], name: str) -> Quantity:
    v = sum(q.value for q in qs) / len(qs)
    if all(q.has_interval for q in qs):
        return Quantity(name, v, sum(q.ci_low for q in qs) / len(qs), sum(q.ci_high for q in qs) / len(qs))
    return Quantity(name, v)


def _decide(quantities: Sequence[Quantity], above: float | None = None, below: float | None = None) -> tuple[str, str, str]:
    """(verdict, support, explanation) for "every quantity is > above (and < below)", by the intervals."""
    bound = f"> {above:g}" if above is not None else f"< {below:g}"
    states = []
    for q in quantities:
        if not q.has_interval:
            return NOT_TESTABLE, "", f"{q.name} has no interval, so the data cannot support the claim"
        if above is not None:
            states.append(SUPPORTED if q.ci_low > above else CONTRADICTED if q.ci_high < above else UNRESOLVED)
        else:
            states.append(SUPPORTED if q.ci_high < below else CONTRADICTED if q.ci_low > below else UNRESOLVED)
    if all(s == SUPPORTED for s in states):
        return HOLDS, SUPPORTED, f"every interval lies {bound}"
    bad = [q.name for q, s in zip(quantities, states) if s == CONTRADICTED]
    if bad:
        return FAILS, CONTRADICTED, f"the whole interval is on the wrong side of {bound} for: {', '.join(bad)}"
    open_ = [q.name for q, s in zip(quantities, states) if s == UNRESOLVED]
    return FAILS, UNRESOLVED, f"not supported: the interval straddles the bound ({bound}) for: {', '.join(open_)}"


def _missing(keys: Iterable[CellKey], results: Results) -> list[str]:
    """Keys absent from ``results``, each once, in order."""
    return list(dict.fromkeys(k.key for k in keys if k.key not in results))


def _not_testable(cid: str, missing: list[str], paper: Sequence[Quantity] = ()) -> Verdict:
    shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
    return Verdict(cid, NOT_TESTABLE, f"the results have no cell {shown}", paper=tuple(paper), scope=REAL_SCOPE)


# ---------------------------------------------------------------------------- paper tables

@functools.lru_cache(maxsize=None)
def _table(n: int) -> PaperTable:
    return load_paper_table(n)


def _rows_differences(pairs: Iterable[tuple[str, float | None, float | None]]) -> list[tuple[str, float, float]]:
    """(name, printed, derived) where they differ by more than :data:`ROUNDING`."""
    return [(n, p, d) for n, p, d in pairs if p is not None and d is not None and abs(p - d) > ROUNDING]


def _internal(cid: str, bad: list[tuple[str, float, float]], checked: int, what: str) -> Verdict:
    numbers = tuple(Quantity(f"{n}: printed", p, note=f"from its cells {d:.2f}") for n, p, d in bad)
    if not bad:
        return Verdict(cid, HOLDS, f"all {checked} {what} agree with the paper's own cells (within ±0.01 rounding)")
    return Verdict(cid, FAILS, f"{len(bad)} of {checked} {what} disagree with the paper's own cells: "
                   + "; ".join(f"{n} printed {p:.2f}, cells give {d:.2f}" for n, p, d in bad), numbers)


def check_t3_deltas(_: Results) -> Verdict:
    t = _table(3)
    p = t.panels[0]
    pairs = []
    for row, col, v, printed in p.cells():
        if printed is None:
            continue
        diag = t.value(row.key, row.key[0], col.key[1])
        pairs.append((f"{row.key[0]}→{col.key[0]} {row.key[1]} {col.key[1].upper()}", printed,
                      None if v is None or diag is None else round(v - diag, 2)))
    return _internal("T3-deltas", _rows_differences(pairs), len(pairs), "printed deltas (value − in-compression cell)")


def check_t7_deltas(_: Results) -> Verdict:
    t = _table(7)
    p = t.panels[0]
    pairs = []
    for row, col, v, printed in p.cells():
        if printed is None:
            continue
        base = t.value(("CPML", row.key[1]), *col.key)
        pairs.append((f"{row.label} {col.key[0]}", printed, round(v - base, 2)))
    return _internal("T7-deltas", _rows_differences(pairs), len(pairs), "printed gains (UMCL − CPML, same degradation)")


def check_t8_gains(_: Results) -> Verdict:
    t = _table(8)
    pairs = []
    for row in t.panels[0].rows:
        if row.key[0] != "UMCL":
            continue
        for c in COMPRESSIONS:
            gain = t.value(row.key, c, "gain")
            derived = round(t.value(row.key, c, "auc") - t.value(("CPML", row.key[1]), c, "auc"), 2)
            pairs.append((f"{row.label} {c}", gain, derived))
    return _internal("T8-gains", _rows_differences(pairs), len(pairs), "printed gains (UMCL − CPML, same prompt)")


def check_t11_gain(_: Results) -> Verdict:
    t = _table(11)
    pairs = [(f"Gain {c.key[0]}", t.value("Gain", *c.key),
              round(t.value("Views", *c.key) - t.value("c23 & c40", *c.key), 2)) for c in t.panels[0].columns]
    return _internal("T11-gain", _rows_differences(pairs), len(pairs), "printed gains (Views − c23 & c40)")


def check_averages(_: Results) -> Verdict:
    """Avg columns of Tables 6, 10, 11 against the mean of their four cells (±0.01: rounding or truncation)."""
    pairs = []
    for n in (6, 10, 11):
        for p in _table(n).panels:
            groups: dict[tuple, list[int]] = {}
            for j, c in enumerate(p.columns):
                groups.setdefault(c.key[:-1], []).append(j)
            for i, row in enumerate(p.rows):
                if row.key == ("Gain",):
                    continue  # a derived row; checked by T11-gain
                for g, js in groups.items():
                    cells, avg = [p.values[i][j] for j in js[:4]], p.values[i][js[4]]
                    if avg is None or None in cells:
                        continue
                    where = f"Table {n} {row.key[0]}" + (f" trained on {g[0]}" if g else "")
                    pairs.append((where, avg, round(sum(cells) / 4, 4)))
    return _internal("T6-T10-T11-averages", _rows_differences(pairs), len(pairs), "printed averages (mean of the four subsets)")


def check_t8_vs_t7(_: Results) -> Verdict:
    t7, t8 = _table(7), _table(8)
    qs, bad = [], []
    for m in ("CPML", "UMCL"):
        for c in COMPRESSIONS:
            a, b = t8.value((m, "description"), c, "auc"), t7.value((m, "none"), c)
            qs.append(Quantity(f"{m} {c}: Table 8 Description", a, note=f"Table 7 No degradation {b:.2f}"))
            if abs(a - b) > ROUNDING:
                bad.append(f"{m} {c}: {a:.2f} vs {b:.2f}")
    if bad:
        return Verdict("T8-vs-T7", FAILS, f"{6 - len(bad)} of 6 cells are equal, but {'; '.join(bad)} "
                       "(Table 8's gain 17.69 is computed from 80.72, Table 7's 16.69 from 79.72)", tuple(qs))
    return Verdict("T8-vs-T7", HOLDS, "all 6 cells are equal", tuple(qs))


def check_t3_vs_t7(_: Results) -> Verdict:
    t3, t7 = _table(3), _table(7)
    qs, bad = [], []
    for m in ("CPML", "UMCL"):
        for c in COMPRESSIONS:
            a, b = t3.value(("raw", m), c, "auc"), t7.value((m, "none"), c)
            qs.append(Quantity(f"{m} raw→{c}: Table 3", a, note=f"Table 7 {b:.2f}"))
            if abs(a - b) > ROUNDING:
                bad.append(f"{m} raw→{c} {a:.2f} vs {b:.2f}")
    verdict = FAILS if bad else HOLDS
    return Verdict("T3-vs-T7", verdict, (f"{len(bad)} of 6 cells differ: " + "; ".join(bad)) if bad
                   else "all 6 cells agree", tuple(qs))


def check_t4_vs_t3(_: Results) -> Verdict:
    t3, t4 = _table(3), _table(4)
    qs, bad = [], []
    for m in ("Xception", "CPML", "UMCL"):
        a, b = t4.value(m, "c23", "ff++"), t3.value(("c23", m), "c23", "auc")
        qs.append(Quantity(f"{m} FF++ c23 → FF++ c23: Table 4", a, note=f"Table 3 {b:.2f}"))
        if abs(a - b) > ROUNDING:
            bad.append(f"{m} {a:.2f} vs {b:.2f}")
    return Verdict("T4-vs-T3", FAILS if bad else HOLDS,
                   (f"{len(bad)} of 3 rows differ: " + "; ".join(bad) + " (§5.2's footnote says Tables 4 and 6 "
                    "reproduce CPML's values, which does not cover UMCL's own row)") if bad else "all 3 rows agree",
                   tuple(qs))


@functools.lru_cache(maxsize=None)
def umcl_parameter_count(text_dim: int = 512) -> dict[str, int]:
    """Parameters of this suite's UMCL at the paper's sizes (UMCLConfig defaults), T-encoder excluded.

    The frozen T-encoder needs its weights to be built, so the model is built without the text
    modality and the two text-dependent layers are added by their shapes: W_text (``text_dim`` → d,
    CLIP ViT-B/16's 512 by default) and the classifier's third input block (d → 2).
    """
    from umcl.models.umcl import UMCLConfig, UMCLDetector

    model = UMCLDetector(UMCLConfig(use_text=False))
    d = model.cfg.d
    count = {name: sum(p.numel() for p in getattr(model, name).parameters())
             for name in ("p_encoder", "proj_rppg", "l_encoder", "proj_face")}
    count["proj_text"] = text_dim * d + d
    count["classifier"] = sum(p.numel() for p in model.classifier.parameters()) + d * 2
    count["total"] = sum(count.values())
    return count


def check_t9_params(_: Results) -> Verdict:
    t9 = _table(9)
    paper_m = t9.value("params_m", "UMCL")
    n = umcl_parameter_count()
    ours_m = n["total"] / 1e6
    qs = (Quantity("Table 9 UMCL parameters (M)", paper_m),
          Quantity("UMCL as described, at paper sizes (M)", ours_m,
                   note=f"P-encoder {n['p_encoder'] / 1e6:.2f} M, L-encoder {n['l_encoder'] / 1e6:.3f} M, "
                        f"projections and classifier {(n['total'] - n['p_encoder'] - n['l_encoder']) / 1e6:.3f} M"))
    ratio = paper_m / ours_m
    verdict = HOLDS if abs(paper_m - ours_m) / paper_m < 0.1 else FAILS
    return Verdict("T9-params", verdict,
                   f"the architecture of §4 (PhysFormer P-encoder, LRNet L-encoder, linear projections to d = 320, "
                   f"FC 960 → 2; T-encoder excluded as the caption says) has {ours_m:.2f} M parameters, "
                   f"{ratio:.1f}× fewer than the printed {paper_m:.2f} M", qs)


def check_t9_flops(_: Results) -> Verdict:
    t9 = _table(9)
    params, gflops = t9.value("params_m", "UMCL"), t9.value("gflops", "UMCL")
    floor = 2 * params / 1e3  # one multiply-add (2 FLOPs) per weight per sample, in GFLOPs
    qs = (Quantity("Table 9 UMCL GFLOPs per sample", gflops),
          Quantity("lower bound from its parameter count (GFLOPs)", floor, note="2 FLOPs per weight, each weight used once"))
    verdict = HOLDS if gflops >= floor else FAILS
    return Verdict("T9-flops", verdict,
                   f"a forward pass through {params:.2f} M weights costs at least {floor:.3f} GFLOPs (one multiply-add "
                   f"per weight); the printed {gflops:.3f} is {'above' if verdict == HOLDS else 'below'} that floor "
                   "(PhysFormer alone, over a 160-frame clip, costs far more)", qs)


def check_t10_text(_: Results) -> Verdict:
    t = _table(10)
    avg = {m: t.value(m, "Avg.") for m in "ABCD"}
    stated = {"C − A": (avg["C"] - avg["A"], 4.44), "C − B": (avg["C"] - avg["B"], 21.26), "D − C": (avg["D"] - avg["C"], 2.99)}
    bad = [(k, s, d) for k, (d, s) in stated.items() if abs(d - s) > ROUNDING]
    qs = tuple(Quantity(f"{k} (Avg. cells)", d, note=f"text says {s:+.2f}") for k, (d, s) in stated.items())
    return Verdict("T10-text", FAILS if bad else HOLDS,
                   "the stated gains equal the Avg. column's differences" if not bad else
                   "; ".join(f"{k}: text {s:+.2f}, cells {d:+.2f}" for k, s, d in bad), qs)


def check_t10_rows_are_t6(_: Results) -> Verdict:
    t6, t10 = _table(6), _table(10)
    tests = ["DF", "F2F", "FS", "NT"]
    same = {}
    for model, method in (("A", "LRNet"), ("D", "UMCL")):
        same[model] = all(t10.value(model, c) == t6.value(method, "DF", c) for c in tests)
    qs = tuple(Quantity(f"Table 10 {m} Avg.", t10.value(m, "Avg."),
                        note=f"Table 6 {meth} trained on DF: {t6.value(meth, 'DF', 'Avg')}")
               for m, meth in (("A", "LRNet"), ("D", "UMCL")))
    if all(same.values()):
        return Verdict("T10-is-T6-DF", HOLDS,
                       "model A's four cells are Table 6's DF-trained LRNet row and model D's are the DF-trained UMCL "
                       "row, so the ablation models were trained on DF (c23) only, which §5.6 does not say "
                       "(A's Avg. 87.11 vs LRNet's printed 87.12: rounding)", qs)
    return Verdict("T10-is-T6-DF", FAILS, f"rows equal: {same}", qs)


def check_t4_margins(_: Results) -> Verdict:
    t = _table(4)
    qs, bad = [], []
    for test, stated in (("celebdf", 1.02), ("dfd", 1.28)):
        others = [(r.key[0], t.value(r.key, "c23", test)) for r in t.panel("c23").rows if r.key != ("UMCL",)]
        name, best = max(others, key=lambda x: x[1])
        margin = t.value("UMCL", "c23", test) - best
        qs.append(Quantity(f"{test}: UMCL − second best ({name})", margin, note=f"text says {stated:+.2f}"))
        if abs(margin - stated) > ROUNDING:
            cpml = t.value("UMCL", "c23", test) - t.value("CPML", "c23", test)
            bad.append(f"{test}: the second best is {name} ({best:.2f}), margin {margin:+.2f}; "
                       f"{stated:+.2f} is the margin over CPML ({cpml:+.2f})")
    ff = t.value("UMCL", "c23", "ff++"), t.value("CPML", "c23", "ff++")
    if ff[0] <= ff[1]:
        bad.append(f"in-domain FF++ UMCL {ff[0]:.2f} ties CPML {ff[1]:.2f}, not the single highest")
    return Verdict("T4-margins", FAILS if bad else HOLDS, "; ".join(bad) or "the stated margins match", tuple(qs))


def check_t4_right_margins(_: Results) -> Verdict:
    t = _table(4)
    qs, bad = [], []
    for test, stated in (("ff++", 1.30), ("celebdf", 0.47)):
        others = [(r.key[0], t.value(r.key, "c40", test)) for r in t.panel("c40").rows if r.key != ("UMCL",)]
        name, best = max(others, key=lambda x: x[1])
        margin = t.value("UMCL", "c40", test) - best
        qs.append(Quantity(f"{test}: UMCL − second best ({name})", margin, note=f"text says {stated:+.2f}"))
        if abs(margin - stated) > ROUNDING:
            bad.append(f"{test}: margin {margin:+.2f} vs stated {stated:+.2f}")
    return Verdict("T4-right-margins", FAILS if bad else HOLDS,
                   "; ".join(bad) or "both stated margins match the cells", tuple(qs))


def check_t5_c1(_: Results) -> Verdict:
    t = _table(5)
    col = ("ff++/raw", "dfdc")
    ours = t.value("UMCL", *col)
    above = [(r.key[0], t.value(r.key, *col)) for r in t.panels[0].rows
             if r.key != ("UMCL",) and (t.value(r.key, *col) or 0) > ours]
    qs = (Quantity("UMCL C1 (FF++ raw → DFDC)", ours),) + tuple(Quantity(f"{n} C1", v) for n, v in above)
    if [n for n, _ in above] == ["UIA-ViT"]:
        return Verdict("T5-C1", HOLDS, "only UIA-ViT is above UMCL on C1", qs)
    return Verdict("T5-C1", FAILS, f"{len(above)} methods are above UMCL's {ours:.2f} on C1: "
                   + ", ".join(f"{n} {v:.2f}" for n, v in above), qs)


def check_t6_df_margin(_: Results) -> Verdict:
    t = _table(6)
    ours = t.value("UMCL", "DF", "Avg")
    others = sorted(((t.value(r.key, "DF", "Avg"), r.key[0]) for r in t.panel("top").rows if r.key != ("UMCL",)), reverse=True)
    (best, name) = others[0]
    non_cpml = next((v, n) for v, n in others if n != "CPML")
    qs = (Quantity("UMCL trained on DF, Avg.", ours), Quantity(f"UMCL − next best ({name})", ours - best, note="text says +3.91"),
          Quantity(f"UMCL − best other than CPML ({non_cpml[1]})", ours - non_cpml[0]))
    if abs(ours - best - 3.91) <= ROUNDING:
        return Verdict("T6-DF-margin", HOLDS, "UMCL's DF-trained average leads the next best by 3.91", qs)
    return Verdict("T6-DF-margin", FAILS, f"the next best DF-trained average is {name} {best:.2f} (margin {ours - best:+.2f}); "
                   f"3.91 is the margin over {non_cpml[1]} ({non_cpml[0]:.2f}), the best row other than CPML", qs)


def check_t6_uiavit(_: Results) -> Verdict:
    t = _table(6)
    top, bottom = t.panel("top"), t.panel("bottom")
    i = top.row_index("UIA-ViT")
    same = top.values[i] == bottom.values[bottom.row_index("UIA-ViT")]
    qs = (Quantity("UIA-ViT trained on F2F, tested on F2F", t.value("UIA-ViT", "F2F", "F2F"),
                   note=f"trained on DF, tested on F2F: {t.value('UIA-ViT', 'DF', 'F2F')}"),
          Quantity("UIA-ViT trained on NT, tested on NT", t.value("UIA-ViT", "NT", "NT"),
                   note=f"trained on FS, tested on NT: {t.value('UIA-ViT', 'FS', 'NT')}"))
    if same:
        return Verdict("T6-uiavit-rows", FAILS, "UIA-ViT's F2F- and NT-trained ten cells repeat its DF- and FS-trained "
                       "cells digit for digit, so its in-domain F2F (66.86) and NT (47.35) results are copies, not results", qs)
    return Verdict("T6-uiavit-rows", HOLDS, "the four training subsets give distinct rows", qs)


def check_t7_text(_: Results) -> Verdict:
    t = _table(7)
    stated = {"raw": 23.91, "c23": 26.53, "c40": 23.71}
    pairs = [(f"50 % sampling {c}", s, round(t.value(("UMCL", "frames-0.5"), c) - t.value(("CPML", "frames-0.5"), c), 2))
             for c, s in stated.items()]
    pairs30 = [round(t.value(("UMCL", "frames-0.3"), c) - t.value(("CPML", "frames-0.3"), c), 2) for c in COMPRESSIONS]
    bad = _rows_differences(pairs)
    qs = tuple(Quantity(n, d, note=f"text says {s:+.2f}") for n, s, d in pairs) + tuple(
        Quantity(f"30 % sampling {c}: UMCL − CPML", v, note="text: exceeding 30") for c, v in zip(COMPRESSIONS, pairs30))
    if not bad and min(pairs30) > 30:
        return Verdict("T7-text", HOLDS, "the stated 50 % gains match the cells and every 30 % gain exceeds 30", qs)
    return Verdict("T7-text", FAILS, f"mismatches {bad}, 30 % gains {pairs30}", qs)


def check_t8_text(_: Results) -> Verdict:
    t = _table(8)
    opp = [t.value(("UMCL", "opposite"), c, "auc") for c in COMPRESSIONS]
    unrel = [t.value(("UMCL", "unrelated"), c, "auc") for c in COMPRESSIONS]
    cpml = [t.value(("CPML", "unrelated"), c, "auc") for c in COMPRESSIONS]
    gains = [t.value(("UMCL", "opposite"), c, "gain") for c in COMPRESSIONS]
    ok = min(opp) > 88 and 87 <= min(unrel) and max(unrel) <= 94 and 42 <= min(cpml) and max(cpml) <= 49 and min(gains) > 80
    qs = tuple(Quantity(f"UMCL opposite {c}", v) for c, v in zip(COMPRESSIONS, opp)) + tuple(
        Quantity(f"UMCL unrelated {c}", v, note=f"CPML {w:.2f}") for c, v, w in zip(COMPRESSIONS, unrel, cpml))
    return Verdict("T8-text", HOLDS if ok else FAILS,
                   "the stated ranges (opposite > 88, unrelated 87–93 vs CPML 42–48, gains > 80) match the cells"
                   if ok else "a stated range does not match the cells", qs)


def check_t11_text(_: Results) -> Verdict:
    t = _table(11)
    d = t.value("Views", "Avg.") - t.value("c23 & c40", "Avg.")
    ok = abs(d + 0.85) <= ROUNDING
    return Verdict("T11-text", HOLDS if ok else FAILS, f"Avg. Views − c23 & c40 = {d:+.2f} (text: −0.85)",
                   (Quantity("Views − c23 & c40, Avg.", d, note="text says -0.85"),))


# ---------------------------------------------------------------------------- measured claims

FF = "ff++"
#: Table 7 / Table 8 protocol: trained on FF++ (raw), tested on FF++ raw / c23 / c40
T7_TRAIN = selection(FF, "raw")
#: Tables 6 and 10: trained on DF (c23) — Table 10's A and D rows equal Table 6's DF-trained rows
#: (claim T10-is-T6-DF), as in umcl.protocols.tables.table10
T10_TRAIN = selection(FF, "c23", "Deepfakes")
#: Table 11: trained on FF++ (c23), all four manipulations; tested per manipulation at c23 (the paper
#: does not say more; its rows differ from Table 6/10's DF-trained ones)
T11_TRAIN = selection(FF, "c23")
#: the training variants (umcl.protocols.variants) the measured claims read; Table 10's model D and
#: Table 11's "Views" are plain UMCL
VARIANT_A, VARIANT_B, VARIANT_C, VARIANT_PAIRS = "ablA", "ablB", "ablC", "pairs"
#: Table 4's DFD test selection (as umcl.protocols.tables.table4)
DFD_TEST = selection("dfd", "c23")


def _attack(prompt: str) -> str:
    """Table 8's attack condition as the paper words it: the attack text is chosen by the true label."""
    return attack_part(prompt, "label_chosen")


def _ff(c: str) -> str:
    return selection(FF, c)


def _k(det: str, train: str, test: str, condition: str = "clean", variant: str | None = None) -> CellKey:
    return CellKey(det, train, test, condition, variant)


def _scoped(v: Verdict) -> Verdict:
    return dataclasses.replace(v, scope=REAL_SCOPE)


Cells = CellKey | Sequence[CellKey]


def _compare(cid: str, results: Results, pairs: Sequence[tuple[str, Cells, Cells | None]],
             above: float | None = None, below: float | None = None, paper: Sequence[Quantity] = (),
             what: str = "") -> Verdict:
    """Each (name, a, b): the quantity mean(a) − mean(b) (or mean(a) when b is None) must be > above / < below."""
    needed = []
    for _, a, b in pairs:
        needed += [a] if isinstance(a, CellKey) else list(a)
        if b is not None:
            needed += [b] if isinstance(b, CellKey) else list(b)
    missing = _missing(needed, results)
    if missing:
        return _not_testable(cid, missing, paper)
    qs: list[Quantity] = []
    derived: list[Quantity] = []
    for name, a, b in pairs:
        a_keys = [a] if isinstance(a, CellKey) else list(a)
        a_q = [_cell(results, k, k.key) for k in a_keys]
        qa = a_q[0] if len(a_q) == 1 else _mean(a_q, f"mean of {len(a_q)} cells")
        qs += [q for q in a_q if q.name not in {x.name for x in qs}]
        if b is None:
            derived.append(dataclasses.replace(qa, name=name))
            continue
        b_keys = [b] if isinstance(b, CellKey) else list(b)
        b_q = [_cell(results, k, k.key) for k in b_keys]
        qb = b_q[0] if len(b_q) == 1 else _mean(b_q, f"mean of {len(b_q)} cells")
        qs += [q for q in b_q if q.name not in {x.name for x in qs}]
        derived.append(_diff(qa, qb, name))
    verdict, support, why = _decide(derived, above, below)
    return Verdict(cid, verdict, (what + ": " if what else "") + why, tuple(derived) + tuple(qs), tuple(paper),
                   support or None, REAL_SCOPE)


def _paper_drop(t3: PaperTable, method: str, pairs: Sequence[tuple[str, str]]) -> float:
    return sum(t3.value((tr, method), tr, "auc") - t3.value((tr, method), te, "auc") for tr, te in pairs) / len(pairs)


def check_t3_drop(results: Results) -> Verdict:
    dets = ("umcl", "xception", "lrnet")
    pairs = [(tr, te) for tr in COMPRESSIONS for te in COMPRESSIONS if tr != te
             and all(_k(d, _ff(tr), _ff(x)).key in results for d in dets for x in (tr, te))]
    t3 = _table(3)
    paper_pairs = [(tr, te) for tr in COMPRESSIONS for te in COMPRESSIONS if tr != te and all(
        t3.value((tr, m), x, "auc") is not None for m in ("UMCL", "Xception", "LRNet") for x in (tr, te))]
    paper = tuple(Quantity(f"paper: {m} mean drop", _paper_drop(t3, m, paper_pairs),
                           note=f"over {len(paper_pairs)} train→test pairs") for m in ("UMCL", "Xception", "LRNet"))
    if not pairs:
        need = [_k(d, _ff(tr), _ff(te)) for d in dets for tr in COMPRESSIONS for te in COMPRESSIONS]
        return _not_testable("T3-drop", _missing(need, results), paper)
    drops = {}
    for d in dets:
        terms = [_diff(_cell(results, _k(d, _ff(tr), _ff(tr)), ""), _cell(results, _k(d, _ff(tr), _ff(te)), ""), "")
                 for tr, te in pairs]
        drops[d] = _mean(terms, f"{d} mean drop (in-compression − cross-compression AUC)")
    derived = [_diff(drops[b], drops["umcl"], f"{b} drop − UMCL drop") for b in ("xception", "lrnet")]
    verdict, support, why = _decide(derived, above=0)
    return Verdict("T3-drop", verdict, f"over {len(pairs)} train→test pairs ({', '.join(f'{a}→{b}' for a, b in pairs)}): {why}",
                   tuple(derived) + tuple(drops.values()), paper, support or None, REAL_SCOPE)


def check_t3_ccr_auc(results: Results) -> Verdict:
    cross = [(tr, te) for tr in COMPRESSIONS for te in COMPRESSIONS if tr != te]
    t3 = _table(3)
    paper = []
    for m in ("UMCL", "CPML", "LRNet"):
        mean = sum(t3.value((tr, m), te, "auc") for tr, te in cross) / len(cross)
        paper.append(Quantity(f"paper: {m} mean cross-compression AUC", mean))
    pairs = [(f"UMCL − {b} (mean cross-compression AUC)", [_k("umcl", _ff(tr), _ff(te)) for tr, te in cross],
              [_k(b, _ff(tr), _ff(te)) for tr, te in cross]) for b in ("xception", "lrnet", "cpml")]
    return _compare("T3-ccr-auc", results, pairs, above=0, paper=paper)


def check_t4_cross_dataset(results: Results) -> Verdict:
    t4 = _table(4)
    tr = _ff("c23")
    tests = (("celebdf", selection("celebdf")), ("dfd", DFD_TEST))
    paper = [Quantity(f"paper: UMCL − {m} on {n}", t4.value("UMCL", "c23", n) - t4.value(m, "c23", n))
             for n, _ in tests for m in ("CPML", "Xception")]
    pairs = [(f"UMCL − {b} on {n}", _k("umcl", tr, s), _k(b, tr, s)) for n, s in tests for b in ("xception", "cpml")]
    return _compare("T4-cross-dataset", results, pairs, above=0, paper=paper)


def check_t5_c2(results: Results) -> Verdict:
    t5 = _table(5)
    col = ("dfdc", "ff++/raw")
    paper = [Quantity(f"paper: UMCL − {m} on C2", t5.value("UMCL", *col) - t5.value(m, *col)) for m in ("CPML", "Xception")]
    tr, te = selection("dfdc"), _ff("raw")
    pairs = [(f"UMCL − {b} on C2 (DFDC → FF++ raw)", _k("umcl", tr, te), _k(b, tr, te)) for b in ("xception", "cpml")]
    return _compare("T5-C2", results, pairs, above=0, paper=paper)


def _per_method(det: str, train: str, variant: str | None = None) -> list[CellKey]:
    return [_k(det, train, selection(FF, "c23", m), variant=variant) for m in FF_METHODS]


def check_t6_df(results: Results) -> Verdict:
    t6 = _table(6)
    paper = [Quantity(f"paper: UMCL − {m}, DF-trained Avg", t6.value("UMCL", "DF", "Avg") - t6.value(m, "DF", "Avg"))
             for m in ("CPML", "LRNet", "Xception")]
    tr = T10_TRAIN
    pairs = [(f"UMCL − {b} (DF-trained, mean AUC over the four test subsets)", _per_method("umcl", tr), _per_method(b, tr))
             for b in ("xception", "lrnet", "cpml")]
    return _compare("T6-DF", results, pairs, above=0, paper=paper)


def _degradation_claim(cid: str, row: str, condition: str, bound: float) -> Callable[[Results], Verdict]:
    def check(results: Results) -> Verdict:
        t7 = _table(7)
        paper = [Quantity(f"paper: UMCL − CPML {c}", t7.value(("UMCL", row), c) - t7.value(("CPML", row), c))
                 for c in COMPRESSIONS]
        pairs = [(f"UMCL − CPML on {c}", _k("umcl", T7_TRAIN, _ff(c), condition), _k("cpml", T7_TRAIN, _ff(c), condition))
                 for c in COMPRESSIONS]
        return _compare(cid, results, pairs, above=bound, paper=paper)
    return check


def _prompt_claim(cid: str, prompt: str, det: str, above: float | None = None, below: float | None = None,
                  minus: str | None = None) -> Callable[[Results], Verdict]:
    def check(results: Results) -> Verdict:
        t8 = _table(8)
        cond = _attack(prompt)
        name = {"umcl": "UMCL", "cpml": "CPML"}
        paper = [Quantity(f"paper: {name[det]}" + (f" − {name[minus]}" if minus else "") + f" {c}",
                          t8.value((name[det], prompt), c, "auc") - (t8.value((name[minus], prompt), c, "auc") if minus else 0))
                 for c in COMPRESSIONS]
        pairs = [(f"{name[det]}" + (f" − {name[minus]}" if minus else " AUC") + f" on {c}",
                  _k(det, T7_TRAIN, _ff(c), cond), _k(minus, T7_TRAIN, _ff(c), cond) if minus else None)
                 for c in COMPRESSIONS]
        return _compare(cid, results, pairs, above=above, below=below, paper=paper)
    return check


def check_t10_asa(results: Results) -> Verdict:
    t10 = _table(10)
    paper = [Quantity("paper: D − C, Avg.", t10.value("D", "Avg.") - t10.value("C", "Avg."))]
    pairs = [("D − C (mean AUC over the four test subsets)", _per_method("umcl", T10_TRAIN),
              _per_method("umcl", T10_TRAIN, VARIANT_C))]
    v = _compare("T10-ASA", results, pairs, above=0, paper=paper)
    if v.verdict != NOT_TESTABLE:
        d = v.numbers[0]
        inside = d.has_interval and d.ci_low <= 2.99 <= d.ci_high
        v = dataclasses.replace(v, reason=v.reason + f"; the paper's +2.99 is {'inside' if inside else 'outside'} the interval")
    return v


def check_t10_fusion(results: Results) -> Verdict:
    t10 = _table(10)
    paper = [Quantity(f"paper: C − {m}, Avg.", t10.value("C", "Avg.") - t10.value(m, "Avg.")) for m in "AB"]
    c = _per_method("umcl", T10_TRAIN, VARIANT_C)
    pairs = [(f"C − {m} (mean AUC over the four test subsets)", c, _per_method("umcl", T10_TRAIN, var))
             for m, var in (("A", VARIANT_A), ("B", VARIANT_B))]
    return _compare("T10-fusion", results, pairs, above=0, paper=paper)


def check_t11_views(results: Results) -> Verdict:
    t11 = _table(11)
    paper = [Quantity("paper: Views − c23 & c40, Avg.", t11.value("Views", "Avg.") - t11.value("c23 & c40", "Avg."))]
    pairs = [("Views − c23 & c40 (mean AUC over the four test subsets)", _per_method("umcl", T11_TRAIN),
              _per_method("umcl", T11_TRAIN, VARIANT_PAIRS))]
    return _compare("T11-views", results, pairs, above=-1, paper=paper)


# ---------------------------------------------------------------------------- the list

def _needs_t3(dets: Sequence[str], cross_only: bool = False) -> tuple[CellKey, ...]:
    return tuple(_k(d, _ff(tr), _ff(te)) for d in dets for tr in COMPRESSIONS for te in COMPRESSIONS
                 if not (cross_only and tr == te))


def _needs_cond(dets: Sequence[str], condition: str) -> tuple[CellKey, ...]:
    return tuple(_k(d, T7_TRAIN, _ff(c), condition) for d in dets for c in COMPRESSIONS)


CLAIMS: tuple[Claim, ...] = (
    # ---- internal consistency (paper text)
    Claim("T3-deltas", "§5.1, Table 3", "values along the diagonal represent in-compression-rate evaluation results",
          "internal", check_t3_deltas, tests="each printed (↑/↓ x) equals the cell minus the row's in-compression cell"),
    Claim("T7-deltas", "§5.4, Table 7", "compared to the preliminary conference version CPML", "internal", check_t7_deltas,
          tests="each printed (↑ x) of a UMCL row equals UMCL minus CPML under the same degradation"),
    Claim("T8-gains", "§5.4, Table 8", "Adversarial prompt robustness evaluation on FF++", "internal", check_t8_gains,
          tests="each printed Gain equals UMCL minus CPML under the same prompt type"),
    Claim("T11-gain", "§5.6, Table 11", "UMCL performs comparably to the baseline", "internal", check_t11_gain,
          tests="each printed Gain equals Views minus c23 & c40"),
    Claim("T6-T10-T11-averages", "§5.3 and §5.6, Tables 6, 10, 11", "Testing on each subset of the FF++ [43] (c23) dataset",
          "internal", check_averages, tests="each printed average equals the mean of its four subsets (±0.01)"),
    Claim("T8-vs-T7", "§5.4, Tables 7 and 8", "Tables 7 and 8 present a comprehensive robustness evaluation "
          "comparing UMCL against the CPML [16] baseline", "internal",
          check_t8_vs_t7, tests="Table 8's Description rows equal Table 7's No-degradation rows (same models, same test)"),
    Claim("T3-vs-T7", "§5.1 and §5.4, Tables 3 and 7", "No degradation", "internal", check_t3_vs_t7,
          tests="Table 3's raw-trained CPML and UMCL AUCs equal Table 7's No-degradation rows (same protocol)"),
    Claim("T4-vs-T3", "§5.2, Tables 3 and 4", "the compared models are trained on FF++ (c23) and then evaluated on "
          "FF++ and Celeb-DF", "internal", check_t4_vs_t3,
          tests="Table 4's in-domain FF++ (c23) AUCs equal Table 3's c23→c23 AUCs (same protocol)"),
    Claim("T9-params", "§5.5, Table 9", "UMCL employs a deeper architecture with 175.82M parameters", "internal",
          check_t9_params, tests="the printed count against the architecture of §4 counted at the paper's sizes (±10 %)"),
    Claim("T9-flops", "§5.5, Table 9", "slightly higher computational demands (0.141 vs. 0.106 GFLOPs per sample)",
          "internal", check_t9_flops, tests="GFLOPs per sample at least 2 × the parameter count"),
    Claim("T10-text", "§5.6", "The average AUC increases by 4.44% and 21.26% compared to Model A and Model B",
          "internal", check_t10_text, tests="the stated gains (and D − C = 2.99) against Table 10's Avg. column"),
    Claim("T10-is-T6-DF", "§5.6, Table 10", "we conduct an ablation study on the FF++ (c23) dataset", "internal",
          check_t10_rows_are_t6, tests="Table 10's A and D rows against Table 6's DF-trained LRNet and UMCL rows"),
    Claim("T4-margins", "§5.2, Table 4", "outperforming the second-best methods by 1.02% and 1.28%", "internal",
          check_t4_margins, tests="UMCL minus the best other row on Celeb-DF and DFD (and the highest on FF++)"),
    Claim("T4-right-margins", "§5.2, Table 4", "achieving a 1.30% and 0.47% improvement over the second-best methods",
          "internal", check_t4_right_margins, tests="UMCL minus the best other row, FF++ (c40) part"),
    Claim("T5-C1", "§5.2, Table 5", "our method delivers commendable results, outperformed only by UIA-ViT", "internal",
          check_t5_c1, tests="the rows above UMCL in the C1 column"),
    Claim("T6-DF-margin", "§5.3, Table 6", "when trained on the DF manipulation, our model significantly outperforms "
          "others, achieving a 3.91% improvement", "internal", check_t6_df_margin,
          tests="UMCL's DF-trained average minus the next best row's"),
    Claim("T6-uiavit-rows", "§5.3, Table 6", "Cross-manipulation Evaluation", "internal", check_t6_uiavit,
          tests="UIA-ViT's rows for four training subsets are four results, not copies"),
    Claim("T7-text", "§5.4", "substantial improvements of 23.91%, 26.53%, and 23.71% over CPML", "internal",
          check_t7_text, tests="the stated 50 % gains and 'exceeding 30%' at 30 % against Table 7"),
    Claim("T8-text", "§5.4", "UMCL maintains robust performance above 88% across all compression rates", "internal",
          check_t8_text, tests="the stated prompt-attack ranges against Table 8"),
    Claim("T11-text", "§5.6", "with only a marginal 0.85% decrease in average AUC", "internal", check_t11_text,
          tests="Table 11's Avg. difference"),
    # ---- measured on this run's results
    Claim("T3-drop", "§5.1, Table 3", "The significant performance improvement of UMCL in cross-compression "
          "evaluations is largely attributed to the CQSL strategy", "measured", check_t3_drop,
          _needs_t3(("umcl", "xception", "lrnet")),
          tests="UMCL's mean AUC drop from in- to cross-compression is smaller than Xception's and LRNet's"),
    Claim("T3-ccr-auc", "Abstract; §5.1, Table 3", "our method achieves superior performance across various compression rates",
          "measured", check_t3_ccr_auc, _needs_t3(("umcl", "xception", "lrnet", "cpml"), cross_only=True),
          tests="UMCL's mean cross-compression AUC is above Xception's, LRNet's and CPML's"),
    Claim("T4-cross-dataset", "§5.2, Table 4", "our method achieves the highest performance on both the in-domain "
          "dataset (FF++ [43]) and the cross-dataset (Celeb-DF [19], DFD [20])", "measured", check_t4_cross_dataset,
          tuple(_k(d, _ff("c23"), s) for s in (selection("celebdf"), DFD_TEST) for d in ("umcl", "xception", "cpml")),
          tests="trained on FF++ c23: UMCL's AUC on Celeb-DF and DFD above Xception's and CPML's"),
    Claim("T5-C2", "§5.2, Table 5", "in the reverse scenario ... our approach achieves the best performance, surpassing "
          "the next-best model by a substantial margin", "measured", check_t5_c2,
          tuple(_k(d, selection("dfdc"), _ff("raw")) for d in ("umcl", "xception", "cpml")),
          tests="trained on DFDC, tested on FF++ raw: UMCL above Xception and CPML"),
    Claim("T6-DF", "§5.3, Table 6", "when trained on the DF manipulation, our model significantly outperforms others",
          "measured", check_t6_df,
          tuple(k for d in ("umcl", "xception", "lrnet", "cpml") for k in _per_method(d, T10_TRAIN)),
          tests="trained on DF c23: UMCL's mean AUC over DF, F2F, FS, NT above each trained baseline's"),
    Claim("T7-frames-50", "§5.4, Table 7", "Under severe rPPG degradation (50% sampling) ... substantial improvements "
          "of 23.91%, 26.53%, and 23.71% over CPML", "measured",
          _degradation_claim("T7-frames-50", "frames-0.5", "frames-r0.50", 20), _needs_cond(("umcl", "cpml"), "frames-r0.50"),
          tests="trained on raw, 50 % frames kept: UMCL − CPML > 20 AUC on raw, c23 and c40"),
    Claim("T7-frames-30", "§5.4, Table 7", "under extreme sampling conditions (30%), where UMCL achieves improvements "
          "exceeding 30% across all compression levels", "measured",
          _degradation_claim("T7-frames-30", "frames-0.3", "frames-r0.30", 30), _needs_cond(("umcl", "cpml"), "frames-r0.30"),
          tests="trained on raw, 30 % frames kept: UMCL − CPML > 30 AUC on raw, c23 and c40"),
    Claim("T7-landmarks-0.05", "§5.4, Table 7", "under landmark perturbations with σ = 0.05, UMCL consistently "
          "outperforms CPML by 33–44%", "measured",
          _degradation_claim("T7-landmarks-0.05", "landmarks-0.05", "landmarks-s0.05", 33),
          _needs_cond(("umcl", "cpml"), "landmarks-s0.05"),
          tests="trained on raw, landmarks + N(0, 0.05): UMCL − CPML > 33 AUC on raw, c23 and c40"),
    Claim("T8-opposite-88", "§5.4, Table 8", "UMCL maintains robust performance above 88% across all compression rates",
          "measured", _prompt_claim("T8-opposite-88", "opposite", "umcl", above=88),
          _needs_cond(("umcl",), _attack("opposite")),
          tests="trained on raw, opposite prompts (label-chosen): UMCL AUC > 88 on raw, c23 and c40"),
    Claim("T8-cpml-opposite", "§5.4, Table 8", "CPML suffers catastrophic failures under opposite prompts (dropping to 10% AUC)",
          "measured", _prompt_claim("T8-cpml-opposite", "opposite", "cpml", below=50),
          _needs_cond(("cpml",), _attack("opposite")),
          tests="trained on raw, opposite prompts (label-chosen): CPML AUC below chance (< 50) on raw, c23 and c40"),
    Claim("T8-unrelated", "§5.4, Table 8", "Even under unrelated prompts, UMCL achieves 87–93% AUC compared to CPML’s 42–48%",
          "measured", _prompt_claim("T8-unrelated", "unrelated", "umcl", above=0, minus="cpml"),
          _needs_cond(("umcl", "cpml"), _attack("unrelated")),
          tests="trained on raw, unrelated prompts (label-chosen): UMCL − CPML > 0 on raw, c23 and c40"),
    Claim("T10-ASA", "§5.6, Table 10", "Compared to Model C, UMCL enhances both detection accuracy and generalization, "
          "yielding an average AUC improvement of 2.99%", "measured", check_t10_asa,
          tuple(_per_method("umcl", T10_TRAIN)) + tuple(_per_method("umcl", T10_TRAIN, VARIANT_C)),
          tests="trained on DF c23: model D's (full UMCL) mean AUC over the four subsets above model C's"),
    Claim("T10-fusion", "§5.6, Table 10", "The average AUC increases by 4.44% and 21.26% compared to Model A and Model B",
          "measured", check_t10_fusion,
          tuple(k for v in (VARIANT_A, VARIANT_B, VARIANT_C) for k in _per_method("umcl", T10_TRAIN, v)),
          tests="trained on DF c23: model C's mean AUC above model A's and model B's"),
    Claim("T11-views", "§5.6, Table 11", "UMCL performs comparably to the baseline, with only a marginal 0.85% decrease "
          "in average AUC", "measured", check_t11_views,
          tuple(_per_method("umcl", T11_TRAIN)) + tuple(_per_method("umcl", T11_TRAIN, VARIANT_PAIRS)),
          tests="trained on FF++ c23: synthetic views cost less than 1 AUC (mean over the four subsets) "
                "against real c23/c40 pairs"),
)


def required_cells() -> list[CellKey]:
    """Every cell key the measured claims read (what the evaluation step must provide), in a stable order."""
    seen: dict[str, CellKey] = {}
    for c in CLAIMS:
        for k in c.needs:
            seen.setdefault(k.key, k)
    return list(seen.values())


def evaluate_claims(results: Mapping, synthetic: bool, claims: Sequence[Claim] = CLAIMS) -> list[Verdict]:
    """Run every claim's check on ``results`` (see :func:`as_results`); measured verdicts say what data they are about."""
    res = as_results(results)
    out = []
    for c in claims:
        v = c.check(res)
        if c.kind == "measured":
            v = dataclasses.replace(v, scope=SYNTHFF_SCOPE if synthetic else REAL_SCOPE)
            if synthetic:
                v = dataclasses.replace(v, reason="On SynthFF (synthetic data, not the paper's): " + v.reason)
        out.append(v)
    return out


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def claims_markdown(claims: Sequence[Claim], verdicts: Sequence[Verdict], synthetic: bool) -> str:
    """The claims report as Markdown: a summary table, then each claim with its numbers."""
    counts = {v: sum(1 for x in verdicts if x.verdict == v) for v in VERDICTS}
    lines = ["# The paper's claims, checked", "",
             f"{len(verdicts)} claims: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + ".", "",
             "*Internal* claims test the paper against itself (its printed tables and text; no data). "
             "*Measured* claims re-test the paper on this run's results: *holds* only when the 95 % interval "
             "of the tested quantity lies wholly on the claimed side (interval arithmetic on the cells' "
             "intervals, conservative); *fails* when it lies on the other side (contradicted) or straddles "
             "the bound (unresolved); *not testable on this data* when a needed cell is missing. "
             "Rules: docs/claims.md.", ""]
    if synthetic:
        lines += ["**Data: SynthFF.** Every measured verdict below is about SynthFF, a small synthetic stand-in "
                  "generated by this suite; it says nothing about the paper's datasets.", ""]
    lines += ["| id | section | kind | verdict | claim (paper) |", "|---|---|---|---|---|"]
    for c, v in zip(claims, verdicts):
        verdict = v.verdict + (f" ({v.support})" if v.support and v.verdict == FAILS else "")
        lines.append(f"| {c.id} | {_md_escape(c.section)} | {c.kind} | **{verdict}** | “{_md_escape(c.sentence)}” |")
    lines.append("")
    for c, v in zip(claims, verdicts):
        lines += [f"## {c.id}: {v.verdict}", "", f"> “{c.sentence}” ({c.section})", "",
                  f"Tested: {c.tests}.", f"Scope: {v.scope}.", "", f"{v.reason}.", ""]
        if v.numbers:
            lines += ["Numbers (95 % intervals in brackets):", ""] + [f"- {q.text()}" for q in v.numbers] + [""]
        if v.paper:
            lines += ["The paper's own numbers:", ""] + [f"- {q.text()}" for q in v.paper] + [""]
    return "\n".join(lines).rstrip() + "\n"


def render_claims(results: Mapping, out_prefix: str | Path, synthetic: bool, n_bootstrap: int) -> tuple[Path, Path]:
    """Write ``{out_prefix}.md`` (and ``.html``) and ``{out_prefix}.json`` (atomically); return the .md and .json
    paths. ``n_bootstrap``: the resamples behind the results' intervals (stated in both)."""
    from umcl.evaluation.config import resamples_note

    verdicts = evaluate_claims(results, synthetic)
    prefix = Path(out_prefix)
    md, js = prefix.with_name(prefix.name + ".md"), prefix.with_name(prefix.name + ".json")
    payload = {"synthetic": synthetic, "verdicts": VERDICTS,
               "claims": [{"id": c.id, "section": c.section, "sentence": c.sentence, "kind": c.kind, "tests": c.tests,
                           "needs": [k.key for k in c.needs], **{k: val for k, val in v.to_dict().items() if k != "claim"}}
                          for c, v in zip(CLAIMS, verdicts)], "bootstrap_resamples": n_bootstrap}
    write_json(js, payload)
    write_markdown(md, claims_markdown(CLAIMS, verdicts, synthetic) + "\n" + resamples_note(n_bootstrap) + "\n")  # and .html
    return md, js
