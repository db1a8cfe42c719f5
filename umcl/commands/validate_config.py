"""``umcl validate-config``: load a config (with ``extends:``), check every section, write it merged.

Its step's modules are imported inside its functions: torch and the rest load only when the command runs
(``umcl --help`` stays fast).
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "validate a config against config/schema.json and every section's dataclass; optionally write it merged"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="config or profile YAML")
    parser.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one key (dotted path, YAML value), e.g. workflow.seeds=[0,1]",
    )
    parser.add_argument("--out", type=Path, help="write the merged, validated config here (atomically)")


def run(args: argparse.Namespace) -> int:
    from umcl.config import config_hash
    from umcl.logs import setup_logging

    setup_logging()  # the warnings of validated_config reach the console

    cfg = validated_config(args.config, args.assignments, args.out)
    print(f"{args.config}: valid (config hash {config_hash(cfg)})")
    return 0


def validated_config(config: Path, assignments: list[str], out: Path | None = None, option: str = "--out") -> dict:
    """Load ``config``, apply the ``KEY=VALUE`` ``assignments``, check it against the schema and every
    section's dataclass, and write it merged to ``out`` (atomically) when given; return it. An ``out``
    (the command's ``option``) that is ``config`` or a file it ``extends:`` is refused: the merged
    text would replace the user's file, its comments and ``extends:`` lost.
    ``umcl train --set/--config-out`` does the same in the training process (one start-up per job)."""
    from umcl.config import config_chain, config_errors_name, load_config, validate_config
    from umcl.errors import UmclError
    from umcl.io_utils import check_output_path, write_text
    from umcl.logs import get_logger
    from umcl.workflow import check_sections, resolved_text, set_key

    if out is not None:
        if out.exists() and any(out.resolve() == f.resolve() for f in config_chain(config)):
            raise UmclError(
                f"{option} is the input config (or a file it extends); writing it would replace "
                "that file, its comments and `extends:` lost; it was left untouched",
                out,
                f"give {option} a new file, e.g. resolved.yaml",
            )
        check_output_path(out, is_dir=False, new_format="text")
    cfg = load_config(config)
    for assignment in assignments:
        set_key(cfg, assignment)
        for detector, overriding, value in shadowing_keys(cfg, assignment.partition("=")[0]):
            get_logger("config").warning(
                "--set %s has no effect on %s: %s (%r) overrides it; set that key instead",
                assignment,
                detector,
                overriding,
                value,
            )
    source = f"{config} with {' '.join('--set ' + a for a in assignments)}" if assignments else config
    if assignments:
        validate_config(cfg, source=source)
    with config_errors_name(source, kinds=(UmclError,)):  # every value checked here is from the config
        check_sections(cfg)
    if out is not None:
        write_text(out, resolved_text(cfg, config))
    return cfg


def shadowing_keys(cfg: dict, key: str) -> list[tuple[str, str, object]]:
    """The ``training.per_detector.<detector>.<name>`` entries of ``cfg`` that override the shared
    ``training.<name>`` (``key``) for their detector (umcl.training.config.training_for), so that
    setting ``key`` does not reach that detector: (detector, overriding key, its value) each."""
    parts = key.split(".")
    if len(parts) != 2 or parts[0] != "training" or parts[1] == "per_detector":
        return []
    overlays = (cfg.get("training") or {}).get("per_detector") or {}
    return [
        (det, f"training.per_detector.{det}.{parts[1]}", overlay[parts[1]])
        for det, overlay in overlays.items()
        if isinstance(overlay, dict) and parts[1] in overlay
    ]
