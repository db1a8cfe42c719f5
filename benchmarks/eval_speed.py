"""One evaluate job with and without the encoder memo, side by side (issue 9 §4).

An evaluate job scores a run on every cell the job sheet asks of it on one test dataset; the
raw-trained runs also score Tables 7 and 8's test-time conditions. ``umcl.evaluation.memo`` reuses
an encoder's output when a condition leaves its input unchanged. This script runs the same job
(``evaluate_cells``, in this process, the pipeline's single thread) both ways, alternated, and
reports the median wall time of each, their ratio, the largest difference between the two runs'
per-video scores, and whether every cell's metrics are the same.

Run after a pipeline run of the profile (it reads the trained runs and the manifests):
``.venv/bin/python benchmarks/eval_speed.py --profile default --runs umcl/ffpp-all-raw/seed0
xception/ffpp-all-raw/seed0 --repeats 2``. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from umcl.config import load_config
from umcl.evaluation.sheet_eval import evaluate_cells
from umcl.protocols.keys import DATASET_SLUG, RunKey
from umcl.registry import get_entry
from umcl.specs.vocab import TEXT_CACHE_ENV
from umcl.workflow import load_profile


def job(profile: str, run: RunKey, testset: str):
    """The config, cells, manifests and layout of the pipeline's evaluate job for ``run`` on ``testset``."""
    _, layout = load_profile(profile, check=False)
    keys = [k for k in layout.sheet.evaluations[run] if DATASET_SLUG[k.test.dataset] == testset]
    roles = {run.train.dataset} | {k.test.dataset for k in keys}
    manifests = {r: layout.preprocessed_of(layout.part_of(r)) for r in roles}
    return load_config(layout.resolved_config), [k.test_path for k in keys], manifests, layout


def same_outputs(a: Path, b: Path) -> tuple[float, bool]:
    """(largest per-video score difference, every cell's metrics equal apart from provenance)."""
    scores = max(
        float((pd.read_csv(f)["score"] - pd.read_csv(b / f.relative_to(a))["score"]).abs().max())
        for f in a.rglob("scores/**/*.csv")
    )
    metrics = True
    for f in a.rglob("metrics.json"):
        x, y = json.loads(f.read_text()), json.loads((b / f.relative_to(a)).read_text())
        x.pop("provenance"), y.pop("provenance")
        metrics &= x == y
    return scores, metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default")
    ap.add_argument(
        "--runs",
        nargs="+",
        default=["umcl/ffpp-all-raw/seed0", "cpml/ffpp-all-raw/seed0", "xception/ffpp-all-raw/seed0"],
    )
    ap.add_argument("--testset", default="ffpp")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)  # workflow.resources.evaluate.threads on the shipped profiles
    rows = []
    for path in args.runs:
        run = RunKey.from_path(path)
        config, tests, manifests, layout = job(args.profile, run, args.testset)
        os.environ.setdefault(TEXT_CACHE_ENV, os.path.abspath(layout.text_cache))
        cls = get_entry(run.detector).cls
        memo_modules = cls.memo_modules
        times: dict[str, list[float]] = {"without memo": [], "with memo": []}
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(args.repeats):
                for arm in times:
                    cls.memo_modules = memo_modules if arm == "with memo" else ()
                    out = Path(tmp) / f"{arm.replace(' ', '_')}{i}"
                    start = time.perf_counter()
                    evaluate_cells(
                        config, layout.run_dir(run), run, tests, manifests, out, device="cpu", progress=False
                    )
                    times[arm].append(time.perf_counter() - start)
            cls.memo_modules = memo_modules
            scores, metrics = same_outputs(Path(tmp) / "without_memo0", Path(tmp) / "with_memo0")
        before, after = (statistics.median(times[a]) for a in times)
        rows.append(
            f"| {path} | {len(tests)} | {before:.1f} | {after:.1f} | {before / after:.2f}x | "
            f"{scores:.1e} | {'yes' if metrics else 'no'} |"
        )
    load = os.getloadavg()
    print(
        f"One evaluate job in this process, median wall s of {args.repeats} (alternated; load average "
        f"{load[0]:.1f} on {os.cpu_count()} CPUs)\n"
    )
    print(
        "| run | cells | without memo | with memo | speed-up | largest score difference | same metrics |\n"
        "|---|---|---|---|---|---|---|"
    )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
