"""Every table's LaTeX compiles with pdflatex in a standalone wrapper document (issue 10 "Done when").

Each table of :data:`umcl.protocols.tables.PROTOCOLS` is rendered by ``umcl report`` twice: filled
from made-up evaluations of two seeds (every cell we train: values, ``±``, intervals, arrows of the
delta rows, notes), and with the paper's rows only (no evaluations, a profile without the dataset).
Each ``.tex`` is wrapped in a minimal document (``latex_document``: booktabs, utf8, landscape) and
compiled with ``pdflatex -halt-on-error``. Skipped, with the reason, where pdflatex is not installed;
docs/testing.md records where it ran.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from test_report import write_evaluations

from umcl.cli import main as umcl_main
from umcl.protocols.sheet import build_sheet
from umcl.protocols.tables import PROTOCOLS
from umcl.report.render import tex_escape
from umcl.specs.workflow import WorkflowConfig

PDFLATEX = shutil.which("pdflatex")
needs_pdflatex = pytest.mark.skipif(
    PDFLATEX is None,
    reason="pdflatex not installed (apt-get install --no-install-recommends "
    "texlive-latex-base texlive-latex-recommended)",
)


def latex_document(body: str) -> str:
    """A standalone document around a rendered table (the packages a paper using booktabs loads)."""
    return (
        "\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage[T1]{fontenc}\n"
        "\\usepackage{booktabs}\n\\usepackage[landscape,margin=1cm]{geometry}\n"
        "\\begin{document}\n" + body + "\n\\end{document}\n"
    )


def compile_tex(body: str, folder: Path) -> subprocess.CompletedProcess:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "doc.tex").write_text(latex_document(body))
    return subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _render(name: str, folder: Path, filled: bool) -> str:
    folder.mkdir(parents=True)
    if filled:
        cfg = {"workflow": {"dataset": "synthff", "seeds": [0, 1]}, "evaluation": {"n_bootstrap": 10}}
        evaluations = write_evaluations(folder / "eval", build_sheet(WorkflowConfig(seeds=[0, 1])), name)
        extra = ["--evaluations", *map(str, evaluations)]
    else:
        cfg, extra = {"workflow": {"dataset": "ff++", "root": "/x"}}, ["--paper-only"]  # the paper's rows alone
    (folder / "c.yaml").write_text(yaml.safe_dump(cfg))
    out = folder / name
    assert (
        umcl_main(["report", name, "--config", str(folder / "c.yaml"), *extra, "--out", str(out), "--profile", "test"])
        == 0
    )
    return out.with_suffix(".tex").read_text()


@needs_pdflatex
@pytest.mark.parametrize("filled", [True, False], ids=["filled", "paper-only"])
@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_every_table_compiles(name: str, filled: bool, tmp_path: Path) -> None:
    tex = _render(name, tmp_path / "r", filled)
    proc = compile_tex(tex, tmp_path / "tex")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "tex" / "doc.pdf").stat().st_size > 0
    log = (tmp_path / "tex" / "doc.log").read_text(errors="replace")
    assert "Missing character" not in log  # a glyph the font lacks is dropped silently otherwise


#: characters our tables, notes and legends use that LaTeX does not take as text (tex_escape maps them)
AWKWARD = "100% of A_B & C #1 $x {y} ~ ^ \\ ± ↑ ↓ → ≥ ≤ − – — × · ≈ σ Δ α β ³ é “q” ‘q’ …"


def test_tex_escape_leaves_no_special_or_non_ascii_character() -> None:
    out = tex_escape(AWKWARD)
    assert all(ord(ch) < 128 or ch == "é" for ch in out), [ch for ch in out if ord(ch) >= 128]  # é: utf8 input
    assert "%" not in out.replace(r"\%", "") and "_" not in out.replace(r"\_", "")
    assert "&" not in out.replace(r"\&", "") and "#" not in out.replace(r"\#", "")


def test_tex_escape_greek_letters_and_unnamed_characters() -> None:
    """Greek letters become their LaTeX macros (Unicode's LAMDA is LaTeX's lambda; capitals that look Latin
    have no macro and stay); a character Unicode gives no name (a tab) passes through."""
    assert tex_escape("λΛσΔ") == r"$\lambda$$\Lambda$$\sigma$$\Delta$"
    assert tex_escape("Α") == "Α"  # GREEK CAPITAL LETTER ALPHA: no \Alpha in LaTeX
    assert tex_escape("a\tb") == "a\tb"


def test_provenance_line_without_provenance_says_unknown() -> None:
    """A cell whose metrics carry no provenance (an evaluation written by hand) leaves the commit unknown."""
    from umcl.protocols.keys import EvalKey, RunKey, Selection
    from umcl.report.render import CellRecord, provenance_line

    c23 = Selection("ff++", "c23")
    records = {
        EvalKey(RunKey("umcl", c23, s), c23): CellRecord(EvalKey(RunKey("umcl", c23, s), c23), m, Path(), Path(), None)
        for s, m in ((1, {}), (0, {"provenance": {"commit": "0123456789abcdef"}}))
    }
    assert provenance_line("synthff", "smoke", records, "h") == (
        "Ours: dataset synthff, profile smoke, seeds 0,1 (2 evaluated cells), commit 0123456789ab, config hash h."
    )
    one = {k: r for k, r in records.items() if k.run.seed == 1}
    assert provenance_line("synthff", "smoke", one, "h").endswith(
        "seeds 1 (1 evaluated cells), commit unknown, config hash h."
    )


@needs_pdflatex
def test_escaped_specials_compile_and_print(tmp_path: Path) -> None:
    proc = compile_tex(tex_escape(AWKWARD), tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Missing character" not in (tmp_path / "doc.log").read_text(errors="replace")
