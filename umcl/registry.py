"""Detector registry: every detector is created by name from a typed config.

Usage::

    @register_detector("umcl", config=UMCLConfig)
    class UMCLDetector(Detector): ...

    model = build_detector("umcl", {"d": 320})
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from umcl.config import from_dict
from umcl.errors import ConfigError

#: Where each built-in detector is registered: building one imports only its own module, so a
#: process that trains or scores LRNet does not pay for timm, torchvision and torch._dynamo
#: (Xception's imports) or SciPy's signal module (import times in docs/pipeline.md).
#: tests/test_registry_lazy.py checks that this map names every built-in detector and its module.
DETECTOR_HOMES: dict[str, str] = {
    "umcl": "umcl.models.umcl",
    "umcl-released": "umcl.models.umcl",
    "xception": "baselines.xception",
    "lrnet": "baselines.lrnet",
    "cpml": "baselines.cpml",
}
# Modules that register detectors when imported.
DETECTOR_MODULES = tuple(dict.fromkeys(DETECTOR_HOMES.values()))


@dataclass(frozen=True)
class DetectorEntry:
    name: str
    cls: type
    config_cls: type


_REGISTRY: dict[str, DetectorEntry] = {}


def register_detector(name: str, config: type) -> Callable[[type], type]:
    """Class decorator: register ``cls`` under ``name`` with its config dataclass."""

    def wrap(cls: type) -> type:
        if name in _REGISTRY and _REGISTRY[name].cls is not cls:
            raise ValueError(f"detector '{name}' registered twice")
        _REGISTRY[name] = DetectorEntry(name, cls, config)
        cls.registry_name = name
        return cls

    return wrap


def register_overlay(name: str, base: str, overlay: dict[str, Any], doc: str) -> DetectorEntry:
    """Register ``name`` as detector ``base`` with config defaults replaced by ``overlay`` (a variant
    that is a config, not a fork): its config class is a dataclass subclass of the base's whose
    defaults are ``overlay``, its detector class an empty subclass of the base's (own ``registry_name``).
    A config section ``detectors.<name>`` overrides the overlay as it overrides any default."""
    entry = _REGISTRY[base]
    hints = typing.get_type_hints(entry.config_cls)
    unknown = sorted(set(overlay) - set(hints))
    if unknown:
        raise ValueError(f"overlay {name!r}: {unknown} are not fields of {entry.config_cls.__name__}")
    title = "".join(part.title() for part in re.split(r"[^A-Za-z0-9]", name))
    config_cls = dataclasses.make_dataclass(
        f"{title}Config",
        [(k, hints[k], dataclasses.field(default=v)) for k, v in overlay.items()],
        bases=(entry.config_cls,),
        namespace={"__doc__": doc, "__module__": entry.config_cls.__module__},
    )
    cls = type(f"{title}Detector", (entry.cls,), {"__doc__": doc, "__module__": entry.cls.__module__})
    register_detector(name, config=config_cls)(cls)
    return _REGISTRY[name]


def _import_home(mod: str) -> None:
    """Import one module that registers detectors (skipped when the module itself is absent)."""
    try:
        importlib.import_module(mod)
    except ModuleNotFoundError as exc:
        if exc.name != mod:
            raise


def load_all() -> None:
    """Import every module that registers detectors (skipping ones not present)."""
    for mod in DETECTOR_MODULES:
        _import_home(mod)


def known_names() -> list[str]:
    """Every detector name that can be built, without importing a detector module: the built-in
    ones (``DETECTOR_HOMES``) and any registered so far (tests, plug-ins)."""
    return sorted(set(DETECTOR_HOMES) | set(_REGISTRY))


def available() -> list[str]:
    load_all()
    return sorted(_REGISTRY)


def builtin() -> list[str]:
    """Detectors registered by the project's own modules (``DETECTOR_MODULES``), not by tests or plug-ins."""
    load_all()
    return sorted(n for n, e in _REGISTRY.items() if e.cls.__module__ in DETECTOR_MODULES)


def get_entry(name: str) -> DetectorEntry:
    """The registered detector ``name``: only its own module is imported for a built-in one."""
    if name not in _REGISTRY:
        if name in DETECTOR_HOMES:
            _import_home(DETECTOR_HOMES[name])
        else:
            load_all()
    if name not in _REGISTRY:
        raise ConfigError(f"unknown detector '{name}'", fix=f"use one of {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def build_detector(name: str, config: dict[str, Any] | None = None):
    """Create detector ``name`` from a config mapping (validated against its dataclass)."""
    entry = get_entry(name)
    cfg = from_dict(config or {}, entry.config_cls, where=f"detectors.{name}")
    return entry.cls(cfg)
