"""Fuzz a run folder's ``run.json`` and ``selection.json`` as evaluation and the figures read them.

Input: ``run.json 0x1e selection.json``, written into a run folder without checkpoints. Evaluation's
:func:`load_run` reads both (and builds the training settings) before it looks for
``checkpoints/best.pt``; ``umcl evaluate --key`` then checks the run against its key
(:func:`check_run_matches`), and ``umcl figure`` reads ``train_compression``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._contract import check, instrumented, run, scratch, split  # noqa: E402

with instrumented():
    from umcl.evaluation.predict import load_run, read_run
    from umcl.evaluation.sheet_eval import check_run_matches
    from umcl.protocols.keys import RunKey
    from umcl.training.trainer import read_selection

RUN = scratch("run")
KEY = RunKey.from_path("xception/ffpp-all-c23/seed0")


def _read() -> None:
    read_selection(RUN)
    info = read_run(RUN)
    str(info["train_compression"])
    check_run_matches(info, KEY, RUN)
    load_run(RUN, device="cpu")


def test_one_input(data: bytes) -> None:
    run_json, selection_json = split(data, 2)
    (RUN / "run.json").write_bytes(run_json)
    (RUN / "selection.json").write_bytes(selection_json)
    check("run", data, _read, ("run.json", "selection.json", RUN.name))


if __name__ == "__main__":
    run(test_one_input)
