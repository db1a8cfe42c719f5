"""The reports' Markdown as HTML pages (umcl.report.html), for Snakemake's HTML report."""

from __future__ import annotations

from html.parser import HTMLParser

from umcl.report.html import markdown_to_html, write_markdown

SAMPLE = """# In- and cross-compression evaluation (paper Table 3)

*These numbers come from SynthFF*; they are **not** the paper's. See [the index](index.md).

| Method | Source | FF++ (raw) AUC(%) |
|---|---|---|
| UMCL (Ours) | ours | 59.72 ± 5.0 [49.0, 70.1] (↓0.26) |
| a <b> & `x` | paper | - |

- first note, wrapped
  over two lines
- second note
"""


class Collect(HTMLParser):
    """Tags and the text inside each table cell."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_a_report_page_keeps_every_cell_and_escapes_text():
    page = markdown_to_html(SAMPLE)
    parsed = Collect()
    parsed.feed(page)
    assert parsed.tags.count("table") == 1 and parsed.tags.count("tr") == 3
    assert parsed.cells == [
        "Method",
        "Source",
        "FF++ (raw) AUC(%)",
        "UMCL (Ours)",
        "ours",
        "59.72 ± 5.0 [49.0, 70.1] (↓0.26)",
        "a <b> & x",
        "paper",
        "-",
    ]
    assert "<b>" not in page and "&lt;b&gt;" in page  # text, never markup
    assert (
        parsed.tags.count("h1") == 1 and "<title>In- and cross-compression evaluation (paper Table 3)</title>" in page
    )
    assert "<em>These numbers come from SynthFF</em>" in page and "<strong>not</strong>" in page
    assert '<a href="index.md">the index</a>' in page and "<code>x</code>" in page
    assert "<li>first note, wrapped over two lines</li>" in page and parsed.tags.count("li") == 2
    assert "<script" not in page and "http" not in page  # self-contained, nothing fetched


def test_write_markdown_writes_both_files(tmp_path):
    md, page = write_markdown(tmp_path / "table3.md", SAMPLE)
    assert md.read_text() == SAMPLE and page == tmp_path / "table3.html"
    assert page.read_text() == markdown_to_html(SAMPLE)
