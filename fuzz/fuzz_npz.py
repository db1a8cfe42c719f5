"""Fuzz the ``.npz`` cache readers: any bytes as a cache, read whole (validated), as preprocessing's
re-use check reads it (meta and detection rate) and as training reads it."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._contract import check, instrumented, run, scratch  # noqa: E402

with instrumented():
    from umcl.data import videos
    from umcl.data.preprocess.cache import read_cache
    from umcl.data.videos import ArrayMemo, load_cache

# every input is written over the same file, possibly within one tick of the file clock and at the same size:
# the in-process memo of decompressed caches would hand back an earlier input's arrays, so it keeps nothing here
videos.ARRAY_MEMO = ArrayMemo(0)
TMP = scratch("npz")
CACHE = TMP / "video.npz"


def test_one_input(data: bytes) -> None:
    CACHE.write_bytes(data)
    check("npz", data, lambda: read_cache(CACHE), (CACHE.name,))
    check("npz", data, lambda: read_cache(CACHE, keys=("meta", "detection_rate")), (CACHE.name,))  # re-use check
    check("npz", data, lambda: load_cache(CACHE, ("faces", "landmarks")), (CACHE.name,))


if __name__ == "__main__":
    run(test_one_input)
