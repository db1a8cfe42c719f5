"""What ``umcl`` sets in its environment before a step runs (docs/contracts.md, "CLI")."""

from __future__ import annotations

import os

import pytest

from umcl import cli


@pytest.mark.parametrize(("given", "want"), [(None, "1"), ("0", "0"), ("1", "1")])
def test_huge_pages_are_on_unless_the_environment_says_otherwise(monkeypatch, given, want):
    if given is None:
        monkeypatch.delenv(cli.HUGE_PAGES_ENV, raising=False)
    else:
        monkeypatch.setenv(cli.HUGE_PAGES_ENV, given)
    assert cli.main([]) == 2  # no step: help, exit 2
    assert os.environ[cli.HUGE_PAGES_ENV] == want
