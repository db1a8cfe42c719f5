"""UMCL's features for the paper's t-SNE figures (6 and 8), extracted from a trained run.

A run's validation-selected model is loaded as for scoring (:func:`umcl.evaluation.predict.load_run`,
eval mode, the test inputs only, the clean condition unless one is given) and each test video gives

* ``fused``: ``U`` of eq. 10, the concatenated per-modality projections (``features`` of the forward
  pass, each modality's HQ/LQ average as in eq. 9) [N, m·d];
* one array per modality before fusion (``rppg`` = ẑ, ``landmarks`` = ê, ``text`` = t̂) [N, d].

Nothing is trained and the run folder is only read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from umcl.conditions import apply_condition
from umcl.data.videos import VideoDataset, collate, read_rows, select_rows, to_device
from umcl.errors import UmclError
from umcl.evaluation.predict import LoadedRun, load_run
from umcl.scoring import autocast, test_inputs


@dataclass
class FeatureSet:
    """Features of N videos: ``fused`` [N, m·d], ``modalities`` name -> [N, d], and per-video labels."""

    fused: np.ndarray
    modalities: dict[str, np.ndarray]
    label: np.ndarray
    compression: np.ndarray
    key: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.label)

    @staticmethod
    def concat(parts: Sequence[FeatureSet]) -> FeatureSet:
        """The videos of every part, in order (same modalities required)."""
        names = list(parts[0].modalities)
        if any(list(p.modalities) != names for p in parts):
            raise UmclError("feature sets with different modalities cannot be joined")
        cat = np.concatenate
        return FeatureSet(
            cat([p.fused for p in parts]),
            {m: cat([p.modalities[m] for p in parts]) for m in names},
            cat([p.label for p in parts]),
            cat([p.compression for p in parts]),
            cat([p.key for p in parts]),
        )


@torch.no_grad()
def model_features(loaded: LoadedRun, dataset: VideoDataset, batch_size: int, condition=None) -> FeatureSet:
    """Forward every video of ``dataset`` through the run's model (eval mode) and keep its features."""
    model, device = loaded.model, loaded.device
    modalities = list(getattr(model, "modalities", []))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate)
    was_training = model.training
    model.eval()
    fused, per = [], {m: [] for m in modalities}
    try:
        for batch in loader:
            batch = to_device(batch, device)
            if condition is not None:
                batch = apply_condition(batch, condition)
            with autocast(device, loaded.train_cfg.amp):
                out = model(batch)
            if "asa_features" not in out or not modalities:
                raise UmclError(
                    f"detector {loaded.info['detector']} exposes no per-modality features (asa_features)",
                    fix="extract features from a UMCL run",
                )
            fused.append(out["features"].float().cpu().numpy())
            for i, m in enumerate(modalities):
                per[m].append(out["asa_features"][:, i].float().cpu().numpy())
    finally:
        model.train(was_training)
    rows = dataset.rows
    return FeatureSet(
        np.concatenate(fused),
        {m: np.concatenate(v) for m, v in per.items()},
        np.array([r.label for r in rows], dtype=np.int64),
        np.array([r.compression for r in rows]),
        np.array([r.key for r in rows]),
    )


def extract_features(
    run: str | Path,
    manifest: str | Path,
    compressions: Sequence[str],
    split: str = "test",
    methods: Sequence[str] | None = None,
    max_videos: int | None = None,
    seed: int = 0,
    device: str = "auto",
    condition=None,
) -> FeatureSet:
    """Features of ``run``'s selected model on ``split`` of ``manifest`` at each compression (joined in order).

    ``max_videos`` caps the videos per compression (class-balanced, seeded: umcl.data.videos.select_rows)."""
    loaded = load_run(run, device)
    rows = read_rows(manifest)
    cfg = loaded.train_cfg
    parts = []
    for comp in compressions:
        picked = select_rows(rows, split, comp, max_videos, seed, manifest, methods)
        dataset = VideoDataset(picked, test_inputs(loaded.model), cfg.num_frames)
        parts.append(model_features(loaded, dataset, cfg.eval_batch_size or cfg.batch_size, condition))
    return FeatureSet.concat(parts)
