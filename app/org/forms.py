"""Admin forms: they shape input; the rules live in app.org.services."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from app.forms import VersionField, date_in_range, work_email
from app.org.models import AssignmentKind, P3Level, Permanence, RoleFamily, RoleLevel

CODE = Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
    message="Use letters, digits, dots, dashes or underscores, without spaces.",
)


def _choices(enum_cls, labels=None):
    return [
        SelectChoice(m.value, (labels or {}).get(m.value, m.value.capitalize())) for m in enum_cls
    ]


def optional_int(value):
    """Coerce a select value where "" means none."""
    return int(value) if value not in (None, "", "None") else None


class OrgUnitForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=32), CODE])
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    parent = SelectField("Parent unit", coerce=optional_int, validate_choice=True)
    head = StringField(
        "Head (employee number)",
        validators=[Optional(), Length(max=32)],
        description="As a manager, the head sees this unit and every unit below it.",
    )
    row_version = VersionField()
    submit = SubmitField("Save")


class OfficeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=32), CODE])
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    p3_level = SelectField("P3 level", choices=_choices(P3Level))
    permanence = SelectField(
        "Permanence",
        choices=_choices(Permanence),
        description="Programme and project offices usually close with their programme or project.",
    )
    is_coe = BooleanField("Centre of Excellence")
    hub = SelectField("Spoke of hub", coerce=optional_int)
    org_unit = SelectField("Org unit", coerce=optional_int)
    start_date = DateField("Opened", validators=[Optional(), date_in_range])
    end_date = DateField("Closes / closed", validators=[Optional(), date_in_range])
    row_version = VersionField()
    submit = SubmitField("Save")


class PersonForm(FlaskForm):
    employee_number = StringField(
        "Employee number", validators=[DataRequired(), Length(max=32), CODE]
    )
    first_name = StringField("First name", validators=[DataRequired(), Length(max=80)])
    last_name = StringField("Last name", validators=[DataRequired(), Length(max=80)])
    email = EmailField("Email", validators=[Optional(), work_email, Length(max=254)])
    job_title = StringField("Job title (as in HR)", validators=[Optional(), Length(max=120)])
    org_unit = SelectField(
        "Org unit", coerce=optional_int, validators=[DataRequired("Choose the person's org unit.")]
    )
    line_manager = StringField(
        "Line manager (employee number)", validators=[Optional(), Length(max=32)]
    )
    row_version = VersionField()
    submit = SubmitField("Save")


ROLE_LEVEL_LABELS = {"any": "Any level"}
FAMILY_LABELS = {"pmo": "PMO", "delivery": "Delivery", "support": "Support"}


class RoleForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=16), CODE])
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    p3_level = SelectField("P3 level", choices=_choices(RoleLevel, ROLE_LEVEL_LABELS))
    family = SelectField("Family", choices=_choices(RoleFamily, FAMILY_LABELS))
    description = TextAreaField(
        "Description",
        validators=[Optional(), Length(max=4000)],
        description="Up to 4,000 characters.",
    )
    row_version = VersionField()
    submit = SubmitField("Save")


class AssignmentForm(FlaskForm):
    role = SelectField("Role", coerce=optional_int, validators=[DataRequired("Choose a role.")])
    kind = SelectField(
        "Kind",
        choices=[
            SelectChoice(AssignmentKind.CURRENT.value, "Current — holds the role"),
            SelectChoice(AssignmentKind.TARGET.value, "Target — aims for the role"),
        ],
    )
    office = SelectField("Office", coerce=optional_int)
    # InputRequired, not DataRequired: an unparsable date keeps its "Not a valid date" message.
    start_date = DateField(
        "Start date", validators=[InputRequired("Give a start date."), date_in_range]
    )
    end_date = DateField("End date", validators=[Optional(), date_in_range])
    row_version = VersionField()
    submit = SubmitField("Save")


__all__ = ["AssignmentForm", "OfficeForm", "OrgUnitForm", "PersonForm", "RoleForm"]
