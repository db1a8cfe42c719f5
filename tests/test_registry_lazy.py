"""Building one detector imports only its own module (issue 9 §4: start-up paid per process).

Every train and evaluate job is a fresh process; importing all four detector modules cost 10-13 s
under load, of which Xception's timm -> torchvision -> torch._dynamo and SciPy's signal module are
not needed by LRNet, CPML or UMCL."""

from __future__ import annotations

import subprocess
import sys

import pytest

from umcl import registry

#: modules a detector must not pull in: Xception's (timm, and torchvision with torch._dynamo, which
#: CPML's and UMCL's text encoder imports through transformers anyway) and SciPy's signal module
HEAVY = {
    "lrnet": ("timm", "torchvision", "torch._dynamo", "scipy.signal"),
    "cpml": ("timm", "scipy.signal"),
    "umcl": ("timm", "scipy.signal"),
    "umcl-released": ("timm", "scipy.signal"),
}


def test_homes_name_every_builtin_detector_and_its_module() -> None:
    assert set(registry.builtin()) == set(registry.DETECTOR_HOMES)
    for name, module in registry.DETECTOR_HOMES.items():
        assert registry.get_entry(name).cls.__module__ == module


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


@pytest.mark.parametrize("detector", ["lrnet", "cpml", "umcl", "umcl-released"])
def test_building_one_detector_skips_the_others_imports(detector: str) -> None:
    loaded = _modules_after(
        "from umcl.registry import build_detector\n"
        f"build_detector({detector!r}, {{}})\n"
        "from umcl.training.config import training_for\n"
        f"training_for({{'training': {{'per_detector': {{'xception': {{'epochs': 1}}}}}}}}, {detector!r})"
    )
    assert not loaded & set(HEAVY[detector]), sorted(loaded & set(HEAVY[detector]))
    assert "baselines.xception" not in loaded


def test_unknown_detector_names_still_fail_in_one_line() -> None:
    from umcl.errors import ConfigError
    from umcl.training.config import training_for

    with pytest.raises(ConfigError, match="unknown detector"):
        training_for({"training": {"per_detector": {"xceptoin": {"epochs": 1}}}}, "lrnet")
    with pytest.raises(ConfigError, match="unknown detector 'xceptoin'"):
        registry.get_entry("xceptoin")


def test_validating_a_config_skips_timm() -> None:
    """Every job validates its config, which reads every detector's config class (config_schema.section_classes):
    that must not import timm, which only building an Xception needs."""
    loaded = _modules_after("from umcl.config_schema import section_classes\nsection_classes()")
    assert "baselines.xception" in loaded and "timm" not in loaded
