"""Configuration: YAML files, profile inheritance, schema validation and typed sections.

A config file is a YAML mapping. A profile file may name its parent with ``extends: <file>``
(relative to itself); mappings are merged recursively, the child winning. The merged result is
validated against ``config/schema.json`` when that file exists. Each step reads its own section
into a dataclass with :func:`section`; unknown keys and wrong types raise :class:`ConfigError`
before anything runs.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import difflib
import hashlib
import json
import math
import re
import types
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from umcl.errors import ConfigError, UmclError
from umcl.io_utils import read_text_file
from umcl.specs.splits import MAX_IDENTITIES, min_identities

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


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping that names one key twice (YAML keeps the last silently; a whole section can vanish)."""


class ConfigLoader(yaml.SafeLoader):
    """YAML as users write configs: ``safe_load`` plus two fixes of YAML 1.1's rules.

    - Floats in exponent form without a dot or an exponent sign (``1e-3``, ``5e5``, ``2.0e3``) are
      numbers, as in YAML 1.2 and Python (YAML 1.1 reads them as strings).
    - A key given twice in one mapping is an error (:class:`DuplicateKeyError`), not "the last wins".
    """

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise DuplicateKeyError(
                        None,
                        None,
                        f"duplicate key {key!r} (lines {seen[key]} and {line}): "
                        "the later one would silently replace the earlier",
                        key_node.start_mark,
                    )
                seen[key] = line
        return super().construct_mapping(node, deep)


ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def parse_yaml(text: str) -> Any:
    """Parse YAML text with :class:`ConfigLoader` (config files and ``--set`` values)."""
    return yaml.load(text, Loader=ConfigLoader)  # noqa: S506 - a SafeLoader subclass


def read_config_file(path: str | Path) -> dict:
    """One YAML config file as a mapping (``extends:`` not followed).

    A missing, binary or malformed file is a one-line :class:`ConfigError` naming it.
    """
    path = Path(path)
    try:
        text = read_text_file(path, "config file", "pass an existing YAML text file with --config")
    except UmclError as exc:
        raise ConfigError(exc.message, path, exc.fix) from exc
    try:
        data = parse_yaml(text) or {}
    except DuplicateKeyError as exc:
        key = str(exc).splitlines()[0].split(" (")[0].removeprefix("duplicate key ")
        raise ConfigError(
            str(exc).splitlines()[0], path, f"keep one {key} key in each mapping (merge the two entries)"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML ({str(exc).splitlines()[0]})", path, "fix the YAML syntax") from exc
    if not isinstance(data, dict):
        raise ConfigError("top level must be a mapping", path, "write `key: value` pairs")
    return data


def config_chain(path: str | Path) -> list[Path]:
    """The file and every file it ``extends:`` (in that order; parents relative to their child).

    The one implementation of ``extends:`` (:func:`load_config` merges along it): a
    missing, binary or malformed file, a non-string ``extends:`` and a circular chain each raise a
    one-line :class:`ConfigError` naming the file.
    """
    chain = [Path(path)]
    while True:
        parent = read_config_file(chain[-1]).get("extends")
        if parent is None:
            return chain
        if not isinstance(parent, str) or not parent.strip():
            raise ConfigError(
                f"`extends:` must name a YAML file, got {parent!r}",
                chain[-1],
                "write `extends: <file>.yaml` (relative to this file) or remove it",
            )
        try:
            nxt = (chain[-1].parent / parent).resolve()
        except (OSError, ValueError) as exc:  # a NUL byte, a lone surrogate
            raise ConfigError(
                f"`extends:` names an unusable path {parent!r} ({type(exc).__name__})",
                chain[-1],
                "write `extends: <file>.yaml` (relative to this file) or remove it",
            ) from None
        seen = [c.resolve() for c in chain]
        if nxt in seen:
            loop = " -> ".join(c.name for c in chain[seen.index(nxt) :]) + f" -> {nxt.name}"
            raise ConfigError(f"circular `extends:` ({loop})", chain[-1], "remove the loop")
        chain.append(nxt)


def load_config(path: str | Path, validate: bool = True) -> dict:
    """Load a config file, following ``extends:`` chains, and validate it against the schema.

    The chain comes from :func:`config_chain` (which refuses a circular ``extends:``); parents are
    merged first, each child winning.
    """
    path = Path(path)
    data: dict = {}
    for file in reversed(config_chain(path)):
        own = read_config_file(file)
        own.pop("extends", None)
        data = deep_merge(data, own)
    if validate:
        validate_config(data, source=path)
    return data


@contextlib.contextmanager
def config_errors_name(path: str | Path | None, kinds: tuple[type[UmclError], ...] = (ConfigError,)) -> Iterator[None]:
    """Inside, an error of ``kinds`` that names no file is re-raised naming ``path`` (the config
    file its values came from) and, when it has none, the fix "correct that value in PATH".

    Wrap only code whose path-less errors all come from that config's values (building its
    sections); with ``path`` None errors pass unchanged.
    """
    try:
        yield
    except kinds as exc:
        if path is None or exc.path is not None:
            raise
        raise type(exc)(exc.message, path, exc.fix or f"correct that value in {path}") from exc


def validate_config(data: dict, source: str | Path = "<config>") -> None:
    """Validate a merged config against ``config/schema.json`` (skipped if the schema is absent),
    then :func:`check_pipeline_needs`."""
    if SCHEMA_PATH.is_file():
        _check_schema(data, source)
    check_pipeline_needs(data, source)


def _check_schema(data: dict, source: str | Path) -> None:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = ".".join(str(p) for p in err.absolute_path) or "<top>"
        raise ConfigError(
            f"invalid config at '{where}': {err.message}", source, "correct or remove that key (see config/schema.json)"
        )


def check_pipeline_needs(data: dict, source: str | Path = "<config>") -> None:
    """Cross-section needs of a pipeline config (one with a ``workflow`` section).

    The pipeline trains and pre-trains on SynthFF's val split, so ``synthff.n_identities`` must give
    every split a pair (:func:`umcl.specs.splits.min_identities`); a smaller SynthFF alone
    (no ``workflow`` section) can still be generated.
    """
    if "workflow" not in data:
        return
    synthff = data.get("synthff")
    n = synthff.get("n_identities") if isinstance(synthff, dict) else None
    if isinstance(n, int) and not isinstance(n, bool):
        fractions = {
            k: synthff[k]
            for k in ("val_fraction", "test_fraction")
            if isinstance(synthff.get(k), float) and 0.0 < synthff[k] < 1.0
        }
        least = min_identities(**fractions)
        if least > MAX_IDENTITIES:
            raise ConfigError(
                f"synthff split fractions {fractions} leave no training pair for any n_identities up to "
                f"{MAX_IDENTITIES}",
                source,
                "e.g. val_fraction: 0.14, test_fraction: 0.14 (FF++'s split)",
            )
        n_look = synthff.get("lookalike_identities")
        if isinstance(n_look, int) and not isinstance(n_look, bool) and n_look < least:
            raise ConfigError(
                f"synthff.lookalike_identities is {n_look}, but the pipeline needs at least {least} "
                "(fewer leave a split of the cross-dataset look-alikes empty)",
                source,
                f"set synthff.lookalike_identities to an even number >= {least}",
            )
        if n < least:
            raise ConfigError(
                f"synthff.n_identities is {n}, but the pipeline needs at least {least} "
                "(fewer leave the val split empty, and training selects on it)",
                source,
                f"set synthff.n_identities to an even number >= {least}",
            )


def check_config_keys(given: dict, allowed: Sequence[str], where: str = "snakemake --config") -> None:
    """Refuse keys of ``given`` not in ``allowed`` (a misspelled key must not be silently ignored)."""
    unknown = sorted(set(given) - set(allowed))
    if not unknown:
        return
    hints = [f"{m[0]!r} for {k!r}" for k in unknown for m in [difflib.get_close_matches(str(k), allowed, n=1)] if m]
    raise ConfigError(
        f"unknown key(s) {unknown} in {where}" + (f" (did you mean {', '.join(hints)}?)" if hints else ""),
        fix=f"use only {sorted(allowed)}, e.g. --config profile=smoke",
    )


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
        raise ConfigError(
            f"unknown key(s) {unknown} in config section '{where}'", fix=f"allowed keys: {sorted(fields)}"
        )
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
                errors.append(exc)
        if len(errors) == 1:  # ``X | None``: X's own message
            raise errors[0]
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
        if not math.isfinite(value):
            raise ConfigError(
                f"bad value {value!r} for '{where}' (expected a finite number)", fix=f"set {where} to a finite number"
            )
        return float(value)
    if hint is float:
        raise ConfigError(f"bad value {value!r} for '{where}' (expected a number)")
    if hint in (int, str, bool):
        if isinstance(value, bool) and hint is not bool:
            raise ConfigError(f"bad value {value!r} for '{where}' (expected {hint.__name__})")
        if not isinstance(value, hint):
            raise ConfigError(f"bad value {value!r} for '{where}' (expected {hint.__name__})")
        return value
    return value
