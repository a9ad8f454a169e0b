"""Forms every domain shares."""

from flask_wtf import FlaskForm
from wtforms import Field, SubmitField, ValidationError

from app.dates import RANGE_TEXT, in_range


class ConfirmForm(FlaskForm):
    """An empty form: a CSRF-protected button for a state-changing action."""

    submit = SubmitField("Confirm")


def date_in_range(_form: FlaskForm, field: Field) -> None:
    """A WTForms validator: the date lies between 1900 and 2100 (see ``app.dates``)."""
    if not in_range(field.data):
        raise ValidationError(f"Give a date {RANGE_TEXT}.")
