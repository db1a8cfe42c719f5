"""Fuzz the ``.npz`` cache readers: any bytes as a cache, read whole (validated), as preprocessing's
re-use check reads it (meta and detection rate) and as training reads it."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._contract import check, instrumented, run, scratch  # noqa: E402

with instrumented():
    from umcl.data.preprocess.cache import read_cache
    from umcl.data.videos import load_cache

TMP = scratch("npz")
CACHE = TMP / "video.npz"


def test_one_input(data: bytes) -> None:
    CACHE.write_bytes(data)
    check("npz", data, lambda: read_cache(CACHE), (CACHE.name,))
    check("npz", data, lambda: read_cache(CACHE, keys=("meta", "detection_rate")), (CACHE.name,))  # re-use check
    check("npz", data, lambda: load_cache(CACHE, ("faces", "landmarks")), (CACHE.name,))


if __name__ == "__main__":
    run(test_one_input)
