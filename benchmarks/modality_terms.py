"""Where UMCL's score comes from in a profile's Table 3 runs: its logit term per modality.

UMCL's classifier (eq. 7) is linear in U = [ẑ, ê, t̂] (eq. 6), so the fake-minus-real logit of a test
video is a sum of one term per modality (``learning_curve.modality_contributions``). For every UMCL
run of Table 3 (each training compression and seed) and its own test compression, this prints each
term's spread and AUC alone, overall and per manipulation (that manipulation's fakes against the real
videos): is the rPPG term informative, and for which fakes?

    python benchmarks/modality_terms.py results/default --out docs/results/umcl-modality-terms.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from learning_curve import modality_contributions  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", type=Path, help="a profile's results folder, e.g. results/default")
    p.add_argument("--manifest", type=Path, help="the preprocessed manifest (default: RESULTS/data/preprocessed.csv)")
    p.add_argument("--out", type=Path, required=True, help="JSON file to write")
    args = p.parse_args(argv)
    manifest = args.manifest or args.results / "data" / "preprocessed.csv"
    rows = []
    for run in sorted((args.results / "runs" / "umcl").glob("*/seed*")):
        train = run.parent.name.rsplit("-", 1)[-1]  # e.g. synthff-all-c23 -> c23
        if not (run / "selection.json").is_file():
            continue
        terms = modality_contributions(run, manifest, train)
        rows.append({"run": str(run.relative_to(args.results)), "test": train, **terms})
        print(run, json.dumps({k: v for k, v in terms.items() if k != "split"}, default=float)[:400])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
