"""Reading a page's forms as a browser would submit them (for the sweeps that post the
real forms back)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    method: str
    #: name -> values a browser would send untouched (checked boxes, selected options)
    values: dict[str, list[str]] = field(default_factory=dict)
    #: every field name the form declares (whether or not it sends a value)
    names: set[str] = field(default_factory=set)
    #: name -> the values a select or a radio group offers
    options: dict[str, list[str]] = field(default_factory=dict)

    def data(self, **changes: str | list[str]) -> dict[str, list[str]]:
        out = {k: list(v) for k, v in self.values.items()}
        for name, value in changes.items():
            out[name] = value if isinstance(value, list) else [value]
        return out


class _Reader(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._option: dict | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    @property
    def form(self) -> Form | None:
        return self.forms[-1] if self.forms else None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.forms.append(
                Form(action=a.get("action") or self.page_url, method=a.get("method", "get").upper())
            )
            return
        form = self.form
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            self._input(form, name, a)
        elif tag == "select" and name:
            form.names.add(name)
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select:
            self._option = a
            value = a.get("value")
            if value is not None:
                self._record_option(value, "selected" in a)
            self._text = []
        elif tag == "textarea" and name:
            form.names.add(name)
            self._textarea, self._text = name, []

    @staticmethod
    def _input(form: Form, name: str, a: dict[str, str]) -> None:
        kind = a.get("type", "text").lower()
        form.names.add(name)
        if kind in ("submit", "button", "image", "reset", "file"):
            return
        if kind in ("checkbox", "radio"):
            form.options.setdefault(name, []).append(a.get("value", "on"))
            if "checked" in a:
                form.values.setdefault(name, []).append(a.get("value", "on"))
            return
        form.values.setdefault(name, []).append(a.get("value", ""))

    def _record_option(self, value: str, selected: bool) -> None:
        form = self.form
        assert form is not None and self._select is not None
        form.options.setdefault(self._select, []).append(value)
        if self._select_first is None:
            self._select_first = value
        if selected:
            form.values.setdefault(self._select, []).append(value)
            self._select_chosen = True
        self._option = None

    def handle_data(self, data):
        if self._textarea is not None or self._option is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        form = self.form
        if tag == "option" and self._option is not None:
            self._record_option("".join(self._text).strip(), "selected" in self._option)
        elif tag == "select" and self._select and form is not None:
            if not self._select_chosen and self._select_first is not None:
                form.values.setdefault(self._select, []).append(self._select_first)
            self._select = None
        elif tag == "textarea" and self._textarea and form is not None:
            form.values.setdefault(self._textarea, []).append("".join(self._text).lstrip("\n"))
            self._textarea = None


def forms_of(html: str, page_url: str) -> list[Form]:
    reader = _Reader(page_url)
    reader.feed(html)
    return reader.forms


def form_posting_to(html: str, page_url: str, action: str) -> Form:
    """The page's POST form whose action is ``action`` (a path)."""
    for form in forms_of(html, page_url):
        if form.method == "POST" and form.action.split("?")[0] == action:
            return form
    raise AssertionError(f"no POST form to {action} on {page_url}")
