"""How test-time condition keys are spelled, without torch (the protocol layer reads keys at parse time).

The one place the parts of a condition key are spelled: :class:`umcl.conditions.TestCondition`
builds and parses its keys from these, and the protocol layer (umcl.protocols.tables, the claims)
reads keys through the helpers below instead of slicing strings. Grammar (parts joined by ``_``):
``<prefix>-<symbol><level>`` for a degradation (:data:`DEGRADATION_KEYS`), ``policy-<policy>``,
``prompt-<attack>-<mode>`` (:data:`ATTACK_MODE_KEYS`), ``views-<views>``, ``mode-<eval|train>``, ``seed<N>``;
``clean`` alone.
"""

from __future__ import annotations

from umcl.specs.errors import ConfigError

CLEAN_KEY = "clean"
#: registered degradation name -> (key prefix, parameter letter), e.g. ``landmarks-s0.05``
DEGRADATION_KEYS: dict[str, tuple[str, str]] = {"frame_sampling": ("frames", "r"), "landmark_noise": ("landmarks", "s")}
#: degradations that change nothing but the landmarks (not applicable to a detector that reads none)
LANDMARK_DEGRADATIONS = ("landmark_noise",)
#: Table 8 attack modes (umcl.prompts.ATTACK_MODES) -> their spelling in a key
ATTACK_MODE_KEYS = {"label_chosen": "labelchosen", "label_free": "labelfree"}
#: key of the leakage audit's test condition: the true label's prompts (prompt policy ``leakage_audit``)
LABEL_PROMPT_CONDITION = "policy-leakage-audit"
POLICY_PART, VIEWS_PART, ATTACK_PART, SEED_PART = "policy-", "views-", "prompt-", "seed"
#: the module mode a detector scores in (``mode-train``: the released code's test script)
MODE_PART = "mode-"
SEPARATOR = "_"


def key_parts(key: str) -> list[str]:
    """The parts of a condition key (none for ``clean``)."""
    return [] if key == CLEAN_KEY else key.split(SEPARATOR)


def join_parts(parts: list[str]) -> str:
    """The key of ``parts`` (``clean`` when there are none)."""
    return SEPARATOR.join(parts) or CLEAN_KEY


def degradation_part(name: str, level_text: str) -> str:
    """``frames-r0.50`` for (``frame_sampling``, ``0.50``)."""
    prefix, symbol = DEGRADATION_KEYS[name]
    return f"{prefix}-{symbol}{level_text}"


def attack_part(attack: str, mode: str) -> str:
    """``prompt-opposite-labelfree`` for (``opposite``, ``label_free``)."""
    if mode not in ATTACK_MODE_KEYS:
        raise ConfigError(f"unknown attack mode {mode!r}", fix=f"use one of {list(ATTACK_MODE_KEYS)}")
    return f"{ATTACK_PART}{attack}-{ATTACK_MODE_KEYS[mode]}"


def degradation_of(key: str) -> str | None:
    """The registered name of the degradation condition ``key`` applies (None without one)."""
    by_prefix = {prefix: name for name, (prefix, _) in DEGRADATION_KEYS.items()}
    for part in key_parts(key):
        head = part.split("-", 1)[0]
        if head in by_prefix and part.startswith(degradation_part(by_prefix[head], "")):
            return by_prefix[head]
    return None


def with_attack_mode(key: str, mode: str) -> str:
    """Condition ``key`` with its prompt attack chosen by ``mode`` (e.g. a label-chosen attack's
    label-free twin); one-line error when ``key`` has no attack."""
    parts = key_parts(key)
    for i, part in enumerate(parts):
        if part.startswith(ATTACK_PART):
            attack = part[len(ATTACK_PART) :].rsplit("-", 1)[0]
            return join_parts(parts[:i] + [attack_part(attack, mode)] + parts[i + 1 :])
    raise ConfigError(f"test condition {key!r} has no prompt attack", fix="name a prompt-<attack>-<mode> key")


__all__ = [
    "CLEAN_KEY",
    "MODE_PART",
    "DEGRADATION_KEYS",
    "LANDMARK_DEGRADATIONS",
    "ATTACK_MODE_KEYS",
    "key_parts",
    "join_parts",
    "degradation_part",
    "attack_part",
    "degradation_of",
    "with_attack_mode",
]
