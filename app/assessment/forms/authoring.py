"""Forms for authoring banks and assessments. They shape input; the rules live in
``app.assessment.authoring`` (and ``content.item_problems``, ``definition``).

An item form is built for its type and for the bank it edits (its topics, data packs and
scenarios, the framework's competencies). Single-choice and multiple-response items get a
row per option; matching, sequencing and assertion-reason items are edited as structured
text areas (one entry per line), read back here into the shape of a bank file's item.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.assessment.content import (
    AR_LETTERS,
    ASSERTION_REASON,
    ASSERTION_REASON_OPTIONS,
    BANK_FORMATS,
    ITEM_LEVEL_MAX,
    ITEM_LEVEL_MIN,
    MATCHING,
    MULTIPLE,
    SEQUENCING,
    SINGLE,
    TRUE_FALSE,
    TYPE_LABELS,
)
from app.assessment.definition import (
    FEEDBACK_LABELS,
    FEEDBACK_POLICIES,
    GRACE_MAX,
    SECTION_COUNT_MAX,
    STATUSES,
    SUMMARY_MAX,
    TIME_LIMIT_MAX,
    TITLE_MAX,
    UNIT_LABELS,
    UNITS,
    WAIT_MAX,
)

#: Option rows a single-choice or multiple-response form offers (blank rows are skipped).
OPTION_ROWS = 6
#: The largest GIFT file the import takes (it travels back with the preview's form).
MAX_GIFT_BYTES = 256 * 1024

FORMAT_LABELS = {
    "foundation": "Foundation format (single best answer from four options)",
    "practitioner": "Practitioner format (scenarios of 20 items)",
    "role": "Role assessment",
    "knowledge-check": "Knowledge check",
}
STATUS_LABELS = {
    "draft": "Draft: only trainers see it",
    "published": "Published: learners can take it (between its opening and closing)",
    "retired": "Retired: no new attempts; results stay",
}

Choices = Sequence[tuple[str, str]]


def _choices(pairs: Choices) -> list[SelectChoice]:
    return [SelectChoice(v, label) for v, label in pairs]


def level_choices() -> list[SelectChoice]:
    return [SelectChoice(str(n), str(n)) for n in range(ITEM_LEVEL_MIN, ITEM_LEVEL_MAX + 1)]


class TopicsMixin:
    topics = TextAreaField(
        "Topics",
        validators=[DataRequired(), Length(max=4000)],
        render_kw={"rows": 5},
        description="One per line: a code, a colon, the name — e.g. RSK: Risk logs. Every item "
        "names one; sections draw by them.",
    )


class NewBankForm(FlaskForm, TopicsMixin):
    code = StringField(
        "Code",
        validators=[DataRequired(), Length(max=24)],
        description="Capitals, digits and dashes, e.g. RISK-BANK. It never changes.",
    )
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    format = SelectField("Format", choices=_choices([(f, FORMAT_LABELS[f]) for f in BANK_FORMATS]))
    author = StringField("Author", validators=[DataRequired(), Length(max=200)])
    original_work = BooleanField(
        "Every item is our own original work",
        description="Never taken or adapted from an exam, a sample paper or a provider's "
        "material. A bank cannot be published without this.",
    )
    submit = SubmitField("Create the bank")


class DraftDetailsForm(FlaskForm, TopicsMixin):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    author = StringField("Author", validators=[DataRequired(), Length(max=200)])
    original_work = BooleanField(
        "Every item is our own original work",
        description="Never taken or adapted from an exam, a sample paper or a provider's "
        "material. A bank cannot be published without this.",
    )
    draft_hash = HiddenField()
    submit = SubmitField("Save")


class DraftTokenForm(FlaskForm):
    """A button acting on a draft as the trainer saw it (its content hash)."""

    draft_hash = HiddenField()


class ItemTokenForm(FlaskForm):
    """A button acting on one item of a draft as the trainer saw it (its item version)."""

    version_id = HiddenField()


# --- items ---------------------------------------------------------------------------------------


class OptionRow(Form):
    """One option (a sub-form: the CSRF token is the item form's)."""

    text = TextAreaField("Option", validators=[Optional(), Length(max=1000)], render_kw={"rows": 2})
    correct = BooleanField("Correct")
    rationale = TextAreaField(
        "Rationale", validators=[Optional(), Length(max=1000)], render_kw={"rows": 2}
    )


def _lines(text: str | None) -> list[tuple[int, str]]:
    return [
        (n, line.strip()) for n, line in enumerate((text or "").splitlines(), 1) if line.strip()
    ]


def _pairs_of(text: str | None, sep: str, what: str) -> list[tuple[str, str]]:
    """``key<sep>value`` lines; ValidationError naming the first line that is not."""
    out = []
    for n, line in _lines(text):
        key, found, value = line.partition(sep)
        if not found or not key.strip() or not value.strip():
            raise ValidationError(f"Line {n}: write {what}.")
        out.append((key.strip(), value.strip()))
    return out


def _choices_field(label: str, what: str, example: str) -> TextAreaField:
    def check(_form, field):
        _pairs_of(field.data, ":", what)

    return TextAreaField(
        label,
        validators=[DataRequired(), Length(max=6000), check],
        render_kw={"rows": 5},
        description=f"One per line: {what}, e.g. {example}",
    )


def _check_steps(_form, field) -> None:
    _pairs_of(field.data, "|", "the step, a |, then its rationale")


def _check_pairs(_form, field) -> None:
    _pairs_of(field.data, "=", "a premise id, =, a response id")


def _check_ar_rationales(_form, field) -> None:
    for letter, _ in _pairs_of(field.data, ":", "a letter A-E, a colon, the rationale"):
        if letter.upper() not in AR_LETTERS:
            raise ValidationError(f"{letter} is not one of A, B, C, D, E.")


def item_form(
    kind: str,
    *,
    topics: Choices,
    competencies: Choices,
    data_packs: Choices = (),
    scenarios: Choices = (),
    new: bool,
    data: dict | None = None,
) -> FlaskForm:
    """The editor of an item of type ``kind`` in a bank with these topics, data packs and
    (for a new item) scenarios; ``competencies`` from the framework."""

    class ItemForm(FlaskForm):
        topic = SelectField("Topic", choices=_choices(topics))
        competency = SelectField("Competency", choices=_choices(competencies))
        level = SelectField(
            "Level tested",
            choices=level_choices(),
            description="What an objective test can show: 1 awareness, 2 working, 3 practitioner.",
        )
        tags = StringField(
            "Tags", validators=[Length(max=500)], description="Optional, separated by commas."
        )
        name = StringField(
            "Name", validators=[Length(max=200)], description="Optional: a short name for authors."
        )
        feedback = TextAreaField(
            "General feedback",
            validators=[Length(max=4000)],
            render_kw={"rows": 2},
            description="Optional: shown with the rationales when the feedback policy allows.",
        )
        notes = TextAreaField(
            "Author's notes",
            validators=[Length(max=4000)],
            render_kw={"rows": 2},
            description="Never shown to learners.",
        )
        version_id = HiddenField()
        submit = SubmitField("Save the item")

    if new:
        ItemForm.id = StringField(
            "Id",
            validators=[DataRequired(), Length(max=32)],
            description="Capitals, digits and dashes; unique across every bank and never reused.",
        )
        if scenarios:
            ItemForm.scenario = SelectField(
                "Scenario",
                choices=[SelectChoice("", "— stand-alone item —"), *_choices(scenarios)],
                description="A scenario item answers from the scenario's case.",
            )
    if data_packs:
        ItemForm.data_pack = SelectField(
            "Data pack",
            choices=[SelectChoice("", "— none —"), *_choices(data_packs)],
        )
    _add_type_fields(ItemForm, kind)
    return ItemForm(data=data or {})


def _add_type_fields(cls: type, kind: str) -> None:
    fields: dict[str, object] = {}
    stem = TextAreaField(
        "Stem (Markdown)",
        validators=[DataRequired(), Length(max=8000)],
        render_kw={"rows": 4},
        description="The question, in one to four sentences; it makes sense before the options "
        "are read.",
    )
    if kind in (SINGLE, MULTIPLE):
        fields["stem"] = stem
        fields["options"] = FieldList(FormField(OptionRow), min_entries=OPTION_ROWS, max_entries=8)
        if kind == MULTIPLE:
            fields["select"] = IntegerField(
                "Learners choose",
                validators=[Optional(), NumberRange(2, 6)],
                description="Optional: how many to choose (it must equal the correct ones).",
            )
    elif kind == TRUE_FALSE:
        fields["statement"] = TextAreaField(
            "Statement (Markdown)",
            validators=[DataRequired(), Length(max=4000)],
            render_kw={"rows": 3},
        )
        fields["answer"] = SelectField(
            "It is", choices=_choices([("true", "True"), ("false", "False")])
        )
        fields["rationale_true"] = TextAreaField(
            "Rationale for answering true", validators=[DataRequired(), Length(max=1000)]
        )
        fields["rationale_false"] = TextAreaField(
            "Rationale for answering false", validators=[DataRequired(), Length(max=1000)]
        )
    elif kind == MATCHING:
        fields["stem"] = stem
        fields["premises"] = _choices_field("Premises", "an id, a colon, the text", "P1: Risk log")
        fields["responses"] = _choices_field(
            "Responses", "an id, a colon, the text", "R1: Records uncertain events"
        )
        fields["pairs"] = TextAreaField(
            "Key",
            validators=[DataRequired(), Length(max=2000), _check_pairs],
            render_kw={"rows": 4},
            description="One per premise: its id, =, the id of its response, e.g. P1 = R3.",
        )
        fields["rationales"] = _choices_field(
            "Rationales", "a premise id, a colon, why it matches", "P1: A risk is uncertain"
        )
    elif kind == SEQUENCING:
        fields["stem"] = stem
        fields["steps"] = TextAreaField(
            "Steps, in the correct order",
            validators=[DataRequired(), Length(max=8000), _check_steps],
            render_kw={"rows": 6},
            description="One per line, first step first: the step, a |, then its rationale. "
            "Learners see them shuffled.",
        )
    elif kind == ASSERTION_REASON:
        fields["assertion"] = TextAreaField(
            "Assertion", validators=[DataRequired(), Length(max=4000)], render_kw={"rows": 2}
        )
        fields["reason"] = TextAreaField(
            "Reason", validators=[DataRequired(), Length(max=4000)], render_kw={"rows": 2}
        )
        fields["answer"] = SelectField(
            "Key",
            choices=_choices([(k, f"{k}. {v}") for k, v in ASSERTION_REASON_OPTIONS.items()]),
        )
        fields["rationales"] = TextAreaField(
            "Rationales",
            validators=[DataRequired(), Length(max=6000), _check_ar_rationales],
            render_kw={"rows": 5},
            description="One per option, A to E: the letter, a colon, why.",
        )
    for name, unbound in fields.items():
        setattr(cls, name, unbound)


def item_data(form: FlaskForm, kind: str, *, item_id: str, author: str) -> dict:
    """The form's item in the shape of a bank file's item (for ``content.item_from_data``);
    the form has validated."""
    doc: dict[str, object] = {
        "id": item_id,
        "type": kind,
        "topic": form.topic.data,
        "competency": form.competency.data,
        "level": int(form.level.data or 0),
        "tags": [t.strip() for t in (form.tags.data or "").split(",") if t.strip()],
        "author": author,
        "name": form.name.data or "",
        "feedback": form.feedback.data or "",
        "notes": form.notes.data or "",
    }
    if getattr(form, "data_pack", None) is not None and form.data_pack.data:
        doc["data_pack"] = form.data_pack.data
    if kind in (SINGLE, MULTIPLE):
        doc["stem"] = form.stem.data
        doc["options"] = [
            {
                "text": row.form.text.data,
                "correct": bool(row.form.correct.data),
                "rationale": row.form.rationale.data or "",
            }
            for row in form.options
            if (row.form.text.data or "").strip()
        ]
        if kind == MULTIPLE and form.select.data is not None:
            doc["select"] = form.select.data
    elif kind == TRUE_FALSE:
        doc["statement"] = form.statement.data
        doc["answer"] = form.answer.data == "true"
        doc["rationale_true"] = form.rationale_true.data
        doc["rationale_false"] = form.rationale_false.data
    elif kind == MATCHING:
        doc["stem"] = form.stem.data
        doc["premises"] = [{"id": k, "text": v} for k, v in _pairs_of(form.premises.data, ":", "")]
        doc["responses"] = [
            {"id": k, "text": v} for k, v in _pairs_of(form.responses.data, ":", "")
        ]
        doc["pairs"] = dict(_pairs_of(form.pairs.data, "=", ""))
        doc["rationales"] = dict(_pairs_of(form.rationales.data, ":", ""))
    elif kind == SEQUENCING:
        doc["stem"] = form.stem.data
        doc["steps"] = [{"text": t, "rationale": r} for t, r in _pairs_of(form.steps.data, "|", "")]
    elif kind == ASSERTION_REASON:
        doc["assertion"] = form.assertion.data
        doc["reason"] = form.reason.data
        doc["answer"] = form.answer.data
        doc["rationales"] = {k.upper(): v for k, v in _pairs_of(form.rationales.data, ":", "")}
    return doc


#: Where an item's problem key belongs in the editor (``options[2].rationale`` -> options).
def field_of(key: str) -> str:
    head = key.split(".")[0]
    return head.split("[")[0]


# --- GIFT import ---------------------------------------------------------------------------------


def gift_import_form(*, banks: Choices, competencies: Choices, data: dict | None = None):
    class GiftImportForm(FlaskForm):
        file = FileField(
            "GIFT file",
            validators=[FileAllowed(["gift", "txt"], "Upload a GIFT file (.gift or .txt).")],
            description=f"As Moodle and most LMSs export it, UTF-8, up to "
            f"{MAX_GIFT_BYTES // 1024} kB. Nothing is saved until you import after the preview.",
        )
        gift_text = HiddenField()
        filename = HiddenField()
        bank = SelectField(
            "Import into",
            choices=[SelectChoice("", "A new bank"), *_choices(banks)],
            description="An existing bank: its draft (opened from the published version when "
            "none is open). Items with an id the bank holds replace those items.",
        )
        code = StringField(
            "New bank code", validators=[Length(max=24)], description="e.g. MOODLE-RISK."
        )
        title = StringField("New bank title", validators=[Length(max=200)])
        format = SelectField(
            "New bank format",
            choices=_choices([(f, FORMAT_LABELS[f]) for f in BANK_FORMATS]),
            default="role",
        )
        author = StringField("New bank author", validators=[Length(max=200)])
        original_work = BooleanField(
            "The items are our own original work",
            description="Never taken or adapted from an exam, a sample paper or a provider's "
            "material. The bank cannot be published without this.",
        )
        topic = StringField(
            "Topic code for the imported items",
            validators=[DataRequired(), Length(max=16)],
            default="GEN",
            description="Items that do not name a topic of the bank get this one; edit each later.",
        )
        topic_name = StringField(
            "Its name (a new topic)", validators=[Length(max=200)], default="General"
        )
        competency = SelectField(
            "Competency for the imported items", choices=_choices(competencies)
        )
        level = SelectField("Level for the imported items", choices=level_choices(), default="2")
        preview = SubmitField("Preview the import")
        confirm = SubmitField("Import these items")

    return GiftImportForm(data=data)


# --- assessments ---------------------------------------------------------------------------------


class NewAssessmentForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[DataRequired(), Length(max=16)],
        description="Capitals and digits in dash-separated parts, e.g. RISK-CHECK; at most 16. "
        "A learning module names it. It never changes.",
    )
    title = StringField("Title", validators=[DataRequired(), Length(max=TITLE_MAX)])
    submit = SubmitField("Create the assessment")


def _utc(field) -> None:
    if field.data is not None:
        field.data = field.data.replace(tzinfo=UTC)


def settings_form(*, modules: Choices, data: dict | None = None) -> FlaskForm:
    class SettingsForm(FlaskForm):
        title = StringField("Title", validators=[DataRequired(), Length(max=TITLE_MAX)])
        summary = TextAreaField(
            "Summary",
            validators=[Length(max=SUMMARY_MAX)],
            render_kw={"rows": 3},
            description="Shown to learners before they start: the format, the time, the pass.",
        )
        status = SelectField("Status", choices=_choices([(s, STATUS_LABELS[s]) for s in STATUSES]))
        module = SelectField(
            "Completes the module",
            choices=[SelectChoice("", "— none —"), *_choices(modules)],
            description="A pass completes this assessment module on the learner's path (its "
            "path must name this assessment).",
        )
        pass_percent = IntegerField(
            "Pass mark (%)",
            validators=[InputRequired(), NumberRange(1, 100)],
            description="Of the scored marks, e.g. 50 for 35 of 70.",
        )
        time_limit_minutes = IntegerField(
            "Time limit (minutes)",
            validators=[Optional(), NumberRange(1, TIME_LIMIT_MAX)],
            description="Empty: untimed.",
        )
        grace_seconds = IntegerField(
            "Grace (seconds)",
            validators=[InputRequired(), NumberRange(0, GRACE_MAX)],
            description="How late an answer sent before the deadline may still arrive.",
        )
        attempt_limit = IntegerField(
            "Attempts allowed",
            validators=[Optional(), NumberRange(1, 100)],
            description="Empty: no limit.",
        )
        wait_minutes = IntegerField(
            "Wait between attempts (minutes)",
            validators=[InputRequired(), NumberRange(0, WAIT_MAX)],
            description="From finishing one attempt to starting the next; 1440 is 24 hours.",
        )
        shuffle_items = BooleanField("Shuffle the items within each section")
        shuffle_options = BooleanField(
            "Shuffle the options",
            description="Sequencing steps and matching responses are always shuffled.",
        )
        feedback = SelectField(
            "Review with keys and rationales",
            choices=_choices([(f, FEEDBACK_LABELS[f]) for f in FEEDBACK_POLICIES]),
        )
        opens_at = DateTimeLocalField(
            "Opens (UTC)", validators=[Optional()], description="Empty: open once published."
        )
        closes_at = DateTimeLocalField(
            "Closes (UTC)", validators=[Optional()], description="Empty: never closes."
        )
        row_version = HiddenField()
        submit = SubmitField("Save the settings")

        def validate_opens_at(self, field):
            _utc(field)

        def validate_closes_at(self, field):
            _utc(field)

    return SettingsForm(data=data)


def _codes_text(text: str | None) -> list[str]:
    return [c.strip().upper() for c in (text or "").replace(";", ",").split(",") if c.strip()]


def section_form(*, banks: Choices, data: dict | None = None) -> FlaskForm:
    class SectionForm(FlaskForm):
        title = StringField(
            "Title", validators=[Length(max=TITLE_MAX)], description="Optional; learners see it."
        )
        bank = SelectField("Bank", choices=_choices(banks), validators=[DataRequired()])
        unit = SelectField("Draw", choices=_choices([(u, UNIT_LABELS[u]) for u in UNITS]))
        count = IntegerField(
            "How many",
            validators=[InputRequired(), NumberRange(1, SECTION_COUNT_MAX)],
            description="Items, or scenarios for a scenario section.",
        )
        unscored = IntegerField(
            "Of which unscored",
            validators=[InputRequired(), NumberRange(0, SECTION_COUNT_MAX)],
            default=0,
            description="Trial items answered but not counted (item sections only).",
        )
        topics = StringField(
            "Topics", validators=[Length(max=500)], description="Codes, separated by commas."
        )
        tags = StringField("Tags", validators=[Length(max=500)])
        competencies = StringField("Competencies", validators=[Length(max=500)])
        row_version = HiddenField()
        submit = SubmitField("Save the section")

    return SectionForm(data=data)


def section_values(form: FlaskForm) -> dict:
    """The section form's values as ``SectionDefinition`` fields."""
    return {
        "title": form.title.data or "",
        "bank": form.bank.data,
        "unit": form.unit.data,
        "count": form.count.data,
        "unscored": form.unscored.data or 0,
        "topics": tuple(_codes_text(form.topics.data)),
        "tags": tuple(t.strip() for t in (form.tags.data or "").split(",") if t.strip()),
        "competencies": tuple(_codes_text(form.competencies.data)),
    }


def certification_form(*, competencies: Choices) -> FlaskForm:
    class CertificationForm(FlaskForm):
        competency = SelectField("Competency", choices=_choices(competencies))
        level = SelectField("Level a pass certifies", choices=level_choices(), default="2")
        row_version = HiddenField()
        submit = SubmitField("Certify")

    return CertificationForm()


class RowVersionForm(FlaskForm):
    """A button acting on an assessment as the trainer saw it (its row version)."""

    row_version = HiddenField()


def type_choices() -> list[tuple[str, str]]:
    return list(TYPE_LABELS.items())
