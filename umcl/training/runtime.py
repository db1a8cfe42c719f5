"""Process-level setup shared by training and pretraining: device, DDP, RNG state, checkpoints."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from umcl.errors import UmclError
from umcl.io_utils import atomic_path


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a torchrun launch (rank 0 of 1 without one)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed() -> DistInfo:
    """Join the process group when launched by torchrun (``WORLD_SIZE`` > 1): NCCL on CUDA, else gloo."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
    return DistInfo(rank, local, world)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def launch_rank() -> int:
    """This process's rank as torchrun set it (0 without torchrun), before the process group exists."""
    return int(os.environ.get("RANK", "0"))


def all_reduce_sum(values: list[float], info: DistInfo) -> list[float]:
    """Element-wise sums of ``values`` over every rank (the values themselves without DDP)."""
    if not info.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


def gather_rng_states(info: DistInfo) -> list[dict[str, Any]] | None:
    """Every rank's :func:`rng_state`, in rank order (None without DDP), so that a resumed DDP run
    restores each rank's own dropout and augmentation stream."""
    if not info.enabled:
        return None
    states: list[Any] = [None] * info.world_size
    dist.all_gather_object(states, rng_state())
    return states


def resolve_device(pref: str, info: DistInfo) -> torch.device:
    """``auto`` → CUDA if present (``cuda:LOCAL_RANK`` under DDP), else CPU; ``cuda`` without a GPU is an error."""
    if pref == "auto":
        pref = "cuda" if torch.cuda.is_available() else "cpu"
    if pref.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UmclError(
                f"device '{pref}' requested but CUDA is not available", fix="set training.device: auto or cpu"
            )
        return torch.device("cuda", info.local_rank) if pref == "cuda" else torch.device(pref)
    return torch.device("cpu")


def rng_state() -> dict[str, Any]:
    """Every RNG's state, in types ``torch.load(weights_only=True)`` accepts."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved."""
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(state: dict, path: Path) -> None:
    """``torch.save`` atomically: a crash or a full disk never leaves a truncated checkpoint, and a
    failed write is a one-line :class:`UmclError` saying how much space is left."""
    try:
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
    except (OSError, RuntimeError) as exc:
        free_mib = shutil.disk_usage(path.parent).free / 2**20
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if path.with_name("last.pt").is_file():  # a training run with a complete epoch to continue from
            fix = (
                "free disk space, then continue from the last complete epoch (the pipeline does this "
                "itself; by hand rerun with --resume)"
            )
        else:
            fix = "free disk space and rerun the same command (no complete epoch was saved: nothing to resume)"
        raise UmclError(
            f"could not write checkpoint ({reason}; {free_mib:.0f} MiB free on its disk)", path, fix
        ) from exc


def load_checkpoint(path: Path) -> dict:
    """Load one of our checkpoints on CPU (tensors and plain types only)."""
    if not path.is_file():
        raise UmclError("checkpoint not found", path, "train first, or drop --resume for a new run")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise UmclError(
            f"unreadable checkpoint ({type(exc).__name__})", path, "delete the run folder and train again"
        ) from exc


def git_commit() -> str | None:
    """The commit of the code that runs (None outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).resolve().parent
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
