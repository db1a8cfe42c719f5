"""Reuse an encoder's output across the test conditions of one evaluation, exactly.

An evaluation job scores the same test videos under many test-time conditions (Tables 7 and 8:
frame and landmark degradations, prompt policies and attacks). A condition changes only part of a
batch: under a prompt attack UMCL's P-encoder sees the same frames as under ``clean``, under a
landmark degradation Xception sees the same crops. Each detector names the submodules whose output
in eval mode is a pure function of their arguments (``Detector.memo_modules``: no dropout, no
random draw, no batch statistics); while an :class:`EncoderMemo` is active, such a module's output
is computed once per distinct input and reused, keyed by a content digest (umcl.digest) of the argument tensors'
bytes (with dtype, shape and device) and of every other argument. A reused output is a clone of the
stored one: the output a forward pass gave for exactly that input (``tests/test_evaluation_memo.py``),
so scores are unchanged, except that a pass repeated over the same input now gives the same output
where oneDNN's convolutions need not (scores and time with and without it: docs/pipeline.md).
With gradients enabled or the module in training mode nothing is stored or reused.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from umcl.digest import digest  # noqa: F401 (the memo's key; re-exported for its tests)


def _clone(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, tuple):
        return tuple(_clone(v) for v in value)
    if isinstance(value, list):
        return [_clone(v) for v in value]
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    return value


class EncoderMemo:
    """Context manager: while active, the ``model.memo_modules`` of ``model`` reuse their eval-mode
    outputs for inputs they have already seen (module docstring). ``hits`` / ``misses`` count."""

    def __init__(self, model: nn.Module):
        self.modules: dict[str, nn.Module] = {}
        for name in getattr(model, "memo_modules", ()):
            try:
                self.modules[name] = model.get_submodule(name)
            except AttributeError:  # e.g. an ablation without that modality
                continue
        self.cache: dict[tuple[str, str], Any] = {}
        self.hits = 0
        self.misses = 0

    def _wrap(self, name: str, module: nn.Module):
        forward = module.forward

        def memo_forward(*args, **kwargs):
            if torch.is_grad_enabled() or module.training:
                return forward(*args, **kwargs)
            key = (name, digest([args, kwargs]))
            if key in self.cache:
                self.hits += 1
                return _clone(self.cache[key])
            self.misses += 1
            out = forward(*args, **kwargs)
            self.cache[key] = _clone(out)  # the caller may change ``out`` in place; the cache keeps its own
            return out

        return memo_forward

    def __enter__(self) -> EncoderMemo:
        for name, module in self.modules.items():
            module.forward = self._wrap(name, module)  # instance attribute: nn.Module.__call__ calls it
        return self

    def __exit__(self, *exc) -> None:
        for module in self.modules.values():
            module.__dict__.pop("forward", None)
        self.cache.clear()
