"""CPU cost of one eval-mode forward of the published-width PhysFormer (dim 96, 12 layers, 12 heads).

Run (a script)::

    .venv/bin/python benchmarks/pulse_cost.py --out reports/pulse_cost.json

Times one clip (batch 1) under ``torch.no_grad`` with ``torch.set_num_threads(1)``, after one
warm-up forward, at crops of 128, 64 and 32 px and clips of 160 and 96 frames (``--crops``,
``--frames``), ``--repeats`` timed forwards each; prints a table and writes every time as JSON.
No weights are needed: cost does not depend on the values. The numbers go to
docs/results/default-sizing.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from umcl.models.physformer import PhysFormer


def time_forward(frames: int, crop: int, repeats: int) -> list[float]:
    """Seconds of ``repeats`` eval forwards of one [1, 3, frames, crop, crop] clip (after a warm-up)."""
    torch.manual_seed(0)
    model = PhysFormer(frames=frames, image_size=crop, num_heads=12).eval()
    clip = torch.randn(1, 3, frames, crop, crop)
    times = []
    with torch.no_grad():
        model(clip)
        for _ in range(repeats):
            start = time.perf_counter()
            model(clip)
            times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crops", type=int, nargs="+", default=[128, 64, 32])
    ap.add_argument("--frames", type=int, nargs="+", default=[160, 96])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for frames in args.frames:
        for crop in args.crops:
            times = time_forward(frames, crop, args.repeats)
            rows.append({"frames": frames, "crop": crop, "seconds": times, "median_s": statistics.median(times)})
            print(
                f"{frames:4d} frames x {crop:3d} px: median {statistics.median(times):.3f} s "
                f"(min {min(times):.3f}, max {max(times):.3f}, {len(times)} repeats)",
                flush=True,
            )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    "torch": torch.__version__,
                    "cpu": platform.processor() or platform.machine(),
                    "threads": 1,
                    "rows": rows,
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
