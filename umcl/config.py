"""Configuration: YAML files, profile inheritance, schema validation and typed sections.

A config file is a YAML mapping. A profile file may name its parent with ``extends: <file>``
(relative to itself); mappings are merged recursively, the child winning. The merged result is
validated against ``config/schema.json`` when that file exists. Each step reads its own section
into a dataclass with :func:`section`; unknown keys and wrong types raise :class:`ConfigError`
before anything runs.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from umcl.errors import ConfigError

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = REPO_ROOT / "config" / "schema.json"


def deep_merge(base: dict, override: dict) -> dict:
    """Merge ``override`` into a copy of ``base`` recursively (mappings merge, anything else replaces)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError("config file not found", path, "pass an existing YAML file with --config")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML ({str(exc).splitlines()[0]})", path, "fix the YAML syntax") from exc
    if not isinstance(data, dict):
        raise ConfigError("top level must be a mapping", path, "write `key: value` pairs")
    return data


def load_config(path: str | Path, validate: bool = True) -> dict:
    """Load a config file, following ``extends:`` chains, and validate it against the schema."""
    path = Path(path)
    data = _read_yaml(path)
    parent = data.pop("extends", None)
    if parent is not None:
        data = deep_merge(load_config(path.parent / parent, validate=False), data)
    if validate:
        validate_config(data, source=path)
    return data


def validate_config(data: dict, source: str | Path = "<config>") -> None:
    """Validate a merged config against ``config/schema.json`` (skipped if the schema is absent)."""
    if not SCHEMA_PATH.is_file():
        return
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = ".".join(str(p) for p in err.absolute_path) or "<top>"
        raise ConfigError(f"invalid config at '{where}': {err.message}", source,
                          "correct or remove that key (see config/schema.json)")


def config_hash(data: dict) -> str:
    """A short, stable hash of a config mapping (for provenance lines)."""
    blob = json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def section(cfg: dict | None, name: str, cls: type[T]) -> T:
    """Build the dataclass ``cls`` from ``cfg[name]`` (missing section → defaults).

    Unknown keys and values of the wrong type raise :class:`ConfigError`.
    """
    raw = {} if cfg is None else cfg.get(name, {}) or {}
    return from_dict(raw, cls, where=name)


def from_dict(raw: dict, cls: type[T], where: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, checking keys and (simple) types."""
    if not isinstance(raw, dict):
        raise ConfigError(f"config section '{where}' must be a mapping, got {type(raw).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in config section '{where}'",
                          fix=f"allowed keys: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in raw.items():
        kwargs[key] = _coerce(value, hints[key], f"{where}.{key}")
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return from_dict(value, hint, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"bad value {value!r} for '{where}' (expected {hint})")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"bad value {value!r} for '{where}'", fix=f"use one of {list(args)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"'{where}' must be a list, got {value!r}")
        inner = args[0] if args else Any
        items = [_coerce(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"'{where}' must be a mapping, got {value!r}")
        return dict(value)
    if hint is Any:
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool):
        if isinstance(value, bool) and hint is not bool:
            raise ConfigError(f"bad value {value!r} for '{where}' (expected {hint.__name__})")
        if not isinstance(value, hint):
            raise ConfigError(f"bad value {value!r} for '{where}' (expected {hint.__name__})")
        return value
    return value
