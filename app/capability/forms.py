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


class DecisionForm(FlaskForm):
    decision = HiddenField(validators=[DataRequired()])
    level = SelectField("Your rating", coerce=int, choices=LEVEL_CHOICES, validators=[Optional()])
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
