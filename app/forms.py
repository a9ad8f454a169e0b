"""Forms every domain shares, and how an edit form shows a save that came too late."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, FieldList, HiddenField, SelectChoice, SubmitField, ValidationError

from app.dates import RANGE_TEXT, in_range
from app.emails import normalise_email
from app.versioning import StaleEdit


class ConfirmForm(FlaskForm):
    """An empty form: a CSRF-protected button for a state-changing action."""

    submit = SubmitField("Confirm")


def work_email(_form: FlaskForm, field: Field) -> None:
    """A WTForms validator: the address is a work email (``app.emails``; internal names such
    as ``corp.local`` are accepted). An empty field is left to DataRequired / Optional."""
    if field.data:
        try:
            normalise_email(field.data)
        except ValueError as exc:
            raise ValidationError(f"Not a valid email address. {exc}") from None


def date_in_range(_form: FlaskForm, field: Field) -> None:
    """A WTForms validator: the date lies between 1900 and 2100 (see ``app.dates``)."""
    if not in_range(field.data):
        raise ValidationError(f"Give a date {RANGE_TEXT}.")


# --- edit forms: the version a form was read at, and a stale save -------------------------------


class VersionField(HiddenField):
    """The version of the record an edit form was read at (``app.versioning``)."""


@dataclass(frozen=True)
class StaleValue:
    """One field of a stale save: its label, the value saved now and the user's own."""

    label: str
    saved: str
    yours: str


@dataclass(frozen=True)
class StaleNotice:
    """What ``macros/stale.html`` shows above a form whose save came too late."""

    message: str
    differences: list[StaleValue]
    #: Whether the form now shows the saved values (False when they could not be read:
    #: the record is gone, say).
    reloaded: bool = True


#: Fields a stale notice never compares: tokens and buttons.
_NOT_COMPARED = {"HiddenField", "VersionField", "CSRFTokenField", "SubmitField"}


def show_stale(form: FlaskForm, error: StaleEdit) -> None:
    """Turn ``form`` into the form as it would open now, armed with the new version, and
    attach the notice listing each field whose saved value differs from what was sent.
    Called after the rollback (the saved values may have to be read again)."""
    saved = dict(error.current())
    if not saved:
        form.stale = StaleNotice(error.message, [], reloaded=False)
        return
    differences = []
    for name, value in saved.items():
        field = form._fields.get(name)
        if field is None or field.type in _NOT_COMPARED:
            continue
        if _comparable(value) != _comparable(field.data):
            differences.append(
                StaleValue(str(field.label.text), _shown(field, value), _shown(field, field.data))
            )
    form.process(formdata=None, data=saved)
    for field in form:  # show the values just set, not the text that was posted
        field.raw_data = None
    form.stale = StaleNotice(error.message, differences)


def _comparable(value: Any) -> Any:
    """A value in a form that compares as the user sees it: blank is blank, whitespace
    runs are one space, numbers by value, lists without their blank rows and in order."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return format(Decimal(str(value)).normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        items = tuple(sorted((str(k), _comparable(v)) for k, v in value.items()))
        return "" if all(v in ("", False) for _, v in items) else items
    if isinstance(value, list | tuple | set):
        return tuple(sorted((c for c in map(_comparable, value) if c != ""), key=repr))
    return " ".join(str(value).split())


def _labels(field: Field) -> dict[str, str]:
    choices = getattr(field, "choices", None) or []
    if isinstance(choices, Mapping):  # option groups
        choices = [c for group in choices.values() for c in group]
    out = {}
    for choice in choices:
        if isinstance(choice, SelectChoice):
            value, label = choice.value, choice.label
        elif isinstance(choice, list | tuple):
            value, label = choice[0], choice[1]
        else:
            value = label = choice
        out[str(value)] = str(label)
    return out


def _shown(field: Field, value: Any) -> str:
    """A field's value in words: a choice by its label, yes or no, a date, a list."""
    if isinstance(field, FieldList):
        rows = [_shown_row(field, row) for row in value or []]
        return "\n".join(row for row in rows if row) or "(none)"
    labels = _labels(field)
    if not isinstance(value, list | tuple | set | bool) and str(value) in labels:
        return labels[str(value)]  # a choice, "none" included
    if value is None or value == "" or value == []:
        return "(blank)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple | set):
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return labels.get(str(value), format(Decimal(str(value)).normalize(), "f"))
    return labels.get(str(value), str(value))


def _shown_row(field: FieldList, row: Any) -> str:
    """One row of a list of sub-forms (``{"competency": "GOV-01", "level": "3"}``)."""
    if not isinstance(row, Mapping) or not field.entries:
        return "" if row in (None, "") else str(row)
    sub = field.entries[0]
    parts = []
    for key, value in row.items():
        inner = sub.form._fields.get(key) if hasattr(sub, "form") else None
        if value in (None, "", False):
            continue
        parts.append(_shown(inner, value) if inner is not None else str(value))
    return " · ".join(parts)
