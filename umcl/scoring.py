"""Scoring a detector on a dataset: the one forward loop that validation (umcl.training) and testing
(umcl.evaluation) share, one row of ``SCORE_COLUMNS`` per video."""

from __future__ import annotations

import contextlib

import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from umcl.conditions import apply_condition
from umcl.data.videos import VideoDataset, collate, to_device
from umcl.detector import Detector
from umcl.errors import UmclError

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
def predict(
    model: Detector,
    dataset: VideoDataset,
    device: torch.device,
    batch_size: int,
    num_workers: int = 0,
    amp: bool = False,
    desc: str = "predict",
    progress: bool = True,
    condition=None,
    train_mode: bool = False,
) -> pd.DataFrame:
    """Score every video of ``dataset`` in order (eval mode); one row per video (``SCORE_COLUMNS``).

    ``condition``: a test-time condition (umcl.conditions.TestCondition) applied to
    each batch before the forward pass; None = as loaded (clean). ``train_mode``: score with the
    model in training mode, as the released UMCL code validates (``training.selection:
    as_released``, a leakage option: UMCL then reads the label's prompt); never for test scores."""
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=collate,
        pin_memory=device.type == "cuda",
    )
    was_training = model.training
    model.train(train_mode)
    scores: list[float] = []
    try:
        for batch in tqdm(loader, desc=desc, leave=False, disable=not progress):
            batch = to_device(batch, device)
            if condition is not None:
                batch = apply_condition(batch, condition)
            with autocast(device, amp):
                out = model(batch)
            s = model.score(out).float().cpu()
            if s.shape != (len(batch["key"]),):
                raise UmclError(
                    f"{type(model).__name__}.score returned shape {list(s.shape)}, expected [{len(batch['key'])}]"
                )
            scores.extend(s.tolist())
    finally:
        model.train(was_training)
    rows = dataset.rows
    return pd.DataFrame(
        {
            "dataset": [r.dataset for r in rows],
            "method": [r.method for r in rows],
            "compression": [r.compression for r in rows],
            "id": [r.id for r in rows],
            "key": [r.key for r in rows],
            "label": [r.label for r in rows],
            "score": scores,
        },
        columns=list(SCORE_COLUMNS),
    )
