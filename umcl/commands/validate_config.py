"""``umcl validate-config``: load a config (with ``extends:``), check every section, write it merged."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "validate a config against config/schema.json and every section's dataclass; optionally write it merged"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="config or profile YAML")
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                        help="override one key (dotted path, YAML value), e.g. workflow.seeds=[0,1]")
    parser.add_argument("--out", type=Path, help="write the merged, validated config here (atomically)")


def run(args: argparse.Namespace) -> int:
    from umcl.config import config_hash

    cfg = validated_config(args.config, args.assignments, args.out)
    print(f"{args.config}: valid (config hash {config_hash(cfg)})")
    return 0


def validated_config(config: Path, assignments: list[str], out: Path | None = None) -> dict:
    """Load ``config``, apply the ``KEY=VALUE`` ``assignments``, check it against the schema and every
    section's dataclass, and write it merged to ``out`` (atomically) when given; return it.
    ``umcl train --set/--config-out`` does the same in the training process (one start-up per job)."""
    from umcl.config import config_errors_name, load_config, validate_config
    from umcl.errors import UmclError
    from umcl.io_utils import check_output_path, write_text
    from umcl.workflow import check_sections, resolved_text, set_key

    if out is not None:
        check_output_path(out, is_dir=False, new_format="text")
    cfg = load_config(config)
    for assignment in assignments:
        set_key(cfg, assignment)
    source = f"{config} with {' '.join('--set ' + a for a in assignments)}" if assignments else config
    if assignments:
        validate_config(cfg, source=source)
    with config_errors_name(source, kinds=(UmclError,)):  # every value checked here is from the config
        check_sections(cfg)
    if out is not None:
        write_text(out, resolved_text(cfg, config))
    return cfg
