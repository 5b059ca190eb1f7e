"""A small document model (headings, paragraphs, tables, pictures) rendered to markdown and to one HTML file."""

from __future__ import annotations

import base64
import html
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    text: str  # may use `code` and **bold**


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    numeric: bool = True  # right-align every column but the first


@dataclass
class Picture:
    path: str  # relative to the report's folder
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


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px}"
    "td.n{text-align:right}th{background:#f3f3f3}img{max-width:100%;border:1px solid #ddd}"
    "figure{margin:1em 0}figcaption{color:#555;font-size:90%}code{background:#f4f4f4;padding:0 3px}"
    "nav ul{list-style:none;padding-left:1em}nav li.l3{margin-left:1.5em}"
)


def _data_uri(path: Path) -> str:
    """The file's bytes as a base64 data URI (so that the HTML page needs no other file)."""
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _anchors(blocks: Sequence[Block]) -> dict[int, str]:
    """A unique id per heading (keyed by position), from its text: 'Synthetic images' -> 'synthetic-images'."""
    anchors: dict[int, str] = {}
    for position, block in enumerate(blocks):
        if isinstance(block, Heading):
            slug = re.sub(r"[^a-z0-9]+", "-", block.text.lower()).strip("-") or "section"
            anchor, n = slug, 1
            while anchor in anchors.values():
                n += 1
                anchor = f"{slug}-{n}"
            anchors[position] = anchor
    return anchors


def _contents(blocks: Sequence[Block], anchors: dict[int, str]) -> str:
    """A linked table of contents of the level-2 and level-3 headings."""
    items = [
        f'<li class="l{block.level}"><a href="#{anchors[position]}">{_inline(block.text)}</a></li>'
        for position, block in enumerate(blocks)
        if isinstance(block, Heading) and block.level in (2, 3)
    ]
    return f'<nav id="contents"><b>Contents</b><ul>{"".join(items)}</ul></nav>' if items else ""


def to_html(blocks: Sequence[Block], title: str, folder: Path) -> str:
    """One self-contained HTML page: pictures (paths relative to `folder`) embedded as data URIs, a linked
    table of contents after the first heading, and an anchor on every heading and picture."""
    anchors = _anchors(blocks)
    body: list[str] = []
    for position, block in enumerate(blocks):
        if isinstance(block, Heading):
            body.append(f'<h{block.level} id="{anchors[position]}">{_inline(block.text)}</h{block.level}>')
            if position == min(anchors):
                body.append(_contents(blocks, anchors))
        elif isinstance(block, Paragraph):
            body.append(f"<p>{_inline(block.text)}</p>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{_inline(h)}</th>" for h in block.header)
            rows = []
            for row in block.rows:
                cells = "".join(
                    f"<td{' class=n' if block.numeric and i else ''}>{_inline(c)}</td>" for i, c in enumerate(row)
                )
                rows.append(f"<tr>{cells}</tr>")
            body.append(f"<table><tr>{head}</tr>{''.join(rows)}</table>")
        else:
            file = folder / block.path
            figure_id = "figure-" + re.sub(r"[^a-z0-9]+", "-", block.path.lower()).strip("-")
            picture = (
                f'<img src="{_data_uri(file)}" alt="{html.escape(block.caption)}">'
                if file.is_file()
                else f"<p><i>(picture not made: {html.escape(block.path)})</i></p>"
            )
            body.append(f'<figure id="{figure_id}">{picture}<figcaption>{_inline(block.caption)}</figcaption></figure>')
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
