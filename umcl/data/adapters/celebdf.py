"""Celeb-DF v2: ``ROOT/{Celeb-real,YouTube-real,Celeb-synthesis}/*.mp4``.

* method = the folder name; compression ``orig`` (the videos as distributed, one version only).
* Test split: exactly the official ``List_of_testing_videos.txt`` (178 real + 340 fake). Its
  labels are ``1 = real`` and are flipped to the suite's ``1 = fake``. File used, first found:
  ``test_list`` argument, ``ROOT/List_of_testing_videos.txt``, the copy shipped in
  ``umcl/data/adapters/splits/celebdf/``.
* Names: ``Celeb-real/idX_NNNN``, ``Celeb-synthesis/idX_idY_NNNN`` (the clip ``idX_NNNN`` of
  target ``idX`` with the face of ``idY``), ``YouTube-real/NNNNN`` (no identity given).
* Leakage: the official test list covers 56 of the 59 identities, so identity-disjointness from
  test is impossible while keeping the official list. What we guarantee instead: no test video,
  and no video made from the same source clip as a test video (``idX_NNNN``), is in train/val —
  those are excluded and counted. Group token = the source clip.
* Train/val: the remaining videos, 85/15 grouped by target identity (``idX``; a YouTube-real
  video is its own group), so train and val share no target identity. The swapped-in face
  ``idY`` of a fake can belong to the other split: face-swap pairs link nearly all identities.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from umcl.data.adapters.common import AdapterResult, assign_groups, enforce_missing, list_videos, require_dir
from umcl.data.manifest import VideoRecord
from umcl.errors import UmclError

FOLDERS: dict[str, int] = {"Celeb-real": 0, "YouTube-real": 0, "Celeb-synthesis": 1}
COMPRESSION = "orig"
TEST_LIST = "List_of_testing_videos.txt"
TRAIN_VAL_FRACTIONS = {"train": 0.85, "val": 0.15}

_NAMES = {
    "Celeb-real": re.compile(r"^(id\d+)_(\d+)$"),
    "Celeb-synthesis": re.compile(r"^(id\d+)_id\d+_(\d+)$"),
    "YouTube-real": re.compile(r"^(\d+)$"),
}


def packaged_test_list() -> Path:
    return Path(str(resources.files("umcl.data.adapters") / "splits" / "celebdf" / TEST_LIST))


def read_test_list(path: Path) -> list[tuple[int, str]]:
    """``(label with 1 = fake, relative path)`` for each line of the official test list."""
    if not path.is_file():
        raise UmclError("Celeb-DF test list not found", path, f"put the official {TEST_LIST} there")
    out = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        folder = parts[1].split("/")[0] if len(parts) == 2 else ""
        if len(parts) != 2 or parts[0] not in ("0", "1") or folder not in FOLDERS:
            raise UmclError(f"line {n} is not '<1=real|0=fake> <folder>/<name>.mp4'", path, "restore the official list")
        fake = 1 - int(parts[0])
        if fake != FOLDERS[folder]:
            raise UmclError(
                f"line {n}: label {parts[0]} contradicts folder {folder}", path, "restore the official list"
            )
        out.append((fake, parts[1]))
    return out


def clip_and_identity(folder: str, stem: str, path: Path | str) -> tuple[str, str]:
    """The source clip (group token) and the target identity (train/val unit) of a video."""
    match = _NAMES[folder].match(stem)
    if match is None:
        raise UmclError(
            f"unexpected Celeb-DF file name {stem!r} in {folder}", path, "keep the names of the official release"
        )
    if folder == "YouTube-real":
        unit = f"yt{match.group(1)}"
        return unit, unit
    ident, number = match.groups()
    return f"{ident}_{number}", ident


def celebdf_records(
    root: str | Path, test_list: str | Path | None = None, seed: str = "celebdf", allow_missing: bool = False
) -> AdapterResult:
    """Manifest records for Celeb-DF v2 under ``root`` (see the module docstring)."""
    root = require_dir(
        Path(root), "Celeb-DF root", "pass the folder that holds Celeb-real/, YouTube-real/, Celeb-synthesis/"
    )
    if test_list is None:
        test_list = root / TEST_LIST if (root / TEST_LIST).exists() else packaged_test_list()
    tests = read_test_list(Path(test_list))
    on_disk = {folder: list_videos(root / folder) for folder in FOLDERS}
    if not any(on_disk.values()):
        raise UmclError(
            "no Celeb-DF videos found", root, "the root must hold Celeb-real/, YouTube-real/ and Celeb-synthesis/"
        )
    result = AdapterResult(records=[])
    test_keys: set[tuple[str, str]] = set()
    test_clips: set[str] = set()

    def record(folder: str, stem: str, split: str, path: Path) -> VideoRecord:
        clip, _ = clip_and_identity(folder, stem, path)
        return VideoRecord("celebdf", folder, COMPRESSION, split, FOLDERS[folder], str(path.resolve()), stem, clip)

    for _, rel in tests:
        folder, name = rel.split("/", 1)
        stem = Path(name).stem
        test_keys.add((folder, stem))
        test_clips.add(clip_and_identity(folder, stem, rel)[0])
        path = on_disk[folder].get(stem)
        if path is None:
            result.missing.append(str(root / rel))
        else:
            result.records.append(record(folder, stem, "test", path))

    rest: list[tuple[str, str, Path, str]] = []
    shared_clip = 0
    for folder, videos in on_disk.items():
        for stem, path in videos.items():
            if (folder, stem) in test_keys:
                continue
            clip, ident = clip_and_identity(folder, stem, path)
            if clip in test_clips:
                shared_clip += 1
                continue
            rest.append((folder, stem, path, ident))
    sizes: dict[str, int] = {}
    for *_, ident in rest:
        sizes[ident] = sizes.get(ident, 0) + 1
    split_of = assign_groups(sizes, TRAIN_VAL_FRACTIONS, seed)
    result.records.extend(record(folder, stem, split_of[ident], path) for folder, stem, path, ident in rest)
    if shared_clip:
        result.excluded["not in the test list but made from the same source clip as a test video"] = shared_clip
    return enforce_missing(result, allow_missing, root)
