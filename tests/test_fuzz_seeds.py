"""The fuzz harnesses of fuzz/ run on their committed seed corpora without a finding.

``make fuzz`` (atheris, not part of the tests) mutates these seeds for minutes; this test keeps the
harnesses importable and their contract check honest on every commit: each seed is read by the
project's reader and gives a result or a one-line UmclError naming the file (docs/testing.md,
"`make fuzz`"). It also checks that the contract check itself catches what it must.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HARNESSES = sorted(p.stem.removeprefix("fuzz_") for p in (REPO / "fuzz").glob("fuzz_*.py"))

pytestmark = pytest.mark.usefixtures("single_thread")


def _harness(name: str):
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    return importlib.import_module(f"fuzz.fuzz_{name}")


def test_every_reader_has_a_harness_and_seeds() -> None:
    assert set(HARNESSES) == {"config", "manifest", "run", "paper_values", "video", "npz"}
    for name in HARNESSES:
        seeds = list((REPO / "fuzz" / "corpus" / name).iterdir())
        assert seeds and sum(p.stat().st_size for p in seeds) < 64 * 1024, name


@pytest.mark.parametrize("name", HARNESSES)
def test_seeds_keep_the_contract(name: str, monkeypatch) -> None:
    monkeypatch.delenv("FUZZ_KEEP_GOING", raising=False)
    harness = _harness(name)
    for seed in sorted((REPO / "fuzz" / "corpus" / name).iterdir()):
        harness.test_one_input(seed.read_bytes())  # raises on a finding


def test_contract_check_reports_what_it_must(monkeypatch) -> None:
    from fuzz._contract import ContractError, check
    from umcl.errors import UmclError

    monkeypatch.delenv("FUZZ_KEEP_GOING", raising=False)
    check("t", b"", lambda: (_ for _ in ()).throw(UmclError("bad", "x.csv", "fix it")), ("x.csv",))  # allowed

    def multi_line() -> None:
        err = UmclError("bad", "x.csv")
        err.args = ("x.csv: bad\nsecond line",)
        raise err

    with pytest.raises(ContractError, match="not one line"):
        check("t", b"", multi_line, ("x.csv",))
    with pytest.raises(ContractError, match="names none of"):
        check("t", b"", lambda: (_ for _ in ()).throw(UmclError("bad")), ("x.csv",))
    with pytest.raises(KeyError):
        check("t", b"", lambda: {}["k"], ("x.csv",))
