"""Content digests of tensors and containers: the keys of the encoders' memos."""

from __future__ import annotations

import hashlib
from typing import Any

import torch


def digest(value: Any, h: hashlib._Hash | None = None) -> str:
    """SHA-1 of ``value``'s content: tensors by dtype, shape, device and bytes; containers recursively;
    anything else by ``repr`` (ints, floats, strings, None)."""
    h = h or hashlib.sha1()
    if isinstance(value, torch.Tensor):
        t = value.detach()
        h.update(f"T{t.dtype}{tuple(t.shape)}{t.device.type}|".encode())
        data = t.cpu().contiguous()
        if data.dtype == torch.bfloat16:  # no NumPy dtype: hash its 16-bit patterns
            data = data.view(torch.int16)
        h.update(memoryview(data.numpy()).cast("B"))
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}{len(value)}[".encode())
        for v in value:
            digest(v, h)
        h.update(b"]")
    elif isinstance(value, dict):
        h.update(f"dict{len(value)}{{".encode())
        for k in sorted(value, key=repr):
            h.update(repr(k).encode())
            digest(value[k], h)
        h.update(b"}")
    else:
        h.update(f"{type(value).__name__}:{value!r}|".encode())
    return h.hexdigest()
