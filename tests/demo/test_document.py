"""The report document renders the same content to markdown and to one self-contained, escaped HTML file."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from PIL import Image

from skinaug.demo.document import Heading, Paragraph, Picture, Table, to_html, to_markdown


def test_markdown_and_html_carry_the_same_blocks_and_html_is_escaped(tmp_path: Path) -> None:
    blocks = [
        Heading("Title <1>", 1),
        Paragraph("uses `code` and **bold** & more"),
        Table(["class", "n"], [["nv", "12"], ["mel", "3"]]),
        Picture("dir/a.png", "a picture"),
    ]
    markdown = to_markdown(blocks)
    assert markdown.startswith("# Title <1>") and "| nv | 12 |" in markdown and "|---|---:|" in markdown
    assert "![a picture](dir/a.png)" in markdown
    html = to_html(blocks, "t", tmp_path)
    assert '<h1 id="title-1">Title &lt;1&gt;</h1>' in html and "<code>code</code>" in html and "<b>bold</b>" in html
    assert "&amp; more" in html and "<td class=n>12</td>" in html
    assert "picture not made: dir/a.png" in html  # a missing picture is said, not linked


def test_html_embeds_its_pictures_and_links_its_sections(tmp_path: Path) -> None:
    (tmp_path / "plots").mkdir()
    Image.new("RGB", (4, 3), (200, 10, 10)).save(tmp_path / "plots" / "curve.png")
    blocks = [
        Heading("Report", 1),
        Heading("1. Data"),
        Picture("plots/curve.png", "a curve"),
        Heading("Details", 3),
        Heading("1. Data"),
    ]
    html = to_html(blocks, "t", tmp_path)
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) == 1 and sources[0].startswith("data:image/png;base64,")
    assert base64.b64decode(sources[0].split(",", 1)[1]) == (tmp_path / "plots" / "curve.png").read_bytes()
    assert 'plots/curve.png"' not in html and 'src="plots' not in html
    links = re.findall(r'<a href="#([^"]+)"', html)
    assert links == ["1-data", "details", "1-data-2"]  # level 2 and 3 headings, repeated titles kept apart
    assert all(f'id="{anchor}"' in html for anchor in links)
    assert 'id="figure-plots-curve-png"' in html
