"""Evaluate one trained run on every cell the job sheet asks of it on one test dataset, in one
process.

The run is loaded once; its VALIDATION split (training selection) is scored once, so each cell can
report ACC at the validation-chosen threshold; each distinct (test dataset, compression,
test-time condition) is scored once on all its test videos, and each cell's method subset
(real videos + the fakes of its methods) is cut from those scores. Output folder (written
atomically; ``evaluation.json`` is the index the reports read)::

    OUT/evaluation.json                    run key, every cell's key and its files, provenance
    OUT/scores/val.csv                     validation scores (the threshold's source)
    OUT/scores/<dataset>-<comp>/<cond>.csv per-video test scores (all methods)
    OUT/<test selection>/<cond>/metrics.json  one cell: metrics + provenance with its EvalKey

Test-time conditions never touch the model or the run: a condition only changes the batch
(umcl.conditions.apply_condition) and the keys, never a training fingerprint.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd

from umcl.conditions import TestCondition, with_defaults
from umcl.config import config_hash, section
from umcl.data.videos import VideoDataset, read_rows, select_rows
from umcl.errors import UmclError
from umcl.evaluation.aggregate import run_metrics
from umcl.evaluation.config import EvalConfig
from umcl.evaluation.memo import EncoderMemo
from umcl.evaluation.predict import OUTPUT_KIND, load_run
from umcl.io_utils import OUTPUT_MARKER, atomic_path
from umcl.logs import get_logger
from umcl.metrics import subset
from umcl.protocols.keys import DATASET_SLUG, EvalKey, RunKey, Selection
from umcl.scoring import predict, test_inputs
from umcl.training.runtime import git_commit

log = get_logger("evaluate")
INDEX = "evaluation.json"


def adopt_earlier_evaluation(out: str | Path) -> bool:
    """Mark an evaluation folder written by an earlier version as an evaluation's: those wrote their marker
    with the generic kind ``output``, so that ``umcl evaluate`` refused to replace its own earlier result
    (a Snakemake re-run after a change). Only a folder whose marker lists this module's :data:`INDEX` is
    adopted; returns whether the marker was rewritten."""
    marker = Path(out) / OUTPUT_MARKER
    try:
        data = json.loads(marker.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    if not isinstance(data, dict) or data.get("kind") != "output" or INDEX not in (data.get("files") or []):
        return False
    marker.write_text(json.dumps({**data, "kind": OUTPUT_KIND}, indent=1) + "\n")
    return True


def check_run_matches(info: dict, key: RunKey, run: Path) -> None:
    """The run folder must hold the run the key names (detector, compression, seed, methods)."""
    try:
        got = (
            info["detector"],
            info["train_compression"],
            int(info["seed"]),
            tuple(info["methods"]) if info.get("methods") else None,
        )
    except (TypeError, ValueError):
        raise UmclError(
            f"seed {info['seed']!r} or methods {info.get('methods')!r} is not a whole number or a list",
            run / "run.json",
            "train the run again with `umcl train`",
        ) from None
    want = (key.detector, key.train.compression, key.seed, key.train.methods)
    if got != want:
        raise UmclError(
            f"run.json describes {got}, but the key {key.to_path()} asks for {want}",
            run,
            "pass the run folder of that key (results/<profile>/runs/<key>)",
        )


def _scores_name(sel: Selection, condition: str) -> str:
    return f"scores/{DATASET_SLUG[sel.dataset]}-{sel.compression}/{condition}.csv"


def evaluate_cells(
    config: dict,
    run: str | Path,
    key: RunKey,
    tests: list[str],
    manifests: dict[str, str | list[str]],
    out: str | Path,
    device: str = "auto",
    progress: bool = True,
    selection_file: str = "selection.json",
) -> dict:
    """Score ``run`` (the folder of ``key``) on validation and on every ``tests`` entry
    (``<test selection>/<condition>``, EvalKey.test_path); write ``out`` (module docstring).
    ``selection_file``: which selection record names the checkpoint (predict.load_run)."""
    run, out = Path(run), Path(out)
    keys = [EvalKey.from_test_path(key, t) for t in tests]
    by_role = {r: [p] if isinstance(p, (str, Path)) else list(p) for r, p in manifests.items()}
    if not keys:
        raise UmclError("no evaluation cells given", fix="pass --tests <selection>/<condition> ...")
    roles = {key.train.dataset} | {k.test.dataset for k in keys}
    absent = sorted(roles - set(by_role))
    if absent:
        raise UmclError(f"no manifest for dataset(s) {absent}", fix="pass --manifests ROLE=preprocessed.csv for each")
    ev = section(config, "evaluation", EvalConfig)
    loaded = load_run(run, device, selection_file)
    check_run_matches(loaded.info, key, run)
    model, cfg = loaded.model, loaded.train_cfg
    batch_size = cfg.eval_batch_size or cfg.batch_size
    inputs = test_inputs(model)

    def score(rows, desc: str, condition=None) -> pd.DataFrame:
        return predict(
            model,
            VideoDataset(rows, inputs, cfg.num_frames),
            loaded.device,
            batch_size,
            cfg.num_workers,
            cfg.amp,
            desc=desc,
            progress=progress,
            condition=condition,
        )

    tables = {p: read_rows(p) for paths in by_role.values() for p in paths}

    def holder(role: str, compression: str) -> str | Path:
        """The manifest of ``role`` holding ``compression`` (a role may have several: Table U's platforms)."""
        paths = by_role[role]
        return next((p for p in paths if any(r.compression == compression for r in tables[p])), paths[0])

    train_manifest = holder(key.train.dataset, key.train.compression)
    with EncoderMemo(model) as memo:  # encoder outputs reused across conditions, exactly (umcl.evaluation.memo)
        val = score(
            select_rows(
                tables[train_manifest],
                "val",
                key.train.compression,
                source=train_manifest,
                methods=key.train.methods,
            ),
            "val",
        )
        files: dict[str, pd.DataFrame] = {"scores/val.csv": val}
        groups = sorted({(k.test.dataset, k.test.compression, k.condition) for k in keys})
        for dataset, comp, cond in groups:
            manifest = holder(dataset, comp)
            rows = select_rows(tables[manifest], "test", comp, source=manifest)
            condition = None if cond == "clean" else TestCondition.from_key(cond)
            files[_scores_name(Selection(dataset, comp), cond)] = score(
                rows, f"test {dataset} {comp} {cond}", condition
            )
    log.info("encoder outputs reused across conditions: %d of %d batches", memo.hits, memo.hits + memo.misses)
    info = loaded.info
    common = {
        "run": str(run.resolve()),
        "run_fingerprint": info["fingerprint"],
        "detector": info["detector"],
        "selected_epoch": loaded.selection["epoch"],
        "selection_split": loaded.selection["split"],
        "selection_metric": loaded.selection["metric"],
        "selection_value": loaded.selection["value"],
        "selection_record": selection_file,
        "selection_scoring": loaded.selection.get("scoring", cfg.selection),
        "config_hash": config_hash(config),
        "train_commit": info.get("commit"),
        "commit": git_commit(),
        "evaluation": dataclasses.asdict(ev),
        "val_scores": "scores/val.csv",
    }
    cells, metrics_files = [], {}
    for k in keys:
        name = _scores_name(Selection(k.test.dataset, k.test.compression), k.condition)
        test = subset(files[name], k.test.methods)
        if test["label"].nunique() < 2:
            raise UmclError(
                f"cell {k.to_path()} has only one class ({len(test)} videos)",
                holder(k.test.dataset, k.test.compression),
                "check the test split's real and fake videos",
            )
        m = run_metrics(test, val, **ev.stats_kwargs())  # the report's statistics at this run's seed
        # the condition the model applied: the key's, completed by the detector's default (umcl-released's
        # fixed test prompt; umcl.conditions.with_defaults)
        applied = with_defaults(TestCondition.from_key(k.condition), TestCondition.from_key(model.default_condition))
        m["provenance"] = {
            **common,
            "key": k.to_dict(),
            "condition_applied": applied.key,
            "scores": name,
            "n_videos": len(test),
            "manifest": str(Path(holder(k.test.dataset, k.test.compression)).resolve()),
            "datasets": sorted(set(test["dataset"])),
        }
        metrics_files[f"{k.test_path}/metrics.json"] = m
        cells.append(
            {
                "key": k.to_dict(),
                "path": k.to_path(),
                "metrics": f"{k.test_path}/metrics.json",
                "scores": name,
                "methods": None if k.test.methods is None else list(k.test.methods),
            }
        )
        log.info("%s: %d videos, AUC %.4f", k.to_path(), len(test), m["auc"]["value"])
    index = {"run": key.to_dict(), "run_path": key.to_path(), "cells": cells, "provenance": common}
    with atomic_path(out, kind=OUTPUT_KIND) as tmp:
        tmp.mkdir()
        for name, df in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            df.to_csv(tmp / name, index=False)
        for name, m in metrics_files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(json.dumps(m, indent=2, sort_keys=True, default=str) + "\n")
        (tmp / INDEX).write_text(json.dumps(index, indent=2, sort_keys=True, default=str) + "\n")
    return index
