"""Does open-rppg's pre-trained PhysFormer still read a 75 bpm pulse from small crops and short clips?

Run (a script)::

    .venv/bin/python benchmarks/pulse_crops.py --out reports/pulse_crops.json

For each weight set (PURE, RLAP), crop size (128, 64, 32 px), clip length (160, 96 frames at 30 fps)
and seed: a synthetic 128 px face clip with a 75 bpm pulse (:func:`umcl.pulse_synth.pulse_face_clip`)
is area-downsampled to the crop size and fed, at that size, to a PhysFormer built for it (the token
grid follows the crop: 4x4, 2x2, 1x1) with the real weights; the heart rate of its BVP is read
with :func:`umcl.rppg.estimate_hr`. Prints and writes every reading; the numbers go to
docs/results/default-sizing.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import torch

from umcl.models.open_rppg import build_physformer
from umcl.pulse_synth import pulse_face_clip
from umcl.rppg import estimate_hr


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crops", type=int, nargs="+", default=[128, 64, 32])
    ap.add_argument("--frames", type=int, nargs="+", default=[160, 96])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--bpm", type=float, default=75.0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for frames in args.frames:
        clips = {s: pulse_face_clip(frames=frames, size=128, bpm=args.bpm, fps=30.0, seed=s) for s in args.seeds}
        for crop in args.crops:
            for weights in ("pure", "rlap"):
                model, _ = build_physformer(weights, frames=frames, image_size=crop)
                model.eval()
                for seed, clip in clips.items():
                    small = (
                        clip
                        if crop == 128
                        else np.stack([cv2.resize(f, (crop, crop), interpolation=cv2.INTER_AREA) for f in clip])
                    )
                    x = torch.from_numpy(small).float().div(255).permute(3, 0, 1, 2)[None]
                    with torch.no_grad():
                        bvp = model(model.prepare(x))[0].double().numpy()
                    hr = estimate_hr(bvp, 30.0)
                    rows.append(
                        {
                            "weights": weights,
                            "crop": crop,
                            "frames": frames,
                            "seed": seed,
                            "hr_bpm": hr,
                            "error_bpm": hr - args.bpm,
                        }
                    )
                    print(f"{weights:4s} {frames:3d} frames {crop:3d} px seed {seed}: {hr:6.2f} bpm", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"bpm": args.bpm, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
