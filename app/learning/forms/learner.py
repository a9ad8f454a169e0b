"""Forms of enrolment and progress: they shape input; the rules live in
app.learning.enrolment and app.learning.progress."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.forms import date_in_range

#: Who a bulk enrolment is for: value -> label.
WHO = [
    SelectChoice("people", "Chosen people"),
    SelectChoice("unit", "Everyone in an org unit (and the units below it)"),
    SelectChoice("role", "Everyone who holds a role"),
]


def optional_int(value: object) -> int | None:
    """Coerce a select value where "" means none."""
    if value in (None, "", "None"):
        return None
    return int(value)  # type: ignore[call-overload]


def split_numbers(text: str | None) -> list[str]:
    """Employee numbers typed one per line, or separated by commas, semicolons or spaces."""
    return [n for n in re.split(r"[\s,;]+", text or "") if n]


class EnrolPeopleForm(FlaskForm):
    """A trainer's or manager's bulk enrolment: a path, who, and when it is due."""

    path = SelectField(
        "Learning path", coerce=optional_int, validators=[InputRequired("Choose a path.")]
    )
    who = RadioField("Who", choices=WHO, default="people", validators=[InputRequired()])
    people = SelectMultipleField(
        "People",
        coerce=int,
        validators=[Optional()],
        description="Hold Ctrl (or Cmd) to choose several.",
    )
    numbers = TextAreaField(
        "Employee numbers",
        validators=[Optional(), Length(max=20000)],
        description="One per line, or separated by commas.",
    )
    unit = SelectField("Org unit", coerce=optional_int, validators=[Optional()])
    role = SelectField("Role", coerce=optional_int, validators=[Optional()])
    due_on = DateField("Due by", validators=[InputRequired("Give the due date."), date_in_range])
    submit = SubmitField("Check and enrol")


class EnrolPersonForm(FlaskForm):
    """Assign a path to one person."""

    path = SelectField(
        "Learning path", coerce=optional_int, validators=[InputRequired("Choose a path.")]
    )
    due_on = DateField("Due by", validators=[InputRequired("Give the due date."), date_in_range])
    submit = SubmitField("Assign the path")


class CompleteModuleForm(FlaskForm):
    reflection = TextAreaField(
        "Reflection (optional)",
        validators=[Optional(), Length(max=4000)],
        description="What you will apply, or what you would like to discuss with your manager.",
    )
    submit = SubmitField("Mark complete")


class SignOffForm(FlaskForm):
    comment = TextAreaField(
        "What you saw",
        validators=[
            DataRequired("Say what you saw that shows the task was done."),
            Length(max=4000),
        ],
        description="The work, its outcome, and when: it is kept with the learner's evidence.",
    )
    submit = SubmitField("Sign off the task")


class AssessmentResultForm(FlaskForm):
    passed_on = DateField(
        "Passed on", validators=[InputRequired("Give the date it was passed."), date_in_range]
    )
    comment = TextAreaField("Comment (optional)", validators=[Optional(), Length(max=4000)])
    submit = SubmitField("Record the pass")
