"""How a validation pass is scored for checkpoint selection, and the leakage audit's files.

Three scorings (``training.selection``, :data:`umcl.training.config.SelectionName`) differ in what the
model reads and in its mode:

* ``label_free``: eval mode, the detector's label-free test prompt (its default test condition, with
  ``mode-eval`` where that condition scores in training mode). What every run of this suite selects on.
* ``label_prompt``: eval mode, the true label's prompts (the ``leakage_audit`` prompt policy, the same
  condition as the leakage report's part (c)); dropout, batch statistics and landmark zeroing are those
  of evaluation. Only the prompt tells the label.
* ``as_released``: the released UMCL code's validation: the model left in training mode, so it reads a
  prompt drawn from the true label as in training (a valid prompt of its class, or an invalid one with
  ``invalid_prompt_prob``), with dropout, batch statistics and landmark zeroing on.

So ``label_prompt − label_free`` is the label's own share and ``as_released − label_prompt`` the
share of training mode (with training's prompt draw in place of the label's mean prompt).

With ``training.selection_audit`` a run scores every scoring but its own every epoch and keeps the
checkpoint each would select (:func:`audit_files`); :class:`umcl.training.trainer.Trainer` leaves the
model exactly as it found it after each such pass. The test condition's class (torch) is imported inside
:func:`predict_options` only: the workflow reads this module while Snakemake parses.
"""

from __future__ import annotations

from typing import get_args

from umcl.specs.condition_keys import LABEL_PROMPT_CONDITION
from umcl.training.config import SelectionName

#: every scoring, label-free first
SCORINGS: tuple[str, ...] = get_args(SelectionName)


def predict_options(scoring: str, default_condition: str = "clean") -> dict:
    """Keyword arguments of :func:`umcl.scoring.predict` that score the way ``scoring`` says.

    ``default_condition``: the detector's default test condition (:attr:`umcl.detector.Detector.default_condition`).
    Where it scores in training mode (``umcl-released``: ``mode-train``, the release's test script), the two
    eval-mode scorings pin ``mode-eval``, so that all three scorings differ only in what the module docstring says
    and ``label_prompt − label_free`` is the label's share alone."""
    from dataclasses import replace

    from umcl.conditions import (
        TestCondition,  # torch: the workflow reads this module, never this function
    )

    if scoring not in SCORINGS:
        raise ValueError(f"unknown scoring {scoring!r}; use one of {SCORINGS}")
    base = TestCondition.from_key(default_condition)
    mode = "eval" if base.module_mode == "train" else base.module_mode
    if scoring == "label_prompt":
        label = TestCondition.from_key(LABEL_PROMPT_CONDITION)
        condition = replace(base, prompt_policy=label.prompt_policy, module_mode=mode)
    elif scoring == "label_free" and base.module_mode == "train":
        condition = replace(base, module_mode=mode)
    else:
        condition = None
    return {"train_mode": scoring == "as_released", "condition": condition}


def audit_scorings(selection: str) -> tuple[str, ...]:
    """The scorings the leakage audit adds to a run that selects with ``selection``."""
    return tuple(s for s in SCORINGS if s != selection)


def audit_files(scoring: str) -> tuple[str, str]:
    """``(selection record, checkpoint)`` of the audit selection by ``scoring``, relative to the run folder."""
    return f"selection_{scoring}.json", f"checkpoints/best_{scoring}.pt"
