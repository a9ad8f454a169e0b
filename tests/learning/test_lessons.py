"""Lesson Markdown is rendered by a maintained parser and sanitised: no script, no event
handler, no javascript: or data: link survives; ordinary Markdown still reads well."""

from __future__ import annotations

from html.parser import HTMLParser

from markupsafe import Markup

from app.learning.lessons import render_lesson

HOSTILE = """## Key ideas

<script>alert("owned")</script>

<img src="x" onerror="alert(1)">

A [plain link](javascript:alert(1)) and a [sneaky one](JaVaScRiPt:alert(2)).

<a href="JaVaScRiPt:alert(3)">click</a>

![pixel](data:image/png;base64,iVBORw0KGgo=) and [a page](data:text/html;base64,PHNjcmlwdD4=)

<div onclick="alert(4)" style="position:fixed">covered</div>

[a  tab](java\tscript:alert(5)) <iframe src="https://evil.example"></iframe>
"""


class Elements(HTMLParser):
    """Every element and attribute of a fragment, as a browser would see them."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend((tag, name, value or "") for name, value in attrs)


def test_hostile_markup_renders_without_anything_active():
    html = render_lesson(HOSTILE)
    found = Elements(str(html))
    assert not {"script", "iframe", "style", "object", "embed"} & set(found.tags)
    assert [a for a in found.attrs if a[1].startswith("on")] == []
    assert [a for a in found.attrs if a[1] == "style"] == []
    urls = [
        value.replace("\t", "").lower() for _, name, value in found.attrs if name in ("href", "src")
    ]
    assert not [u for u in urls if u.startswith(("javascript:", "data:", "vbscript:"))]
    # Raw HTML is shown as text, never as markup.
    assert "&lt;script&gt;" in html and '<img src="x"' not in html


def test_the_four_attacks_of_the_brief_each_on_its_own():
    for source in (
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[x](javascript:alert(1))",
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        "[x](data:text/html,<script>alert(1)</script>)",
        "![x](data:image/svg+xml;base64,PHN2Zz4=)",
    ):
        found = Elements(str(render_lesson(source)))
        assert "script" not in found.tags, source
        assert not [a for a in found.attrs if a[1].startswith("on")], source
        hrefs = [v.lower() for _, n, v in found.attrs if n in ("href", "src")]
        assert not [v for v in hrefs if v.startswith(("javascript:", "data:"))], source


def test_links_keep_safe_schemes_and_open_nothing_with_the_pages_rights():
    html = str(
        render_lesson(
            "[site](https://example.org/a?b=1) [mail](mailto:pmo@example.org) "
            "[page](/learning/paths) [plain](http://example.org)"
        )
    )
    found = Elements(html)
    hrefs = [v for t, n, v in found.attrs if t == "a" and n == "href"]
    assert hrefs == [
        "https://example.org/a?b=1",
        "mailto:pmo@example.org",
        "/learning/paths",
        "http://example.org",
    ]
    rels = [v for t, n, v in found.attrs if t == "a" and n == "rel"]
    assert rels == ["noopener noreferrer"] * 4


def test_ordinary_markdown_reads_well():
    html = render_lesson(
        "# Title\n\n## Key ideas\n\n- **Bold** and *italic*\n- `code`\n\n"
        "1. one\n2. two\n\n> quoted\n\n| Decision | Who |\n|---|--:|\n| Approve | Board |\n"
    )
    assert isinstance(html, Markup)
    text = str(html)
    assert "<h2>Title</h2>" in text and "<h1>" not in text
    assert "<h2>Key ideas</h2>" in text
    assert (
        "<strong>Bold</strong>" in text
        and "<em>italic</em>" in text
        and "<code>code</code>" in text
    )
    assert "<ol>" in text and "<blockquote>" in text
    assert '<div class="table-responsive"><table class="table table-sm">' in text
    assert "<td>Board</td>" in text  # the alignment's inline style is dropped (CSP)


def test_empty_lesson():
    assert render_lesson("") == Markup("")
