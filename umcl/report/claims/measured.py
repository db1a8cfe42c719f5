"""The paper's claims re-tested on results, as data: each quotes the sentence that makes it and reads
protocol cells (:class:`Ref`) against a bound read from that sentence (umcl.report.claims.engine).

Bounds follow the sentence, not a tighter reading: a printed number stands for every value it could
be rounded or truncated from (:func:`~umcl.report.claims.engine.printed`), a threshold in words
("exceeding 30%") is tested as stated, and a claim without a number ("outperforms") is tested for
its direction (> 0).
"""

from __future__ import annotations

from umcl.protocols.claims import CLAIMS_RUNS, WITHOUT_CQSL
from umcl.report.claims.engine import Bound, Check, Measured, Ref, at_least, between, mean, minus, printed, threshold
from umcl.specs.vocab import COMPRESSIONS, FF_METHODS, method_abbrev

TESTS = tuple(method_abbrev(m) for m in FF_METHODS)
NAMES = {"umcl": "UMCL", "xception": "Xception", "lrnet": "LRNet", "cpml": "CPML"}
DIRECTION = threshold(low=0.0, what="outperforms")


def _t3(train: str, name: str, test: str) -> Ref:
    return Ref("table3", (train, name), (test,))


def _without_cqsl(train: str, test: str) -> Ref:
    return Ref(CLAIMS_RUNS, (train, WITHOUT_CQSL), (test,))


def _t3_drop() -> tuple[Check, ...]:
    checks = []
    for tr in COMPRESSIONS:
        cross = [te for te in COMPRESSIONS if te != tr]
        drop_w = minus([_without_cqsl(tr, tr)], [_without_cqsl(tr, te) for te in cross])
        drop_u = minus([_t3(tr, "UMCL", tr)], [_t3(tr, "UMCL", te) for te in cross])
        checks.append(
            Check(
                f"trained on {tr}: drop without CQSL − drop of UMCL",
                drop_w + tuple((-c, r) for c, r in drop_u),
                threshold(low=0.0, what="largely attributed to the CQSL strategy"),
            )
        )
    return tuple(checks)


def _t3_ccr() -> tuple[Check, ...]:
    cross = [(tr, te) for tr in COMPRESSIONS for te in COMPRESSIONS if tr != te]
    return tuple(
        Check(
            f"UMCL − {b}, mean cross-compression AUC",
            minus([_t3(tr, "UMCL", te) for tr, te in cross], [_t3(tr, b, te) for tr, te in cross]),
            threshold(low=0.0, what="superior performance across various compression rates"),
        )
        for b in ("Xception", "LRNet", "CPML")
    )


def _t4(method: str, test: str) -> Ref:
    return Ref("table4", (method,), ("c23", test), panel="c23")


def _t4_checks() -> tuple[Check, ...]:
    bounds = {
        "ff++": threshold(low=0.0, what="the highest performance on both the in-domain dataset"),
        "celebdf": at_least(1.02, 2, "outperforming the second-best methods by 1.02%"),
        "dfd": at_least(1.28, 2, "and 1.28%"),
    }
    return tuple(
        Check(f"UMCL − {b} on {test}", minus([_t4("UMCL", test)], [_t4(b, test)]), bound)
        for test, bound in bounds.items()
        for b in ("Xception", "CPML")
    )


def _t6(method: str) -> list[Ref]:
    return [Ref("table6", (method,), ("DF", t), panel="top") for t in TESTS]


def _t6_checks() -> tuple[Check, ...]:
    margin = at_least(3.91, 2, "achieving a 3.91% improvement")
    margin = Bound(
        margin.low,
        None,
        margin.reading + " over every method but CPML (Table 6 puts CPML 1.30 "
        "behind; the 3.91 is the margin over the best other row: claim T6-DF-margin)",
    )
    return tuple(
        Check(
            f"UMCL − {b}, DF-trained, mean AUC over the four test subsets",
            minus(_t6("UMCL"), _t6(b)),
            DIRECTION if b == "CPML" else margin,
        )
        for b in ("Xception", "LRNet", "CPML")
    )


def _t7(method: str, degradation: str, test: str) -> Ref:
    return Ref("table7", (method, degradation), (test,))


def _t7_gain(degradation: str, bounds: dict[str, Bound]) -> tuple[Check, ...]:
    return tuple(
        Check(f"UMCL − CPML on {c}", minus([_t7("UMCL", degradation, c)], [_t7("CPML", degradation, c)]), bounds[c])
        for c in COMPRESSIONS
    )


def _t8(method: str, prompt: str, test: str) -> Ref:
    return Ref("table8", (method, prompt), (test,))


def _t8_level(method: str, prompt: str, bound: Bound) -> tuple[Check, ...]:
    return tuple(Check(f"{method} AUC on {c}", mean([_t8(method, prompt, c)]), bound) for c in COMPRESSIONS)


def _ablation(table: str, a: str, b: str) -> tuple:
    return minus([Ref(table, (a,), (t,)) for t in TESTS], [Ref(table, (b,), (t,)) for t in TESTS])


_T7_50 = (
    "Under severe rPPG degradation (50% sampling), UMCL maintains remarkably high performance with AUC scores "
    "of 92.30% (raw), 92.81% (c23), and 80.04% (c40), representing substantial improvements of 23.91%, 26.53%, "
    "and 23.71% over CPML, respectively."
)
_T8_OPPOSITE = (
    "While CPML suffers catastrophic failures under opposite prompts (dropping to 10% AUC), UMCL maintains "
    "robust performance above 88% across all compression rates, demonstrating improvements exceeding 80%."
)

MEASURED: tuple[Measured, ...] = (
    Measured(
        "T3-drop",
        "§5.1, Table 3",
        "The significant performance improvement of UMCL in cross-compression evaluations is largely attributed "
        "to the CQSL strategy, which explicitly enforces rPPG feature consistency across different compression "
        "levels.",
        "per training compression, UMCL's drop from its in-compression AUC to its mean cross-compression AUC is "
        "smaller than that of UMCL trained without CQSL (umcl.protocols.claims); 'largely' gives no number, so "
        "the direction is tested",
        _t3_drop(),
        partial=True,
    ),
    Measured(
        "T3-ccr-auc",
        "Abstract; §5.1, Table 3",
        "Extensive experiments demonstrate that our method achieves superior performance across various "
        "compression rates and manipulation types, establishing a new benchmark for robust deepfake detection.",
        "UMCL's mean cross-compression AUC (Table 3's six off-diagonal cells) above Xception's, LRNet's and CPML's",
        _t3_ccr(),
    ),
    Measured(
        "T4-cross-dataset",
        "§5.2, Table 4",
        "The quantitative results, presented in Table 4-(left)¹, show that our method achieves the highest "
        "performance on both the in-domain dataset (FF++ [43]) and the cross-dataset (Celeb-DF [19], DFD [20]), "
        "outperforming the second-best methods by 1.02% and 1.28%, respectively.",
        "trained on FF++ c23: UMCL above Xception and CPML on FF++ (in-domain), and by at least 1.02 on Celeb-DF "
        "and 1.28 on DFD (a margin over the second best is a margin over every other)",
        _t4_checks(),
    ),
    Measured(
        "T5-C2",
        "§5.2, Table 5",
        "More importantly, in the reverse scenario—transferring from the complex DFDC environment to FF++—our "
        "approach achieves the best performance, surpassing the next-best model by a substantial margin.",
        "trained on DFDC, tested on FF++ raw: UMCL above Xception, LRNet and CPML",
        tuple(
            Check(
                f"UMCL − {b} on C2 (DFDC → FF++ raw)",
                minus([Ref("table5", ("UMCL",), ("dfdc", "ff++/raw"))], [Ref("table5", (b,), ("dfdc", "ff++/raw"))]),
                DIRECTION,
            )
            for b in ("Xception", "LRNet", "CPML")
        ),
    ),
    Measured(
        "T6-DF",
        "§5.3, Table 6",
        "Notably, when trained on the DF manipulation, our model significantly outperforms others, achieving a "
        "3.91% improvement.",
        "trained on DF c23, mean AUC over DF, F2F, FS, NT: UMCL at least 3.91 above Xception and LRNet, and above CPML",
        _t6_checks(),
    ),
    Measured(
        "T7-frames-50",
        "§5.4, Table 7",
        _T7_50,
        "trained on raw, 50 % of frames kept: UMCL − CPML at least 23.91 (raw), 26.53 (c23), 23.71 (c40)",
        _t7_gain(
            "frames-0.5",
            {
                c: at_least(v, 2, f"improvements of {v:.2f}%")
                for c, v in zip(COMPRESSIONS, (23.91, 26.53, 23.71), strict=True)
            },
        ),
    ),
    Measured(
        "T7-frames-30",
        "§5.4, Table 7",
        "This performance gap becomes even more pronounced under extreme sampling conditions (30%), where UMCL "
        "achieves improvements exceeding 30% across all compression levels.",
        "trained on raw, 30 % of frames kept: UMCL − CPML > 30 on raw, c23 and c40",
        _t7_gain("frames-0.3", {c: threshold(low=30.0, what="exceeding 30%") for c in COMPRESSIONS}),
    ),
    Measured(
        "T7-landmarks-0.05",
        "§5.4, Table 7",
        "Similarly, under landmark perturbations with σ = 0.05, UMCL consistently outperforms CPML by 33–44% "
        "across different compression levels.",
        "trained on raw, landmarks + N(0, 0.05): UMCL − CPML within 33–44 (as printed) on raw, c23 and c40",
        _t7_gain("landmarks-0.05", {c: between(33, 44, 0, "by 33–44%") for c in COMPRESSIONS}),
    ),
    Measured(
        "T8-opposite-88",
        "§5.4, Table 8",
        _T8_OPPOSITE,
        "trained on raw, opposite prompts (the paper's row: label-chosen): UMCL AUC > 88 on raw, c23 and c40",
        _t8_level("UMCL", "opposite", threshold(low=88.0, what="above 88%")),
    ),
    Measured(
        "T8-opposite-gain",
        "§5.4, Table 8",
        _T8_OPPOSITE,
        "trained on raw, opposite prompts (label-chosen): UMCL − CPML > 80 on raw, c23 and c40",
        tuple(
            Check(
                f"UMCL − CPML on {c}",
                minus([_t8("UMCL", "opposite", c)], [_t8("CPML", "opposite", c)]),
                threshold(low=80.0, what="improvements exceeding 80%"),
            )
            for c in COMPRESSIONS
        ),
    ),
    Measured(
        "T8-cpml-opposite",
        "§5.4, Table 8",
        _T8_OPPOSITE,
        "trained on raw, opposite prompts (label-chosen): CPML AUC at most 10 (as printed) on raw, c23 and c40",
        _t8_level(
            "CPML",
            "opposite",
            Bound(high=printed(10, 0)[1], reading="“dropping to 10% AUC”: 10 as printed stands for < 11"),
        ),
    ),
    Measured(
        "T8-unrelated",
        "§5.4, Table 8",
        "Even under unrelated prompts, UMCL achieves 87–93% AUC compared to CPML’s 42–48%, showing consistent "
        "robustness regardless of prompt semantic quality.",
        "trained on raw, unrelated prompts (label-chosen): UMCL within 87–93 and CPML within 42–48 (as printed) "
        "on raw, c23 and c40",
        _t8_level("UMCL", "unrelated", between(87, 93, 0, "87–93%"))
        + _t8_level("CPML", "unrelated", between(42, 48, 0, "42–48%")),
    ),
    Measured(
        "T10-ASA",
        "§5.6, Table 10",
        "Compared to Model C, UMCL enhances both detection accuracy and generalization, yielding an average AUC "
        "improvement of 2.99%.",
        "trained on DF c23: model D's (full UMCL) mean AUC over the four subsets at least 2.99 above model C's",
        (
            Check(
                "D − C, mean AUC over the four test subsets",
                _ablation("table10", "D", "C"),
                at_least(2.99, 2, "an average AUC improvement of 2.99%"),
            ),
        ),
    ),
    Measured(
        "T10-fusion",
        "§5.6, Table 10",
        "The average AUC increases by 4.44% and 21.26% compared to Model A and Model B, respectively.",
        "trained on DF c23: model C's mean AUC over the four subsets at least 4.44 above model A's and 21.26 "
        "above model B's",
        (
            Check(
                "C − A, mean AUC over the four test subsets",
                _ablation("table10", "C", "A"),
                at_least(4.44, 2, "increases by 4.44%"),
            ),
            Check(
                "C − B, mean AUC over the four test subsets",
                _ablation("table10", "C", "B"),
                at_least(21.26, 2, "and 21.26%"),
            ),
        ),
    ),
    Measured(
        "T11-views",
        "§5.6, Table 11",
        "Table 11 shows that UMCL performs comparably to the baseline, with only a marginal 0.85% decrease in "
        "average AUC.",
        "trained on FF++ c23: synthetic views (UMCL) cost at most 0.85 mean AUC against real c23/c40 pairs",
        (
            Check(
                "Views − c23 & c40, mean AUC over the four test subsets",
                _ablation("table11", "Views", "c23 & c40"),
                Bound(
                    low=-printed(0.85, 2)[1],
                    reading="“only a marginal 0.85% decrease”: 0.85 as printed stands for a decrease < 0.86",
                ),
            ),
        ),
    ),
)
