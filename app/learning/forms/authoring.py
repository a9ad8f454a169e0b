"""Forms for authoring learning paths. They shape input; the rules live in
``app.learning.authoring`` (and ``app.learning.content``).

The module form is built from the draft it edits and the published framework: a
competency and a level per evidence row, the draft's other modules as possible
prerequisites.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.forms import VersionField
from app.framework.scale import MAX_LEVEL
from app.learning.authoring import NOTE_MAX, SUMMARY_MAX, ModuleFields
from app.learning.content import (
    DUE_DAYS_MAX,
    DUE_DAYS_MIN,
    LESSON_WORDS_MAX,
    LESSON_WORDS_MIN,
    MODULE_TYPES,
    OUTCOMES_MAX,
    OUTCOMES_MIN,
    TITLE_MAX,
    TYPE_LABELS,
    level_cap,
)
from app.learning.path_queries import Choice

#: Blank evidence rows offered below the module's own, to add competencies without script.
SPARE_EVIDENCE_ROWS = 2


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NewPathForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[DataRequired(), Length(max=12)],
        description="A capital letter then up to 11 capitals or digits, e.g. PMOC. It never "
        "changes: module codes, sessions and certificates are named after it.",
    )
    title = StringField("Title", validators=[DataRequired(), Length(max=TITLE_MAX)])
    summary = TextAreaField(
        "Summary",
        validators=[DataRequired(), Length(max=SUMMARY_MAX)],
        render_kw={"rows": 3},
        description="One to three sentences: what the path is for and who should take it.",
    )
    submit = SubmitField("Create the path")


def details_form(*, roles: list[Choice], data: dict | None = None) -> FlaskForm:
    """Title, summary, open enrolment and target roles of a draft."""

    class DetailsForm(FlaskForm):
        title = StringField("Title", validators=[DataRequired(), Length(max=TITLE_MAX)])
        summary = TextAreaField(
            "Summary",
            validators=[DataRequired(), Length(max=SUMMARY_MAX)],
            render_kw={"rows": 3},
            description="One to three sentences: what the path is for and who should take it.",
        )
        open_enrolment = BooleanField(
            "Open enrolment",
            description="Learners may enrol themselves. Otherwise a trainer, a manager or an "
            "enrolment rule enrols them.",
        )
        audience = MultiCheckboxField(
            "Target roles",
            choices=[SelectChoice(c.value, c.label) for c in roles],
            description="The roles the path is meant for; learners holding them see it suggested.",
        )
        row_version = VersionField()
        submit = SubmitField("Save")

    return DetailsForm(data=data or {})


def prerequisite_form(*, paths: list[Choice], certificates: list[Choice]) -> FlaskForm:
    """One prerequisite: the paths and certificates any one of which satisfies it."""

    path_choices = [SelectChoice(c.value, c.label) for c in paths]
    certificate_choices = [SelectChoice(c.value, c.label) for c in certificates]

    class PrerequisiteForm(FlaskForm):
        paths = MultiCheckboxField("Completed path", choices=path_choices)
        certificates = MultiCheckboxField("Or a verified certificate", choices=certificate_choices)
        submit = SubmitField("Add this prerequisite")

    return PrerequisiteForm()


class EvidenceRow(Form):
    """One competency level the module evidences (a sub-form: the CSRF token is the
    module form's)."""

    competency = SelectField("Competency", validators=[Optional()])
    level = SelectField(
        "Level",
        choices=[SelectChoice(str(n), str(n)) for n in range(1, MAX_LEVEL + 1)],
        validators=[Optional()],
    )


def module_form(
    *,
    competencies: list[Choice],
    others: list[Choice],
    data: dict | None = None,
    rows: int = SPARE_EVIDENCE_ROWS,
) -> FlaskForm:
    """A module of a draft: its fields, ``rows`` evidence rows, and the draft's ``others``
    modules it may require."""

    class Evidence(EvidenceRow):
        competency = SelectField(
            "Competency",
            choices=[
                SelectChoice("", "—"),
                *(SelectChoice(c.value, c.label) for c in competencies),
            ],
            validators=[Optional()],
        )

    class ModuleForm(FlaskForm):
        title = StringField("Title", validators=[DataRequired(), Length(max=TITLE_MAX)])
        type = SelectField(
            "Type",
            choices=[SelectChoice(t, TYPE_LABELS[t]) for t in MODULE_TYPES],
            validators=[DataRequired()],
            description="How it is completed: e-learning and reading by the learner; classroom "
            "and workshop by attendance; an on-the-job task by a manager's or assessor's "
            "sign-off; an assessment by its result. The most each can evidence: "
            + ", ".join(f"{TYPE_LABELS[t].lower()} {level_cap(t)}" for t in MODULE_TYPES)
            + ".",
        )
        hours = DecimalField(
            "Estimated hours",
            places=None,
            validators=[InputRequired(), NumberRange(0.25, 40)],
            description="In quarter hours, 0.25 to 40.",
        )
        optional = BooleanField(
            "Optional", description="An optional module does not block completing the path."
        )
        outcomes = TextAreaField(
            "Learning outcomes",
            validators=[DataRequired(), Length(max=2000)],
            render_kw={"rows": 4},
            description=f"{OUTCOMES_MIN} to {OUTCOMES_MAX}, one per line, each a sentence "
            "starting with a verb.",
        )
        evidences = FieldList(FormField(Evidence), min_entries=rows)
        requires = MultiCheckboxField(
            "Complete first", choices=[SelectChoice(c.value, c.label) for c in others]
        )
        lesson = TextAreaField(
            "Lesson (Markdown)",
            validators=[Optional(), Length(max=20000)],
            render_kw={"rows": 18},
            description=f"{LESSON_WORDS_MIN} to {LESSON_WORDS_MAX} words: ## Key ideas, "
            "## Worked example, ## Exercise. A draft may be saved with a shorter lesson; "
            "publishing needs the full length.",
        )
        row_version = VersionField()
        submit = SubmitField("Save")
        preview = SubmitField("Preview the lesson")

    return ModuleForm(data=data or {})


def module_fields(form: FlaskForm) -> ModuleFields:
    """The module form's values for the use-cases."""
    return ModuleFields(
        title=form.title.data or "",
        type=form.type.data or "",
        hours=form.hours.data,
        outcomes=[line for line in (form.outcomes.data or "").splitlines() if line.strip()],
        evidences=evidence_levels(form),
        lesson=form.lesson.data or "",
        optional=bool(form.optional.data),
        requires=list(form.requires.data or []),
    )


def evidence_levels(form: FlaskForm) -> dict[str, int]:
    """competency code -> level, from the rows that name a competency (a later row for the
    same competency wins)."""
    out = {}
    for entry in form.evidences:
        code, level = entry.form.competency.data, entry.form.level.data
        if code and level:
            out[code] = int(level)
    return out


class MoveForm(FlaskForm):
    direction = HiddenField(validators=[AnyOf(["up", "down"])])


class PublishForm(FlaskForm):
    note = TextAreaField(
        "What changed and why",
        validators=[DataRequired("Say what changed and why."), Length(max=NOTE_MAX)],
        render_kw={"rows": 2},
        description="Kept with the version and shown in the path's history.",
    )
    submit = SubmitField("Publish…")


def rule_form(*, roles: list[Choice]) -> FlaskForm:
    class RuleForm(FlaskForm):
        role = SelectField(
            "Role",
            choices=[
                SelectChoice("", "Choose a role…"),
                *(SelectChoice(c.value, c.label) for c in roles),
            ],
            validators=[DataRequired("Choose a role.")],
        )
        due_days = IntegerField(
            "Due after (days)",
            validators=[InputRequired(), NumberRange(DUE_DAYS_MIN, DUE_DAYS_MAX)],
            description="Days after the person takes the role.",
        )
        submit = SubmitField("Add the rule")

    return RuleForm()


class RuleEditForm(FlaskForm):
    due_days = IntegerField(
        "Due after (days)",
        validators=[InputRequired(), NumberRange(DUE_DAYS_MIN, DUE_DAYS_MAX)],
        description="Days after the person takes the role; applies to enrolments the rule "
        "makes from now on.",
    )
    row_version = VersionField()
    submit = SubmitField("Save")


__all__ = [
    "MoveForm",
    "NewPathForm",
    "PublishForm",
    "RuleEditForm",
    "details_form",
    "evidence_levels",
    "module_fields",
    "module_form",
    "prerequisite_form",
    "rule_form",
]
