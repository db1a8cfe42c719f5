"""The switches of ``umcl-released`` and UMCL's ablation models, declared once without torch.

Each departure of the authors' released code from the paper is one field of
:class:`umcl.models.umcl.UMCLConfig`: its default is the paper's value, and the detector
``umcl-released`` sets every switch to the release's value (:mod:`umcl.released` implements them).
reports/paper_vs_released flips one switch back at a time (its variants: umcl.protocols.variants).
"""

from __future__ import annotations

from typing import Any, Literal

RELEASED_DETECTOR = "umcl-released"

#: switch (a UMCLConfig field) -> (the paper's value, the release's value)
SWITCHES: dict[str, tuple[Any, Any]] = {
    "affinity_form": ("paper", "released"),
    "text_affinity_scale": (1.0, 0.3),
    "alpha": (0.25, 0.1),
    "beta": (0.25, 0.5),
    "ce_views": ("all", "hq"),
    "contrastive_views": ("downsample", "released_pool"),
    "cqsl_form": ("paper", "released"),
    "hr_term": ("paper", "released"),
    "landmark_zero_prob": (0.0, 0.2),
    "lrnet_feature_noise": (0.0, 0.1),
    "affinity_class_mean": (False, True),
    "ce_per_class": (False, True),
    "relu_features": (False, True),
    "train_text_encoder": (False, True),
    "appearance_pathway": (False, True),
    "lrnet_feature_dropout": (False, True),
    "class_pure_batches": (False, True),
    "frames_unit_range": (False, True),
    "prompt_per_view": (False, True),
}
#: the switches as a config vocabulary (``workflow.released_ablation``)
ReleasedSwitch = Literal[tuple(SWITCHES)]  # type: ignore[valid-type]
#: every switch at the paper's value (UMCLConfig's defaults)
PAPER_VALUES: dict[str, Any] = {name: paper for name, (paper, _) in SWITCHES.items()}
#: every switch at the release's value (``umcl-released``'s config defaults)
RELEASED_CONFIG: dict[str, Any] = {name: released for name, (_, released) in SWITCHES.items()}

#: UMCL's ablation models (paper Table 10 A-C, D = full UMCL): the modality and alignment switches
ABLATIONS: dict[str, dict[str, bool]] = {
    "A": dict(use_rppg=False, use_landmarks=True, use_text=False, use_asa=False, use_cqsl=False),
    "B": dict(use_rppg=True, use_landmarks=False, use_text=False, use_asa=False, use_cqsl=True),
    "C": dict(use_rppg=True, use_landmarks=True, use_text=True, use_asa=False, use_cqsl=True),
    "D": dict(use_rppg=True, use_landmarks=True, use_text=True, use_asa=True, use_cqsl=True),
}
