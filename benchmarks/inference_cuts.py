"""Three cuts of the default's CPU time, each against what it replaced, side by side:

* a frozen PhysFormer trunk pass (UMCL's P-encoder: 96 frames of 64 px, 96 wide, 12 heads, 12 layers)
  by the trunk itself against its BatchNorm-folded copy (umcl.models.folded_trunk);
* an optimizer step over Xception's 20.8 M parameters: torch's per-tensor Adam against the fused kernel
  (umcl.training.schedule.build_optimizer on CPU);
* a test batch's frames made float (8 videos x 96 frames x 64 px, as ``umcl.data.videos.to_device``)
  with torch's huge-page allocation off and on (``THP_MEM_ALLOC_ENABLE``, which torch reads once per
  process: each setting runs in a process of its own). Page faults are kernel time, so this one is
  timed by the wall clock.

One thread; best of ``--repeats``, the two sides interleaved so a slow hour slows both::

    python benchmarks/inference_cuts.py [--repeats 5]

Prints a Markdown table: seconds per call each way, the ratio, and the largest difference in value.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from layout_speed import _best  # noqa: E402  (best CPU seconds, the calls interleaved)

FLOAT_BATCH = """
import json, sys, time, torch
torch.set_num_threads(1)
x = torch.randint(0, 256, (8, 96, 64, 64, 3), dtype=torch.uint8).permute(0, 4, 1, 2, 3)
x.float()
best = float("inf")
for _ in range(int(sys.argv[1])):
    t0 = time.perf_counter()
    for _ in range(5):
        x.float().div_(255.0)
    best = min(best, (time.perf_counter() - t0) / 5)
print(json.dumps(best))
"""


def trunk(repeats: int) -> tuple[str, dict[str, float], float]:
    from umcl.models.folded_trunk import folded_copy
    from umcl.models.physformer import PhysFormer

    torch.manual_seed(0)
    model = PhysFormer(frames=96, image_size=64, num_heads=12, io="standardized").eval()
    for m in model.modules():  # statistics away from the identity, as trained weights have
        if isinstance(m, torch.nn.BatchNorm3d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    folded = folded_copy(model.trunk_modules())
    clip = model.prepare(torch.rand(1, 3, 96, 64, 64))
    with torch.no_grad():
        times = _best(
            {
                "before": lambda: model._trunk(clip, model.grid),
                "after": lambda: model._trunk(clip, model.grid, modules=folded),
            },
            repeats,
        )
        diff = (model._trunk(clip, model.grid)[0] - model._trunk(clip, model.grid, modules=folded)[0]).abs().max()
    return "frozen PhysFormer trunk, one clip (before: BatchNorm apart; after: folded)", times, float(diff)


def adam_step(repeats: int) -> tuple[str, dict[str, float], float]:
    import timm

    torch.manual_seed(0)
    model = timm.create_model("legacy_xception", pretrained=False, num_classes=2)
    copies = {"before": copy.deepcopy(model), "after": copy.deepcopy(model)}
    grads = [torch.randn_like(p) * 1e-3 for p in model.parameters()]
    for m in copies.values():
        for p, g in zip(m.parameters(), grads, strict=True):
            p.grad = g.clone()
    opts = {
        "before": torch.optim.Adam(copies["before"].parameters(), 2e-4, foreach=False),
        "after": torch.optim.Adam(copies["after"].parameters(), 2e-4, fused=True),
    }
    times = _best({k: opts[k].step for k in opts}, repeats)
    diff = max(
        (a - b).abs().max().item()
        for a, b in zip(copies["before"].parameters(), copies["after"].parameters(), strict=True)
    )
    return "Adam step over Xception's parameters (before: per tensor; after: fused)", times, diff


def float_batch(repeats: int) -> tuple[str, dict[str, float], float]:
    times: dict[str, float] = {"before": float("inf"), "after": float("inf")}
    for _ in range(repeats):
        for side, value in (("before", "0"), ("after", "1")):
            env = {**os.environ, "THP_MEM_ALLOC_ENABLE": value, "OMP_NUM_THREADS": "1"}
            out = subprocess.run(
                [sys.executable, "-c", FLOAT_BATCH, "3"], env=env, capture_output=True, text=True, check=True
            )
            times[side] = min(times[side], json.loads(out.stdout))
    return "a test batch's frames made float, wall s (before: 4 KiB pages; after: huge pages)", times, 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| what | before s | after s | before / after | largest difference |")
    print("|---|---|---|---|---|")
    for bench in (trunk, adam_step, float_batch):
        label, t, diff = bench(args.repeats)
        print(f"| {label} | {t['before']:.4f} | {t['after']:.4f} | {t['before'] / t['after']:.2f}x | {diff:.2g} |")


if __name__ == "__main__":
    main()
