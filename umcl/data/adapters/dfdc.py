"""DFDC: ``ROOT/dfdc_train_part_*/metadata.json`` + videos, optional public test set ``ROOT/test/``.

* ``metadata.json``: ``{"x.mp4": {"label": "REAL"|"FAKE", "split": "train", "original": "y.mp4"|null}}``.
  method ``original`` (label 0) or ``manipulated`` (label 1); compression ``orig`` (as distributed).
* Split (``test_mode="split"``, the paper's): the training parts 70/20/10 train/val/test, grouped
  by the original video (a real video and every fake made from it share one group token, so a
  fake and its original are always in the same split). Deterministic (seeded hash order).
* ``test_mode="public"``: the training parts go 70:20 to train/val (77.8/22.2 %) and the public
  test set in ``ROOT/test/`` (``labels.csv`` with ``filename,label``, label 1/FAKE = fake,
  0/REAL = real; videos beside it) is the test split. With ``"split"`` that folder is ignored and
  its videos are counted in ``excluded``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from umcl.data.adapters.common import AdapterResult, assign_groups, enforce_missing, require_dir
from umcl.data.manifest import VideoRecord
from umcl.errors import UmclError
from umcl.specs.vocab import REAL_METHOD

COMPRESSION = "orig"
FAKE_METHOD = "manipulated"
FRACTIONS = {"train": 0.70, "val": 0.20, "test": 0.10}
PUBLIC_TEST_DIR = "test"
_LABELS = {"REAL": 0, "FAKE": 1, "0": 0, "1": 1}


def read_metadata(path: Path) -> dict[str, tuple[int, str]]:
    """``file name → (label 1 = fake, group = stem of the original video)`` from one metadata.json."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UmclError("metadata.json not found", path, "re-extract this DFDC part") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UmclError(f"not valid JSON ({exc})", path, "re-extract this DFDC part") from None
    if not isinstance(data, dict):
        raise UmclError("expected a mapping of file name to entry", path, "re-extract this DFDC part")
    out = {}
    for name, entry in data.items():
        label = _LABELS.get(str(entry.get("label", "")).upper()) if isinstance(entry, dict) else None
        if label is None:
            raise UmclError(f"entry {name!r} has no label REAL or FAKE", path, "re-extract this DFDC part")
        original = entry.get("original")
        if label == 1 and not original:
            raise UmclError(f"fake {name!r} names no original video", path, "re-extract this DFDC part")
        out[name] = (label, Path(original).stem if label == 1 else Path(name).stem)
    return out


def read_public_labels(path: Path) -> dict[str, int]:
    """``file name → label (1 = fake)`` from the public test set's labels.csv."""
    if not path.is_file():
        raise UmclError(
            "labels.csv of the DFDC public test set not found", path, "put it there or use test_mode 'split'"
        )
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if not {"filename", "label"} <= set(reader.fieldnames or []):
            raise UmclError("labels.csv needs columns filename,label", path, "restore the official file")
        out = {}
        for n, row in enumerate(reader, start=2):
            label = _LABELS.get(str(row["label"]).strip().upper())
            if label is None or not row["filename"]:
                raise UmclError(f"line {n}: bad filename/label", path, "labels are 0/1 or REAL/FAKE")
            out[row["filename"]] = label
    return out


def dfdc_records(
    root: str | Path, test_mode: str = "split", seed: str = "dfdc", allow_missing: bool = False
) -> AdapterResult:
    """Manifest records for DFDC under ``root`` (see the module docstring)."""
    if test_mode not in ("split", "public"):
        raise ValueError(f"test_mode must be 'split' or 'public', not {test_mode!r}")
    root = require_dir(Path(root), "DFDC root", "pass the folder that holds dfdc_train_part_*/")
    parts = sorted(p for p in root.glob("dfdc_train_part_*") if p.is_dir())
    if not parts:
        raise UmclError("no dfdc_train_part_* folders", root, "extract the DFDC training parts into this folder")
    result = AdapterResult(records=[])
    entries: list[tuple[str, int, str, Path]] = []  # stem, label, group, path
    seen: dict[str, Path] = {}
    for part in parts:
        for name, (label, group) in read_metadata(part / "metadata.json").items():
            stem = Path(name).stem
            if stem in seen:
                raise UmclError(
                    f"video {name} listed in two parts ({seen[stem].name} and {part.name})",
                    part / "metadata.json",
                    "remove the duplicate part",
                )
            seen[stem] = part
            path = part / name
            if path.is_file():
                entries.append((stem, label, group, path))
            else:
                result.missing.append(str(path))
    fractions = FRACTIONS if test_mode == "split" else {"train": FRACTIONS["train"], "val": FRACTIONS["val"]}
    sizes: dict[str, int] = {}
    for _, _, group, _ in entries:
        sizes[group] = sizes.get(group, 0) + 1
    split_of = assign_groups(sizes, fractions, seed)
    for stem, label, group, path in entries:
        result.records.append(_record(split_of[group], label, path, stem, group))
    public = root / PUBLIC_TEST_DIR
    if test_mode == "public":
        for name, label in read_public_labels(public / "labels.csv").items():
            stem = Path(name).stem
            if stem in seen:
                raise UmclError(
                    f"public test video {name} is also in {seen[stem].name}",
                    public / "labels.csv",
                    "the public test set must not overlap the training parts",
                )
            if (public / name).is_file():
                result.records.append(_record("test", label, public / name, stem, stem))
            else:
                result.missing.append(str(public / name))
    elif public.is_dir():
        n = sum(1 for p in public.glob("*.mp4"))
        if n:
            result.excluded["public test set videos (use --dfdc-test public to use them as the test split)"] = n
    return enforce_missing(result, allow_missing, root)


def _record(split: str, label: int, path: Path, stem: str, group: str) -> VideoRecord:
    return VideoRecord(
        "dfdc", FAKE_METHOD if label else REAL_METHOD, COMPRESSION, split, label, str(path.resolve()), stem, group
    )
