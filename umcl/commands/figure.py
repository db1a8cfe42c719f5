"""``umcl figure``: draw the paper's Figures 6, 8 and 9 from trained runs (umcl.report.figures).

Figures 6 and 8 extract each run's features on the test split (umcl.evaluation.features: the
validation-selected model in eval mode, never retrained); Figure 9 reads the run's affinity log.

Its step's modules are imported inside its functions: torch and the rest load only when the command runs
(``umcl --help`` stays fast).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from umcl.config import load_config, section
from umcl.errors import UmclError
from umcl.logs import get_logger, setup_logging
from umcl.report.figures import FIGURES, FiguresConfig

HELP = (
    "draw figure6 (t-SNE of UMCL's fused features over test compressions), figure8 (t-SNE per ablation, "
    "modalities and fused) or figure9 (affinities during training): .png/.pdf + data + numbers (.json/.md)"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("figure", choices=FIGURES, help="which figure")
    parser.add_argument("--config", type=Path, help="resolved config (its `figures` section); default: defaults")
    parser.add_argument(
        "--runs",
        nargs="+",
        required=True,
        metavar="[TITLE=]RUN",
        help="run folders (figure8: one per ablation, TITLE=RUN; figure6/9: one)",
    )
    parser.add_argument("--manifest", type=Path, help="figure6/8: preprocessed manifest of the test videos")
    parser.add_argument(
        "--test-compressions",
        nargs="+",
        default=["raw", "c23", "c40"],
        help="figure6/8: test compressions (default raw c23 c40)",
    )
    parser.add_argument("--methods", nargs="+", default=None, help="figure6/8: keep only these fake methods")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--out", required=True, type=Path, help="output prefix (e.g. reports/figure6)")
    parser.add_argument("--log", type=Path, default=None, help="also log to this file")


def _runs(specs: list[str]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for spec in specs:
        title, sep, path = spec.partition("=")
        out[title if sep else Path(spec).as_posix()] = Path(path if sep else spec)
    return out


def run(args: argparse.Namespace) -> int:
    from umcl.evaluation.features import extract_features
    from umcl.evaluation.predict import read_run
    from umcl.report import figures

    setup_logging(args.log)
    log = get_logger("figure")
    cfg = section(load_config(args.config) if args.config else {}, "figures", FiguresConfig)
    runs = _runs(args.runs)
    if args.figure != "figure8" and len(runs) != 1:
        raise UmclError(f"`umcl figure {args.figure}` draws one run, got {len(runs)}", fix="pass one --runs folder")
    if args.figure == "figure9":
        ((title, run),) = runs.items()
        figures.figure9(figures.read_affinity_log(run), args.out, title)
    else:
        if args.manifest is None:
            raise UmclError(f"`umcl figure {args.figure}` needs --manifest", fix="pass the test videos' manifest")
        feats = {
            t: extract_features(
                r,
                args.manifest,
                args.test_compressions,
                methods=args.methods,
                max_videos=cfg.max_videos,
                seed=cfg.tsne_seed,
                device=args.device,
            )
            for t, r in runs.items()
        }
        if args.figure == "figure6":
            ((title, run),) = runs.items()
            figures.figure6(feats[title], cfg, args.out, read_run(run)["train_compression"])
        else:
            figures.figure8(feats, cfg, args.out)
    log.info("wrote %s.{png,pdf,json,md}", args.out)
    return 0
