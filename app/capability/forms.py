from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

LEVEL_CHOICES = [SelectChoice(n, str(n)) for n in range(6)]


class SelfRatingForm(FlaskForm):
    competency = SelectField("Competency", validators=[DataRequired("Choose a competency.")])
    level = SelectField(
        "My level", coerce=int, choices=LEVEL_CHOICES, validators=[InputRequired("Choose a level.")]
    )
    note = TextAreaField(
        "What shows it",
        validators=[Optional(), Length(max=2000)],
        description="A sentence or two: the work, the outcome, when.",
    )
    link = StringField(
        "Link to evidence",
        validators=[Optional(), Length(max=500)],
        description="Optional: a document or page that shows the work.",
    )
    submit = SubmitField("Send to my manager")


def optional_level(value: object) -> int | None:
    """A level from a select whose first option is "choose": empty is None, not 0."""
    if value is None or value == "":
        return None
    return int(value)  # type: ignore[call-overload]


class DecisionForm(FlaskForm):
    decision = HiddenField(validators=[DataRequired()])
    #: no default: adjusting without choosing a level is refused by the use-case (never 0)
    level = SelectField(
        "Your rating",
        coerce=optional_level,
        choices=LEVEL_CHOICES,
        validators=[Optional()],
        validate_choice=False,
    )
    comment = TextAreaField("Comment", validators=[Optional(), Length(max=2000)])
    submit = SubmitField("Record decision")


class CalibrationForm(FlaskForm):
    level = SelectField(
        "Agreed level", coerce=int, choices=LEVEL_CHOICES, validators=[InputRequired()]
    )
    rationale = TextAreaField(
        "Rationale", validators=[DataRequired("Give the rationale."), Length(max=4000)]
    )
    submit = SubmitField("Resolve")
