"""Content digests of tensors and containers: the keys of the encoders' memos.

XXH3-128 (the ``xxhash`` package), not a cryptographic hash: the keys name inputs this process or the
profile's other jobs computed, nothing adversarial, and 128 bits make an accidental collision
negligible. Every training step and test condition hashes each clip, so the hash's speed counts
(measured against SHA-1 in docs/pipeline.md).
"""

from __future__ import annotations

from typing import Any

import torch
import xxhash


def digest(value: Any, h: xxhash.xxh3_128 | None = None) -> str:
    """XXH3-128 of ``value``'s content: tensors by dtype, shape, device and bytes; containers recursively;
    anything else by ``repr`` (ints, floats, strings, None)."""
    h = h or xxhash.xxh3_128()
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
