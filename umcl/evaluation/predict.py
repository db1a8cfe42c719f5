"""Per-video fake scores and their metrics: validation during training and ``umcl evaluate``.

``evaluate_run`` scores a run's validation-selected checkpoint (``checkpoints/best.pt``, named
by ``selection.json``) on one split and compression; ``umcl.evaluation.sheet_eval.evaluate_cells``
scores it on every cell of the job sheet at once. The detector is rebuilt from the run's own
``run.json`` (the settings it was trained with), never from the evaluation config.

At test time every detector sees one video per item: the real low-quality partner views
(``frames_lq``/``landmarks_lq``, Table 11's "c23 & c40" training) are never loaded for scoring
(:func:`umcl.scoring.test_inputs`), so both Table 11 models are tested on the same single video.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from umcl.config import config_hash, from_dict, section
from umcl.data.videos import VideoDataset, read_rows, select_rows
from umcl.detector import Detector
from umcl.errors import UmclError
from umcl.evaluation.aggregate import run_metrics
from umcl.evaluation.config import EvalConfig
from umcl.io_utils import atomic_path, read_json_file
from umcl.logs import get_logger
from umcl.registry import build_detector
from umcl.scoring import predict, test_inputs
from umcl.training.config import TrainConfig
from umcl.training.runtime import DistInfo, git_commit, load_checkpoint, resolve_device
from umcl.training.trainer import read_selection

log = get_logger("evaluate")
#: the output-folder kind of an evaluation (umcl.io_utils: only an evaluation may replace it), the kind
#: ``umcl evaluate`` checks its ``--out`` against
OUTPUT_KIND = "evaluate"


def read_run(run: str | Path) -> dict:
    """A run's ``run.json`` (written by ``umcl train``)."""
    path = Path(run) / "run.json"
    if not path.is_file():
        raise UmclError("not a training run (no run.json)", Path(run), "pass the --out folder of `umcl train`")
    fix = "train the run again with `umcl train` (run.json is written by it)"
    info = read_json_file(path, "run.json", fix)
    missing = [k for k in RUN_KEYS if not isinstance(info, dict) or k not in info]
    if missing:
        raise UmclError(f"run.json lacks {missing}", path, fix)
    return info


#: keys of ``run.json`` that evaluation reads
RUN_KEYS = ("detector", "detector_config", "training", "train_compression", "seed", "fingerprint")


def training_of(info: dict, path: Path) -> TrainConfig:
    """The training settings recorded in ``info`` (a run.json at ``path``), checked as a config section is."""
    try:
        return from_dict(info["training"], TrainConfig, where="training")
    except UmclError as exc:
        raise UmclError(
            f"run.json holds invalid training settings ({exc.message})",
            path,
            "train the run again with `umcl train` (run.json is written by it)",
        ) from None


@dataclasses.dataclass
class LoadedRun:
    """A trained run's validation-selected model, ready to score (eval mode is set by ``predict``)."""

    info: dict
    selection: dict
    train_cfg: TrainConfig
    model: Detector
    device: torch.device


def load_run(run: str | Path, device: str = "auto", selection_file: str = "selection.json") -> LoadedRun:
    """Rebuild a run's detector from its ``run.json`` and load ``best.pt`` (the selected epoch).

    ``selection_file``: another selection record of the run and the checkpoint it names (the leakage
    audit's ``selection_as_released.json`` → ``checkpoints/best_as_released.pt``, umcl.training.scoring)."""
    run = Path(run)
    info = read_run(run)
    selection = read_selection(run, selection_file)
    train_cfg = training_of(info, run / "run.json")
    best = run / selection.get("checkpoint", "checkpoints/best.pt")
    if not best.is_file():
        raise UmclError(
            "run has no checkpoints/best.pt (training did not finish an epoch, or it was deleted)",
            run,
            "finish the run with `umcl train ... --out RUN --resume`, or train it again",
        )
    state = load_checkpoint(best)
    if state.get("epoch") != selection["epoch"]:
        raise UmclError(
            f"best.pt holds epoch {state.get('epoch')} but selection.json names epoch {selection['epoch']}",
            run,
            "re-run or resume `umcl train` to rewrite them",
        )
    fix = "put the run's own checkpoint back (or retrain the run with `umcl train`)"
    if state.get("detector", info["detector"]) != info["detector"]:
        raise UmclError(
            f"checkpoint of detector {state['detector']!r}, but run.json says the run trains {info['detector']!r}",
            best,
            fix,
        )
    model = build_detector(info["detector"], info["detector_config"])
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, TypeError) as exc:
        raise UmclError(
            f"checkpoint weights do not fit detector {info['detector']!r} of run.json "
            f"({type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''})",
            best,
            fix,
        ) from None
    dev = resolve_device(device, DistInfo())
    model.to(dev)
    return LoadedRun(info, selection, train_cfg, model, dev)


def check_finished(run: str | Path) -> None:
    """Refuse a run whose training did not reach ``training.epochs`` (interrupted, still training, or
    stopped by an error): its ``history.json`` (written after every epoch) is shorter than run.json's
    ``training.epochs``. Its selection is that of the epochs done so far, not of the run."""
    run = Path(run)
    info = read_run(run)
    path = run / "history.json"
    fix = (
        "finish it with `umcl train ... --out RUN --resume`, or pass --allow-unfinished to score the epochs done so far"
    )
    history = read_json_file(path, "history.json", fix) if path.is_file() else []
    done = (
        max((r.get("epoch", 0) for r in history if isinstance(r, dict)), default=0) if isinstance(history, list) else 0
    )
    wanted = info["training"].get("epochs") if isinstance(info["training"], dict) else None
    if isinstance(wanted, int) and done < wanted:
        raise UmclError(f"training did not finish: {done} of {wanted} epochs done (history.json)", run, fix)


def evaluate_run(
    config: dict,
    run: str | Path,
    manifest: str | Path,
    test_compression: str,
    out: str | Path,
    split: str = "test",
    device: str = "auto",
    progress: bool = True,
    selection_file: str = "selection.json",
) -> dict:
    """Write ``out/scores.csv`` (one row per video) and ``out/metrics.json`` atomically; return the metrics.
    ``selection_file``: which selection record names the checkpoint (:func:`load_run`)."""
    run = Path(run)
    loaded = load_run(run, device, selection_file)
    info, selection, train_cfg, model, dev = (
        loaded.info,
        loaded.selection,
        loaded.train_cfg,
        loaded.model,
        loaded.device,
    )
    rows = read_rows(manifest)
    test_rows = select_rows(rows, split, test_compression, source=manifest)
    dataset = VideoDataset(test_rows, test_inputs(model), train_cfg.num_frames)
    scores = predict(
        model,
        dataset,
        dev,
        train_cfg.eval_batch_size or train_cfg.batch_size,
        train_cfg.num_workers,
        train_cfg.amp,
        desc=f"{split} {test_compression}",
        progress=progress,
    )
    ev = section(config, "evaluation", EvalConfig)
    metrics = run_metrics(scores, **ev.stats_kwargs())
    metrics["provenance"] = {
        "detector": info["detector"],
        "train_compression": info["train_compression"],
        "seed": info["seed"],
        "datasets": sorted(set(scores["dataset"])),
        "split": split,
        "test_compression": test_compression,
        "manifest": str(Path(manifest).resolve()),
        "n_videos": len(scores),
        "selected_epoch": selection["epoch"],
        "selection_split": selection["split"],
        "selection_metric": selection["metric"],
        "selection_value": selection["value"],
        "selection_record": selection_file,
        "run": str(run.resolve()),
        "run_fingerprint": info["fingerprint"],
        "config_hash": config_hash(config),
        "train_commit": info.get("commit"),
        "commit": git_commit(),
        "evaluation": dataclasses.asdict(ev),
    }
    with atomic_path(Path(out), kind=OUTPUT_KIND) as tmp:
        tmp.mkdir()
        scores.to_csv(tmp / "scores.csv", index=False)
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True, default=str) + "\n")
    log.info(
        "%s: %d videos, AUC %.4f (epoch %d selected on %s)",
        out,
        len(scores),
        metrics["auc"]["value"],
        selection["epoch"],
        selection["split"],
    )
    return metrics
