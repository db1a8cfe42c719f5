"""Videos of a preprocessed manifest as per-video batch dicts (shared by training and evaluation).

One dataset item is one video (one ``.npz`` cache, see ``docs/contracts.md``). Only the arrays a
detector lists in ``inputs`` are read. Images stay ``uint8`` through the data loader (4x less
memory and inter-process traffic) and become float in [0, 1] in :func:`to_device`, so a detector
always sees the contract's float frames. Lives in the data layer so that evaluation does not
import training.
"""

from __future__ import annotations

import os
from collections import Counter, OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from umcl.data.manifest import VideoRecord, filter_rows, read_manifest
from umcl.errors import UmclError
from umcl.seeding import numpy_rng

#: environment variable: the size in MiB of :data:`ARRAY_MEMO` (docs/contracts.md)
ARRAY_MEMO_ENV = "UMCL_ARRAY_MEMO_MB"
#: batch key -> cache array it is read from
CACHE_KEY = {
    "frames": "faces",
    "landmarks": "landmarks",
    "xception_faces": "xception_faces",
    "frames_lq": "faces",
    "landmarks_lq": "landmarks",
}
#: batch keys holding uint8 images, converted to float [0, 1] on the device
IMAGE_KEYS = ("frames", "frames_lq", "xception_faces")
#: batch keys with a time axis cut to ``num_frames``
TIME_KEYS = ("frames", "frames_lq", "landmarks", "landmarks_lq")


def read_rows(manifest: str | Path) -> list[VideoRecord]:
    """The usable rows (``status == ok``) of a preprocessed manifest."""
    rows = read_manifest(manifest)
    if rows and not any(r.is_preprocessed for r in rows):
        raise UmclError(
            "manifest has no cache columns", manifest, "pass the manifest written by `umcl preprocess --out-manifest`"
        )
    return filter_rows(rows, status="ok")


def pair_id(row: VideoRecord) -> tuple[str, str, str]:
    """Identity of a video across compressions: (dataset, method, id)."""
    return (row.dataset, row.method, row.id)


def with_partner(rows: Sequence[VideoRecord], partners: Sequence[VideoRecord]) -> list[VideoRecord]:
    """The ``rows`` whose video also exists among ``partners`` (same (dataset, method, id)).

    Face detection can fail on one compression of a video and not on another (e.g. a c40 copy
    too blurred for MTCNN); a training run that reads real c23 & c40 pairs keeps only the videos
    present in both, and says how many it dropped.
    """
    present = {pair_id(r) for r in partners}
    return [r for r in rows if pair_id(r) in present]


def keep_methods(rows: Sequence[VideoRecord], methods: Sequence[str]) -> list[VideoRecord]:
    """Real videos (label 0, whatever their method) and the fakes made by one of ``methods``."""
    wanted = set(methods)
    return [r for r in rows if r.label == 0 or r.method in wanted]


def select_rows(
    rows: Sequence[VideoRecord],
    split: str,
    compression: str,
    max_videos: int | None = None,
    seed: int = 0,
    source: str | Path = "manifest",
    methods: Sequence[str] | None = None,
) -> list[VideoRecord]:
    """Rows of one split and compression, sorted by key; optionally a seeded, class-balanced subset.

    ``methods``: keep the real videos and only the fakes of these manipulation methods
    (:func:`keep_methods`); None keeps every video.

    With ``max_videos`` the subset takes ``max_videos // 2`` videos per class (all of a class
    when it has fewer), drawn from ``(seed, split, compression)``.
    """
    picked = sorted(filter_rows(rows, split=split, compression=compression), key=lambda r: r.key)
    if methods is not None:
        picked = keep_methods(picked, methods)
    if not picked:
        raise UmclError(
            f"no usable videos for split '{split}' at compression '{compression}'"
            + (f" with methods {list(methods)}" if methods is not None else ""),
            source,
            "check the manifest's split/compression/method columns and preprocess status",
        )
    if max_videos is None or len(picked) <= max_videos:
        return picked
    rng = numpy_rng(seed, "subset", split, compression)
    keep: list[VideoRecord] = []
    for label in (0, 1):
        cls = [r for r in picked if r.label == label]
        idx = rng.permutation(len(cls))[: max_videos // 2]
        keep.extend(cls[i] for i in sorted(idx))
    return sorted(keep, key=lambda r: r.key)


class ArrayMemo:
    """The arrays last read from ``.npz`` caches, kept in this process up to ``max_bytes`` (least recently
    used first out), so that the epochs of a training run and the test-time conditions of an evaluation
    decompress each video once. An entry is keyed by the file's resolved path, inode, size and change
    times and the keys read, so a rewritten cache (``umcl preprocess`` writes to a new file and renames
    it) is read again; callers get copies, never the kept arrays."""

    def __init__(self, max_bytes: int | None = None):
        self._max_bytes = max_bytes
        self.entries: OrderedDict[tuple, dict[str, np.ndarray]] = OrderedDict()
        self.bytes = 0
        self.hits = self.misses = 0

    @property
    def max_bytes(self) -> int:
        """The size limit: as given, else ``$UMCL_ARRAY_MEMO_MB`` MiB (default 1024; 0 keeps nothing)."""
        if self._max_bytes is None:
            raw = os.environ.get(ARRAY_MEMO_ENV, "1024")
            try:
                mib = float(raw)
            except ValueError:
                mib = -1.0
            if not mib >= 0:
                raise UmclError(
                    f"{ARRAY_MEMO_ENV}={raw!r} is not a size in MiB",
                    fix=f"set {ARRAY_MEMO_ENV} to a number >= 0 (0 turns the memo off) or unset it",
                )
            self._max_bytes = int(mib * 2**20)
        return self._max_bytes

    def get(self, key: tuple) -> dict[str, np.ndarray] | None:
        arrays = self.entries.get(key)
        if arrays is None:
            self.misses += 1
            return None
        self.hits += 1
        self.entries.move_to_end(key)
        return {k: v.copy() for k, v in arrays.items()}

    def put(self, key: tuple, arrays: dict[str, np.ndarray]) -> None:
        size = sum(v.nbytes for v in arrays.values())
        if size > self.max_bytes:
            return
        if key in self.entries:
            self.bytes -= sum(v.nbytes for v in self.entries.pop(key).values())
        self.entries[key] = {k: v.copy() for k, v in arrays.items()}
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, old = self.entries.popitem(last=False)
            self.bytes -= sum(v.nbytes for v in old.values())


#: the process's memo of decompressed caches (its size: ``$UMCL_ARRAY_MEMO_MB``)
ARRAY_MEMO = ArrayMemo()


def load_cache(path: Path, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """Read the arrays ``keys`` of one ``.npz`` cache, with one-line errors for bad files; a cache read
    before in this process, unchanged since, comes from :data:`ARRAY_MEMO`."""
    if not path.is_file():
        raise UmclError("cache file not found", path, "run `umcl preprocess` for this manifest")
    try:
        stat = path.stat()
    except OSError:
        stat = None
    memo_key = (
        None
        if stat is None
        else (str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, tuple(keys))
    )
    if memo_key is not None and (kept := ARRAY_MEMO.get(memo_key)) is not None:
        return kept
    arrays = _read_cache(path, keys)
    if memo_key is not None:
        ARRAY_MEMO.put(memo_key, arrays)
    return arrays


def _read_cache(path: Path, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """Read ``keys`` of the ``.npz`` at ``path`` (one-line errors for bad files)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise UmclError(
                    f"cache lacks array(s) {missing}", path, "re-run `umcl preprocess` with the current version"
                )
            return {k: npz[k] for k in keys}
    except UmclError:
        raise
    except Exception as exc:  # noqa: BLE001 - a truncated or corrupt archive
        raise UmclError(
            f"unreadable cache ({type(exc).__name__}: {exc})".splitlines()[0],
            path,
            "delete it and re-run `umcl preprocess`",
        ) from exc


class VideoDataset(Dataset):
    """Videos of one split and compression as batch items for the keys in ``inputs``.

    ``lq_rows``: rows at another compression; ``frames_lq``/``landmarks_lq`` are then read from
    the video with the same (dataset, method, id) — the Table 11 "c23 & c40" ablation.
    """

    def __init__(
        self,
        rows: Sequence[VideoRecord],
        inputs: Sequence[str],
        num_frames: int | None = None,
        lq_rows: Sequence[VideoRecord] | None = None,
    ):
        unknown = sorted(set(inputs) - set(CACHE_KEY) - {"label", "key"})
        if unknown:
            raise UmclError(
                f"detector asks for unknown batch key(s) {unknown}",
                fix=f"batch keys are {sorted(CACHE_KEY) + ['key', 'label']}",
            )
        self.rows = list(rows)
        self.inputs = tuple(k for k in inputs if k in CACHE_KEY)
        self.num_frames = num_frames
        #: the clip length most videos have (the manifest's n_frames): without ``num_frames``, a cache of
        #: another length is named when it is read (a batch of mixed lengths cannot be stacked)
        counts = Counter(r.n_frames for r in self.rows if r.n_frames)
        self.usual_frames = counts.most_common(1)[0][0] if counts else None
        self.lq = None
        if any(k.endswith("_lq") for k in self.inputs):
            if lq_rows is None:
                raise UmclError(
                    "the detector reads a real low-quality view (frames_lq/landmarks_lq) but none was configured",
                    fix="set training.lq_compression (e.g. c40)",
                )
            by_pair = {pair_id(r): r for r in lq_rows}
            missing = [r.key for r in self.rows if pair_id(r) not in by_pair]
            if missing:
                raise UmclError(
                    f"{len(missing)} video(s) have no low-quality pair, e.g. {missing[0]}",
                    fix="preprocess the lq_compression videos of the same split",
                )
            self.lq = [by_pair[pair_id(r)] for r in self.rows]

    @property
    def labels(self) -> np.ndarray:
        return np.array([r.label for r in self.rows], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict:
        row = self.rows[index]
        hq = [k for k in self.inputs if not k.endswith("_lq")]
        lq = [k for k in self.inputs if k.endswith("_lq")]
        arrays = load_cache(Path(row.cache), sorted({CACHE_KEY[k] for k in hq}))
        item = {k: arrays[CACHE_KEY[k]] for k in hq}
        if lq:
            lq_row = self.lq[index]
            lq_arrays = load_cache(Path(lq_row.cache), sorted({CACHE_KEY[k] for k in lq}))
            item.update({k: lq_arrays[CACHE_KEY[k]] for k in lq})
        out = {k: self._tensor(k, v, row.cache) for k, v in item.items()}
        out["label"] = row.label
        out["key"] = row.key
        return out

    def _tensor(self, key: str, array: np.ndarray, path: Path) -> torch.Tensor:
        if key in TIME_KEYS and self.num_frames is not None:
            if array.shape[0] < self.num_frames:
                raise UmclError(
                    f"'{CACHE_KEY[key]}' has {array.shape[0]} frames, fewer than training.num_frames={self.num_frames}",
                    path,
                    "lower training.num_frames or preprocess more frames",
                )
            array = array[: self.num_frames]
        elif key in TIME_KEYS and self.usual_frames is not None and array.shape[0] != self.usual_frames:
            raise UmclError(
                f"'{CACHE_KEY[key]}' has {array.shape[0]} frames, but the manifest's videos have {self.usual_frames}",
                path,
                f"re-run `umcl preprocess` for it with --num-frames "
                f"{self.usual_frames}, or set training.num_frames to at most "
                f"{min(array.shape[0], self.usual_frames)}",
            )
        t = torch.from_numpy(np.ascontiguousarray(array))
        if key in IMAGE_KEYS:
            if t.dtype != torch.uint8 or t.dim() != 4 or t.shape[-1] != 3:
                raise UmclError(
                    f"'{CACHE_KEY[key]}' must be uint8 [N, S, S, 3], got {array.dtype} {list(array.shape)}",
                    path,
                    "re-run `umcl preprocess`",
                )
            # faces [T,S,S,3] -> [3,T,S,S]; xception_faces [F,X,X,3] -> [F,3,X,X]
            return t.permute(3, 0, 1, 2) if key != "xception_faces" else t.permute(0, 3, 1, 2)
        return t.float()


def collate(items: list[dict]) -> dict:
    """Stack per-video items into a batch; ``key`` stays a list of strings."""
    batch: dict = {
        "key": [it["key"] for it in items],
        "label": torch.tensor([it["label"] for it in items], dtype=torch.int64),
    }
    for k in items[0]:
        if k in ("key", "label"):
            continue
        shapes = {tuple(it[k].shape) for it in items}
        if len(shapes) > 1:
            raise UmclError(
                f"videos in one batch have different '{k}' shapes {sorted(shapes)}",
                fix="set training.num_frames so every clip has the same length",
            )
        batch[k] = torch.stack([it[k] for it in items])
    return batch


def to_device(batch: dict, device: torch.device) -> dict:
    """Move a batch to ``device``; uint8 images become float32 in [0, 1] there."""
    out = {}
    for k, v in batch.items():
        if isinstance(v, torch.Tensor):
            v = v.to(device, non_blocking=True)
            if k in IMAGE_KEYS and v.dtype == torch.uint8:
                v = v.float().div_(255.0)
        out[k] = v
    return out
