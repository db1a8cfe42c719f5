"""``umcl pulse-study``: reports/pulse — SynthFF's pulse read zero-shot by real-data PhysFormers and POS/CHROM/GREEN."""

from __future__ import annotations

import argparse
from pathlib import Path

from umcl.logs import setup_logging

HELP = "zero-shot pulse study on a SynthFF set of its own (reports/pulse.{md,json,png}; umcl.pulse_study)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None, help="YAML config (its synthff and workflow.pulse_study)")
    parser.add_argument("--work", type=Path, required=True, help="folder of the study's SynthFF set (reused)")
    parser.add_argument("--out", type=Path, required=True, help="report prefix: writes OUT.md, OUT.json, OUT.png")
    parser.add_argument("--workers", type=int, default=1, help="parallel generate/compress processes")
    parser.add_argument("--log", type=Path, default=None, help="append the log to this file")


def run(args: argparse.Namespace) -> int:
    from umcl.config import config_errors_name, load_config, section
    from umcl.data.synthff import SynthFFConfig
    from umcl.pulse_study import PulseStudyConfig, run_study

    setup_logging(args.log)
    cfg = load_config(args.config) if args.config else {}
    with config_errors_name(args.config):
        synth = section(cfg, "synthff", SynthFFConfig)
        study = section(cfg.get("workflow") or {}, "pulse_study", PulseStudyConfig)
    result = run_study(synth, study, args.work, args.out, workers=max(1, args.workers))
    for level, per in result["summary"]["originals"].items():
        print(level, {k: round(v["mae_bpm"], 1) for k, v in per.items()})
    return 0
