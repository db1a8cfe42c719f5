"""What every dataset adapter shares: the result type, missing-file policy, grouped splitting."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from pathlib import Path

from umcl.data.manifest import VideoRecord
from umcl.errors import UmclError


@dataclasses.dataclass
class AdapterResult:
    """Records of the videos found, plus what was expected but absent and what was left out on purpose.

    ``missing``: expected video paths not on disk. ``excluded``: reason → number of videos that
    exist but were kept out of the manifest (e.g. to prevent split leakage).
    """

    records: list[VideoRecord]
    missing: list[str] = dataclasses.field(default_factory=list)
    excluded: dict[str, int] = dataclasses.field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{len(self.records)} videos"]
        for split in ("train", "val", "test"):
            rows = [r for r in self.records if r.split == split]
            parts.append(f"{split} {len(rows)} ({sum(r.label for r in rows)} fake)")
        if self.missing:
            parts.append(f"{len(self.missing)} expected but missing")
        for reason, n in sorted(self.excluded.items()):
            parts.append(f"{n} excluded: {reason}")
        return "; ".join(parts)


def require_dir(path: Path, what: str, fix: str) -> Path:
    """``path`` if it is a directory, else a one-line :class:`UmclError`."""
    if not path.is_dir():
        raise UmclError(f"{what} not found", path, fix)
    return path


def enforce_missing(result: AdapterResult, allow_missing: bool, root: Path) -> AdapterResult:
    """Raise when expected videos are missing, unless the caller allows it (then they stay reported)."""
    if result.missing and not allow_missing:
        raise UmclError(
            f"{len(result.missing)} expected video(s) missing, e.g. {result.missing[0]}",
            root,
            "complete the download (see `umcl fetch --root`) or pass --allow-missing to list only what exists",
        )
    if not result.records:
        raise UmclError(
            "no videos found for the requested dataset/methods/compressions",
            root,
            "check --root, --methods and --compressions against the layout in docs/contracts.md",
        )
    return result


def _rank(seed: str, unit: str) -> str:
    return hashlib.sha256(f"{seed}\0{unit}".encode()).hexdigest()


def assign_groups(sizes: Mapping[str, int], fractions: Mapping[str, float], seed: str) -> dict[str, str]:
    """Assign whole groups to splits so the video counts approach ``fractions``; deterministic.

    Groups are visited in the order of ``sha256(seed, group)`` (independent of file-system order
    and Python's hash seed); each goes to the split that is furthest below its target share of
    the videos assigned so far (ties: the order of ``fractions``).
    """
    total = sum(fractions.values())
    if total <= 0 or any(f < 0 for f in fractions.values()):
        raise ValueError(f"bad split fractions {dict(fractions)}")
    share = {s: f / total for s, f in fractions.items()}
    filled = {s: 0 for s in share}
    out: dict[str, str] = {}
    for unit in sorted(sizes, key=lambda u: _rank(seed, u)):
        after = sum(filled.values()) + sizes[unit]
        split = max(share, key=lambda s: share[s] * after - filled[s])
        out[unit] = split
        filled[split] += sizes[unit]
    return out


def list_videos(folder: Path, suffix: str = ".mp4") -> dict[str, Path]:
    """``stem → path`` of the video files directly inside ``folder`` (empty if it does not exist)."""
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() == suffix and p.is_file()}
