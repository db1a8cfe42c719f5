"""Back a model's memory with 2 MB pages (Linux transparent huge pages), for fewer TLB misses.

dlib's 68-point shape predictor walks 7,500 regression trees per face and reads one leaf of each
(136 floats) from about 100 MB of model spread over the heap: with 4 KB pages nearly every read
misses the TLB. Linux backs anonymous memory with 2 MB pages where the process asks for it, and
``MADV_COLLAPSE`` (Linux 6.1) moves already-written memory into such pages at once, whatever the
system's transparent-huge-page setting, without marking the mapping for later growth (an
``MADV_HUGEPAGE`` on the heap would back every later allocation there with 2 MB pages too). The contents
do not change, only the page size, so the landmarks are bit-identical; where the kernel refuses
(older kernels, other systems) nothing happens. Measured in docs/preprocessing.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

MADV_COLLAPSE = 25  # Linux's value
HUGE = 2 * 2**20


def _anonymous_rw() -> dict[int, tuple[int, bool]]:
    """Start -> (end, is the heap) of this process's writable anonymous mappings."""
    spans = {}
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            if parts[1].startswith("rw") and (len(parts) < 6 or parts[5] == "[heap]"):
                start, end = (int(v, 16) for v in parts[0].split("-"))
                spans[start] = (end, len(parts) >= 6)
    return spans


def load_on_huge_pages(load: Callable[[], T]) -> T:
    """``load()``, then the memory it may have written (the heap, where small allocations go, and the
    anonymous mappings it added or grew) collapsed into 2 MB pages now. Best effort: any failure
    is ignored."""
    if not sys.platform.startswith("linux"):
        return load()
    try:
        before = _anonymous_rw()
    except OSError:
        return load()
    result = load()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        for start, (end, heap) in _anonymous_rw().items():
            if not heap and before.get(start, (None,))[0] == end:
                continue  # not touched by the loading
            lo = (start + HUGE - 1) // HUGE * HUGE
            if end - lo >= HUGE:
                libc.madvise(lo, end - lo, MADV_COLLAPSE)
    except (OSError, AttributeError, ValueError):
        pass
    return result
