"""Per-video fake scores and their metrics: validation during training and ``umcl evaluate``.

``evaluate_run`` scores a run's validation-selected checkpoint (``checkpoints/best.pt``, named
by ``selection.json``) on one split and compression; ``umcl.evaluation.sheet_eval.evaluate_cells``
scores it on every cell of the job sheet at once. The detector is rebuilt from the run's own
``run.json`` (the settings it was trained with), never from the evaluation config.

At test time every detector sees one video per item: the real low-quality partner views
(``frames_lq``/``landmarks_lq``, Table 11's "c23 & c40" training) are never loaded for scoring
(:func:`test_inputs`), so both Table 11 models are tested on the same single video.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from umcl.detector import Detector
from umcl.config import config_hash, from_dict, section
from umcl.errors import UmclError
from umcl.evaluation.config import EvalConfig
from umcl.evaluation.metrics import compute_metrics
from umcl.io_utils import atomic_path, read_json_file
from umcl.logs import get_logger
from umcl.registry import build_detector
from umcl.training.config import TrainConfig
from umcl.data.videos import VideoDataset, collate, read_rows, select_rows, to_device
from umcl.training.runtime import DistInfo, git_commit, load_checkpoint, resolve_device

log = get_logger("evaluate")

#: columns of scores.csv, one row per video
SCORE_COLUMNS = ("dataset", "method", "compression", "id", "key", "label", "score")


def autocast(device: torch.device, enabled: bool):
    """float16 autocast on CUDA when ``enabled``; a no-op context elsewhere (AMP is CUDA only)."""
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def test_inputs(model: Detector) -> tuple[str, ...]:
    """The batch keys a detector is scored on: its inputs without the real low-quality partner views."""
    return tuple(k for k in model.inputs if not k.endswith("_lq"))


@torch.no_grad()
def predict(model: Detector, dataset: VideoDataset, device: torch.device, batch_size: int,
            num_workers: int = 0, amp: bool = False, desc: str = "predict",
            progress: bool = True, condition=None, train_mode: bool = False) -> pd.DataFrame:
    """Score every video of ``dataset`` in order (eval mode); one row per video (``SCORE_COLUMNS``).

    ``condition``: a test-time condition (umcl.evaluation.conditions.TestCondition) applied to
    each batch before the forward pass; None = as loaded (clean). ``train_mode``: score with the
    model in training mode, as the released UMCL code validates (``training.selection:
    as_released``, a leakage option: UMCL then reads the label's prompt); never for test scores."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        collate_fn=collate, pin_memory=device.type == "cuda")
    was_training = model.training
    model.train(train_mode)
    scores: list[float] = []
    try:
        for batch in tqdm(loader, desc=desc, leave=False, disable=not progress):
            batch = to_device(batch, device)
            if condition is not None:
                from umcl.evaluation.conditions import apply_condition

                batch = apply_condition(batch, condition)
            with autocast(device, amp):
                out = model(batch)
            s = model.score(out).float().cpu()
            if s.shape != (len(batch["key"]),):
                raise UmclError(f"{type(model).__name__}.score returned shape {list(s.shape)}, "
                                f"expected [{len(batch['key'])}]")
            scores.extend(s.tolist())
    finally:
        model.train(was_training)
    rows = dataset.rows
    return pd.DataFrame({"dataset": [r.dataset for r in rows], "method": [r.method for r in rows],
                         "compression": [r.compression for r in rows], "id": [r.id for r in rows],
                         "key": [r.key for r in rows], "label": [r.label for r in rows],
                         "score": scores}, columns=list(SCORE_COLUMNS))


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
        raise UmclError(f"run.json holds invalid training settings ({exc.message})", path,
                        "train the run again with `umcl train` (run.json is written by it)") from None


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
    audit's ``selection_audit.json`` → ``checkpoints/best_audit.pt``)."""
    from umcl.training.trainer import read_selection

    run = Path(run)
    info = read_run(run)
    selection = read_selection(run, selection_file)
    train_cfg = training_of(info, run / "run.json")
    best = run / selection.get("checkpoint", "checkpoints/best.pt")
    if not best.is_file():
        raise UmclError("run has no checkpoints/best.pt (training did not finish an epoch, or it was deleted)",
                        run, "finish the run with `umcl train ... --out RUN --resume`, or train it again")
    state = load_checkpoint(best)
    if state.get("epoch") != selection["epoch"]:
        raise UmclError(f"best.pt holds epoch {state.get('epoch')} but selection.json names epoch "
                        f"{selection['epoch']}", run, "re-run or resume `umcl train` to rewrite them")
    model = build_detector(info["detector"], info["detector_config"])
    model.load_state_dict(state["model"])
    dev = resolve_device(device, DistInfo())
    model.to(dev)
    return LoadedRun(info, selection, train_cfg, model, dev)


def evaluate_run(config: dict, run: str | Path, manifest: str | Path, test_compression: str,
                 out: str | Path, split: str = "test", device: str = "auto",
                 progress: bool = True) -> dict:
    """Write ``out/scores.csv`` (one row per video) and ``out/metrics.json`` atomically; return the metrics."""
    run = Path(run)
    loaded = load_run(run, device)
    info, selection, train_cfg, model, dev = (loaded.info, loaded.selection, loaded.train_cfg, loaded.model,
                                              loaded.device)
    rows = read_rows(manifest)
    test_rows = select_rows(rows, split, test_compression, source=manifest)
    dataset = VideoDataset(test_rows, test_inputs(model), train_cfg.num_frames)
    scores = predict(model, dataset, dev, train_cfg.eval_batch_size or train_cfg.batch_size,
                     train_cfg.num_workers, train_cfg.amp, desc=f"{split} {test_compression}", progress=progress)
    ev = section(config, "evaluation", EvalConfig)
    metrics = compute_metrics(scores["label"].to_numpy(), scores["score"].to_numpy(), n_boot=ev.n_bootstrap,
                              seed=ev.seed, threshold=ev.threshold, ci=ev.ci)
    metrics["provenance"] = {
        "detector": info["detector"], "train_compression": info["train_compression"], "seed": info["seed"],
        "datasets": sorted(set(scores["dataset"])), "split": split, "test_compression": test_compression,
        "manifest": str(Path(manifest).resolve()), "n_videos": len(scores),
        "selected_epoch": selection["epoch"], "selection_split": selection["split"],
        "selection_metric": selection["metric"], "selection_value": selection["value"],
        "run": str(run.resolve()), "run_fingerprint": info["fingerprint"],
        "config_hash": config_hash(config), "train_commit": info.get("commit"), "commit": git_commit(),
        "evaluation": dataclasses.asdict(ev),
    }
    with atomic_path(Path(out), kind="evaluate") as tmp:
        tmp.mkdir()
        scores.to_csv(tmp / "scores.csv", index=False)
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True, default=str) + "\n")
    log.info("%s: %d videos, AUC %.4f (epoch %d selected on %s)", out, len(scores), metrics["auc"]["value"],
             selection["epoch"], selection["split"])
    return metrics
