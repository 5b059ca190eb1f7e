"""A small document model (headings, paragraphs, tables, pictures) rendered to markdown and to one HTML file."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Sequence, Union


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    text: str                    # may use `code` and **bold**


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    numeric: bool = True         # right-align every column but the first


@dataclass
class Picture:
    path: str                    # relative to the report's folder
    caption: str


Block = Union[Heading, Paragraph, Table, Picture]


def to_markdown(blocks: Sequence[Block]) -> str:
    """GitHub-flavoured markdown."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            lines += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Paragraph):
            lines += [block.text, ""]
        elif isinstance(block, Table):
            align = ["---"] + [("---:" if block.numeric else "---")] * (len(block.header) - 1)
            lines += ["| " + " | ".join(block.header) + " |", "|" + "|".join(align) + "|"]
            lines += ["| " + " | ".join(row) + " |" for row in block.rows] + [""]
        else:
            lines += [f"![{block.caption}]({block.path})", "", f"*{block.caption}*", ""]
    return "\n".join(lines)


def _inline(text: str) -> str:
    escaped = html.escape(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


_STYLE = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
          "table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px}"
          "td.n{text-align:right}th{background:#f3f3f3}img{max-width:100%;border:1px solid #ddd}"
          "figure{margin:1em 0}figcaption{color:#555;font-size:90%}code{background:#f4f4f4;padding:0 3px}")


def to_html(blocks: Sequence[Block], title: str) -> str:
    """One self-contained HTML page (pictures referenced by relative path)."""
    body: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{_inline(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{_inline(block.text)}</p>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{_inline(h)}</th>" for h in block.header)
            rows = []
            for row in block.rows:
                cells = "".join(f"<td{' class=n' if block.numeric and i else ''}>{_inline(c)}</td>"
                                for i, c in enumerate(row))
                rows.append(f"<tr>{cells}</tr>")
            body.append(f"<table><tr>{head}</tr>{''.join(rows)}</table>")
        else:
            body.append(f'<figure><img src="{html.escape(block.path)}" alt="{html.escape(block.caption)}">'
                        f"<figcaption>{_inline(block.caption)}</figcaption></figure>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
