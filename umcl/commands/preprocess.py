"""``umcl preprocess``: face crops, landmarks and calibrated landmarks, one cache per video.

Its step's modules are imported inside its functions: torch and the rest load only when the command runs
(``umcl --help`` stays fast).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from umcl.config import config_errors_name, load_config, section
from umcl.data.preprocess.config import PreprocessConfig
from umcl.errors import UmclError
from umcl.io_utils import check_output_path
from umcl.logs import setup_logging

HELP = "Preprocess videos: MTCNN crops, 68 landmarks, LRNet calibration → one .npz cache per video"

# CLI flag -> PreprocessConfig field (flags override the config file)
OVERRIDES = {
    "num_frames": int,
    "crop_size": int,
    "keyframe_interval": int,
    "landmark_backend": str,
    "min_detection_rate": float,
    "detector_batch_size": int,
    "device": str,
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", nargs="?", help="one video (by hand): writes OUT/<stem>.npz")
    parser.add_argument("--manifest", help="batch mode: manifest CSV of the videos")
    parser.add_argument("--out", required=True, help="output folder for the caches")
    parser.add_argument("--out-manifest", help="batch mode: preprocessed manifest CSV to write")
    parser.add_argument("--config", help="YAML config (its `preprocess` section is used)")
    parser.add_argument("--workers", type=int, default=1, help="batch mode: parallel processes")
    parser.add_argument("--overwrite", action="store_true", help="recompute caches that already exist")
    parser.add_argument("--log", help="also write the log to this file")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    for name, kind in OVERRIDES.items():
        choices = ["dlib", "fan"] if name == "landmark_backend" else None
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=kind, default=None, choices=choices, help=f"override preprocess.{name}"
        )


def build_config(args: argparse.Namespace) -> PreprocessConfig:
    """The ``preprocess`` section of ``--config`` (defaults without one), then the CLI overrides.

    An error in the file's values names the file; one in an overridden value names its option.
    """
    raw = dict((load_config(args.config) if args.config else {}).get("preprocess") or {})
    with config_errors_name(args.config):
        section({"preprocess": raw}, "preprocess", PreprocessConfig)
    flags = {}
    for name in OVERRIDES:
        value = getattr(args, name, None)
        if value is not None:
            raw[name] = value
            flags[name] = f"--{name.replace('_', '-')}"
    with config_errors_name(f"command line ({' '.join(flags.values())})" if flags else None):
        return section({"preprocess": raw}, "preprocess", PreprocessConfig)


def check_paths(args: argparse.Namespace) -> None:
    """Refuse, before any work, outputs that would replace an input or something not ours."""
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UmclError(
            "--out exists and is a file, but it is the cache folder; it was left untouched",
            out,
            "give --out a folder path",
        )
    if args.out_manifest is None:
        return
    if args.manifest and Path(args.out_manifest).resolve() == Path(args.manifest).resolve():
        raise UmclError(
            "--out-manifest is the input --manifest; writing it would replace the input",
            args.manifest,
            "give --out-manifest a new file, e.g. preprocessed.csv",
        )
    check_output_path(args.out_manifest, is_dir=False, new_format="text", option="--out-manifest")


def run(args: argparse.Namespace) -> int:
    if (args.video is None) == (args.manifest is None):
        raise UmclError(
            "give either one VIDEO or --manifest M.csv (not both, not neither)",
            fix="umcl preprocess VIDEO --out DIR  or  umcl preprocess --manifest M.csv --out DIR --out-manifest P.csv",
        )
    if args.manifest and not args.out_manifest:
        raise UmclError("--manifest needs --out-manifest", fix="add --out-manifest P.csv")
    if args.workers < 1:
        raise UmclError(f"--workers must be at least 1, got {args.workers}", fix="pass --workers 1 or more")
    check_paths(args)
    setup_logging(args.log)
    cfg = build_config(args)
    from umcl.data.preprocess.pipeline import preprocess_manifest, preprocess_video

    if args.video is not None:
        preprocess_video(args.video, Path(args.out) / f"{Path(args.video).stem}.npz", cfg)
        return 0
    rows = preprocess_manifest(
        args.manifest,
        args.out,
        args.out_manifest,
        cfg,
        workers=args.workers,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    n_ok = sum(r.status == "ok" for r in rows)
    print(f"preprocessed {n_ok}/{len(rows)} videos; manifest: {args.out_manifest}")
    return 0 if n_ok else 1
