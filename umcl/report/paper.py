"""The paper's published Table 3 values (``paper_values.yaml``), read-only, with derived deltas."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from umcl.errors import UmclError

PAPER_VALUES = Path(__file__).with_name("paper_values.yaml")
METRICS = ("auc", "acc")


@dataclass(frozen=True)
class PaperValues:
    """Table 3 as published: ``values[train][method][test][metric]`` in percent (None = '-')."""

    methods: tuple[dict, ...]
    compressions: tuple[str, ...]
    values: dict

    @property
    def method_names(self) -> list[str]:
        return [m["name"] for m in self.methods]

    def trained_detectors(self) -> dict[str, str]:
        """Paper method name -> registry name of the detectors this suite trains."""
        return {m["name"]: m["detector"] for m in self.methods if m.get("detector")}

    def value(self, train: str, method: str, test: str, metric: str) -> float | None:
        """The published value, or None where the paper prints '-'."""
        return self.values[train][method][test][metric]

    def delta(self, train: str, method: str, test: str, metric: str) -> float | None:
        """Value minus the row's in-compression (diagonal) value; None on the diagonal or if missing."""
        if test == train:
            return None
        v, d = self.value(train, method, test, metric), self.value(train, method, train, metric)
        return None if v is None or d is None else round(v - d, 2)


def load_paper_values(path: str | Path = PAPER_VALUES) -> PaperValues:
    """Load and sanity-check the transcribed table."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise UmclError(f"cannot read paper values ({exc})", path) from exc
    pv = PaperValues(tuple(raw["methods"]), tuple(raw["compressions"]), raw["values"])
    for tr in pv.compressions:
        for m in pv.method_names:
            for te in pv.compressions:
                cell = pv.values[tr][m][te]
                if set(cell) != set(METRICS):
                    raise UmclError(f"cell {tr}/{m}/{te} must have exactly {METRICS}", path)
    return pv
