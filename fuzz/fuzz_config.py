"""Fuzz the YAML config loader: a profile that may ``extends:`` a parent, then ``--set`` overrides.

Input: ``child YAML 0x1e parent YAML 0x1e --set KEY=VALUE 0x1e ...``. The child is written to
``profile.yaml`` and the parent to ``base.yaml`` beside it (the child reaches it with
``extends: base.yaml``; an error may name any file in their folder, e.g. a missing parent); each
further part is one ``--set`` argument. The entry point is the one
``umcl validate-config`` and ``umcl train --set`` use (load, extends, --set, schema, every section).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._contract import check, instrumented, run, scratch, split  # noqa: E402

with instrumented():
    from umcl.commands.validate_config import validated_config
    from umcl.workflow import check_sections  # noqa: F401 - imported here so it is instrumented

TMP = scratch("config")
CHILD, PARENT = TMP / "profile.yaml", TMP / "base.yaml"


def test_one_input(data: bytes) -> None:
    child, parent, *sets = split(data, 5)
    assignments = [s.decode("utf-8", "surrogateescape") for s in sets if s]
    if any("\x00" in a for a in assignments):  # a command-line argument cannot hold NUL
        return
    CHILD.write_bytes(child)
    PARENT.write_bytes(parent)
    check("config", data, lambda: validated_config(CHILD, assignments), (str(TMP), "--set"))


if __name__ == "__main__":
    run(test_one_input)
