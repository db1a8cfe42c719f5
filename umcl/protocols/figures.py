"""Which trained runs and test videos the paper's Figures 6, 8 and 9 are drawn from, per profile.

* Figure 6: UMCL trained on FF++ raw (Table 3's run, trained once; a profile that trains no raw model
  uses its first training compression, and the caption says so), tested on every test compression.
* Figure 8: UMCL and its ablations trained on FF++ Deepfakes at c23 (Table 10's training selection:
  the full model D is Table 10's D / Table 6's DF-trained UMCL, "w/o ASA" is Table 10's model C), tested
  on the same selection's test split at c23. "w/o CQSL" and "w/o both" are training variants of their
  own (umcl.protocols.variants ``woCQSL``, ``woASACQSL``): the paper trains them for its figure only.
* Figure 9: the affinity log of Figure 6's run.

No figure adds an evaluation cell; only Figure 8's two extra variants add training runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from umcl.protocols.keys import RunKey, Selection, with_initialisers
from umcl.protocols.tables import TABLE10_TRAIN

#: Figure 8's columns: title -> training variant of UMCL (None = the full model)
FIGURE8_MODELS: dict[str, str | None] = {
    "UMCL (full, D)": None,
    "w/o ASA (C)": "ablC",
    "w/o CQSL": "woCQSL",
    "w/o ASA & CQSL": "woASACQSL",
}
FIGURE8_TRAIN = TABLE10_TRAIN


@dataclass(frozen=True)
class FigureSpec:
    """One figure on one profile: its runs (title -> RunKey) and what they are tested on."""

    name: str
    runs: dict[str, RunKey]
    test_compressions: tuple[str, ...] = ()
    methods: tuple[str, ...] | None = None

    @property
    def needs_features(self) -> bool:
        return self.name != "figure9"


def figure6_train(wf) -> str:
    """Figure 6's training compression: raw, or the profile's first training compression without raw."""
    return "raw" if "raw" in wf.train_compressions else wf.train_compressions[0]


def figure_specs(wf) -> dict[str, FigureSpec]:
    """The figures this profile can draw (each needs ``umcl`` in ``workflow.detectors``)."""
    if "umcl" not in wf.detectors:
        return {}
    seed = wf.seeds[0]
    f6 = RunKey("umcl", Selection("ff++", figure6_train(wf)), seed)
    f8 = {title: RunKey("umcl", FIGURE8_TRAIN, seed, variant) for title, variant in FIGURE8_MODELS.items()}
    return {
        "figure6": FigureSpec("figure6", {"UMCL": f6}, tuple(wf.test_compressions)),
        "figure8": FigureSpec("figure8", f8, (FIGURE8_TRAIN.compression,), FIGURE8_TRAIN.methods),
        "figure9": FigureSpec("figure9", {"UMCL": f6}),
    }


def figure_runs(wf, figures: list[str] | None = None) -> list[RunKey]:
    """Every run the ``figures`` (None: all) read, with the LRNet runs that initialise their L-encoders."""
    runs = {
        r: None
        for name, spec in figure_specs(wf).items()
        if figures is None or name in figures
        for r in spec.runs.values()
    }
    return with_initialisers(runs)
