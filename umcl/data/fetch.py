"""Getting the public datasets: instructions, the user's own download script, tree verification.

Nothing here opens a network connection. The datasets need a terms-of-use form (FF++/DFD,
Celeb-DF) or a Kaggle account (DFDC), so this module only (a) prints what to do, (b) builds the
exact command lines for the user's copy of the official FF++ download script (run only on
explicit request, by :func:`run_commands`), and (c) counts what is on disk against the
published numbers.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from umcl.data.adapters.celebdf import FOLDERS as CELEB_FOLDERS
from umcl.data.adapters.celebdf import TEST_LIST
from umcl.data.adapters.faceforensics import (
    COMPRESSIONS,
    DFD_METHOD,
    FF_ALL_METHODS,
    FF_METHODS,
    manipulated_dir,
    originals_dir,
)
from umcl.errors import UmclError

FETCH_DATASETS: tuple[str, ...] = ("ff++", "dfd", "celebdf", "dfdc")
FF_PER_FOLDER = 1000
DFD_REAL, DFD_FAKE = 363, 3068
CELEB_COUNTS = {"Celeb-real": 590, "YouTube-real": 300, "Celeb-synthesis": 5639}
DFDC_PARTS = 50
FF_FORM = "https://github.com/ondyari/FaceForensics (dataset/README.md: fill in the Google form)"
CELEB_FORM = "https://github.com/yuezunli/celeb-deepfakeforensics (fill in the request form)"
DFDC_PAGE = "https://www.kaggle.com/c/deepfake-detection-challenge/data (accept the competition rules)"


@dataclasses.dataclass(frozen=True)
class FolderCheck:
    """Videos expected in and found in one folder (``expected`` None when no number is published)."""

    folder: str
    expected: int | None
    found: int

    @property
    def ok(self) -> bool:
        return self.found > 0 if self.expected is None else self.found >= self.expected


def _count(folder: Path, pattern: str = "*.mp4") -> int:
    return sum(1 for p in folder.glob(pattern) if p.is_file()) if folder.is_dir() else 0


def verify(
    dataset: str, root: str | Path, compressions: Sequence[str] = ("c23",), methods: Sequence[str] | None = None
) -> list[FolderCheck]:
    """Count the videos of ``dataset`` under ``root`` per folder against the published numbers."""
    root = Path(root)
    if not root.is_dir():
        raise UmclError(
            "dataset root not found", root, "create it and download the data (run `umcl fetch` without --root)"
        )
    checks: list[FolderCheck] = []
    if dataset in ("ff++", "dfd"):
        for c in compressions:
            if dataset == "ff++":
                checks.append(FolderCheck(str(originals_dir(root, c)), FF_PER_FOLDER, _count(originals_dir(root, c))))
                for m in methods or FF_METHODS:
                    checks.append(
                        FolderCheck(
                            str(manipulated_dir(root, m, c)), FF_PER_FOLDER, _count(manipulated_dir(root, m, c))
                        )
                    )
            else:
                real = originals_dir(root, c, "actors")
                checks.append(FolderCheck(str(real), DFD_REAL, _count(real)))
                fake = manipulated_dir(root, DFD_METHOD, c)
                checks.append(FolderCheck(str(fake), DFD_FAKE, _count(fake)))
    elif dataset == "celebdf":
        checks += [FolderCheck(str(root / f), n, _count(root / f)) for f, n in CELEB_COUNTS.items()]
        checks.append(FolderCheck(str(root / TEST_LIST), 1, int((root / TEST_LIST).is_file())))
    elif dataset == "dfdc":
        checks += _verify_dfdc(root)
    else:
        raise ValueError(f"unknown dataset {dataset!r}")
    return checks


def _verify_dfdc(root: Path) -> list[FolderCheck]:
    checks = []
    for i in range(DFDC_PARTS):
        part = root / f"dfdc_train_part_{i}"
        meta = part / "metadata.json"
        try:
            expected = len(json.loads(meta.read_text())) if meta.is_file() else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise UmclError("metadata.json is not valid JSON", meta, "re-extract this DFDC part") from None
        checks.append(FolderCheck(str(part), expected, _count(part) if expected is not None else 0))
    return checks


def format_checks(checks: Sequence[FolderCheck]) -> str:
    """A plain-text table: status, found/expected, folder."""
    lines = []
    for c in checks:
        exp = "?" if c.expected is None else str(c.expected)
        lines.append(f"{'ok     ' if c.ok else 'MISSING'} {c.found:>6}/{exp:<6} {c.folder}")
    bad = sum(not c.ok for c in checks)
    lines.append(f"{len(checks) - bad}/{len(checks)} folders complete")
    return "\n".join(lines)


def script_commands(
    script: str | Path,
    root: str | Path,
    dataset: str,
    compressions: Sequence[str],
    methods: Sequence[str] | None = None,
    server: str | None = None,
) -> list[list[str]]:
    """Command lines for the official FF++ download script (videos only), one per part and level."""
    if dataset == "ff++":
        parts = ["original", *(methods or FF_METHODS)]
        unknown = [m for m in parts[1:] if m not in FF_ALL_METHODS]
        if unknown:
            raise UmclError(
                f"unknown FF++ method(s) {','.join(unknown)}", fix=f"choose from {' '.join(FF_ALL_METHODS)}"
            )
    elif dataset == "dfd":
        parts = ["DeepFakeDetection_original", DFD_METHOD]
    else:
        raise UmclError(
            f"the FF++ download script does not serve {dataset}",
            fix=f"run `umcl fetch --dataset {dataset}` without --script for instructions",
        )
    bad = [c for c in compressions if c not in COMPRESSIONS]
    if bad:
        raise UmclError(f"unknown compression(s) {','.join(bad)}", fix=f"use some of {' '.join(COMPRESSIONS)}")
    extra = ["--server", server] if server else []
    return [
        [sys.executable, str(script), str(root), "-d", p, "-c", c, "-t", "videos", *extra]
        for c in compressions
        for p in parts
    ]


def format_commands(commands: Sequence[Sequence[str]]) -> str:
    return "\n".join(shlex.join(c) for c in commands)


def run_commands(commands: Sequence[Sequence[str]]) -> None:
    """Run the user's download script (it asks the user to accept its terms on the terminal)."""
    for cmd in commands:
        print(f"+ {shlex.join(cmd)}", flush=True)
        code = subprocess.run(list(cmd), check=False).returncode
        if code != 0:
            raise UmclError(
                f"download script exited with status {code}", cmd[1], "see its output above; rerun to resume"
            )


def instructions(dataset: str, compressions: Sequence[str] = ("c23",)) -> str:
    """What the user has to do to obtain ``dataset`` and the layout this suite expects."""
    levels = " ".join(compressions)
    if dataset in ("ff++", "dfd"):
        parts = (
            "original Deepfakes Face2Face FaceSwap NeuralTextures"
            if dataset == "ff++"
            else "DeepFakeDetection_original DeepFakeDetection"
        )
        layout = (
            "ROOT/original_sequences/youtube/<c>/videos/000.mp4 ... 999.mp4 (1000)\n"
            "  ROOT/manipulated_sequences/<Method>/<c>/videos/<target>_<source>.mp4 (1000 per method)"
            if dataset == "ff++"
            else f"ROOT/original_sequences/actors/<c>/videos/*.mp4 ({DFD_REAL})\n"
            f"  ROOT/manipulated_sequences/DeepFakeDetection/<c>/videos/*.mp4 ({DFD_FAKE})"
        )
        return (
            f"{dataset}: access needs the terms-of-use form: {FF_FORM}.\n"
            "You then receive the official download script (download-FaceForensics.py). Either run it yourself,\n"
            "  python download-FaceForensics.py ROOT -d <part> -c <level> -t videos   "
            f"for part in {parts}, level in {levels}\n"
            f"or let umcl print and run exactly those commands:\n"
            f"  umcl fetch --dataset {dataset} --script download-FaceForensics.py --root ROOT "
            f"--compressions {levels} --yes\n"
            f"Expected layout:\n  {layout}\n"
            f"Check it with: umcl fetch --dataset {dataset} --root ROOT --compressions {levels}"
        )
    if dataset == "celebdf":
        return (
            f"celebdf: request Celeb-DF v2 with the form at {CELEB_FORM}; download and extract it so that\n"
            + "".join(f"  ROOT/{f}/*.mp4 ({CELEB_COUNTS[f]})\n" for f in CELEB_FOLDERS)
            + f"  ROOT/{TEST_LIST} (518 lines; a copy ships with umcl and is used when absent)\n"
            "Check it with: umcl fetch --dataset celebdf --root ROOT"
        )
    if dataset == "dfdc":
        return (
            f"dfdc: sign in to Kaggle and accept the rules at {DFDC_PAGE}; download the full training set\n"
            f"(dfdc_train_part_0 ... dfdc_train_part_{DFDC_PARTS - 1}, each with metadata.json) "
            "and extract every part into ROOT.\n"
            "Optional: the labelled public test set in ROOT/test/ (videos + labels.csv with filename,label).\n"
            "Check it with: umcl fetch --dataset dfdc --root ROOT"
        )
    raise ValueError(f"unknown dataset {dataset!r}")
