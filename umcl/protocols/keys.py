"""One key, one path: the identities of training runs and evaluation cells.

A :class:`Selection` picks videos (dataset, manipulation methods, compression); a
:class:`RunKey` names one training run (detector, variant, training selection, seed); an
:class:`EvalKey` names one evaluation cell (run × test selection × test-time condition).
``to_path``/``from_path`` are the only place these keys become paths and back; reports read keys
from each metrics file's provenance (``EvalKey.to_dict``), never by parsing paths.

Path forms (relative to ``results/<profile>/runs`` and ``.../eval``)::

    RunKey   umcl+ablA/ffpp-DF-c23/seed0            detector[+variant]/selection/seed<S>
    EvalKey  umcl+ablA/ffpp-DF-c23/seed0/ffpp-FS-c23/clean   run/test selection/condition
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from umcl.errors import UmclError
from umcl.specs.vocab import (
    DATASETS,
    FF_ALL_METHODS,
    USES_PRETRAINED,
    method_abbrev,
    method_from_abbrev,
)

#: path-safe spelling of dataset names (``ff++`` is not a nice folder name)
DATASET_SLUG: dict[str, str] = {d: d.replace("++", "pp") for d in DATASETS}
_SLUG_DATASET = {v: k for k, v in DATASET_SLUG.items()}
ALL_METHODS = "all"
CLEAN = "clean"
_CONDITION = re.compile(r"^[a-z0-9][a-z0-9._\-]*$")
_NAME = re.compile(r"^[a-zA-Z0-9]+$")


def _bad(what: str, text: str) -> UmclError:
    return UmclError(f"not a valid {what}: {text!r}", fix="build keys with umcl.protocols.keys, not by hand")


@dataclass(frozen=True)
class Selection:
    """Videos of one dataset at one compression; ``methods`` None = real + every manipulation."""

    dataset: str
    compression: str
    methods: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise UmclError(f"unknown dataset {self.dataset!r}", fix=f"use one of {list(DATASETS)}")
        if not _NAME.match(self.compression):
            raise _bad("compression", self.compression)
        if self.methods is not None and (not self.methods or len(set(self.methods)) != len(self.methods)):
            raise UmclError(f"selection methods must be non-empty and distinct, got {self.methods}")
        unknown = [m for m in self.methods or () if self.dataset == "ff++" and m not in FF_ALL_METHODS]
        if unknown:
            raise UmclError(f"unknown FF++ manipulation method(s) {unknown}", fix=f"use some of {list(FF_ALL_METHODS)}")

    @property
    def slug(self) -> str:
        """``ffpp-all-c23``, ``ffpp-DF.F2F-c23``."""
        methods = ALL_METHODS if self.methods is None else ".".join(method_abbrev(m) for m in self.methods)
        return f"{DATASET_SLUG[self.dataset]}-{methods}-{self.compression}"

    @classmethod
    def from_slug(cls, slug: str) -> Selection:
        parts = slug.split("-")
        if len(parts) != 3 or parts[0] not in _SLUG_DATASET:
            raise _bad("selection", slug)
        methods = None if parts[1] == ALL_METHODS else tuple(method_from_abbrev(m) for m in parts[1].split("."))
        return cls(_SLUG_DATASET[parts[0]], parts[2], methods)

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "compression": self.compression,
            "methods": None if self.methods is None else list(self.methods),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Selection:
        return cls(d["dataset"], d["compression"], None if d.get("methods") is None else tuple(d["methods"]))


@dataclass(frozen=True)
class RunKey:
    """One training run. ``variant`` names a training overlay (umcl.protocols.variants), None = plain."""

    detector: str
    train: Selection
    seed: int
    variant: str | None = None

    def __post_init__(self) -> None:
        # registry names (umcl.registry), e.g. ``umcl-released``: "_" and "-" are path-safe and split nothing
        if not _NAME.match(self.detector.replace("_", "").replace("-", "")):
            raise _bad("detector name", self.detector)
        if self.variant is not None and not _NAME.match(self.variant):
            raise _bad("variant name", self.variant)
        if self.seed < 0:
            raise _bad("seed", str(self.seed))

    @property
    def model(self) -> str:
        """``detector`` or ``detector+variant`` (the first path component)."""
        return self.detector if self.variant is None else f"{self.detector}+{self.variant}"

    def to_path(self) -> str:
        return f"{self.model}/{self.train.slug}/seed{self.seed}"

    @classmethod
    def from_parts(cls, model: str, train: str, seed: int | str) -> RunKey:
        """From the three path components (Snakemake wildcards ``model``, ``train``, ``seed``)."""
        detector, _, variant = model.partition("+")
        return cls(detector, Selection.from_slug(train), int(seed), variant or None)

    @classmethod
    def from_path(cls, path: str) -> RunKey:
        parts = path.strip("/").split("/")
        if len(parts) != 3 or not re.fullmatch(r"seed\d+", parts[2]):
            raise _bad("run path", path)
        return cls.from_parts(parts[0], parts[1], parts[2][4:])

    def to_dict(self) -> dict:
        return {"detector": self.detector, "variant": self.variant, "train": self.train.to_dict(), "seed": self.seed}

    @classmethod
    def from_dict(cls, d: dict) -> RunKey:
        return cls(d["detector"], Selection.from_dict(d["train"]), int(d["seed"]), d.get("variant"))

    def without_seed(self) -> tuple:
        """What the seeds of one configuration share (for multi-seed aggregation)."""
        return (self.detector, self.variant, self.train)

    @property
    def initialiser(self) -> RunKey | None:
        """The LRNet run (same training selection and seed) whose L-encoder weights this run starts from,
        for the detectors that start from the pre-trained encoders (USES_PRETRAINED); None for the others."""
        return RunKey("lrnet", self.train, self.seed) if self.detector in USES_PRETRAINED else None


def with_initialisers(runs) -> list[RunKey]:
    """``runs`` and the LRNet runs that initialise them (:attr:`RunKey.initialiser`), each once, sorted by path."""
    runs = list(runs)
    starts = [r.initialiser for r in runs if r.initialiser is not None]
    return sorted(dict.fromkeys(runs + starts), key=RunKey.to_path)


@dataclass(frozen=True)
class EvalKey:
    """One evaluation cell: a run tested on a selection under a test-time condition (key string)."""

    run: RunKey
    test: Selection
    condition: str = CLEAN

    def __post_init__(self) -> None:
        if not _CONDITION.match(self.condition):
            raise _bad("test condition key", self.condition)

    @property
    def test_path(self) -> str:
        """The part after the run: ``<test slug>/<condition>``."""
        return f"{self.test.slug}/{self.condition}"

    def to_path(self) -> str:
        return f"{self.run.to_path()}/{self.test_path}"

    @classmethod
    def from_path(cls, path: str) -> EvalKey:
        parts = path.strip("/").split("/")
        if len(parts) != 5:
            raise _bad("evaluation path", path)
        return cls(RunKey.from_path("/".join(parts[:3])), Selection.from_slug(parts[3]), parts[4])

    @classmethod
    def from_test_path(cls, run: RunKey, test_path: str) -> EvalKey:
        slug, sep, condition = test_path.partition("/")
        if not sep:
            raise _bad("test path (<selection>/<condition>)", test_path)
        return cls(run, Selection.from_slug(slug), condition)

    def to_dict(self) -> dict:
        return {"run": self.run.to_dict(), "test": self.test.to_dict(), "condition": self.condition}

    @classmethod
    def from_dict(cls, d: dict) -> EvalKey:
        return cls(RunKey.from_dict(d["run"]), Selection.from_dict(d["test"]), d.get("condition", CLEAN))

    def without_seed(self) -> tuple:
        return (self.run.without_seed(), self.test, self.condition)
