"""The audit page's GET filter form (a plain WTForms ``Form`` on the query string: it
changes nothing, so it carries no CSRF token and its URL can be bookmarked)."""

from __future__ import annotations

from wtforms import DateField, Form, SelectChoice, SelectField, StringField, ValidationError
from wtforms.validators import Length, Optional

from app.audit.queries import ACTIONS, AuditFilter
from app.audit.registry import TABLES
from app.forms import date_in_range


def _after_start(form: Form, field) -> None:
    start = form.start.data
    if field.data is not None and start is not None and field.data < start:
        raise ValidationError("Pick a day on or after the first day.")


class AuditFilterForm(Form):
    actor = StringField(
        "Who",
        validators=[Optional(), Length(max=120)],
        description='A user id, part of a name or email, "system" or "anonymous".',
    )
    action = SelectField(
        "Action",
        choices=[
            SelectChoice("", "Any action"),
            *(SelectChoice(a, a.capitalize()) for a in ACTIONS),
        ],
        validators=[Optional()],
    )
    table = SelectField(
        "Record type",
        choices=[
            SelectChoice("", "Any record"),
            *(SelectChoice(t, t.replace("_", " ")) for t in sorted(TABLES)),
        ],
        validators=[Optional()],
    )
    record = StringField("Record id", validators=[Optional(), Length(max=64)])
    start = DateField("From", validators=[Optional(), date_in_range])
    end = DateField("To", validators=[Optional(), date_in_range, _after_start])

    def filter(self) -> AuditFilter:
        if self.errors:
            return AuditFilter(action="-", table="-")  # matches nothing
        return AuditFilter(
            actor=self.actor.data or "",
            action=self.action.data or "",
            table=self.table.data or "",
            record=self.record.data or "",
            start=self.start.data,
            end=self.end.data,
        )
