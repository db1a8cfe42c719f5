"""Reading user-supplied weight files (never downloaded): one place for the unwrapping rules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from umcl.errors import MissingWeightsError, UmclError

#: wrapper keys under which training scripts commonly store the state dict
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net")


def read_state_dict(path: str | Path, what: str) -> dict[str, torch.Tensor]:
    """Load a state dict from ``path`` (CPU), unwrapping ``{"state_dict": ...}``-style files.

    A ``module.`` prefix (DataParallel) is removed. A missing or unreadable file raises a one-line
    :class:`MissingWeightsError` / :class:`UmclError` naming ``what`` the weights are for.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(
            f"{what} weights not found",
            path,
            "pass the path of a local weight file (nothing is downloaded), "
            "or leave the weights option empty to start from scratch",
        )
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling problem is a bad file
        raise UmclError(
            f"cannot read {what} weights ({type(exc).__name__}: {exc})".splitlines()[0],
            path,
            "pass a PyTorch state-dict file (.pth/.pt)",
        ) from exc
    for key in _WRAPPER_KEYS:
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
            break
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise UmclError(f"{what} weight file holds no state dict", path, "pass a PyTorch state-dict file")
    return {(k[len("module.") :] if k.startswith("module.") else k): v for k, v in data.items()}


def load_into(
    module: nn.Module,
    state: dict[str, torch.Tensor],
    path: str | Path,
    what: str,
    remap: Callable[[str], str] | None = None,
) -> None:
    """Load ``state`` (keys optionally passed through ``remap``) strictly into ``module``.

    Mismatched keys or shapes raise a one-line :class:`UmclError` listing the first offenders.
    """
    if remap is not None:
        state = {remap(k): v for k, v in state.items()}
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        detail = "; ".join(
            f"{name}: {keys[:3]}{'...' if len(keys) > 3 else ''}"
            for name, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
            if keys
        )
        raise UmclError(
            f"{what} weights do not match the model ({detail})",
            path,
            "use weights trained with the same architecture sizes as the config",
        )
    module.load_state_dict(state, strict=True)
