"""Training variants: named config overlays on top of a detector's profile settings.

A variant changes *how a model is trained* (Table 10's modalities/alignment switches, Table 11's
real c23&c40 contrastive views), so it is part of the run key and of the training fingerprint.
Test-time options (prompt policy, attacks, degradations, inference views) are never variants:
they are evaluation conditions (umcl.conditions). The overlay is applied as
``--set`` assignments of ``umcl validate-config`` when the pipeline writes the run's job config.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from umcl.errors import UmclError
from umcl.specs.released import ABLATIONS, PAPER_VALUES, RELEASED_DETECTOR, SWITCHES


@dataclass(frozen=True)
class Variant:
    """A named overlay: a mapping (or a function returning one) from a dotted config key to its value."""

    name: str
    detector: str
    description: str
    overlay: dict = field(default_factory=dict)

    def settings(self) -> dict:
        """The overlay as a mapping (a copy)."""
        return dict(self.overlay)

    def set_args(self) -> list[str]:
        """``section.key=value`` assignments (values as JSON, which YAML reads back)."""
        return [f"{k}={json.dumps(v)}" for k, v in sorted(self.settings().items())]


def _ablation(model: str) -> dict:
    return {f"detectors.umcl.{k}": v for k, v in ABLATIONS[model].items()}


VARIANTS: dict[str, Variant] = {}


def register_variant(variant: Variant) -> Variant:
    """Add a variant to the registry (names are unique)."""
    if variant.name in VARIANTS:
        raise UmclError(f"variant {variant.name!r} registered twice")
    VARIANTS[variant.name] = variant
    return variant


def get_variant(name: str) -> Variant:
    if name not in VARIANTS:
        raise UmclError(f"unknown training variant {name!r}", fix=f"use one of {sorted(VARIANTS)}")
    return VARIANTS[name]


for _m, _what in (
    ("A", "L-encoder only"),
    ("B", "P-encoder only, with CQSL"),
    ("C", "L-, P- and T-encoder concatenated, with CQSL, no ASA"),
):
    register_variant(Variant(f"abl{_m}", "umcl", f"Table 10 model {_m}: {_what}", _ablation(_m)))
# Figure 8's ablations beyond Table 10 (umcl.protocols.figures): full UMCL without CQSL, and without both
register_variant(
    Variant("woCQSL", "umcl", "Figure 8: UMCL without CQSL (ASA kept)", {"detectors.umcl.use_cqsl": False})
)
register_variant(
    Variant(
        "woASACQSL",
        "umcl",
        "Figure 8: UMCL without ASA and CQSL (plain concatenation)",
        {"detectors.umcl.use_asa": False, "detectors.umcl.use_cqsl": False},
    )
)
register_variant(
    Variant(
        "pairs",
        "umcl",
        "Table 11 baseline: contrastive views from the real c23 and c40 copies of each training video",
        {"detectors.umcl.contrastive_views": "compression_pairs", "training.lq_compression": "c40"},
    )
)


# ``umcl-released`` with one switch back at the paper's value (reports/paper_vs_released's ablation;
# switches: umcl.specs.released.SWITCHES), and CPML's published label-fed classifier (reports/leakage)
def released_switch_variant(switch: str) -> str:
    """The variant name of ``umcl-released`` with ``switch`` at the paper's value (``lrnet_feature_noise`` ->
    ``paperLrnetFeatureNoise``)."""
    return "paper" + "".join(part.title() for part in switch.split("_"))


def _paper_value(switch: str) -> dict:
    return {f"detectors.{RELEASED_DETECTOR}.{switch}": PAPER_VALUES[switch]}


for _s in SWITCHES:
    register_variant(
        Variant(
            released_switch_variant(_s),
            RELEASED_DETECTOR,
            f"umcl-released with {_s} at the paper's value (one switch flipped back)",
            _paper_value(_s),
        )
    )
register_variant(
    Variant(
        "labelFed",
        "cpml",
        "CPML's published classifier: fed the true label's prompt in training (leakage variant, reports/leakage)",
        {"detectors.cpml.label_fed_classifier": True},
    )
)
