"""Test mutmut's mutants each in a fresh pytest process, the mutant active from import on.

mutmut switches mutants inside a forkserver after the modules are imported, so code that runs at import
(module-level tables such as the claims engine's ``MEASURED`` or ``PROTOCOLS``) is never mutated there and
its mutants are reported "survived" whatever the tests do. Here ``MUTANT_UNDER_TEST`` is set before Python
starts, so mutmut's trampolines route every call, import-time ones included, to the mutant. Slower (one
interpreter and collection per mutant) but right. Usage, from the folder holding ``mutants/``:

    python tests/tools/mutmut_fresh.py mutants results.tsv names.txt -- tests/test_claims.py

Appends ``name<TAB>killed|survived|timeout<TAB>seconds`` per mutant (pytest -x: the first failure kills);
names already in ``results.tsv`` are skipped, so a stopped run resumes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time


def main(argv: list[str]) -> None:
    mdir, out, names_file = argv[:3]
    args = argv[argv.index("--") + 1 :]
    done = set()
    if os.path.exists(out):
        with open(out) as fh:
            done = {line.split("\t")[0] for line in fh if line.strip()}
    with open(names_file) as fh:
        names = [n.strip() for n in fh if n.strip() and n.strip() not in done]
    env = dict(os.environ, PYTHONPATH=mdir, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    for n in names:
        t = time.time()
        try:
            rc = subprocess.run(
                [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *args],
                cwd=mdir,
                env=dict(env, MUTANT_UNDER_TEST=n),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=600,
            ).returncode
            status = "survived" if rc == 0 else ("killed" if rc in (1, 2, 3) else f"rc{rc}")
        except subprocess.TimeoutExpired:
            status = "timeout"
        with open(out, "a") as fh:
            fh.write(f"{n}\t{status}\t{time.time() - t:.0f}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
