"""Forms of classroom and workshop sessions: they shape input; the rules live in
app.learning.sessions."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.forms import date_in_range


class SessionForm(FlaskForm):
    module = SelectField(
        "Module", validators=[DataRequired("Choose a classroom or workshop module.")]
    )
    day = DateField("Date", validators=[InputRequired("Give the date."), date_in_range])
    starts = TimeField("Starts", validators=[InputRequired("Give the start time.")])
    ends = TimeField("Ends", validators=[InputRequired("Give the end time.")])
    location = StringField(
        "Place",
        validators=[Optional(), Length(max=200)],
        description="Building and room; leave empty for an online-only session.",
    )
    link = StringField(
        "Online link",
        validators=[Optional(), Length(max=500)],
        description="For online or hybrid sessions: the meeting address (https://…).",
    )
    capacity = IntegerField(
        "Capacity",
        validators=[
            InputRequired("Give the number of places."),
            NumberRange(min=1, max=500, message="Give a capacity from 1 to 500."),
        ],
    )
    notes = TextAreaField(
        "Notes for learners",
        validators=[Optional(), Length(max=4000)],
        description="What to bring or prepare, how to join.",
    )
    submit = SubmitField("Save the session")


class AttendanceForm(FlaskForm):
    """The register: one checkbox per booked learner (values are booking ids)."""

    attended = SelectMultipleField("Attended", coerce=int, validators=[Optional()])
    submit = SubmitField("Record attendance")
