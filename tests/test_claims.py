"""The claims check (umcl/report/claims.py): internal verdicts on the paper, measured verdict logic.

Measured claims are driven by hand-made results: each gets one set that must hold, one that must
fail (contradicted), one too noisy to decide (fails, unresolved), and one with a cell missing (not
testable on this data).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from umcl.errors import UmclError
from umcl.report import claims as C
from umcl.report.claims import (CLAIMS, FAILS, HOLDS, NOT_TESTABLE, CellKey, Stat, as_results, evaluate_claims,
                                render_claims, required_cells)

BY_ID = {c.id: c for c in CLAIMS}
INTERNAL = [c for c in CLAIMS if c.kind == "internal"]
MEASURED = [c for c in CLAIMS if c.kind == "measured"]


def test_at_least_twelve_claims_each_cited() -> None:
    assert len(CLAIMS) >= 12 and len(MEASURED) >= 12
    assert len(BY_ID) == len(CLAIMS)
    paper = (Path(__file__).resolve().parents[2] / "shared" / "paper" / "UMCL_paper.md")
    text = " ".join(paper.read_text().replace("$\\sigma", "σ").replace("$", "").split()) if paper.is_file() else None
    for c in CLAIMS:
        assert c.section.startswith(("§", "Abstract")) and c.sentence and c.tests
        if text is not None:  # every quoted sentence (or each part around '...') is in the paper
            for part in c.sentence.split(" ... "):
                assert part in text, (c.id, part)


# ---------------------------------------------------------------------------- internal claims

EXPECTED_INTERNAL = {
    "T3-deltas": FAILS, "T7-deltas": HOLDS, "T8-gains": FAILS, "T11-gain": FAILS, "T6-T10-T11-averages": FAILS,
    "T8-vs-T7": FAILS, "T3-vs-T7": FAILS, "T4-vs-T3": FAILS, "T9-params": FAILS, "T9-flops": FAILS, "T10-text": HOLDS,
    "T10-is-T6-DF": HOLDS, "T4-margins": FAILS, "T4-right-margins": HOLDS, "T5-C1": FAILS, "T6-DF-margin": FAILS,
    "T6-uiavit-rows": FAILS, "T7-text": HOLDS, "T8-text": HOLDS, "T11-text": HOLDS,
}


@pytest.fixture(scope="module")
def paper_verdicts() -> dict[str, C.Verdict]:
    return {c.id: c.check({}) for c in INTERNAL}


def test_internal_verdicts(paper_verdicts: dict) -> None:
    assert {k: v.verdict for k, v in paper_verdicts.items()} == EXPECTED_INTERNAL
    assert all(v.scope == C.PAPER_SCOPE for v in paper_verdicts.values())


def test_table3_six_printed_deltas_disagree(paper_verdicts: dict) -> None:
    """The six errata (same as tests/test_paper_values.py), found from the transcription alone."""
    names = {q.name for q in paper_verdicts["T3-deltas"].numbers}
    assert names == {"raw→c40 Xception ACC: printed", "raw→c23 CPML AUC: printed", "raw→c40 CPML ACC: printed",
                     "c23→c40 LRNet AUC: printed", "c23→c40 MaskRelation ACC: printed", "c23→raw CPML ACC: printed"}
    assert paper_verdicts["T3-deltas"].reason.startswith("6 of 80 ")


def test_other_printed_number_errors(paper_verdicts: dict) -> None:
    """Values computed by hand from the paper's cells."""
    assert "Simple Prompt raw printed 8.47, cells give 8.39" in paper_verdicts["T8-gains"].reason  # 96.85 - 88.46
    assert "Gain NT printed -1.47, cells give -1.51" in paper_verdicts["T11-gain"].reason  # 95.22 - 96.73
    avg = paper_verdicts["T6-T10-T11-averages"].reason
    assert avg.startswith("4 of ")
    assert "DCL trained on DF printed 72.28, cells give 78.28" in avg  # (99.98+77.13+61.01+75.01)/4 = 78.2825
    assert "RECCE trained on NT printed 80.52, cells give 81.02" in avg  # (92.20+76.65+58.06+97.17)/4
    assert "UMCL trained on F2F printed 96.79, cells give 96.82" in avg  # (98.40+97.72+98.24+92.92)/4
    assert "UMCL c40: 80.72 vs 79.72" in paper_verdicts["T8-vs-T7"].reason
    assert "UMCL raw→raw 98.21 vs 96.85" in paper_verdicts["T3-vs-T7"].reason
    assert "UMCL 99.87 vs 96.59" in paper_verdicts["T4-vs-T3"].reason and "3 of 3" in paper_verdicts["T4-vs-T3"].reason
    assert "UIA-ViT (94.68), margin +0.06" in paper_verdicts["T4-margins"].reason
    assert "5 methods are above" in paper_verdicts["T5-C1"].reason


def _patched_table(monkeypatch: pytest.MonkeyPatch, n: int, row: tuple, col: tuple, value: float) -> None:
    """Serve table ``n`` with one cell changed to ``value`` (to show a check can change its verdict)."""
    real = C._table(n)
    p = real.panels[0]
    i, j = p.row_index(row), p.column_index(col)
    values = [list(v) for v in p.values]
    values[i][j] = value
    changed = dataclasses.replace(real, panels=(dataclasses.replace(p, values=tuple(map(tuple, values))),) + real.panels[1:])
    original = C._table
    monkeypatch.setattr(C, "_table", lambda k: changed if k == n else original(k))


def test_internal_checks_react_to_the_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    _patched_table(monkeypatch, 7, ("UMCL", "frames-0.5"), ("raw",), 95.00)
    v = BY_ID["T7-deltas"].check({})
    assert v.verdict == FAILS and "Sampling ratio 50% raw printed 23.91, cells give 26.61" in v.reason
    monkeypatch.undo()
    _patched_table(monkeypatch, 8, ("UMCL", "description"), ("c40", "auc"), 79.72)
    assert BY_ID["T8-vs-T7"].check({}).verdict == HOLDS
    monkeypatch.undo()
    _patched_table(monkeypatch, 5, ("Xception",), ("ff++/raw", "dfdc"), 50.0)
    assert "4 methods are above" in BY_ID["T5-C1"].check({}).reason


def test_table9_parameter_count_matches_the_full_model(monkeypatch: pytest.MonkeyPatch) -> None:
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
    full = U.UMCLDetector(U.UMCLConfig())
    n_full = sum(p.numel() for p in full.parameters())
    assert C.umcl_parameter_count()["total"] == n_full
    assert 7.0e6 < n_full < 8.5e6  # PhysFormer at 96/144/4/12 is 7.38 M (shared/notes/official-code.md)


# ---------------------------------------------------------------------------- measured claims

def _val(k: CellKey, cid: str, good: bool) -> float:
    """Cell values of a results set for which claim ``cid`` should hold (good) or be contradicted (bad)."""
    umcl_full = k.detector == "umcl" and k.variant is None
    if cid == "T3-drop":
        diag = k.train.split("-")[-1] == k.test.split("-")[-1]  # slugs end in the compression
        if diag:
            return 90.0
        return {"umcl": 88.0 if good else 50.0, "xception": 60.0, "lrnet": 70.0}[k.detector]
    if cid in ("T3-ccr-auc", "T4-cross-dataset", "T5-C2", "T6-DF", "T8-unrelated"):
        return (85.0 if good else 40.0) if k.detector == "umcl" else 60.0
    if cid in ("T7-frames-50", "T7-frames-30", "T7-landmarks-0.05"):
        return 90.0 if k.detector == "umcl" else (45.0 if good else 85.0)
    if cid == "T8-opposite-88":
        return 95.0 if good else 70.0
    if cid == "T8-cpml-opposite":
        return 20.0 if good else 80.0
    if cid == "T10-ASA":
        return (90.0 if good else 70.0) if umcl_full else 80.0
    if cid == "T10-fusion":
        return (90.0 if good else 60.0) if k.variant == C.VARIANT_C else 70.0
    if cid == "T11-views":
        return (90.0 if good else 85.0) if umcl_full else 90.2
    raise AssertionError(f"no test values for {cid}")


def _results(claim: C.Claim, good: bool, half: float = 0.1, drop: int | None = None) -> dict[str, Stat]:
    out = {}
    for i, k in enumerate(claim.needs):
        if i == drop:
            continue
        v = _val(k, claim.id, good)
        out[k.key] = Stat(v, v - half, v + half, 1, 70, 70)
    return out


@pytest.mark.parametrize("cid", [c.id for c in MEASURED])
def test_measured_claim_holds(cid: str) -> None:
    v = BY_ID[cid].check(_results(BY_ID[cid], good=True))
    assert (v.verdict, v.support) == (HOLDS, C.SUPPORTED), v.reason
    assert v.numbers and all(q.has_interval for q in v.numbers)
    assert v.paper, "the paper's own numbers are shown beside ours"


@pytest.mark.parametrize("cid", [c.id for c in MEASURED])
def test_measured_claim_fails_when_contradicted(cid: str) -> None:
    v = BY_ID[cid].check(_results(BY_ID[cid], good=False))
    assert (v.verdict, v.support) == (FAILS, C.CONTRADICTED), v.reason


@pytest.mark.parametrize("cid", [c.id for c in MEASURED])
def test_measured_claim_fails_unresolved_when_intervals_are_wide(cid: str) -> None:
    """The point values support the claim, but the intervals do not: never 'holds'."""
    v = BY_ID[cid].check(_results(BY_ID[cid], good=True, half=30.0))
    assert (v.verdict, v.support) == (FAILS, C.UNRESOLVED), v.reason
    assert "straddles" in v.reason


@pytest.mark.parametrize("cid", [c.id for c in MEASURED])
def test_measured_claim_not_testable_without_its_cells(cid: str) -> None:
    claim = BY_ID[cid]
    v = claim.check({})
    assert v.verdict == NOT_TESTABLE and "no cell" in v.reason
    if cid != "T3-drop":  # T3-drop tests whichever train→test pairs are complete
        res = _results(claim, good=True, drop=len(claim.needs) - 1)
        v = claim.check(res)
        assert v.verdict == NOT_TESTABLE and claim.needs[-1].key in v.reason


def test_no_interval_is_not_testable() -> None:
    claim = BY_ID["T8-opposite-88"]
    res = {k.key: Stat(95.0) for k in claim.needs}
    v = claim.check(res)
    assert v.verdict == NOT_TESTABLE and "no interval" in v.reason


def test_t3_drop_numbers_by_hand() -> None:
    """Interval arithmetic: diag [89, 91] − cross [87, 89] = [0, 4]; Xception's drop 30 [28, 32]."""
    v = BY_ID["T3-drop"].check(_results(BY_ID["T3-drop"], good=True, half=1.0))
    q = {x.name: x for x in v.numbers}
    x = q["xception drop − UMCL drop"]
    assert (x.value, x.ci_low, x.ci_high) == pytest.approx((28.0, 24.0, 32.0))
    u = q["umcl mean drop (in-compression − cross-compression AUC)"]
    assert (u.value, u.ci_low, u.ci_high) == pytest.approx((2.0, 0.0, 4.0))
    assert "6 train→test pairs" in v.reason
    paper = {p.name: p.value for p in v.paper}
    # Table 3, pairs complete for all three (Xception has no c40-trained row): raw→c23, raw→c40, c23→raw, c23→c40
    assert paper["paper: UMCL mean drop"] == pytest.approx((2.52 + 18.00 + 0.13 + 16.02) / 4)
    assert paper["paper: Xception mean drop"] == pytest.approx((21.40 + 32.83 + 24.64 + 34.91) / 4)


def test_t3_drop_uses_the_complete_pairs_only() -> None:
    claim = BY_ID["T3-drop"]
    res = {k: s for k, s in _results(claim, good=True).items() if "|ffpp-all-c40|" not in k}
    v = claim.check(res)
    assert v.verdict == HOLDS and "over 2 train→test pairs (raw→c23, c23→raw)" in v.reason


def test_t10_asa_says_whether_the_paper_value_is_inside() -> None:
    v = BY_ID["T10-ASA"].check(_results(BY_ID["T10-ASA"], good=True, half=1.0))  # D − C = 10 [8, 12]
    assert "+2.99 is outside the interval" in v.reason


# ---------------------------------------------------------------------------- scope, input, rendering

def test_synthff_scope_on_every_measured_verdict() -> None:
    res = {}
    for c in MEASURED:
        res.update(_results(c, good=True))
    for synthetic in (True, False):
        verdicts = evaluate_claims(res, synthetic=synthetic)
        for c, v in zip(CLAIMS, verdicts):
            if c.kind == "measured":
                assert ("SynthFF" in v.reason) == synthetic and ("SynthFF" in v.scope) == synthetic
            else:
                assert v.scope == C.PAPER_SCOPE


def test_cell_key_round_trip_and_required_cells() -> None:
    k = CellKey("umcl", C.selection("ff++", "c23", "Deepfakes"), C.selection("ff++", "c23", "NeuralTextures"), "clean", "ablC")
    assert k.key == "umcl+ablC|ffpp-DF-c23|ffpp-NT-c23|clean|auc"
    assert CellKey.parse(k.key) == k
    cells = required_cells()
    assert len(cells) == len({c.key for c in cells})
    assert CellKey("umcl", "ffpp-all-raw", "ffpp-all-c40", "frames-r0.50").key in {c.key for c in cells}
    assert {c.detector for c in cells} == {"umcl", "cpml", "xception", "lrnet"}


def test_clean_cells_are_protocol_cells() -> None:
    """Every clean cell a claim reads is declared by a table protocol (umcl.protocols.tables), with the
    same key the evaluation step derives from it (CellKey.from_decl), and every variant is registered."""
    from umcl.protocols.tables import PROTOCOLS
    from umcl.protocols.variants import VARIANTS

    declared = {CellKey.from_decl(d).key for p in PROTOCOLS.values() for d in p.cells}
    clean = [k.key for k in required_cells() if k.condition == "clean"]
    assert clean and set(clean) <= declared, sorted(set(clean) - declared)[:5]
    assert {C.VARIANT_A, C.VARIANT_B, C.VARIANT_C, C.VARIANT_PAIRS} <= set(VARIANTS)


def test_cell_key_from_eval_key_drops_the_seed() -> None:
    from umcl.protocols.keys import EvalKey, RunKey, Selection

    ev = EvalKey(RunKey("umcl", Selection("ff++", "raw"), 2, "ablB"), Selection("ff++", "c40"), "frames-r0.50")
    assert CellKey.from_eval(ev).key == "umcl+ablB|ffpp-all-raw|ffpp-all-c40|frames-r0.50|auc"


def test_condition_keys_are_canonical() -> None:
    """The claims' test-condition keys are the canonical keys of umcl.evaluation.conditions."""
    conditions = pytest.importorskip("umcl.evaluation.conditions")
    for k in required_cells():
        assert conditions.TestCondition.from_key(k.condition).key == k.condition


def test_bad_results_input() -> None:
    with pytest.raises(UmclError, match="is not detector"):
        as_results({"umcl|ff++/all/raw": {"value": 90.0}})
    with pytest.raises(UmclError, match="must contain"):
        as_results({"umcl|a|b|clean|auc": {"value": 90.0, "ci_low": 91.0, "ci_high": 95.0}})
    with pytest.raises(UmclError, match="both ci_low and ci_high"):
        as_results({"umcl|a|b|clean|auc": {"value": 90.0, "ci_low": 89.0}})
    with pytest.raises(UmclError, match="needs 'value'"):
        as_results({"umcl|a|b|clean|auc": {"auc": 90.0}})
    ok = as_results({CellKey("umcl", "a", "b"): {"value": 90.0, "ci_low": 89.0, "ci_high": 91.0, "n_seeds": 3}})
    assert ok == {"umcl|a|b|clean|auc": Stat(90.0, 89.0, 91.0, 3)}


def test_fractions_are_refused() -> None:
    res = {CellKey("umcl", "a", f"t{i}").key: {"value": 0.8, "ci_low": 0.7, "ci_high": 0.9} for i in range(3)}
    with pytest.raises(UmclError, match="look like fractions"):
        as_results(res)


def test_stat_from_cell_stats() -> None:
    """Percent, and the interval covers both the bootstrap and the seed interval."""
    from umcl.evaluation.aggregate import CellStats, Estimate

    est = Estimate("auc", 0.80, (0.74, 0.85), (0.79, 0.80, 0.81), 0.01, (0.70, 0.90))
    cell = CellStats({"auc": est}, (0, 1, 2), n_real=40, n_fake=40, n_boot=100, level=0.95, bootstrap_seed=0)
    assert Stat.from_cell_stats(cell) == Stat(pytest.approx(80.0), pytest.approx(70.0), pytest.approx(90.0), 3, 40, 40)
    one = CellStats({"auc": Estimate("auc", 0.8, (0.74, 0.85), (0.8,), None, None)}, (0,), 40, 40, 100, 0.95, 0)
    s = Stat.from_cell_stats(one)
    assert (s.ci_low, s.ci_high, s.n_seeds) == (pytest.approx(74.0), pytest.approx(85.0), 1)


def test_render_claims(tmp_path: Path) -> None:
    res = _results(BY_ID["T7-frames-50"], good=True)
    md, js = render_claims(res, tmp_path / "claims", synthetic=True, n_bootstrap=2000)
    assert (md.name, js.name) == ("claims.md", "claims.json")
    data = json.loads(js.read_text())
    assert data["synthetic"] is True and len(data["claims"]) == len(CLAIMS)
    by = {c["id"]: c for c in data["claims"]}
    assert by["T7-frames-50"]["verdict"] == HOLDS and by["T3-drop"]["verdict"] == NOT_TESTABLE
    assert by["T3-deltas"]["verdict"] == FAILS and by["T3-deltas"]["scope"] == C.PAPER_SCOPE
    text = md.read_text()
    assert "**Data: SynthFF.**" in text and "## T7-frames-50: holds" in text
    assert text.count("| T") == len(CLAIMS)
    md2, _ = render_claims(res, tmp_path / "real", synthetic=False, n_bootstrap=2000)
    assert "SynthFF" not in md2.read_text().split("## ")[0]
