"""Generate ``config/schema.json`` from the section dataclasses (one source of truth).

Run ``python -m umcl.config_schema`` after changing a config dataclass; ``tests/test_workflow.py``
fails while the committed schema and the dataclasses disagree. The schema catches unknown keys
and wrongly typed values when a config is loaded; range checks stay in each dataclass's
``__post_init__`` (run for every section by ``umcl.workflow.check_sections``).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys
import types
import typing
from typing import Any

from umcl import registry
from umcl.config import SCHEMA_PATH
from umcl.io_utils import write_or_check_generated

# section -> "module:Class" (see docs/contracts.md); ``detectors`` comes from the registry.
SECTIONS: dict[str, str] = {
    "workflow": "umcl.specs.workflow:WorkflowConfig",
    "synthff": "umcl.data.synthff.config:SynthFFConfig",
    "compression": "umcl.data.compression:CompressionConfig",
    "preprocess": "umcl.data.preprocess.config:PreprocessConfig",
    "pretrain": "umcl.training.config:PretrainConfig",
    "training": "umcl.training.config:TrainConfig",
    "evaluation": "umcl.evaluation.config:EvalConfig",
    "figures": "umcl.report.figures:FiguresConfig",
}


def _import(spec: str) -> type | None:
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None  # that step is not built yet
        raise
    except AttributeError:
        return None


def section_classes() -> dict[str, Any]:
    """Section name -> dataclass (``detectors`` -> {name: dataclass}); missing modules left out."""
    out: dict[str, Any] = {}
    for name, spec in SECTIONS.items():
        cls = _import(spec)
        if cls is not None:
            out[name] = cls
    out["detectors"] = {n: registry.get_entry(n).config_cls for n in registry.builtin()}
    return out


def type_schema(hint: Any) -> dict:
    """JSON schema of one type hint."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return dataclass_schema(hint)  # type: ignore[arg-type]
    if origin in (typing.Union, types.UnionType):
        options = [type_schema(a) for a in args if a is not type(None)]
        if type(None) in args:
            options.append({"type": "null"})
        return options[0] if len(options) == 1 else {"anyOf": options}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin is list or hint is list:
        return {"type": "array", "items": type_schema(args[0])} if args else {"type": "array"}
    if origin is tuple or hint is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": type_schema(args[0])}
        if args:
            return {
                "type": "array",
                "prefixItems": [type_schema(a) for a in args],
                "minItems": len(args),
                "maxItems": len(args),
            }
        return {"type": "array"}
    if origin is dict or hint is dict:
        return {"type": "object"}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string"}
    if hint in simple:
        return {"type": simple[hint]}
    return {}


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        value = f.default_factory()  # type: ignore[misc]
    else:
        return dataclasses.MISSING
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    return json.loads(json.dumps(value, default=list))


def overlay_schema(cls: type, field_name: str) -> dict:
    """Schema of ``cls``'s overlay field: {name: partial settings of ``cls``} (same keys and types,
    none required, no defaults); names from the registry when the field's metadata says
    ``overlay_of: detectors``."""
    hints = typing.get_type_hints(cls)
    partial = {
        "type": "object",
        "additionalProperties": False,
        "properties": {f.name: type_schema(hints[f.name]) for f in dataclasses.fields(cls) if f.name != field_name},
    }
    schema: dict = {"type": "object", "additionalProperties": partial}
    if {f.name: f for f in dataclasses.fields(cls)}[field_name].metadata.get("overlay_of") == "detectors":
        schema["propertyNames"] = {"enum": sorted(registry.builtin())}
    return schema


def dataclass_schema(cls: type) -> dict:
    """An object schema: one property per field, no other keys."""
    hints = typing.get_type_hints(cls)
    props = {}
    required = []
    for f in dataclasses.fields(cls):
        prop = overlay_schema(cls, f.name) if f.metadata.get("overlay_of") else type_schema(hints[f.name])
        default = _default(f)
        if default is dataclasses.MISSING:
            required.append(f.name)
        else:
            prop["default"] = default
        props[f.name] = prop
    schema: dict = {"type": "object", "additionalProperties": False, "properties": props}
    if cls.__doc__:
        schema["description"] = cls.__doc__.strip().splitlines()[0]
    if required:
        schema["required"] = required
    return schema


def build_schema() -> dict:
    """The whole config's schema: known sections only, each closed to unknown keys."""
    classes = section_classes()
    props: dict = {}
    for name in SECTIONS:
        props[name] = (
            dataclass_schema(classes[name])
            if name in classes
            else {"type": "object", "description": f"{SECTIONS[name]} not built yet: not checked"}
        )
    props["detectors"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {n: dataclass_schema(c) for n, c in sorted(classes["detectors"].items())},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "UMCL reproducibility suite config",
        "description": "Generated by `python -m umcl.config_schema` from the section dataclasses; do not edit.",
        "type": "object",
        "additionalProperties": False,
        "properties": props,
    }


def render() -> str:
    return json.dumps(build_schema(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the schema (or, with ``--check``, exit 1 when the committed one is stale)."""
    argv = sys.argv[1:] if argv is None else argv
    return write_or_check_generated(SCHEMA_PATH, render(), "--check" in argv, "python -m umcl.config_schema")


if __name__ == "__main__":
    sys.exit(main())
