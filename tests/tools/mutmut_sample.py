"""A seeded random sample of mutmut's mutant names per module, for a mutation run too long to do in full.

Run after ``mutmut run`` has generated ``mutants/`` (``mutmut run 'none*'`` generates and stops). Writes
``sample_<module>.txt`` (one mutant name a line, for ``mutmut run $(cat sample_<module>.txt)``); the claims
engine's package counts as one module. Usage (docs/testing.md, "`make mutate`"):

    python tests/tools/mutmut_sample.py umcl.report.render=100 umcl.report.claims=150   # others: all
"""

from __future__ import annotations

import glob
import json
import random
import sys

SEED = 29


def module(name: str) -> str:
    mod = name.rsplit(".", 1)[0]
    return "umcl.report.claims" if mod.startswith("umcl.report.claims") else mod


def main(argv: list[str]) -> None:
    names: list[str] = []
    for f in sorted(glob.glob("mutants/umcl/**/*.meta", recursive=True)):
        with open(f) as fh:
            names += sorted(json.load(fh)["exit_code_by_key"])
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(module(n), []).append(n)
    sizes = dict(a.split("=") for a in argv)
    for mod, ns in sorted(groups.items()):
        k = int(sizes.get(mod, len(ns)))
        pick = ns if k >= len(ns) else random.Random(SEED).sample(ns, k)
        print(mod, len(ns), len(pick), file=sys.stderr)
        with open(f"sample_{mod}.txt", "w") as fh:
            fh.write("\n".join(sorted(pick)) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
