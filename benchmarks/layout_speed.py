"""Channels-last against the default memory layout, side by side, for the convolutions that dominate the
default's CPU time: an Xception training step (64 px, 16 crops) and a PhysFormer trunk pass (UMCL's frozen
P-encoder: 96 frames of 64 px, 96 wide, 12 layers) and training step (CPML's: 32 frames of 32 px, 32 wide,
3 layers). One thread, CPU seconds (best of ``--repeats``), interleaved so a slow hour slows both::

    python benchmarks/layout_speed.py [--repeats 5]

Prints a Markdown table: seconds per call in each layout, the ratio, and the largest output difference.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from torch.nn import functional as F


def _best(fns: dict, repeats: int) -> dict[str, float]:
    """Best CPU seconds of each callable, the calls interleaved (after one warm-up call each)."""
    for fn in fns.values():
        fn()
    best = {k: float("inf") for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.process_time()
            fn()
            best[k] = min(best[k], time.process_time() - t0)
    return best


def _layouts(model: torch.nn.Module, fmt: torch.memory_format) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(default-layout copy, channels-last copy) of ``model``."""
    return copy.deepcopy(model).to(memory_format=torch.contiguous_format), copy.deepcopy(model).to(memory_format=fmt)


def xception_step(repeats: int) -> tuple[str, dict[str, float], float]:
    import timm

    torch.manual_seed(0)
    plain, last = _layouts(timm.create_model("legacy_xception", pretrained=False, num_classes=2), torch.channels_last)
    x, y = torch.rand(16, 3, 64, 64), torch.randint(0, 2, (16,))
    opts = {m: torch.optim.Adam(m.parameters(), 2e-4) for m in (plain, last)}

    def step(model, inp):
        opts[model].zero_grad()
        F.cross_entropy(model(inp), y).backward()
        opts[model].step()

    xl = x.contiguous(memory_format=torch.channels_last)
    times = _best({"default": lambda: step(plain, x), "channels_last": lambda: step(last, xl)}, repeats)
    with torch.no_grad():
        diff = (plain.eval()(x) - last.eval()(xl)).abs().max().item()
    return "Xception training step, 16 crops of 64 px", times, diff


def physformer(frames: int, size: int, width: dict, train: bool, repeats: int) -> tuple[str, dict[str, float], float]:
    from umcl.models.physformer import PhysFormer

    torch.manual_seed(0)
    model = PhysFormer(frames=frames, image_size=size, **width)
    plain, last = _layouts(model, torch.channels_last_3d)
    batch = 2 if train else 1
    x = torch.rand(batch, 3, frames, size, size)

    def trunk_plain(m=plain):  # the default layout throughout (PhysFormer._trunk would convert the input)
        tokens = m.tube_embed(m.stem(x)).flatten(2).transpose(1, 2)
        for block in m.blocks:
            tokens = block(tokens, m.grid)
        return tokens

    def run(m, fn):
        if train:
            m.train().zero_grad()
            m.head_out(fn()).sum().backward()
        else:
            with torch.no_grad():
                m.eval()
                fn()

    with torch.no_grad():  # before any training pass moves BatchNorm's running statistics
        plain.eval(), last.eval()
        diff = (trunk_plain() - last._trunk(x, last.grid)[0]).abs().max().item()
    times = _best(
        {
            "default": lambda: run(plain, trunk_plain),
            "channels_last": lambda: run(last, lambda: last._trunk(x, last.grid)[0]),
        },
        repeats,
    )
    what = "training step, batch 2" if train else "trunk pass, one clip"
    return f"PhysFormer {width['dim']} wide x {width['num_layers']}, {frames} frames of {size} px: {what}", times, diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    umcl_width = {"dim": 96, "ff_dim": 144, "num_heads": 12, "num_layers": 12}
    cpml_width = {"dim": 32, "ff_dim": 48, "num_heads": 2, "num_layers": 3}
    rows = [
        xception_step(args.repeats),
        physformer(96, 64, umcl_width, False, args.repeats),
        physformer(32, 32, cpml_width, True, args.repeats),
    ]
    print("| what | default s | channels-last s | ratio | largest output difference |")
    print("|---|---|---|---|---|")
    for what, t, diff in rows:
        ratio = t["default"] / t["channels_last"]
        print(f"| {what} | {t['default']:.3f} | {t['channels_last']:.3f} | {ratio:.2f}x | {diff:.1e} |")


if __name__ == "__main__":
    main()
