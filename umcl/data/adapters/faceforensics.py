"""FaceForensics++ (and SynthFF, which writes the same layout) and DeepFakeDetection (DFD).

FF++ / SynthFF (``dataset`` is a parameter, ``ff++`` or ``synthff``)::

    ROOT/original_sequences/youtube/{raw,c23,c40}/videos/NNN.mp4          method "original", label 0
    ROOT/manipulated_sequences/<Method>/{raw,c23,c40}/videos/A_B.mp4       method <Method>, label 1

Splits come from the official json files (lists of ``[a, b]`` pairs): a pair gives originals
``a``, ``b`` and fakes ``a_b``, ``b_a`` in the pair's split. Which files are read, first found
wins: ``splits_dir`` (explicit beats implicit), ``ROOT/splits/``, then — for ``ff++`` only — the
official copy shipped in ``umcl/data/adapters/splits/ff/``. The expected videos are derived from
the split files; those absent on disk are reported in ``missing`` (an error unless
``allow_missing``); videos on disk that are in no split are counted in ``excluded``.
Group tokens: ``a`` for an original, ``a|b`` for a fake.

DFD::

    ROOT/original_sequences/actors/{raw,c23,c40}/videos/01__scene.mp4                method "actors", label 0
    ROOT/manipulated_sequences/DeepFakeDetection/{raw,c23,c40}/videos/01_02__scene__CODE.mp4   label 1

DFD has no official split. Actors are assigned to train/val/test 70/15/15 (video-weighted,
deterministic, :func:`~umcl.data.adapters.common.assign_groups`). A fake shows two actors
(target ``01`` and source ``02``) and these pairs link nearly all actors, so with
``grouping="actors"`` (default) a fake is kept only when both actors fall in the same split — no
actor is in two splits, at the price of dropping the cross-split fakes (counted in ``excluded``);
``grouping="target"`` keeps every fake in its target actor's split (group = target actor only).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from umcl.data.adapters.common import AdapterResult, assign_groups, enforce_missing, list_videos, require_dir
from umcl.data.manifest import SPLITS, VideoRecord
from umcl.errors import UmclError
from umcl.specs.vocab import COMPRESSIONS, FF_ALL_METHODS, FF_METHODS, REAL_METHOD

DFD_METHOD = "DeepFakeDetection"
DFD_FRACTIONS = {"train": 0.70, "val": 0.15, "test": 0.15}
ORIGINAL = REAL_METHOD

Pairs = dict[str, list[tuple[str, str]]]


def originals_dir(root: Path, compression: str, source: str = "youtube") -> Path:
    return root / "original_sequences" / source / compression / "videos"


def manipulated_dir(root: Path, method: str, compression: str) -> Path:
    return root / "manipulated_sequences" / method / compression / "videos"


def packaged_ff_splits() -> Path:
    """Folder of the official FF++ split files shipped with the package."""
    return Path(str(resources.files("umcl.data.adapters") / "splits" / "ff"))


def read_split_file(path: Path) -> list[tuple[str, str]]:
    """One official split file: a JSON list of ``[a, b]`` id pairs."""
    if not path.is_file():
        raise UmclError(
            "split file not found", path, "provide train.json, val.json and test.json (official FF++ format)"
        )
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UmclError(f"not valid JSON ({exc})", path, "restore the official split file") from None
    if not isinstance(data, list) or not all(
        isinstance(p, list)
        and len(p) == 2
        and all(isinstance(i, str) and i and "_" not in i and "/" not in i for i in p)
        for p in data
    ):
        raise UmclError("expected a list of [a, b] pairs of video ids", path, "restore the official split file")
    return [(a, b) for a, b in data]


def load_ff_splits(root: Path, splits_dir: Path | None = None, dataset: str = "ff++") -> tuple[Pairs, Path]:
    """The split pairs and the folder they came from; each id must occur in one pair only."""
    candidates = [splits_dir] if splits_dir is not None else [root / "splits"]
    if splits_dir is None and dataset == "ff++":
        candidates.append(packaged_ff_splits())
    folder = next((c for c in candidates if (c / "train.json").exists()), candidates[0])
    pairs = {s: read_split_file(folder / f"{s}.json") for s in SPLITS}
    seen: dict[str, str] = {}
    for split, plist in pairs.items():
        for vid in (v for p in plist for v in p):
            if vid in seen:
                raise UmclError(
                    f"video id {vid} occurs twice (in {seen[vid]} and {split})",
                    folder,
                    "each id must appear in exactly one pair of one split file",
                )
            seen[vid] = split
    return pairs, folder


def _present_compressions(root: Path, folders: Sequence[Path]) -> list[str]:
    return [c for c in COMPRESSIONS if any((f / c / "videos").is_dir() for f in folders)]


def ff_records(
    root: str | Path,
    dataset: str = "ff++",
    methods: Sequence[str] | None = None,
    compressions: Sequence[str] | None = None,
    splits_dir: str | Path | None = None,
    allow_missing: bool = False,
) -> AdapterResult:
    """Manifest records for FF++ or SynthFF under ``root`` (see the module docstring)."""
    root = require_dir(Path(root), f"{dataset} root", "pass the folder that holds original_sequences/")
    require_dir(
        root / "original_sequences" / "youtube",
        "original_sequences/youtube",
        "the root must follow the FF++ layout in docs/contracts.md",
    )
    methods = _resolve_methods(root, dataset, methods)
    if compressions is None:
        compressions = _present_compressions(root, [root / "original_sequences" / "youtube"])
    for c in compressions:
        if c not in COMPRESSIONS:
            raise UmclError(f"unknown compression {c!r}", root, f"use some of {' '.join(COMPRESSIONS)}")
    pairs, _ = load_ff_splits(root, Path(splits_dir) if splits_dir else None, dataset)
    result = AdapterResult(records=[])
    for comp in compressions:
        folders = {ORIGINAL: originals_dir(root, comp), **{m: manipulated_dir(root, m, comp) for m in methods}}
        on_disk = {m: list_videos(f) for m, f in folders.items()}
        listed: dict[str, set[str]] = {m: set() for m in folders}
        for split in SPLITS:
            for a, b in pairs[split]:
                wanted = [(ORIGINAL, a, a), (ORIGINAL, b, b)]
                wanted += [(m, f"{x}_{y}", f"{x}|{y}") for m in methods for x, y in ((a, b), (b, a))]
                for method, vid, group in wanted:
                    listed[method].add(vid)
                    path = on_disk[method].get(vid)
                    if path is None:
                        result.missing.append(str(folders[method] / f"{vid}.mp4"))
                        continue
                    result.records.append(
                        VideoRecord(
                            dataset, method, comp, split, int(method != ORIGINAL), str(path.resolve()), vid, group
                        )
                    )
        extra = sum(len(set(v) - listed[m]) for m, v in on_disk.items())
        if extra:
            result.excluded["on disk but in no split file"] = (
                result.excluded.get("on disk but in no split file", 0) + extra
            )
    return enforce_missing(result, allow_missing, root)


def _resolve_methods(root: Path, dataset: str, methods: Sequence[str] | None) -> list[str]:
    if methods is not None:
        if dataset == "ff++":
            unknown = [m for m in methods if m not in FF_ALL_METHODS]
            if unknown:
                raise UmclError(
                    f"unknown FF++ method(s) {','.join(unknown)}", root, f"choose from {' '.join(FF_ALL_METHODS)}"
                )
        return list(methods)
    if dataset == "ff++":
        return list(FF_METHODS)
    found = sorted(p.name for p in (root / "manipulated_sequences").glob("*") if p.is_dir() and p.name != DFD_METHOD)
    if not found:
        raise UmclError(
            "no method folders under manipulated_sequences/", root, "generate the fakes first or pass --methods"
        )
    return found


_DFD_REAL = re.compile(r"^(\d+)__[^/]+$")
_DFD_FAKE = re.compile(r"^(\d+)_(\d+)__[^/]+$")


def dfd_actors(video_id: str, fake: bool, path: Path | None = None) -> tuple[str, ...]:
    """Actor ids in a DFD file name: ``01__scene`` → (01,); ``01_02__scene__X`` → (01, 02) target first."""
    match = (_DFD_FAKE if fake else _DFD_REAL).match(video_id)
    if match is None:
        form = "NN_MM__scene__CODE.mp4" if fake else "NN__scene.mp4"
        raise UmclError(
            f"DFD file name {video_id!r} is not of the form {form}",
            path or video_id,
            "keep the names of the official release",
        )
    return match.groups()


def dfd_records(
    root: str | Path,
    compressions: Sequence[str] | None = None,
    grouping: str = "actors",
    seed: str = "dfd",
    allow_missing: bool = False,
) -> AdapterResult:
    """Manifest records for DFD under ``root``, split by actor (see the module docstring)."""
    if grouping not in ("actors", "target"):
        raise ValueError(f"grouping must be 'actors' or 'target', not {grouping!r}")
    root = require_dir(Path(root), "DFD root", "pass the folder that holds original_sequences/actors/")
    real_base = require_dir(
        root / "original_sequences" / "actors",
        "original_sequences/actors",
        "download DeepFakeDetection_original with the FF++ script",
    )
    fake_base = root / "manipulated_sequences" / DFD_METHOD
    if compressions is None:
        compressions = _present_compressions(root, [real_base, fake_base])
    folders = {
        (m, c): (originals_dir(root, c, "actors") if m == "actors" else manipulated_dir(root, DFD_METHOD, c))
        for m in ("actors", DFD_METHOD)
        for c in compressions
    }
    on_disk = {k: list_videos(f) for k, f in folders.items()}
    actors: dict[tuple[str, str], tuple[str, ...]] = {}
    for (method, _), videos in on_disk.items():
        for vid, path in videos.items():
            actors[(method, vid)] = dfd_actors(vid, method == DFD_METHOD, path)
    sizes: dict[str, int] = {}
    for acts in actors.values():
        for a in acts:
            sizes.setdefault(a, 0)
        sizes[acts[0]] += 1
    split_of = assign_groups(sizes, DFD_FRACTIONS, seed)
    result = AdapterResult(records=[])
    cross = 0
    for (method, vid), acts in sorted(actors.items()):
        used = acts if grouping == "actors" else acts[:1]
        splits = {split_of[a] for a in used}
        if len(splits) != 1:
            cross += 1
            continue
        split = splits.pop()
        for comp in compressions:
            path = on_disk[(method, comp)].get(vid)
            if path is None:
                result.missing.append(str(folders[(method, comp)] / f"{vid}.mp4"))
                continue
            result.records.append(
                VideoRecord(
                    "dfd", method, comp, split, int(method == DFD_METHOD), str(path.resolve()), vid, "|".join(used)
                )
            )
    if cross:
        result.excluded["fakes whose two actors fall in different splits (--dfd-grouping target keeps them)"] = cross
    return enforce_missing(result, allow_missing, root)
