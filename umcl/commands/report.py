"""``umcl report``: render a table (the paper's values beside ours), the reports index, or the
SynthFF difficulty sweep.

Its step's modules are imported inside its functions: torch and the rest load only when the command runs
(``umcl --help`` stays fast).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from umcl.config import config_hash, load_config, section
from umcl.errors import UmclError
from umcl.logs import get_logger, setup_logging
from umcl.protocols.studies import STUDIES
from umcl.protocols.tables import PROTOCOLS

HELP = (
    "render report tables: " + ", ".join(PROTOCOLS) + " (paper vs ours; .tex/.md/.json), claims (the "
    "paper's claims checked on our evaluations; .md/.json), paper_vs_released (.tex/.md/.json) and leakage "
    "(.md/.json) (the studies beyond the paper), index (reports/index.md) or difficulty "
    "(SynthFF difficulty sweep; .md/.json)"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", choices=[*PROTOCOLS, "claims", "index", "difficulty", *STUDIES], help="what to render")
    parser.add_argument("--config", type=Path, help="tables: resolved config the evaluations were made with")
    parser.add_argument(
        "--evaluations",
        nargs="+",
        type=Path,
        default=[],
        help="tables: evaluation indexes eval/<run>/evaluation.json written by `umcl evaluate --tests`",
    )
    parser.add_argument(
        "--paper-only",
        action="store_true",
        help="tables: render the paper's rows without evaluations of ours (refused otherwise "
        "when the profile evaluates cells of the table)",
    )
    parser.add_argument(
        "--audit-evaluations",
        nargs="+",
        type=Path,
        default=[],
        help="leakage: evaluation indexes of the audit checkpoints (umcl evaluate --selection "
        "selection_<scoring>.json), told apart by the scoring in their provenance",
    )
    parser.add_argument("--tables", nargs="+", type=Path, help="index: the tables' .json summaries")
    parser.add_argument(
        "--results", nargs="+", type=Path, help="difficulty: result folders results/<profile> of the sweep runs"
    )
    parser.add_argument("--out", required=True, type=Path, help="output prefix (e.g. reports/table6) or file (index)")
    parser.add_argument("--profile", default="custom", help="profile name for the provenance line")
    parser.add_argument("--log", type=Path, default=None, help="also log to this file")


def run(args: argparse.Namespace) -> int:
    setup_logging(args.log)
    log = get_logger("report")
    if args.table == "difficulty":
        from umcl.report.difficulty import write_sweep

        if not args.results:
            raise UmclError(
                "`umcl report difficulty` needs --results", fix="pass the sweep's results/<profile> folders"
            )
        paths = write_sweep(args.results, args.out)
    elif args.table == "index":
        from umcl.report.render import write_index

        if not args.tables:
            raise UmclError("`umcl report index` needs --tables", fix="pass the tables' .json summaries")
        paths = [write_index(args.tables, args.out, args.profile)]
    else:
        from umcl.evaluation.config import EvalConfig
        from umcl.protocols.sheet import build_sheet
        from umcl.report.render import claims_results, read_evaluations, write_table
        from umcl.specs.workflow import WorkflowConfig

        if args.config is None:
            raise UmclError(f"`umcl report {args.table}` needs --config", fix="pass the resolved config")
        cfg = load_config(args.config)
        wf = section(cfg, "workflow", WorkflowConfig)
        if args.table == "claims":
            from umcl.report.claims import render_claims

            ev = section(cfg, "evaluation", EvalConfig)
            results = claims_results(build_sheet(wf), read_evaluations(args.evaluations), ev)
            paths = list(
                render_claims(results, args.out, synthetic=wf.dataset == "synthff", n_bootstrap=ev.n_bootstrap)
            )
            log.info("wrote %s", ", ".join(str(p) for p in paths))
            return 0
        if (
            args.table in PROTOCOLS
            and not args.evaluations
            and not args.paper_only
            and build_sheet(wf).cells.get(args.table)
        ):
            raise UmclError(
                f"`umcl report {args.table}` got no --evaluations, but {args.config}'s profile "
                f"evaluates cells of {args.table}; the table would hold no number of ours",
                args.config,
                "pass the evaluation indexes (--evaluations "
                "results/<profile>/eval/<run>/<testset>/evaluation.json ...), or --paper-only",
            )
        common = dict(
            sheet=build_sheet(wf),
            wf=wf,
            profile=args.profile,
            config_hash=config_hash(cfg),
            ev=section(cfg, "evaluation", EvalConfig),
        )
        if args.table == "paper_vs_released":
            from umcl.report.paper_vs_released import write_report

            paths = write_report(args.evaluations, args.out, **common)
            log.info("wrote %s", ", ".join(str(p) for p in paths))
            return 0
        if args.table == "leakage":
            from umcl.report.leakage import write_report

            paths = write_report(args.evaluations, args.audit_evaluations, args.out, **common)
            log.info("wrote %s", ", ".join(str(p) for p in paths))
            return 0
        paths = write_table(
            args.table,
            args.evaluations,
            args.out,
            sheet=build_sheet(wf),
            dataset=wf.dataset,
            profile=args.profile,
            config_hash=config_hash(cfg),
            ev=section(cfg, "evaluation", EvalConfig),
        )
    log.info("wrote %s", ", ".join(str(p) for p in paths))
    return 0
