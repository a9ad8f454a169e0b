"""Helpers for lost-update tests: read an edit form as a browser would submit it, change some
fields, post it, and read the stale-save notice a late save gets back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict

from tests.conftest import log_in


class _FormReader(HTMLParser):
    """The named controls of each ``<form method="post">`` of a page, with the values a
    browser would send: text and hidden inputs, ticked boxes, chosen options, text areas."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[list[tuple[str, str]]] = []
        self._form: list[tuple[str, str]] | None = None
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._option: tuple[str | None, bool] | None = None
        self._option_text: list[str] = []
        self._area: str | None = None
        self._area_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._form = []
            self.forms.append(self._form)
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "reset", "file", "image"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form.append((name, a.get("value") or "on"))
                return
            self._form.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self._select, self._options = name, []
        elif tag == "option" and self._select:
            self._option, self._option_text = (a.get("value"), "selected" in a), []
        elif tag == "textarea" and name:
            self._area, self._area_text = name, []

    def handle_data(self, data):
        if self._area is not None:
            self._area_text.append(data)
        if self._option is not None:
            self._option_text.append(data)

    def handle_endtag(self, tag):
        if self._form is None:
            return
        if tag == "option" and self._option is not None:
            value, chosen = self._option
            self._options.append(
                (value if value is not None else "".join(self._option_text), chosen)
            )
            self._option = None
        elif tag == "select" and self._select:
            chosen = [v for v, s in self._options if s] or [v for v, _ in self._options[:1]]
            self._form.extend((self._select, v) for v in chosen)
            self._select = None
        elif tag == "textarea" and self._area is not None:
            text = "".join(self._area_text)
            self._form.append((self._area, text[1:] if text.startswith("\n") else text))
            self._area = None
        elif tag == "form":
            self._form = None


def read_form(html: str, having: str = "row_version") -> MultiDict:
    """The values of the page's post form that has a control named ``having``."""
    reader = _FormReader()
    reader.feed(html)
    for form in reader.forms:
        if any(name == having for name, _ in form):
            return MultiDict(form)
    raise AssertionError(f"no post form with {having!r} on the page")


@dataclass
class Editor:
    """One signed-in browser editing a record: it opens the form, then saves it."""

    client: object
    url: str
    form: MultiDict = field(default_factory=MultiDict)
    token_field: str = "row_version"

    def open(self) -> Editor:
        page = self.client.get(self.url)
        assert page.status_code == 200, (self.url, page.status_code)
        self.form = read_form(page.text, self.token_field)
        return self

    def save(self, **changes):
        """Post the form as opened, with ``changes`` (a list value for a multi-choice)."""
        data = self.form.copy()
        for name, value in changes.items():
            data.setlist(name, value if isinstance(value, list) else [value])
        response = self.client.post(self.url, data=data)
        if response.status_code in (200, 409):  # the form came back: the one to save next
            try:
                self.form = read_form(response.text, self.token_field)
            except AssertionError:
                pass
        return response


def editor(app, user, url: str, token_field: str = "row_version") -> Editor:
    """A browser of its own, signed in as ``user``, on the edit form at ``url``."""
    client = app.test_client()
    log_in(client, user)
    return Editor(client, url, token_field=token_field)


@dataclass(frozen=True)
class Difference:
    label: str
    saved: str
    yours: str


def stale_notice(response) -> list[Difference]:
    """The differences a stale-save notice lists (asserting the notice is there, on a 409
    Conflict page)."""
    assert response.status_code == 409, response.status_code
    text = response.text
    assert 'data-testid="stale-notice"' in text, "no stale-save notice on the page"
    assert "changed by someone else since you opened it" in text
    block = text[text.index('data-testid="stale-notice"') :]
    block = block[: block.index("</dl>")] if "</dl>" in block else ""
    found = []
    for m in re.finditer(
        r"<dt[^>]*>(.*?)</dt>.*?data-stale=\"saved\">(.*?)</div>.*?data-stale=\"yours\">(.*?)</div>",
        block,
        re.S,
    ):
        found.append(Difference(*(unescape(g).strip() for g in m.groups())))
    return found


def difference(response, label: str) -> Difference:
    for d in stale_notice(response):
        if d.label == label:
            return d
    raise AssertionError(f"{label!r} is not among the differences: {stale_notice(response)}")
