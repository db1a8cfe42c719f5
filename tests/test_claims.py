"""The claims check (umcl/report/claims/): internal verdicts on the paper, the measured-claims engine, each
measured claim's bound pinned to its sentence, the cells each claim reads, and the calibration on the
paper's own numbers (no claim contradicted).

Measured claims are driven by hand-made results: one set that must hold, one that must be contradicted,
one too noisy to decide (inconclusive), and one with a cell missing (not testable on this data).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from umcl.errors import UmclError
from umcl.report import claims as C
from umcl.report.claims import (
    CLAIMS,
    CONTRADICTED,
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NOT_TESTABLE,
    CellKey,
    Stat,
    as_results,
    calibrate,
    cells_of,
    evaluate,
    evaluate_claims,
    render_claims,
    required_cells,
)
from umcl.report.claims.address import declaration, paper_table, paper_value, resolve
from umcl.report.claims.calibration import auc_stat, hanley_mcneil_se, paper_test_size
from umcl.report.claims.engine import Bound, Quantity, resolving_factor

BY_ID = {c.id: c for c in CLAIMS}
INTERNAL = [c for c in CLAIMS if c.kind == "internal"]
MEASURED = [c for c in CLAIMS if c.kind == "measured"]
PAPER = next(
    (
        p / "shared" / "paper" / "UMCL_paper.md"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "paper" / "UMCL_paper.md").is_file()
    ),
    Path("/nonexistent"),
)


def _paper_text() -> str | None:
    if not PAPER.is_file():
        return None
    return " ".join(
        PAPER.read_text().replace("$\\sigma", "σ").replace("$", "").replace("Table 4-(left)¹,\n\n", "").split()
    )


def test_claims_each_quote_a_whole_sentence_of_the_paper() -> None:
    """Every quote is one whole sentence of the paper: found verbatim, starting after a sentence end and ending
    with its full stop."""
    assert len(MEASURED) >= 14 and len(INTERNAL) == 20 and len(BY_ID) == len(CLAIMS)
    text = _paper_text()
    if text is None:
        pytest.skip("the paper text is not on this machine")
    for c in CLAIMS:
        assert c.section.startswith(("§", "Abstract")) and c.tests and c.quote.endswith(".")
        i = text.find(c.quote)
        if i < 0 and c.id in ("T4-cross-dataset", "T4-margins"):  # a page break splits "The" from its sentence
            i = text.find(c.quote.removeprefix("The "))
        assert i >= 0, (c.id, c.quote)
        before = text[:i].rstrip()
        assert before.endswith((".", "The", "%", "-0.85", "Evaluation")), (
            c.id,
            before[-40:],
        )  # after a sentence, table or heading


# ---------------------------------------------------------------------------- internal claims

EXPECTED_INTERNAL = {
    "T3-deltas": FAILS,
    "T7-deltas": HOLDS,
    "T8-gains": FAILS,
    "T11-gain": FAILS,
    "T6-T10-T11-averages": FAILS,
    "T8-vs-T7": FAILS,
    "T3-vs-T7": FAILS,
    "T4-vs-T3": FAILS,
    "T9-params": FAILS,
    "T9-flops": HOLDS,
    "T10-text": HOLDS,
    "T10-is-T6-DF": HOLDS,
    "T4-margins": FAILS,
    "T4-right-margins": HOLDS,
    "T5-C1": FAILS,
    "T6-DF-margin": FAILS,
    "T6-uiavit-rows": FAILS,
    "T7-text": HOLDS,
    "T8-text": HOLDS,
    "T11-text": HOLDS,
}


@pytest.fixture(scope="module")
def paper_verdicts() -> dict[str, C.Verdict]:
    return {c.id: c.check() for c in INTERNAL}


def test_internal_verdicts(paper_verdicts: dict) -> None:
    assert {k: v.verdict for k, v in paper_verdicts.items()} == EXPECTED_INTERNAL
    assert all(v.scope == C.PAPER_SCOPE for v in paper_verdicts.values())
    # each verdict carries its own claim's id and a one-line reason; every number it quotes says what it is
    assert {k: v.claim for k, v in paper_verdicts.items()} == {k: k for k in paper_verdicts}
    assert all(isinstance(v.reason, str) and v.reason and "\n" not in v.reason for v in paper_verdicts.values())
    assert all(q.note and q.note.startswith("Table 6 ") for q in paper_verdicts["T10-is-T6-DF"].numbers)
    assert all(isinstance(q.name, str) and q.name for v in paper_verdicts.values() for q in v.numbers + v.paper)
    # the paper prints 21 such gains; every one is checked, not only those before a cell without one
    assert paper_verdicts["T7-deltas"].reason.startswith("all 21 printed gains (UMCL − CPML, same degradation)")


def test_headline_counts_each_verdict_of_each_kind() -> None:
    """The report's first line: how many claims, then per kind (measured, internal) how many got each verdict."""
    from umcl.report.claims.engine import Verdict
    from umcl.report.claims.render import headline

    claims = [*MEASURED[:3], *INTERNAL[:3]]
    kinds = [HOLDS, INCONCLUSIVE, HOLDS, FAILS, HOLDS, FAILS]
    verdicts = [Verdict(c.id, v, "r") for c, v in zip(claims, kinds, strict=True)]
    assert headline(claims, verdicts) == (
        "6 claims. Measured (3): 2 holds, 0 contradicted, 1 inconclusive, 0 not testable on this data. "
        "Internal (3, the paper against itself): 1 holds, 2 fails."
    )


def test_selection_slugs_as_documented() -> None:
    assert C.selection("ff++", "c23") == "ffpp-all-c23"
    assert C.selection("ff++", "c23", "Deepfakes") == "ffpp-DF-c23"
    assert C.selection("celebdf") == "celebdf-all-native"


def test_table3_six_printed_deltas_disagree(paper_verdicts: dict) -> None:
    names = {q.name for q in paper_verdicts["T3-deltas"].numbers}
    assert names == {
        "raw→c40 Xception ACC: printed",
        "raw→c23 CPML AUC: printed",
        "raw→c40 CPML ACC: printed",
        "c23→c40 LRNet AUC: printed",
        "c23→c40 MaskRelation ACC: printed",
        "c23→raw CPML ACC: printed",
    }
    assert paper_verdicts["T3-deltas"].reason.startswith("6 of 80 ")


def test_other_printed_number_errors(paper_verdicts: dict) -> None:
    assert "Simple Prompt raw printed 8.47, cells give 8.39" in paper_verdicts["T8-gains"].reason
    assert "Gain NT printed -1.47, cells give -1.51" in paper_verdicts["T11-gain"].reason
    avg = paper_verdicts["T6-T10-T11-averages"].reason
    assert avg.startswith("4 of ") and "DCL trained on DF printed 72.28, cells give 78.28" in avg
    assert "UMCL c40: 80.72 vs 79.72" in paper_verdicts["T8-vs-T7"].reason
    assert "UMCL raw→raw 98.21 vs 96.85" in paper_verdicts["T3-vs-T7"].reason
    assert "UMCL 99.87 vs 96.59" in paper_verdicts["T4-vs-T3"].reason
    assert "UIA-ViT (94.68), margin +0.06" in paper_verdicts["T4-margins"].reason
    assert "5 methods are above" in paper_verdicts["T5-C1"].reason


def test_table9_count_is_clip_plus_the_release_layers(paper_verdicts: dict) -> None:
    """175,818,413 = CLIP ViT-B/16, both towers (149,620,737) + the release's layers outside the P-encoder
    (26,197,676); the floor of what runs at test is 0.116 GFLOPs, below the printed 0.141."""
    from umcl.report.claims.complexity import (
        clip_parameters,
        release_layers,
        running_weights,
        table9_count,
    )

    assert clip_parameters()["total"] == 149_620_737 and sum(release_layers().values()) == 26_197_676
    assert table9_count()["total"] == 175_818_413 and round(175_818_413 / 1e6, 2) == paper_table(9).value(
        "params_m", "UMCL"
    )
    assert 2 * running_weights()["running"] / 1e9 == pytest.approx(0.1164, abs=1e-4)
    reason = paper_verdicts["T9-params"].reason
    assert "149,620,737" in reason and "26,197,676" in reason and "175,818,413" in reason
    assert "0.116 GFLOPs" in paper_verdicts["T9-flops"].reason


def test_clip_count_equals_open_clip_built_without_weights() -> None:
    """The analytic CLIP count against open_clip's model built on the meta device from the same config."""
    torch = pytest.importorskip("torch")
    open_clip_model = pytest.importorskip("open_clip.model")
    from umcl.report.claims.complexity import clip_config, clip_parameters

    with torch.device("meta"):
        model = open_clip_model.CLIP(**clip_config())
    parts = clip_parameters()
    assert sum(p.numel() for p in model.parameters()) == parts["total"]
    assert sum(p.numel() for p in model.visual.parameters()) == parts["image tower"]
    assert model.token_embedding.weight.numel() == parts["text token embedding"]


def test_described_parameter_count_matches_the_full_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The analytic text-layer additions equal a full UMCL built with a stand-in 512-d T-encoder."""
    import torch

    import umcl.models.umcl as U
    from umcl.models.text_encoder import TextEncoder

    class Fake(TextEncoder):
        backend, dim = "fake512", 512

        def fingerprint(self) -> str:
            return "fake512"

        def _load(self) -> None:
            pass

        def _encode(self, texts: list[str]) -> torch.Tensor:
            return torch.ones(len(texts), 512)

    monkeypatch.setattr(U, "build_text_encoder", lambda *a, **k: Fake())
    n_full = sum(p.numel() for p in U.UMCLDetector(U.UMCLConfig()).parameters())
    assert C.umcl_parameter_count()["total"] == n_full and 7.0e6 < n_full < 8.5e6


# ---------------------------------------------------------------------------- the engine


def test_bound_states_just_either_side() -> None:
    low = Bound(low=30.0)
    assert low.state(30.001, 40) == "supported" and low.state(29.999, 40) == "open"
    assert low.state(20, 30.0) == CONTRADICTED and low.state(20, 30.001) == "open"
    rng = Bound(32.5, 45.0)
    assert rng.state(33, 44.9) == "supported" and rng.state(45.0, 50) == CONTRADICTED
    assert rng.state(44, 46) == "open" and rng.state(10, 32.5) == CONTRADICTED


def test_resolving_factor_scales_as_one_over_root_n() -> None:
    """Half-width 4 facing a bound 2 away: 4× the videos halves the width to 2 → resolves at (4/2)² = 4."""
    assert resolving_factor(Quantity("q", 2.0, -2.0, 6.0), Bound(low=0.0)) == pytest.approx(4.0)
    assert resolving_factor(Quantity("q", -1.0, -4.0, 2.0), Bound(low=0.0)) == pytest.approx(
        9.0
    )  # towards contradicted
    assert resolving_factor(Quantity("q", 0.0, -1.0, 1.0), Bound(low=0.0)) is None


def test_hanley_mcneil_against_a_simulation() -> None:
    """The SE of an AUC of 0.85 at 140 : 140 against the spread of simulated binormal AUCs (SciPy's normal)."""
    from scipy.stats import norm

    rng = np.random.default_rng(0)
    d = math.sqrt(2) * norm.ppf(0.85)
    aucs = []
    for _ in range(400):
        r, f = rng.normal(0, 1, 140), rng.normal(d, 1, 140)
        aucs.append((f[:, None] > r[None, :]).mean())
    assert hanley_mcneil_se(0.85, 140, 140) == pytest.approx(np.std(aucs), rel=0.15)
    s = auc_stat(85.0, 140, 140)
    assert s.ci_low < 85 < s.ci_high and s.ci_high - 85 == pytest.approx(85 - s.ci_low)
    assert hanley_mcneil_se(0.1, 140, 140) == pytest.approx(hanley_mcneil_se(0.9, 140, 140))


# ---------------------------------------------------------------------------- measured claims, generic


def _results(claim, value_of, half: float = 0.1, drop: int | None = None) -> dict[str, Stat]:
    out = {}
    for i, k in enumerate(cells_of(claim)):
        if i == drop:
            continue
        v = value_of(k)
        out[k.key] = Stat(v, v - half, v + half, 1, 70, 70)
    return out


def _pinned(claim, side: str) -> dict[str, Stat]:
    """Results where every check of ``claim`` sits 0.01 inside (side 'in') or outside ('out') its bound, with
    ±0 intervals: each cell's value solves Σ c·x = target by giving the whole target to one cell per check."""
    res: dict[str, Stat] = {}
    for chk in claim.checks:
        b = chk.bound
        target = (
            (b.low + 0.01 if b.low is not None else b.high - 0.01)
            if side == "in"
            else (b.low - 0.01 if b.low is not None else b.high + 0.01)
        )
        coef: dict = {}
        for c, r in chk.terms:
            coef[r] = coef.get(r, 0.0) + c
        refs = [r for r, c in coef.items() if abs(c) > 1e-12]
        others = {r for o in claim.checks if o is not chk for _, r in o.terms}
        solve = next(r for r in refs if r not in others)  # a cell of this check alone
        for r in refs:
            if r != solve:
                res.setdefault(resolve(r).key, Stat(50.0, 50.0, 50.0, 1, 70, 70))
        rest = sum(coef[r] * res[resolve(r).key].value for r in refs if r != solve)
        key = resolve(solve).key
        v = (target - rest) / coef[solve]
        res[key] = Stat(v, v, v, 1, 70, 70)
    return res


@pytest.mark.parametrize("cid", [c.id for c in MEASURED])
def test_each_bound_just_either_side(cid: str) -> None:
    """0.01 inside every bound: holds; 0.01 outside: contradicted. A tighter or looser bound than the sentence's
    (e.g. T7-frames-30's 30 → 20) flips one of the two."""
    claim = BY_ID[cid]
    assert evaluate(claim, _pinned(claim, "in")).verdict == HOLDS
    assert evaluate(claim, _pinned(claim, "out")).verdict == CONTRADICTED


@pytest.mark.parametrize("cid", [c.id for c in MEASURED])
def test_wide_intervals_are_inconclusive_and_say_what_would_resolve(cid: str) -> None:
    claim = BY_ID[cid]
    base = _pinned(claim, "in")
    wide = {k: Stat(s.value + 5.0, s.value - 25.0, s.value + 35.0, 1, 70, 70) for k, s in base.items()}
    v = evaluate(claim, wide)
    assert v.verdict == INCONCLUSIVE and "straddles" in v.reason


@pytest.mark.parametrize("cid", [c.id for c in MEASURED])
def test_missing_cells_are_not_testable(cid: str) -> None:
    claim = BY_ID[cid]
    assert evaluate(claim, {}).verdict == NOT_TESTABLE
    if not claim.partial:
        v = evaluate(claim, _results(claim, lambda k: 60.0, drop=len(cells_of(claim)) - 1))
        assert v.verdict == NOT_TESTABLE and cells_of(claim)[-1].key in v.reason


def test_missing_cells_are_named_four_at_most_then_counted() -> None:
    """A claim missing cells names the first four it lacks, then says how many more ("and 1 more" from five)."""
    claim = next(c for c in MEASURED if not c.partial and len({k.key for k in cells_of(c)}) >= 6)
    keys = list(dict.fromkeys(k.key for k in cells_of(claim)))
    for n_missing, tail in ((4, ""), (5, " and 1 more"), (6, " and 2 more")):
        res = {k: s for k, s in _results(claim, lambda k: 60.0).items() if k not in keys[-n_missing:]}
        v = evaluate(claim, res)
        assert v.verdict == NOT_TESTABLE
        assert v.reason == "the results have no cell " + ", ".join(keys[-n_missing:][:4]) + tail


def test_no_interval_is_not_testable() -> None:
    claim = BY_ID["T8-opposite-88"]
    v = evaluate(claim, {k.key: Stat(95.0) for k in cells_of(claim)})
    assert v.verdict == NOT_TESTABLE and "no interval" in v.reason


# ---------------------------------------------------------------------------- bounds pinned to the sentences

PINNED = {  # claim -> {check name: (low, high)}, read by hand from the quoted sentence
    "T7-frames-30": {f"UMCL − CPML on {c}": (30.0, None) for c in ("raw", "c23", "c40")},
    "T7-frames-50": {
        "UMCL − CPML on raw": (23.905, None),
        "UMCL − CPML on c23": (26.525, None),
        "UMCL − CPML on c40": (23.705, None),
    },
    "T7-landmarks-0.05": {f"UMCL − CPML on {c}": (32.5, 45.0) for c in ("raw", "c23", "c40")},
    "T8-opposite-88": {f"UMCL AUC on {c}": (88.0, None) for c in ("raw", "c23", "c40")},
    "T8-opposite-gain": {f"UMCL − CPML on {c}": (80.0, None) for c in ("raw", "c23", "c40")},
    "T8-cpml-opposite": {f"CPML AUC on {c}": (None, 11.0) for c in ("raw", "c23", "c40")},
    "T8-unrelated": {
        **{f"UMCL AUC on {c}": (86.5, 94.0) for c in ("raw", "c23", "c40")},
        **{f"CPML AUC on {c}": (41.5, 49.0) for c in ("raw", "c23", "c40")},
    },
    "T10-ASA": {"D − C, mean AUC over the four test subsets": (2.985, None)},
    "T10-fusion": {
        "C − A, mean AUC over the four test subsets": (4.435, None),
        "C − B, mean AUC over the four test subsets": (21.255, None),
    },
    "T11-views": {"Views − c23 & c40, mean AUC over the four test subsets": (-0.86, None)},
    "T3-drop": {f"trained on {c}: drop without CQSL − drop of UMCL": (0.0, None) for c in ("raw", "c23", "c40")},
    "T3-ccr-auc": {f"UMCL − {b}, mean cross-compression AUC": (0.0, None) for b in ("Xception", "LRNet", "CPML")},
    "T4-cross-dataset": {
        **{f"UMCL − {b} on ff++": (0.0, None) for b in ("Xception", "CPML")},
        **{f"UMCL − {b} on celebdf": (1.015, None) for b in ("Xception", "CPML")},
        **{f"UMCL − {b} on dfd": (1.275, None) for b in ("Xception", "CPML")},
    },
    "T5-C2": {f"UMCL − {b} on C2 (DFDC → FF++ raw)": (0.0, None) for b in ("Xception", "LRNet", "CPML")},
    "T6-DF": {
        "UMCL − Xception, DF-trained, mean AUC over the four test subsets": (3.905, None),
        "UMCL − LRNet, DF-trained, mean AUC over the four test subsets": (3.905, None),
        "UMCL − CPML, DF-trained, mean AUC over the four test subsets": (0.0, None),
    },
}


def test_every_measured_claim_is_pinned() -> None:
    assert set(PINNED) == {c.id for c in MEASURED}


@pytest.mark.parametrize("cid", sorted(PINNED))
def test_bounds_are_the_sentences(cid: str) -> None:
    got = {chk.name: (chk.bound.low, chk.bound.high) for chk in BY_ID[cid].checks}
    assert set(got) == set(PINNED[cid])
    for name, (low, high) in PINNED[cid].items():
        assert got[name] == (
            pytest.approx(low) if low is not None else None,
            pytest.approx(high) if high is not None else None,
        ), name


def test_t7_frames_30_bound_just_either_side() -> None:
    """Issue 29's mutation (bound 30 → 20): a gain of 29.99 on every compression must not hold."""
    claim = BY_ID["T7-frames-30"]
    for gain, verdict in ((30.01, HOLDS), (29.99, CONTRADICTED)):
        res = {}
        for k in cells_of(claim):
            v = 80.0 if k.detector == "umcl" else 80.0 - gain
            res[k.key] = Stat(v, v, v, 1, 70, 70)
        assert evaluate(claim, res).verdict == verdict, gain


# ---------------------------------------------------------------------------- which cells each claim reads


def test_table8_claims_read_the_label_chosen_cells_of_the_rows_they_quote() -> None:
    """Each Table 8 claim reads, for every cell, the condition of the paper row it quotes (label-chosen attack
    text), not the label-free rows of ours."""
    rows = {r.key: r.condition for r in paper_table(8).panels[0].rows}
    for c in MEASURED:
        for chk in c.checks:
            for _, ref in chk.terms:
                if ref.table == "table8":
                    assert resolve(ref).condition == rows[ref.row] and "labelchosen" in rows[ref.row], (c.id, ref)


def test_table7_claims_read_the_degradation_of_the_row_they_quote() -> None:
    rows = {r.key: r.condition for r in paper_table(7).panels[0].rows}
    for c in MEASURED:
        for chk in c.checks:
            for _, ref in chk.terms:
                if ref.table == "table7":
                    assert resolve(ref).condition == rows[ref.row]


def test_t10_fusion_reads_c_minus_a_and_c_minus_b() -> None:
    """Models A and B differ: C − A = 90 − 70 = 20 > 4.44, C − B = 90 − 60 = 30 > 21.26; only the right pairing
    holds, and swapping A's cells for B's (or C's for A's) changes the verdict."""
    claim = BY_ID["T10-fusion"]
    level = {"ablA": 70.0, "ablB": 60.0, "ablC": 90.0, None: 95.0}
    res = {
        k.key: Stat(level[k.variant], level[k.variant] - 0.1, level[k.variant] + 0.1, 1, 70, 70)
        for k in cells_of(claim)
    }
    v = evaluate(claim, res)
    assert v.verdict == HOLDS
    q = {x.name: x.value for x in v.numbers}
    assert q["C − A, mean AUC over the four test subsets"] == pytest.approx(20.0)
    assert q["C − B, mean AUC over the four test subsets"] == pytest.approx(30.0)
    level["ablB"] = 75.0  # C − B = 15 < 21.26 while C − A stays 20
    res = {
        k.key: Stat(level[k.variant], level[k.variant] - 0.1, level[k.variant] + 0.1, 1, 70, 70)
        for k in cells_of(claim)
    }
    assert evaluate(claim, res).verdict == CONTRADICTED


def test_t3_drop_compares_umcl_with_and_without_cqsl() -> None:
    """T3-drop reads UMCL's Table 3 cells and the claims protocol's UMCL-without-CQSL runs, nothing else."""
    claim = BY_ID["T3-drop"]
    cells = cells_of(claim)
    assert {(k.detector, k.variant) for k in cells} == {("umcl", None), ("umcl", "woCQSL")}
    assert len(cells) == 18
    # without CQSL: 90 in, 60 across (drop 30); UMCL: 90 in, 85 across (drop 5) → 25 > 0 on each compression
    res = {
        k.key: Stat(v, v - 1, v + 1, 1, 70, 70)
        for k in cells
        for v in [90.0 if k.train.split("-")[-1] == k.test.split("-")[-1] else (60.0 if k.variant else 85.0)]
    }
    v = evaluate(claim, res)
    assert v.verdict == HOLDS
    assert {q.name: (q.value, q.ci_low, q.ci_high) for q in v.numbers}[
        "trained on raw: drop without CQSL − drop of UMCL"
    ] == pytest.approx((25.0, 21.0, 29.0))
    only_c23 = {k: s for k, s in res.items() if "|ffpp-all-c23|ffpp-" in k}  # a profile that trains c23 only
    v = evaluate(claim, only_c23)
    assert v.verdict == HOLDS and "skipped: 2" in v.reason


def test_every_claim_cell_is_declared_by_a_protocol() -> None:
    from umcl.protocols.claims import CLAIM_PROTOCOLS
    from umcl.protocols.tables import PROTOCOLS

    declared = {
        CellKey.from_decl(d, m).key
        for p in {**PROTOCOLS, **CLAIM_PROTOCOLS}.values()
        for d in p.cells
        for m in p.metrics
    }
    assert {k.key for k in required_cells()} <= declared
    for c in MEASURED:
        for chk in c.checks:
            for _, ref in chk.terms:
                assert declaration(ref).model.detector == resolve(ref).detector


def test_claims_runs_appear_in_the_default_sheet_with_one_seed() -> None:
    from umcl.protocols.sheet import build_sheet
    from umcl.workflow import load_profile

    _, layout = load_profile("default", check=False)
    sheet = build_sheet(layout.wf)
    runs = {r for r in sheet.runs if r.variant == "woCQSL" and r.train.methods is None}
    assert {(r.train.compression, r.seed) for r in runs} == {("raw", 0), ("c23", 0), ("c40", 0)}
    extra = set(layout.claims_evaluation_files()) - set(layout.evaluation_files())
    assert extra == {layout.evaluation(r.to_path(), "ffpp") for r in runs}


# ---------------------------------------------------------------------------- calibration


def test_calibration_on_the_papers_numbers_contradicts_nothing() -> None:
    """The paper's own numbers, one seed, Hanley–McNeil intervals at the paper's test sizes: no claim is
    contradicted; the claims the paper prints no cells for are not testable, the rest inconclusive or hold."""
    cal = {c.id: v.verdict for c, v in zip(CLAIMS, calibrate(), strict=True) if v is not None}
    assert CONTRADICTED not in cal.values()
    assert cal["T3-drop"] == NOT_TESTABLE  # the paper trains no UMCL without CQSL across compressions
    assert cal["T7-frames-30"] == INCONCLUSIVE and cal["T8-opposite-88"] == INCONCLUSIVE
    assert sum(v != NOT_TESTABLE for v in cal.values()) >= 10


def test_calibration_sizes() -> None:
    from umcl.protocols.keys import Selection

    assert paper_test_size(Selection("ff++", "c23")) == (140, 560)
    assert paper_test_size(Selection("ff++", "c23", ("Deepfakes",))) == (140, 140)
    assert paper_test_size(Selection("celebdf", "orig")) == (88, 845)
    assert paper_test_size(Selection("dfd", "c23")) == (54, 460)
    ref = BY_ID["T8-opposite-88"].checks[2].terms[0][1]
    assert paper_value(ref) == 88.61


# ---------------------------------------------------------------------------- scope, input, rendering


def test_synthff_scope_on_every_measured_verdict() -> None:
    res = {}
    for c in MEASURED:
        res.update(_results(c, lambda k: 60.0))
    for synthetic in (True, False):
        for c, v in zip(CLAIMS, evaluate_claims(res, synthetic=synthetic), strict=True):
            if c.kind == "measured":
                assert ("SynthFF" in v.reason) == synthetic and ("SynthFF" in v.scope) == synthetic
            else:
                assert v.scope == C.PAPER_SCOPE


def test_cell_key_round_trip() -> None:
    k = CellKey(
        "umcl", C.selection("ff++", "c23", "Deepfakes"), C.selection("ff++", "c23", "NeuralTextures"), "clean", "ablC"
    )
    assert k.key == "umcl+ablC|ffpp-DF-c23|ffpp-NT-c23|clean|auc" and CellKey.parse(k.key) == k
    assert CellKey("umcl", "ffpp-all-raw", "ffpp-all-c40", "frames-r0.50").key in {c.key for c in required_cells()}
    assert {c.detector for c in required_cells()} == {"umcl", "cpml", "xception", "lrnet"}


def test_cell_key_from_eval_key_drops_the_seed() -> None:
    from umcl.protocols.keys import EvalKey, RunKey, Selection

    ev = EvalKey(RunKey("umcl", Selection("ff++", "raw"), 2, "ablB"), Selection("ff++", "c40"), "frames-r0.50")
    assert CellKey.from_eval(ev).key == "umcl+ablB|ffpp-all-raw|ffpp-all-c40|frames-r0.50|auc"


def test_bad_results_input() -> None:
    with pytest.raises(UmclError, match="is not detector"):
        as_results({"umcl|ff++/all/raw": {"value": 90.0}})
    with pytest.raises(UmclError, match="must contain"):
        as_results({"umcl|a|b|clean|auc": {"value": 90.0, "ci_low": 91.0, "ci_high": 95.0}})
    with pytest.raises(UmclError, match="both ci_low and ci_high"):
        as_results({"umcl|a|b|clean|auc": {"value": 90.0, "ci_low": 89.0}})
    with pytest.raises(UmclError, match="needs 'value'"):
        as_results({"umcl|a|b|clean|auc": {"auc": 90.0}})
    res = {CellKey("umcl", "a", f"t{i}").key: {"value": 0.8, "ci_low": 0.7, "ci_high": 0.9} for i in range(3)}
    with pytest.raises(UmclError, match="look like fractions"):
        as_results(res)


def test_stat_from_cell_stats() -> None:
    from umcl.evaluation.aggregate import CellStats, Estimate

    est = Estimate("auc", 0.80, (0.74, 0.85), (0.79, 0.80, 0.81), 0.01, (0.70, 0.90))
    cell = CellStats({"auc": est}, (0, 1, 2), n_real=40, n_fake=40, n_boot=100, level=0.95, bootstrap_seed=0)
    assert Stat.from_cell_stats(cell) == Stat(pytest.approx(80.0), pytest.approx(70.0), pytest.approx(90.0), 3, 40, 40)


def test_render_claims(tmp_path: Path) -> None:
    claim = BY_ID["T7-frames-50"]
    res = _pinned(claim, "in")
    md, js = render_claims(res, tmp_path / "claims", synthetic=True, n_bootstrap=2000)
    assert (md.name, js.name) == ("claims.md", "claims.json")
    data = json.loads(js.read_text())
    by = {c["id"]: c for c in data["claims"]}
    assert by["T7-frames-50"]["verdict"] == HOLDS and by["T3-drop"]["verdict"] == NOT_TESTABLE
    assert by["T3-deltas"]["verdict"] == FAILS and by["T7-frames-50"]["calibration"] == INCONCLUSIVE
    assert by["T7-frames-50"]["bounds"][0]["low"] == pytest.approx(23.905)
    text = md.read_text()
    assert "**Data: SynthFF.**" in text and "## T7-frames-50: holds" in text
    assert "Measured (15): 1 holds, 0 contradicted, 0 inconclusive, 14 not testable on this data." in text
    assert "## Calibration: the paper's own numbers as results" in text and "0 contradicted" in text
    assert text.count("| T") == len(CLAIMS) + len(MEASURED)
    assert "2,000" in text or "2000" in text
    assert data["bootstrap_resamples"] == 2000
    md2, _ = render_claims(res, tmp_path / "real", synthetic=False, n_bootstrap=2000)
    assert "SynthFF" not in md2.read_text().split("## ")[0]


# ---------------------------------------------------------------------------- what a reviewer reads

READINGS = {  # claim -> how each of its bounds was read from the sentence, word for word as the report prints it
    "T3-drop": {"“largely attributed to the CQSL strategy”: a threshold, tested as stated"},
    "T3-ccr-auc": {"“superior performance across various compression rates”: a threshold, tested as stated"},
    "T4-cross-dataset": {
        "“the highest performance on both the in-domain dataset”: a threshold, tested as stated",
        "“outperforming the second-best methods by 1.02%”: 1.02 as printed stands for ≥ 1.015",
        "“and 1.28%”: 1.28 as printed stands for ≥ 1.275",
    },
    "T5-C2": {"“outperforms”: a threshold, tested as stated"},
    "T6-DF": {
        "“achieving a 3.91% improvement”: 3.91 as printed stands for ≥ 3.905 over every method but CPML "
        "(Table 6 puts CPML 1.30 behind; the 3.91 is the margin over the best other row: claim T6-DF-margin)",
        "“outperforms”: a threshold, tested as stated",
    },
    "T7-frames-50": {
        "“improvements of 23.91%”: 23.91 as printed stands for ≥ 23.905",
        "“improvements of 26.53%”: 26.53 as printed stands for ≥ 26.525",
        "“improvements of 23.71%”: 23.71 as printed stands for ≥ 23.705",
    },
    "T7-frames-30": {"“exceeding 30%”: a threshold, tested as stated"},
    "T7-landmarks-0.05": {"“by 33–44%”: printed 33–44, rounded or truncated: (32.5, 45)"},
    "T8-opposite-88": {"“above 88%”: a threshold, tested as stated"},
    "T8-opposite-gain": {"“improvements exceeding 80%”: a threshold, tested as stated"},
    "T8-cpml-opposite": {"“dropping to 10% AUC”: 10 as printed stands for < 11"},
    "T8-unrelated": {
        "“87–93%”: printed 87–93, rounded or truncated: (86.5, 94)",
        "“42–48%”: printed 42–48, rounded or truncated: (41.5, 49)",
    },
    "T10-ASA": {"“an average AUC improvement of 2.99%”: 2.99 as printed stands for ≥ 2.985"},
    "T10-fusion": {
        "“increases by 4.44%”: 4.44 as printed stands for ≥ 4.435",
        "“and 21.26%”: 21.26 as printed stands for ≥ 21.255",
    },
    "T11-views": {"“only a marginal 0.85% decrease”: 0.85 as printed stands for a decrease < 0.86"},
}


def test_bound_readings_word_for_word() -> None:
    """The report prints, under each bound, how it was read from the sentence: the sentence's words (its case
    too) and the printed number's rounding; T6-DF's margin bound also says why CPML is held to the direction
    only. The verdicts do not read this text, so only a test of the text itself sees it change."""
    assert {c.id: {chk.bound.reading for chk in c.checks} for c in MEASURED} == READINGS


def _with_table(monkeypatch: pytest.MonkeyPatch, n: int, edits: list[tuple[str | None, str, tuple, float]]) -> None:
    """The internal checks read Table ``n`` with cells changed: each edit is (panel id or None for the first
    panel, row, column key, new value). For the branches the printed tables never take."""
    import dataclasses

    from umcl.report.claims import internal

    t = paper_table(n)
    panels = []
    for p in t.panels:
        values = [list(r) for r in p.values]
        for pid, row, column, value in edits:
            if (pid or t.panels[0].id) == p.id:
                values[p.row_index(row)][p.column_index(column)] = value
        panels.append(dataclasses.replace(p, values=tuple(tuple(r) for r in values)))
    doctored = dataclasses.replace(t, panels=tuple(panels))
    monkeypatch.setattr(internal, "paper_table", lambda k: doctored if k == n else paper_table(k))


def test_t10_text_names_each_stated_gain_and_says_which_disagree(
    paper_verdicts: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """T10-text shows each stated gain beside the Avg. column's difference; when they disagree (model C one
    point higher: all three off), the reason lists each, text beside cells."""
    from umcl.report.claims.internal import check_t10_text

    v = paper_verdicts["T10-text"]
    assert v.reason == "the stated gains equal the Avg. column's differences"
    assert [(q.name, round(q.value, 2), q.note) for q in v.numbers] == [
        ("C − A (Avg. cells)", 4.44, "text says +4.44"),
        ("C − B (Avg. cells)", 21.26, "text says +21.26"),
        ("D − C (Avg. cells)", 2.99, "text says +2.99"),
    ]
    _with_table(monkeypatch, 10, [(None, "C", ("Avg.",), 92.55)])
    v = check_t10_text()
    assert (v.claim, v.verdict) == ("T10-text", FAILS)
    assert v.reason == (
        "C − A: text +4.44, cells +5.44; C − B: text +21.26, cells +22.26; D − C: text +2.99, cells +1.99"
    )


def test_t9_params_when_the_printed_count_is_neither_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Had Table 9 printed 150.00 M (neither CLIP + the release's layers nor the described model), T9-params
    would say so, naming both counts."""
    from umcl.report.claims.internal import check_t9_params

    _with_table(monkeypatch, 9, [(None, "params_m", ("UMCL",), 150.0)])
    v = check_t9_params()
    assert (v.claim, v.verdict) == ("T9-params", FAILS)
    assert v.reason == (
        "the printed 150.00 M matches neither the described model (7.72 M) nor CLIP + the release's layers (175.82 M)"
    )
    assert v.numbers[0] == Quantity("Table 9 UMCL parameters (M)", 150.0)


def test_t6_uiavit_rows_hold_when_the_rows_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    """With one cell of UIA-ViT's F2F/NT-trained row changed, its four training subsets are four results."""
    from umcl.report.claims.internal import check_t6_uiavit

    f2f = paper_table(6).value("UIA-ViT", "F2F", "F2F")
    _with_table(monkeypatch, 6, [("bottom", "UIA-ViT", ("F2F", "F2F"), f2f + 1.0)])
    v = check_t6_uiavit()
    assert (v.claim, v.verdict, v.reason) == ("T6-uiavit-rows", HOLDS, "the four training subsets give distinct rows")


def test_t4_right_margins_say_which_stated_margin_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """With UMCL's two c40 cells one point higher, both stated margins (+1.30, +0.47) are off and each is named."""
    from umcl.report.claims.internal import check_t4_right_margins

    t4 = paper_table(4)
    _with_table(
        monkeypatch,
        4,
        [
            ("c40", "UMCL", ("c40", test), t4.value("UMCL", "c40", test, panel="c40") + 1.0)
            for test in ("ff++", "celebdf")
        ],
    )
    v = check_t4_right_margins()
    assert (v.claim, v.verdict) == ("T4-right-margins", FAILS)
    assert v.reason == "ff++: margin +2.30 vs stated +1.30; celebdf: margin +1.47 vs stated +0.47"


def test_t6_df_margin_holds_when_the_next_best_is_391_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """Had CPML's DF-trained average been lower, the next best would be Face X-ray, 3.91 behind: the stated
    margin holds."""
    from umcl.report.claims.internal import check_t6_df_margin

    _with_table(monkeypatch, 6, [("top", "CPML", ("DF", "Avg"), 80.0)])
    v = check_t6_df_margin()
    assert (v.claim, v.verdict) == ("T6-DF-margin", HOLDS)
    assert v.reason == "UMCL's DF-trained average leads the next best by 3.91"
    assert v.numbers[1].name == "UMCL − next best (Face X-ray)" and v.numbers[1].value == pytest.approx(3.91)


def test_calibration_paragraph_states_the_test_sizes_it_uses(tmp_path: Path) -> None:
    """The report's calibration paragraph states the paper's test sizes the Hanley–McNeil intervals use."""
    from umcl.protocols.keys import Selection

    ffpp = paper_test_size(Selection("ff++", "c23", ("Deepfakes",)))
    celebdf, dfd = paper_test_size(Selection("celebdf", "orig")), paper_test_size(Selection("dfd", "c23"))
    md, _ = render_claims({}, tmp_path, synthetic=False, n_bootstrap=2000)
    assert (
        "a Hanley–McNeil 95 % interval from each value and the paper's test-set size (FF++'s official test split: "
        f"{ffpp[0]} real and {ffpp[1]} fake videos per manipulation; Celeb-DF {celebdf[0]} real / {celebdf[1]} fake "
        f"and DFD {dfd[0]} / {dfd[1]}, §5's 15 % test share)."
    ) in " ".join(md.read_text().split())


def test_measured_reasons_word_for_word() -> None:
    """The reason printed under a measured verdict: what holds or which checks are contradicted, and nothing
    about skipped checks when none was skipped (a partial claim's count is in test_t3_drop_…)."""
    claim = BY_ID["T7-frames-50"]
    v = evaluate(claim, _pinned(claim, "in"))
    assert (v.verdict, v.reason) == (HOLDS, "every interval lies inside the claimed range")
    v = evaluate(claim, _pinned(claim, "out"))
    assert (v.verdict, v.reason) == (
        CONTRADICTED,
        "the whole interval lies outside the claimed range for: UMCL − CPML on raw, UMCL − CPML on c23, "
        "UMCL − CPML on c40",
    )
