"""``umcl train`` under torchrun for tests/test_ddp.py, with the toy detector registered.

Besides the CLI's own outputs, each rank writes ``OUT/ddp_rank{R}.json``: the local loss of every
training step and every checkpoint it saved, so that the test can compare step by step against a
single process and check that only rank 0 writes checkpoints.

``TOY_DROPOUT`` (environment) sets the toy detector's dropout: the config schema knows only the
project's detectors, and a comparison with one process needs a model without randomness.

Usage: torchrun --nproc_per_node 2 tests/_ddp_train.py train [umcl train arguments]
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _train_fixtures  # noqa: E402,F401  (registers "toy_test")

from umcl.cli import main  # noqa: E402
from umcl.training import trainer  # noqa: E402


def record(argv: list[str]) -> int:
    """Run ``umcl ARGV`` recording each training step's loss and each saved checkpoint."""
    out = Path(argv[argv.index("--out") + 1])
    rank = int(os.environ.get("RANK", "0"))
    steps: list[float] = []
    saved: list[str] = []
    loss = _train_fixtures.ToyDetector.loss

    def recording_loss(self, batch, output):
        terms = loss(self, batch, output)
        if self.training:
            steps.append(float(terms["total"].detach()))
        return terms

    save = trainer.save_checkpoint

    def recording_save(state, path):
        saved.append(Path(path).name)
        save(state, path)

    init = _train_fixtures.ToyDetector.__init__

    def init_with_dropout(self, cfg):
        init(self, dataclasses.replace(cfg, dropout=float(os.environ.get("TOY_DROPOUT", cfg.dropout))))

    patches = [
        (_train_fixtures.ToyDetector, "__init__", init_with_dropout),
        (_train_fixtures.ToyDetector, "loss", recording_loss),
        (trainer, "save_checkpoint", recording_save),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    try:
        for owner, name, value in patches:
            setattr(owner, name, value)
        code = main(argv)
    finally:  # the test calls this in-process for its one-process run
        for owner, name, value in originals:
            setattr(owner, name, value)
    (out / f"ddp_rank{rank}.json").write_text(json.dumps({"steps": steps, "saved": saved}))
    return code


if __name__ == "__main__":
    sys.exit(record(sys.argv[1:]))
