"""Lesson text: Markdown rendered to safe HTML.

Two locks, so that neither alone has to be perfect: markdown-it-py (a maintained
CommonMark parser) runs with raw HTML off, so any tag in a lesson is shown as text; then
nh3 sanitises the result against an allow-list of tags and attributes. Links keep only
http, https, mailto and relative addresses, and open nothing with the page's rights
(``rel="noopener noreferrer"``). No script, no event handler, no ``javascript:`` or
``data:`` address survives. Tables are wrapped for narrow screens.
"""

from __future__ import annotations

from functools import cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

TAGS = {
    "p",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "a",
    "hr",
    "br",
    "img",
    "s",
    "del",
    "div",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"scope"},
}
CLASSES = {"div": {"table-responsive"}, "table": {"table", "table-sm"}}
URL_SCHEMES = {"http", "https", "mailto"}


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table").enable("strikethrough")

    def table_open(_renderer, _tokens, _idx, _options, _env):
        return '<div class="table-responsive"><table class="table table-sm">\n'

    def table_close(_renderer, _tokens, _idx, _options, _env):
        return "</table></div>\n"

    md.add_render_rule("table_open", table_open)
    md.add_render_rule("table_close", table_close)
    return md


def _shift_headings(html: str) -> str:
    """A lesson's ``#`` heading is below the page's own title: h1 becomes h2."""
    return html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")


def render_lesson(markdown: str) -> Markup:
    """The lesson as sanitised HTML, safe to put in a page as it is."""
    html = _shift_headings(_parser().render(markdown or ""))
    clean = nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        allowed_classes=CLASSES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
        clean_content_tags={"script", "style"},
    )
    return Markup(clean)  # noqa: S704  (sanitised just above)
