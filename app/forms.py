"""Forms every domain shares."""

from flask_wtf import FlaskForm
from wtforms import SubmitField


class ConfirmForm(FlaskForm):
    """An empty form: a CSRF-protected button for a state-changing action."""

    submit = SubmitField("Confirm")
