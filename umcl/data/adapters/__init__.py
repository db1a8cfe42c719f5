"""Dataset adapters: each lists a dataset's videos on disk as manifest records with splits.

One module per dataset (:mod:`.faceforensics` for FF++/SynthFF and DFD, :mod:`.celebdf`,
:mod:`.dfdc`); :func:`build_records` dispatches on the dataset name used by ``umcl manifest``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from umcl.data.adapters.celebdf import celebdf_records
from umcl.data.adapters.common import AdapterResult
from umcl.data.adapters.dfdc import dfdc_records
from umcl.data.adapters.faceforensics import dfd_records, ff_records
from umcl.specs.vocab import DATASETS  # re-exported


def build_records(
    dataset: str,
    root: str | Path,
    *,
    methods: Sequence[str] | None = None,
    compressions: Sequence[str] | None = None,
    splits_dir: str | Path | None = None,
    dfd_grouping: str = "actors",
    dfdc_test: str = "split",
    celebdf_test_list: str | Path | None = None,
    allow_missing: bool = False,
) -> AdapterResult:
    """Records of ``dataset`` under ``root``; options that do not apply to the dataset are ignored."""
    if dataset in ("ff++", "synthff"):
        return ff_records(root, dataset, methods, compressions, splits_dir, allow_missing)
    if dataset == "dfd":
        return dfd_records(root, compressions, dfd_grouping, allow_missing=allow_missing)
    if dataset == "celebdf":
        return celebdf_records(root, celebdf_test_list, allow_missing=allow_missing)
    if dataset == "dfdc":
        return dfdc_records(root, dfdc_test, allow_missing=allow_missing)
    raise ValueError(f"unknown dataset {dataset!r}; choose from {DATASETS}")


__all__ = ["AdapterResult", "DATASETS", "build_records", "celebdf_records", "dfd_records", "dfdc_records", "ff_records"]
