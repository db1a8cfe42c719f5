"""A report's Markdown as a self-contained HTML page (for Snakemake's HTML report).

Snakemake's report viewer shows images, PDF and HTML inline but offers a Markdown file only as a
download, so every Markdown report (tables, studies, claims, Table 9) is written a second time as
HTML beside it. The converter covers exactly the Markdown the reports write: ``#`` headings, pipe
tables, ``-``/``*`` bullet lists, paragraphs, and inline ``**bold**``, ``*italic*``, `` `code` ``
and ``[text](link)``. Everything else is escaped text. No script, no external resource.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from umcl.io_utils import write_text

STYLE = (
    "body{font-family:sans-serif;margin:1.5em;max-width:110em}"
    "table{border-collapse:collapse;font-size:0.85em;margin:0.8em 0}"
    "th,td{border:1px solid #bbb;padding:0.2em 0.5em;text-align:left;vertical-align:top}"
    "th{background:#eee}tr:nth-child(even) td{background:#fafafa}"
    "code{background:#f3f3f3;padding:0 0.2em}"
)

_INLINE = [
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*([^*]+)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])"), r"<em>\1</em>"),
    (re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)"), r'<a href="\2">\1</a>'),
]


def inline(text: str) -> str:
    """One line of Markdown text as HTML (escaped first, then the inline marks)."""
    out = html.escape(text, quote=False)
    for pattern, repl in _INLINE:
        out = pattern.sub(repl, out)
    return out


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _is_rule(line: str) -> bool:
    return bool(re.fullmatch(r"\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?", line.strip()))


def markdown_to_html(md: str, title: str | None = None) -> str:
    """A complete HTML document of ``md`` (the report's Markdown subset; module docstring)."""
    lines, body, i = md.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        heading = re.match(r"(#{1,6})\s+(.*)", line)
        if not line.strip():
            i += 1
        elif heading:
            level = len(heading.group(1))
            body.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
            title = title or heading.group(2)
            i += 1
        elif line.lstrip().startswith("|") and i + 1 < len(lines) and _is_rule(lines[i + 1]):
            head, i = _cells(line), i + 2
            rows = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            body.append(
                "<table><thead><tr>"
                + "".join(f"<th>{inline(c)}</th>" for c in head)
                + "</tr></thead><tbody>"
                + "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in rows)
                + "</tbody></table>"
            )
        elif re.match(r"\s*[-*]\s+", line):
            items = []
            while i < len(lines) and lines[i].strip():
                if re.match(r"\s*[-*]\s+", lines[i]):
                    items.append(re.sub(r"^\s*[-*]\s+", "", lines[i]))
                else:  # a wrapped item continues on the next line
                    items[-1] += " " + lines[i].strip()
                i += 1
            body.append("<ul>" + "".join(f"<li>{inline(t)}</li>" for t in items) + "</ul>")
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not re.match(r"(#{1,6})\s|\s*\|", lines[i]):
                para.append(lines[i].strip())
                i += 1
            if not para:  # a lone table row without a header rule: keep it as text
                para, i = [line.strip()], i + 1
            body.append(f"<p>{inline(' '.join(para))}</p>")
    head = f"<title>{html.escape(title or 'report')}</title><style>{STYLE}</style>"
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8">{head}</head><body>\n'
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def write_markdown(path: str | Path, md: str) -> tuple[Path, Path]:
    """Write ``md`` to ``path`` (``.md``) and its HTML page beside it (``.html``), each atomically."""
    path = Path(path)
    write_text(path, md)
    page = path.with_suffix(".html")
    write_text(page, markdown_to_html(md))
    return path, page


__all__ = ["markdown_to_html", "write_markdown", "inline"]
