"""The report document renders the same content to markdown and to escaped HTML."""

from __future__ import annotations

from skinaug.demo.document import Heading, Paragraph, Picture, Table, to_html, to_markdown


def test_markdown_and_html_carry_the_same_blocks_and_html_is_escaped() -> None:
    blocks = [Heading("Title <1>", 1), Paragraph("uses `code` and **bold** & more"),
              Table(["class", "n"], [["nv", "12"], ["mel", "3"]]), Picture("dir/a.png", "a picture")]
    markdown = to_markdown(blocks)
    assert markdown.startswith("# Title <1>") and "| nv | 12 |" in markdown and "|---|---:|" in markdown
    assert "![a picture](dir/a.png)" in markdown
    html = to_html(blocks, "t")
    assert "<h1>Title &lt;1&gt;</h1>" in html and "<code>code</code>" in html and "<b>bold</b>" in html
    assert "&amp; more" in html and "<td class=n>12</td>" in html and '<img src="dir/a.png"' in html
