"""The in-process memo of decompressed ``.npz`` caches (umcl.data.videos.ArrayMemo): the arrays it gives
are those of the file, as copies, a rewritten file is read again, its size limit holds, and a bad size
setting is one line."""

from __future__ import annotations

import os

import numpy as np
import pytest

from umcl.data import videos
from umcl.data.videos import ArrayMemo, load_cache
from umcl.errors import UmclError


@pytest.fixture
def memo(monkeypatch):
    fresh = ArrayMemo(10 * 2**20)
    monkeypatch.setattr(videos, "ARRAY_MEMO", fresh)
    return fresh


def _write(path, seed: int, n: int = 8):
    rng = np.random.default_rng(seed)
    arrays = {"faces": rng.integers(0, 256, (n, 4, 4, 3), dtype=np.uint8), "landmarks": rng.random((n, 136))}
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)  # as umcl preprocess writes a cache: a new file renamed over the old
    return arrays


def test_second_read_comes_from_memo_and_equals_the_file(tmp_path, memo):
    path = tmp_path / "v.npz"
    want = _write(path, 0)
    first = load_cache(path, ["faces", "landmarks"])
    second = load_cache(path, ["faces", "landmarks"])
    assert (memo.misses, memo.hits) == (1, 1)
    for k, v in want.items():
        np.testing.assert_array_equal(first[k], v)
        np.testing.assert_array_equal(second[k], v)


def test_callers_get_copies(tmp_path, memo):
    path = tmp_path / "v.npz"
    want = _write(path, 1)
    load_cache(path, ["faces"])["faces"][:] = 0  # a caller writing into what it got
    got = load_cache(path, ["faces"])
    got["faces"][:] = 7
    np.testing.assert_array_equal(load_cache(path, ["faces"])["faces"], want["faces"])


def test_rewritten_file_is_read_again(tmp_path, memo):
    path = tmp_path / "v.npz"
    _write(path, 2)
    load_cache(path, ["faces"])
    want = _write(path, 3)  # same shapes and size class: only the content differs
    np.testing.assert_array_equal(load_cache(path, ["faces"])["faces"], want["faces"])
    assert memo.misses == 2


def test_keys_are_part_of_the_entry(tmp_path, memo):
    path = tmp_path / "v.npz"
    _write(path, 4)
    assert set(load_cache(path, ["faces"])) == {"faces"}
    assert set(load_cache(path, ["faces", "landmarks"])) == {"faces", "landmarks"}


def test_size_limit_evicts_least_recently_used():
    memo = ArrayMemo(max_bytes=250)
    a, b, c = ({"x": np.zeros(100, np.uint8) + i} for i in range(3))
    memo.put(("a",), a)
    memo.put(("b",), b)
    assert memo.get(("a",)) is not None  # a is now the most recent
    memo.put(("c",), c)  # 300 bytes > 250: b goes
    assert memo.get(("b",)) is None
    assert memo.get(("a",))["x"][0] == 0 and memo.get(("c",))["x"][0] == 2
    assert memo.bytes <= memo.max_bytes
    memo.put(("big",), {"x": np.zeros(1000, np.uint8)})  # larger than the limit: not kept
    assert memo.get(("big",)) is None and memo.bytes <= 250


def test_zero_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(videos.ARRAY_MEMO_ENV, "0")
    memo = ArrayMemo()
    monkeypatch.setattr(videos, "ARRAY_MEMO", memo)
    path = tmp_path / "v.npz"
    want = _write(path, 5)
    for _ in range(2):
        np.testing.assert_array_equal(load_cache(path, ["faces"])["faces"], want["faces"])
    assert memo.hits == 0 and memo.bytes == 0


@pytest.mark.parametrize("value", ["lots", "-1", "nan"])
def test_bad_size_setting_is_one_line(monkeypatch, value):
    monkeypatch.setenv(videos.ARRAY_MEMO_ENV, value)
    with pytest.raises(UmclError) as err:
        ArrayMemo().put(("k",), {"x": np.zeros(1)})
    assert videos.ARRAY_MEMO_ENV in str(err.value) and "\n" not in str(err.value)
