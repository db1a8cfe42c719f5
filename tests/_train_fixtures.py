"""Synthetic preprocessed caches + manifest and a toy detector for the trainer tests.

Fake videos have a brighter red channel and a landmark offset, so a toy model can learn them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from umcl.data.manifest import VideoRecord, write_manifest
from umcl.detector import Detector
from umcl.registry import register_detector

T, S, F, X = 8, 8, 2, 8


def write_cache(path: Path, label: int, rng: np.random.Generator, n_frames: int = T, strength: int = 3) -> None:
    """One video's cache; fakes get ``strength`` added to the red channel (3: barely learnable)."""
    faces = rng.integers(0, 200, size=(n_frames, S, S, 3), dtype=np.uint8)
    faces[..., 0] = np.clip(faces[..., 0].astype(int) + strength * label, 0, 255)
    xfaces = rng.integers(0, 255, size=(F, X, X, 3), dtype=np.uint8)
    lm = rng.normal(0, 0.1, size=(n_frames, 136)).astype(np.float32) + 0.004 * label
    np.savez(
        path,
        faces=faces,
        xception_faces=xfaces,
        landmarks=lm,
        landmarks_raw=rng.normal(size=(n_frames, 68, 2)).astype(np.float32),
        boxes=np.zeros((n_frames, 4), np.float32),
        detected=np.ones(n_frames, bool),
        fps=np.float32(25),
        detection_rate=np.float32(1),
        meta="{}",
    )


def make_manifest(
    root: Path,
    counts: dict[str, tuple[int, int]] | None = None,
    compressions: tuple[str, ...] = ("c23",),
    seed: int = 0,
    n_frames: int = T,
    strength: int = 3,
) -> Path:
    """Manifest of ``counts[split] = (n_real, n_fake)`` videos per compression, with caches of
    ``n_frames`` frames (``strength``: the fakes' red-channel offset, see :func:`write_cache`)."""
    counts = counts or {"train": (4, 12), "val": (4, 4), "test": (4, 4)}
    rng = np.random.default_rng(seed)
    cache_dir = root / "cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    vid = 0
    for split, (n_real, n_fake) in counts.items():
        for label, n in ((0, n_real), (1, n_fake)):
            for _ in range(n):
                vid += 1
                method = "original" if label == 0 else "Deepfakes"
                for comp in compressions:
                    cache = cache_dir / f"{method}_{comp}_{vid:03d}.npz"
                    write_cache(cache, label, rng, n_frames, strength)
                    rows.append(
                        VideoRecord(
                            dataset="synthff",
                            method=method,
                            compression=comp,
                            split=split,
                            label=label,
                            path=f"videos/{vid:03d}.mp4",
                            id=f"{vid:03d}",
                            cache=str(cache.relative_to(root)),
                            status="ok",
                            n_frames=n_frames,
                            detection_rate=1.0,
                        )
                    )
    rows.append(
        VideoRecord(
            dataset="synthff",
            method="original",
            compression=compressions[0],
            split="train",
            label=0,
            path="videos/bad.mp4",
            id="999",
            status="failed",
            reason="no face",
        )
    )
    return write_manifest(rows, root / "manifest.csv")


@dataclass
class ToyConfig:
    hidden: int = 8
    dropout: float = 0.2


@register_detector("toy_test", config=ToyConfig)
class ToyDetector(Detector):
    """Channel means of the frames + landmark mean -> MLP with dropout (uses the torch RNG)."""

    inputs = ("frames", "landmarks")

    def __init__(self, cfg: ToyConfig):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, cfg.hidden), nn.ReLU(), nn.Dropout(cfg.dropout), nn.Linear(cfg.hidden, 2))
        self.epochs_seen: list[int] = []

    def on_epoch_start(self, epoch: int) -> None:
        self.epochs_seen.append(epoch)

    def forward(self, batch: dict) -> dict:
        frames = batch["frames"]
        assert frames.dtype == torch.float32 and frames.max() <= 1.0 and frames.dim() == 5
        feat = torch.cat(
            [frames.mean(dim=(2, 3, 4)) * 4, batch["landmarks"].mean(dim=(1, 2), keepdim=True).view(-1, 1) * 4], dim=1
        )
        return {"logits": self.net(feat)}
