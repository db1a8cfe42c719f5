"""The video manifest: one row per video, read and written only through this module.

Columns (``docs/contracts.md``), in order: ``dataset,method,compression,split,label,path,id``.
Optional columns follow: ``group`` (the units that must stay inside one split, written by the
dataset adapters) and, for the preprocessed manifest, ``key,cache,status,reason,n_frames,
detection_rate``.

Choices:

* :func:`read_manifest` returns ``list[VideoRecord]``, not a DataFrame: ids such as ``000`` stay
  strings, each row is validated once, and callers that want pandas can call :func:`to_frame`.
* ``path`` is written as given; on reading, a relative path is resolved against the manifest's
  folder, so the records always carry absolute paths.
* ``group`` holds ``|``-separated tokens (e.g. FF++ fake ``071_054`` → ``071|054``). Each token,
  per dataset, may appear in one split only (:func:`check_no_split_overlap`); an empty group means
  the video id itself.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from umcl.errors import UmclError
from umcl.io_utils import atomic_path, read_text_file

BASE_COLUMNS: tuple[str, ...] = ("dataset", "method", "compression", "split", "label", "path", "id")
GROUP_COLUMN = "group"
PREPROCESSED_COLUMNS: tuple[str, ...] = ("key", "cache", "status", "reason", "n_frames", "detection_rate")
SPLITS: tuple[str, ...] = ("train", "val", "test")
STATUSES: tuple[str, ...] = ("ok", "failed")


@dataclasses.dataclass(frozen=True)
class VideoRecord:
    """One video. ``label`` is 1 = fake, 0 = real; ``path`` is absolute after :func:`read_manifest`."""

    dataset: str
    method: str
    compression: str
    split: str
    label: int
    path: str
    id: str
    group: str = ""
    cache: str | None = None
    status: str | None = None
    reason: str = ""
    n_frames: int | None = None
    detection_rate: float | None = None

    @property
    def key(self) -> str:
        """``dataset/method/compression/id``: the unit of grouping and de-duplication."""
        return f"{self.dataset}/{self.method}/{self.compression}/{self.id}"

    @property
    def group_tokens(self) -> tuple[str, ...]:
        """Units that must not be shared between splits (the id itself when ``group`` is empty)."""
        return tuple(t for t in self.group.split("|") if t) or (self.id,)

    @property
    def is_preprocessed(self) -> bool:
        return self.status is not None or self.cache is not None


def _fmt(value: Any) -> str:
    return "" if value is None else str(value)


def write_manifest(rows: Iterable[VideoRecord], path: str | Path) -> Path:
    """Write ``rows`` as CSV atomically, contract columns first, then the optional ones in use.

    ``group`` is written when any row has one; the preprocessed columns when any row carries a
    ``status`` or ``cache``. Raises :class:`UmclError` on an invalid row or a duplicate key.
    """
    rows = list(rows)
    for i, row in enumerate(rows):
        _validate(row, path, i + 2)
    _check_unique(rows, path)
    columns = list(BASE_COLUMNS)
    if any(r.group for r in rows):
        columns.append(GROUP_COLUMN)
    if any(r.is_preprocessed for r in rows):
        columns.extend(PREPROCESSED_COLUMNS)
    path = Path(path)
    with atomic_path(path) as tmp:
        with tmp.open("w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(columns)
            for r in rows:
                values = {**dataclasses.asdict(r), "key": r.key}
                writer.writerow([_fmt(values[c]) for c in columns])
    return path


def read_manifest(path: str | Path) -> list[VideoRecord]:
    """Read and validate a manifest; relative ``path`` values become absolute (manifest folder)."""
    path = Path(path)
    text = read_text_file(path, "manifest", "run `umcl manifest ... --out` first or pass the right file")
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in BASE_COLUMNS if c not in header]
        if missing:
            raise UmclError(
                f"manifest lacks column(s) {','.join(missing)}",
                path,
                f"the header must start with {','.join(BASE_COLUMNS)} (write it with umcl manifest)",
            )
        has_pre = any(c in header for c in PREPROCESSED_COLUMNS)
        if has_pre and not all(c in header for c in PREPROCESSED_COLUMNS):
            lack = [c for c in PREPROCESSED_COLUMNS if c not in header]
            raise UmclError(
                f"preprocessed manifest lacks column(s) {','.join(lack)}", path, "rewrite it with umcl preprocess"
            )
        try:
            rows = [_parse_row(raw, path, line, has_pre) for line, raw in enumerate(reader, start=2)]
        except csv.Error as exc:  # e.g. a field over the csv module's size limit (128 KiB)
            raise UmclError(
                f"not readable as CSV after line {reader.line_num} ({exc})",
                path,
                "fix the CSV (or write it with umcl manifest)",
            ) from None
    _check_unique(rows, path)
    return rows


def _parse_row(raw: dict[str, str | None], path: Path, line: int, has_pre: bool) -> VideoRecord:
    where = f"{path}:{line}"
    if None in raw or any(v is None for v in raw.values()):
        raise UmclError("row has a different number of fields than the header", where, "fix the CSV row")
    try:
        label = int(raw["label"])
    except ValueError:
        raise UmclError(f"label {raw['label']!r} is not 0 or 1", where, "use 1 = fake, 0 = real") from None
    video_path = raw["path"]
    if video_path and not os.path.isabs(video_path):
        video_path = str((path.parent / video_path).resolve())
    extra: dict[str, Any] = {}
    if has_pre:
        extra["cache"] = raw["cache"] or None
        extra["status"] = raw["status"] or None
        extra["reason"] = raw["reason"] or ""
        extra["n_frames"] = _number(raw["n_frames"], int, where, "n_frames")
        extra["detection_rate"] = _number(raw["detection_rate"], float, where, "detection_rate")
        if extra["cache"] and not os.path.isabs(extra["cache"]):
            extra["cache"] = str((path.parent / extra["cache"]).resolve())
    record = VideoRecord(
        dataset=raw["dataset"],
        method=raw["method"],
        compression=raw["compression"],
        split=raw["split"],
        label=label,
        path=video_path,
        id=raw["id"],
        group=raw.get(GROUP_COLUMN) or "",
        **extra,
    )
    _validate(record, where, None)
    if has_pre and raw["key"] and raw["key"] != record.key:
        raise UmclError(
            f"key {raw['key']!r} does not match its columns ({record.key})",
            where,
            "regenerate the manifest instead of editing keys by hand",
        )
    return record


def _number(text: str | None, kind: type, where: str, name: str) -> Any:
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        raise UmclError(f"{name} {text!r} is not a number", where, "fix or regenerate the row") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise UmclError(f"{name} {text!r} is not finite", where, "fix or regenerate the row")
    return value


def _validate(r: VideoRecord, where: str | Path, line: int | None) -> None:
    loc = f"{where}:{line}" if line is not None else where
    for name in ("dataset", "method", "compression", "id", "path"):
        value = getattr(r, name)
        if not isinstance(value, str) or not value:
            raise UmclError(
                f"empty or missing {name}", loc, "every row needs dataset, method, compression, id and path"
            )
        if name != "path" and "/" in value:
            raise UmclError(
                f"{name} {value!r} contains '/'",
                loc,
                "keys are dataset/method/compression/id; use no '/' inside a part",
            )
    if r.split not in SPLITS:
        raise UmclError(f"split {r.split!r} is not one of {','.join(SPLITS)}", loc, "fix the split column")
    if r.label not in (0, 1) or isinstance(r.label, bool):
        raise UmclError(f"label {r.label!r} is not 0 or 1", loc, "use 1 = fake, 0 = real")
    if r.status is not None and r.status not in STATUSES:
        raise UmclError(f"status {r.status!r} is not ok or failed", loc, "fix the status column")


def _check_unique(rows: Sequence[VideoRecord], where: str | Path) -> None:
    seen: set[str] = set()
    for r in rows:
        if r.key in seen:
            raise UmclError(
                f"video {r.key} appears twice", where, "each key dataset/method/compression/id must be unique"
            )
        seen.add(r.key)


def check_no_split_overlap(rows: Iterable[VideoRecord]) -> None:
    """Raise :class:`UmclError` when a video key or a group token (per dataset) is in two splits.

    Compression is ignored for groups: ``000`` at raw and at c40 is the same source video.
    """
    splits_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    key_split: dict[str, str] = {}
    for r in rows:
        if key_split.setdefault(r.key, r.split) != r.split:
            raise UmclError(
                f"video {r.key} is in splits {key_split[r.key]} and {r.split}",
                fix="each video must belong to exactly one split",
            )
        for token in r.group_tokens:
            splits_of[(r.dataset, token)].add(r.split)
    leaks = sorted((d, t, s) for (d, t), s in splits_of.items() if len(s) > 1)
    if leaks:
        d, t, s = leaks[0]
        raise UmclError(
            f"{len(leaks)} identity/video group(s) span several splits, e.g. {d} '{t}' in {','.join(sorted(s))}",
            fix="rebuild the manifest with `umcl manifest` (the adapters keep groups inside one split)",
        )


def filter_rows(
    rows: Iterable[VideoRecord],
    split: str | Sequence[str] | None = None,
    compression: str | Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    dataset: str | Sequence[str] | None = None,
    status: str | None = None,
) -> list[VideoRecord]:
    """Rows matching every given criterion (``None`` = any). Single strings or sequences accepted."""

    def as_set(value: str | Sequence[str] | None) -> set[str] | None:
        return None if value is None else ({value} if isinstance(value, str) else set(value))

    wanted = {
        "split": as_set(split),
        "compression": as_set(compression),
        "method": as_set(methods),
        "dataset": as_set(dataset),
        "status": as_set(status),
    }
    return [r for r in rows if all(v is None or getattr(r, k) in v for k, v in wanted.items())]


def to_frame(rows: Iterable[VideoRecord]):
    """The records as a pandas DataFrame (one column per field plus ``key``)."""
    import pandas as pd

    records = [{**dataclasses.asdict(r), "key": r.key} for r in rows]
    columns = [f.name for f in dataclasses.fields(VideoRecord)] + ["key"]
    return pd.DataFrame.from_records(records, columns=columns)
