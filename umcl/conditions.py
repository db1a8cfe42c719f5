"""Test-time conditions (paper §5.4, Tables 7–8): degradations, prompt policy and prompt attacks.

A :class:`TestCondition` is an *evaluation* setting. It never enters a detector's config, so changing
it never changes a training run's fingerprint and never retrains a model. It reaches the detector in
the batch: :func:`apply_condition` degrades the collated batch (before the forward pass) and stores
the condition under ``batch["condition"]``; UMCL and CPML read their test-time text from it
(:func:`condition_text`). A batch without ``"condition"`` is evaluated under :data:`CLEAN`.

Canonical keys (path-safe, one per condition, :meth:`TestCondition.from_key` inverts them), parts
joined by ``_``: ``clean``; ``frames-r0.50`` (frame sampling, ratio 0.5); ``landmarks-s0.05``
(landmark noise, σ = 0.05); ``policy-neutral`` (a label-free inference prompt other than the default
``mean``); ``prompt-opposite-labelfree`` / ``prompt-simple-labelchosen`` (Table 8 attacks); ``views-hq``
(UMCL scores its HQ view alone instead of averaging the HQ and LQ views' probabilities);
``policy-released-fixed`` (the authors' released code's fixed prompt "Is real or fake?",
:mod:`umcl.released`); ``mode-train`` / ``mode-eval`` (UMCL scores with its encoders in training or
eval mode, :data:`MODULE_MODES`; without the part the detector's default, eval mode unless it declares
otherwise); ``seed3`` (a non-zero condition seed), e.g.
``frames-r0.30_prompt-unrelated-labelfree_seed1``.

A detector may declare a *default* condition (:attr:`umcl.detector.Detector.default_condition`, a
key): a batch without ``"condition"`` is evaluated under it, and a batch's condition takes from it
every setting the condition leaves at its default (:func:`with_defaults`), e.g. ``umcl-released``
declares ``policy-released-fixed`` (the release tests with its fixed prompt), so its ``clean`` and
``frames-r0.50`` read the fixed prompt, while an explicit policy or a prompt attack replaces it.
It is a class attribute, not a config field, so it never enters a run fingerprint either
(:func:`detector_default_condition`).

Every random draw is seeded by ``(condition seed, degradation, video key)`` alone, so a video's
degraded input does not depend on the batch it is in, the device or the order of evaluation.
Frame sampling draws one permutation per video and keeps its first r·T entries, and landmark noise
draws one standard-normal array per video scaled by σ, so the paper's levels are nested (the 30 %
frames are a subset of the 50 % ones; σ = 0.05 is 5× the σ = 0.01 noise).

Choices the paper leaves open (docs/deviations/core.md, "Test-time conditions"):

* Frame sampling ("sampling ratio r", rPPG degradation): keep ``max(1, round(r·T))`` frames drawn
  at random, in order, and hold each kept frame in place of the dropped ones that follow it (frames
  before the first kept one take the first kept one), so every encoder still reads T frames. The
  same kept frames apply to every frame-aligned key (``frames``, ``frames_lq``, ``landmarks``,
  ``landmarks_lq``). ``xception_faces`` are F frames spread over the whole video, not aligned with
  the clip: they get their own kept set at the same ratio.
* Landmark perturbation: i.i.d. N(0, σ²) added to every normalised coordinate of every frame
  (``landmarks`` and, when present, ``landmarks_lq``).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from umcl import prompts
from umcl.errors import ConfigError, UmclError
from umcl.registry import get_entry
from umcl.seeding import numpy_rng
from umcl.specs.condition_keys import (
    ATTACK_MODE_KEYS,
    ATTACK_PART,
    DEGRADATION_KEYS,
    MODE_PART,
    POLICY_PART,
    SEED_PART,
    VIEWS_PART,
    attack_part,
    degradation_part,
    join_parts,
    key_parts,
    with_attack_mode,
)

#: batch keys that share the clip's time axis (dim 2 for frames [B, 3, T, S, S], dim 1 for landmarks)
FRAME_ALIGNED = {"frames": 2, "frames_lq": 2, "landmarks": 1, "landmarks_lq": 1}
#: batch keys with landmark coordinates
LANDMARK_KEYS = ("landmarks", "landmarks_lq")
#: views UMCL scores at test time: HQ and LQ probabilities averaged (the default), or the HQ view alone
INFERENCE_VIEWS = ("both", "hq")
DEFAULT_INFERENCE_VIEWS = "both"
#: how UMCL's submodules run at test time: ``auto`` (the detector's default: eval mode), ``eval``, or ``train``
#: (dropout, landmark dropout and per-video BatchNorm statistics active, as the released test script
#: ``test_alignment_all.py`` scores; umcl.models.umcl). Detectors without it ignore the setting.
MODULE_MODES = ("auto", "eval", "train")
DEFAULT_MODULE_MODE = "auto"
#: the released code's fixed, label-free test prompt as a prompt policy (umcl.released.RELEASED_TEST_PROMPT)
FIXED_PROMPT_POLICY = "released_fixed"
#: every test-time prompt policy: the prompt bank's (umcl.prompts.INFERENCE_POLICIES) and the fixed one
PROMPT_POLICIES = prompts.INFERENCE_POLICIES + (FIXED_PROMPT_POLICY,)


# ---------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Degradation:
    """A registered test-time degradation: name, key spelling, parameter range and its transform."""

    name: str
    prefix: str  #: key prefix, e.g. ``frames``
    symbol: str  #: parameter letter in the key, e.g. ``r``
    paper_levels: tuple[float, ...]  #: the levels the paper evaluates (Table 7)
    check: Callable[[float], str | None]  #: None when the level is valid, else why not
    apply: Callable[[dict, float, int], dict]  #: (batch, level, seed) -> new batch


DEGRADATIONS: dict[str, Degradation] = {}


def register_degradation(
    name: str, paper_levels: tuple[float, ...], check: Callable[[float], str | None]
) -> Callable[[Callable[[dict, float, int], dict]], Callable[[dict, float, int], dict]]:
    """Decorator: register ``fn(batch, level, seed) -> batch`` as the degradation ``name``, whose key
    spelling is :data:`umcl.specs.condition_keys.DEGRADATION_KEYS` ``[name]`` (torch-free)."""
    if name not in DEGRADATION_KEYS:
        raise ValueError(f"degradation {name!r} has no key spelling: add it to condition_keys.DEGRADATION_KEYS")
    prefix, symbol = DEGRADATION_KEYS[name]
    if not re.fullmatch(r"[a-z]+", prefix) or not re.fullmatch(r"[a-z]", symbol):
        raise ValueError(f"degradation key prefix {prefix!r} must be lowercase letters, symbol one letter")

    def wrap(fn: Callable[[dict, float, int], dict]) -> Callable[[dict, float, int], dict]:
        if name in DEGRADATIONS or prefix in {d.prefix for d in DEGRADATIONS.values()}:
            raise ValueError(f"degradation {name!r} (key prefix {prefix!r}) registered twice")
        DEGRADATIONS[name] = Degradation(name, prefix, symbol, tuple(paper_levels), check, fn)
        return fn

    return wrap


def get_degradation(name: str) -> Degradation:
    """The registered degradation ``name`` (one-line error naming the choices otherwise)."""
    if name not in DEGRADATIONS:
        raise ConfigError(f"unknown degradation {name!r}", fix=f"use one of {sorted(DEGRADATIONS)}")
    return DEGRADATIONS[name]


# ---------------------------------------------------------------------------- the condition


def _fmt(level: float) -> str:
    """Two decimals when exact (``0.50``), else the shortest round-tripping repr."""
    short = f"{level:.2f}"
    return short if float(short) == level else repr(float(level))


@dataclass(frozen=True)
class TestCondition:
    """One test-time condition; :attr:`key` is its canonical, path-safe name.

    ``degradation`` / ``level``: a registered degradation and its parameter (both or neither).
    ``prompt_policy``: the label-free inference prompt (:data:`PROMPT_POLICIES`: the prompt bank's
    policies, ``leakage_audit`` only on purpose, or the release's fixed prompt ``released_fixed``).
    ``inference_views``: the views UMCL scores (:data:`INFERENCE_VIEWS`; detectors without HQ/LQ views
    ignore it). ``module_mode``: :data:`MODULE_MODES` (``auto`` = the detector's default; others ignore
    it). ``prompt_attack`` / ``attack_mode``: a Table 8 attack and how
    its text is chosen (:data:`umcl.prompts.ATTACK_MODES`, both or neither; an attack replaces the
    policy, which then stays at the default). ``seed``: seeds every random draw of the condition.
    """

    __test__ = False  # not a pytest test class

    degradation: str | None = None
    level: float | None = None
    prompt_policy: str = prompts.DEFAULT_INFERENCE_POLICY
    prompt_attack: str | None = None
    attack_mode: str | None = None
    seed: int = 0
    inference_views: str = DEFAULT_INFERENCE_VIEWS
    module_mode: str = DEFAULT_MODULE_MODE

    def __post_init__(self) -> None:
        if (self.degradation is None) != (self.level is None):
            raise ConfigError(
                f"test condition: degradation {self.degradation!r} and level {self.level!r} go together",
                fix="give both (e.g. frame_sampling, 0.5) or neither",
            )
        if self.degradation is not None:
            deg = get_degradation(self.degradation)
            level = float(self.level)
            why = deg.check(level) if math.isfinite(level) else "it must be finite"
            if why:
                raise ConfigError(f"test condition: {self.degradation} level {self.level!r}: {why}")
            object.__setattr__(self, "level", level)
        if self.prompt_policy not in PROMPT_POLICIES:
            raise ConfigError(
                f"test condition: unknown prompt policy {self.prompt_policy!r}",
                fix=f"use one of {list(PROMPT_POLICIES)}",
            )
        if self.inference_views not in INFERENCE_VIEWS:
            raise ConfigError(
                f"test condition: unknown inference views {self.inference_views!r}",
                fix=f"use one of {list(INFERENCE_VIEWS)}",
            )
        if self.module_mode not in MODULE_MODES:
            raise ConfigError(
                f"test condition: unknown module mode {self.module_mode!r}", fix=f"use one of {list(MODULE_MODES)}"
            )
        if (self.prompt_attack is None) != (self.attack_mode is None):
            raise ConfigError(
                f"test condition: prompt attack {self.prompt_attack!r} needs an attack mode "
                f"and vice versa (got {self.attack_mode!r})",
                fix=f"name both, e.g. opposite + one of {list(prompts.ATTACK_MODES)}",
            )
        if self.prompt_attack is not None:
            if self.prompt_attack not in prompts.ADVERSARIAL_TYPES:
                raise ConfigError(
                    f"test condition: unknown prompt attack {self.prompt_attack!r}",
                    fix=f"use one of {list(prompts.ADVERSARIAL_TYPES)}",
                )
            if self.attack_mode not in prompts.ATTACK_MODES:
                raise ConfigError(
                    f"test condition: unknown attack mode {self.attack_mode!r}",
                    fix=f"use one of {list(prompts.ATTACK_MODES)}",
                )
            if self.prompt_policy != prompts.DEFAULT_INFERENCE_POLICY:
                raise ConfigError(
                    "test condition: a prompt attack replaces the prompt policy",
                    fix=f"leave prompt_policy at {prompts.DEFAULT_INFERENCE_POLICY!r}",
                )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"test condition: seed must be an integer >= 0, got {self.seed!r}")

    @property
    def is_clean(self) -> bool:
        """True without degradation or attack, under the default prompt policy and views (any seed)."""
        return (
            self.degradation is None
            and self.prompt_attack is None
            and self.prompt_policy == prompts.DEFAULT_INFERENCE_POLICY
            and self.inference_views == DEFAULT_INFERENCE_VIEWS
            and self.module_mode == DEFAULT_MODULE_MODE
        )

    @property
    def key(self) -> str:
        """Canonical, path-safe name (module docstring); ``clean`` for the default."""
        parts = []
        if self.degradation is not None:
            parts.append(degradation_part(self.degradation, _fmt(self.level)))
        if self.prompt_policy != prompts.DEFAULT_INFERENCE_POLICY:
            parts.append(POLICY_PART + self.prompt_policy.replace("_", "-"))
        if self.prompt_attack is not None:
            parts.append(attack_part(self.prompt_attack, self.attack_mode))
        if self.inference_views != DEFAULT_INFERENCE_VIEWS:
            parts.append(VIEWS_PART + self.inference_views)
        if self.module_mode != DEFAULT_MODULE_MODE:
            parts.append(MODE_PART + self.module_mode)
        if self.seed:
            parts.append(f"{SEED_PART}{self.seed}")
        return join_parts(parts)

    @classmethod
    def from_key(cls, key: str) -> TestCondition:
        """The condition named ``key`` (inverse of :attr:`key`); one-line error for a bad key."""
        fields: dict = {}
        parts = key_parts(key)
        modes = {spelled: mode for mode, spelled in ATTACK_MODE_KEYS.items()}
        by_prefix = {d.prefix: d for d in DEGRADATIONS.values()}
        for part in parts:
            m_deg = re.fullmatch(r"([a-z]+)-([a-z])(.+)", part)
            m_att = re.fullmatch(re.escape(ATTACK_PART) + r"([a-z]+)-([a-z]+)", part)
            if part.startswith(POLICY_PART):
                fields["prompt_policy"] = part[len(POLICY_PART) :].replace("-", "_")
            elif part.startswith(VIEWS_PART):
                fields["inference_views"] = part[len(VIEWS_PART) :]
            elif part.startswith(MODE_PART):
                fields["module_mode"] = part[len(MODE_PART) :]
            elif m_att and m_att.group(2) in modes:
                fields["prompt_attack"], fields["attack_mode"] = m_att.group(1), modes[m_att.group(2)]
            elif re.fullmatch(SEED_PART + r"[1-9][0-9]*", part):
                fields["seed"] = int(part[len(SEED_PART) :])
            elif m_deg and m_deg.group(1) in by_prefix and m_deg.group(2) == by_prefix[m_deg.group(1)].symbol:
                try:
                    fields["level"] = float(m_deg.group(3))
                except ValueError:
                    raise ConfigError(f"test condition key {key!r}: bad level {m_deg.group(3)!r}") from None
                fields["degradation"] = by_prefix[m_deg.group(1)].name
            else:
                raise ConfigError(
                    f"test condition key {key!r}: unknown part {part!r}",
                    fix="write e.g. clean, frames-r0.50, landmarks-s0.05, policy-neutral, "
                    "prompt-opposite-labelfree, views-hq, mode-train, seed1, joined by '_'",
                )
        cond = cls(**fields)
        if cond.key != key:
            raise ConfigError(f"test condition key {key!r} is not canonical", fix=f"write {cond.key!r}")
        return cond


CLEAN = TestCondition()
"""No degradation, the default label-free prompt policy, no attack, both views."""


def detector_default_condition(detector: str) -> TestCondition:
    """The condition a batch without one is evaluated under by ``detector`` (module docstring)."""
    return TestCondition.from_key(get_entry(detector).cls.default_condition)


def table7_conditions(seed: int = 0) -> list[TestCondition]:
    """Table 7's rows: clean, then every registered degradation at the paper's levels."""
    return [replace(CLEAN, seed=seed)] + [
        TestCondition(d.name, level, seed=seed) for d in DEGRADATIONS.values() for level in d.paper_levels
    ]


def table8_conditions(modes: tuple[str, ...] = prompts.ATTACK_MODES, seed: int = 0) -> list[TestCondition]:
    """Table 8's rows: every prompt attack in each of ``modes``."""
    return [TestCondition(prompt_attack=a, attack_mode=m, seed=seed) for a in prompts.ADVERSARIAL_TYPES for m in modes]


# ---------------------------------------------------------------------------- applying it


def _video_rng(seed: int, what: str, key: str) -> np.random.Generator:
    return numpy_rng(seed, "test-condition", what, str(key))


def with_defaults(condition: TestCondition, default: TestCondition) -> TestCondition:
    """``condition`` with every setting it leaves at :data:`CLEAN`'s value taken from ``default`` (a
    detector's default condition); a prompt attack keeps its own text (it replaces any policy)."""
    if default == CLEAN:
        return condition
    fields = {
        f.name: getattr(default if getattr(condition, f.name) == getattr(CLEAN, f.name) else condition, f.name)
        for f in dataclasses.fields(TestCondition)
    }
    if condition.prompt_attack is not None:
        fields["prompt_policy"] = condition.prompt_policy
    return TestCondition(**fields)


def condition_of(batch: dict, default: TestCondition = CLEAN) -> TestCondition:
    """The batch's test condition (:data:`CLEAN` when it carries none) completed by ``default``
    (a detector's default condition, :func:`with_defaults`)."""
    cond = batch.get("condition")
    if cond is None:
        return default
    if not isinstance(cond, TestCondition):
        raise TypeError(f"batch['condition'] must be a TestCondition, got {type(cond).__name__}")
    return with_defaults(cond, default)


def apply_condition(batch: dict, condition: TestCondition) -> dict:
    """A new batch: ``condition``'s degradation applied and ``condition`` stored under ``"condition"``.

    Call it on a collated batch (``key`` = list of video keys) before the forward pass, on any device;
    the input batch and its tensors are left unchanged. Only evaluation calls this.
    """
    out = dict(batch)
    if condition.degradation is not None:
        if "key" not in batch:
            raise ValueError("apply_condition needs batch['key'] (the video keys seed the degradation)")
        out = DEGRADATIONS[condition.degradation].apply(out, condition.level, condition.seed)
    out["condition"] = condition
    return out


def held_frame_indices(num_frames: int, ratio: float, rng: np.random.Generator) -> np.ndarray:
    """Source frame per position [T] for frame sampling at ``ratio`` (module docstring)."""
    k = max(1, min(num_frames, int(round(ratio * num_frames))))
    kept = np.sort(rng.permutation(num_frames)[:k])
    pos = np.searchsorted(kept, np.arange(num_frames), side="right") - 1
    return kept[np.clip(pos, 0, None)]


def _check_ratio(r: float) -> str | None:
    return None if 0.0 < r <= 1.0 else "the sampling ratio must be in (0, 1]"


def _check_sigma(s: float) -> str | None:
    return None if s >= 0.0 else "σ must be >= 0"


@register_degradation("frame_sampling", (0.9, 0.7, 0.5, 0.3), _check_ratio)
def frame_sampling(batch: dict, ratio: float, seed: int) -> dict:
    """Keep a random ``ratio`` of each clip's frames in order, holding each kept frame (module docstring)."""
    out = dict(batch)
    aligned = [k for k in FRAME_ALIGNED if isinstance(batch.get(k), Tensor)]
    lengths = {batch[k].shape[FRAME_ALIGNED[k]] for k in aligned}
    if len(lengths) > 1:
        raise ValueError(f"frame-aligned keys {aligned} have different lengths {sorted(lengths)}")
    for key_name, dim in [(k, FRAME_ALIGNED[k]) for k in aligned] + [("xception_faces", 1)]:
        x = batch.get(key_name)
        if not isinstance(x, Tensor):
            continue
        what = "frames" if key_name in FRAME_ALIGNED else key_name
        n = x.shape[dim]
        index = torch.stack(
            [torch.from_numpy(held_frame_indices(n, ratio, _video_rng(seed, what, vk))) for vk in batch["key"]]
        ).to(x.device)
        shape = [x.shape[0], n] + [1] * (x.dim() - 2)
        index = index.reshape(shape).movedim(1, dim).expand_as(x)
        out[key_name] = torch.gather(x, dim, index)
    return out


@register_degradation("landmark_noise", (0.01, 0.05), _check_sigma)
def landmark_noise(batch: dict, sigma: float, seed: int) -> dict:
    """Add N(0, σ²) to every normalised landmark coordinate; ``σ = 0`` returns the batch unchanged."""
    out = dict(batch)
    if sigma == 0.0:
        return out
    for key_name in LANDMARK_KEYS:
        x = batch.get(key_name)
        if not isinstance(x, Tensor):
            continue
        noise = np.stack([_video_rng(seed, key_name, vk).standard_normal(tuple(x.shape[1:])) for vk in batch["key"]])
        out[key_name] = x + torch.from_numpy(sigma * noise).to(device=x.device, dtype=x.dtype)
    return out


# ---------------------------------------------------------------------------- text for the detectors


def condition_text(bank, batch: dict, batch_size: int, condition: TestCondition | None = None) -> Tensor:
    """Test-time text embeddings [B, D] of a :class:`~umcl.models.text_encoder.PromptBank` under
    ``condition`` (default: the batch's): the attack's prompts, else the prompt policy (label-free
    unless ``leakage_audit``).
    """
    cond = condition or condition_of(batch)
    if cond.prompt_policy == FIXED_PROMPT_POLICY:
        raise UmclError(
            f"test condition {cond.key!r}: the released fixed prompt is not in this detector's prompt bank",
            fix="use it with UMCL (umcl, umcl-released), or choose another prompt policy",
        )
    needs_label = cond.attack_mode == "label_chosen" or cond.prompt_policy == prompts.LEAKAGE_AUDIT
    if needs_label and batch.get("label") is None:
        raise UmclError(
            f"test condition {cond.key!r} chooses the text by the true label, but the batch has no 'label'",
            fix="pass the labels, or use a label-free policy or attack mode",
        )
    if cond.prompt_attack is not None:
        keys = batch.get("key")
        if keys is None or len(keys) != batch_size:
            raise UmclError("a prompt attack needs batch['key'] for every video (it seeds the prompt choice)")
        labels = batch["label"].detach().cpu() if needs_label else None
        return bank.lookup(
            prompts.attack_prompt_indices(cond.prompt_attack, cond.attack_mode, keys, labels, cond.seed, bank.table)
        )
    labels = batch["label"] if needs_label else None
    return bank.inference_embeddings(cond.prompt_policy, batch_size, labels=labels)


__all__ = [
    "TestCondition",
    "CLEAN",
    "Degradation",
    "DEGRADATIONS",
    "register_degradation",
    "get_degradation",
    "apply_condition",
    "condition_of",
    "condition_text",
    "with_attack_mode",
    "detector_default_condition",
    "with_defaults",
    "INFERENCE_VIEWS",
    "MODULE_MODES",
    "PROMPT_POLICIES",
    "FIXED_PROMPT_POLICY",
    "held_frame_indices",
    "frame_sampling",
    "landmark_noise",
    "table7_conditions",
    "table8_conditions",
    "FRAME_ALIGNED",
]
