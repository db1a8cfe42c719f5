"""Start-up of a train or evaluate job: what building one detector costs before its first step (issue 9 §4).

Every pipeline job is a fresh ``umcl`` process. Two ways of building a detector are timed side by
side, each in fresh Python processes, alternated, median of ``--repeats``:

* **import**: ``umcl.registry.get_entry(detector)`` as it is now (only the detector's own module),
  against the registry as it was (``load_all()`` first: every detector module and SciPy's signal
  module);
* **text** (CPML, UMCL): building the detector with a warm prompt-embedding cache
  (``$UMCL_TEXT_CACHE``, as the pipeline sets it per profile) against no cache (the frozen text
  encoder is loaded to embed the prompt table).

Run: ``.venv/bin/python benchmarks/startup_time.py [--detectors lrnet umcl] [--repeats 3]``. It prints
a Markdown table with the ratio baseline / now. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from umcl.specs.vocab import TEXT_CACHE_ENV

BUILD = "from umcl.registry import build_detector\nbuild_detector({det!r}, {{}})\n"
OLD_REGISTRY = "import scipy.signal\nimport umcl.registry\numcl.registry.load_all()\n"


def timed(code: str, env: dict[str, str]) -> float:
    """Wall seconds of ``python -c code`` in a fresh process."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detectors", nargs="+", default=["lrnet", "xception", "cpml", "umcl"])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    base = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    base.pop(TEXT_CACHE_ENV, None)
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        warm = {**base, TEXT_CACHE_ENV: cache}
        for det in args.detectors:
            build = BUILD.format(det=det)
            subprocess.run([sys.executable, "-c", build], env=warm, check=True, capture_output=True)  # fill the cache
            arms = {
                "registry as before (load_all), no text cache": (OLD_REGISTRY + build, base),
                "own module only, no text cache": (build, base),
                "own module only, warm text cache": (build, warm),
            }
            times: dict[str, list[float]] = {k: [] for k in arms}
            for _ in range(args.repeats):
                for name, (code, env) in arms.items():
                    times[name].append(timed(code, env))
            med = {k: statistics.median(v) for k, v in times.items()}
            first = med["registry as before (load_all), no text cache"]
            for name, value in med.items():
                rows.append(f"| {det} | {name} | {value:.2f} | {first / value:.2f}x |")
    load = os.getloadavg()
    print(
        f"Building one detector in a fresh process; median wall s of {args.repeats} (load average "
        f"{load[0]:.1f} on {os.cpu_count()} CPUs)\n"
    )
    print("| detector | how | wall s | speed-up vs the registry as before |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
