"""Forms for framework authoring. They shape input; the rules live in app.framework.services.

The scale and profile forms are built from the draft they edit (one field per level, per
evidence source, per competency), as Indico builds a survey's form from the survey.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from app.forms import VersionField
from app.framework.models import SOURCE_LABELS, Source
from app.framework.scale import MAX_LEVEL

#: Length limits of the framework's free text, stated on the forms that take it.
LONG_TEXT = 2000  # a description, a publishing note
SHORT_TEXT = 1000  # an indicator, a boundary, a scale note

#: Levels a competency's indicators are written for on the form (0 means "not yet").
INDICATOR_LEVELS = range(1, MAX_LEVEL + 1)


class PublishForm(FlaskForm):
    note = TextAreaField(
        "What changed and why",
        validators=[DataRequired("Say what changed and why."), Length(max=LONG_TEXT)],
        description="Kept with the version; everyone sees it in the list of versions. "
        f"Up to {LONG_TEXT:,} characters.",
    )
    submit = SubmitField("Publish this draft")


class RemoveCompetencyForm(FlaskForm):
    with_requirements = BooleanField("Also remove it from the role profiles that require it")
    submit = SubmitField("Remove from the draft")


def _level_label(level: int, level_names: dict[int, str]) -> str:
    name = level_names.get(level)
    return f"{level} — {name}" if name else str(level)


def competency_form(
    *,
    groups: list[tuple[str, str]],
    level_names: dict[int, str],
    new: bool,
    data: dict | None = None,
) -> FlaskForm:
    """The form for adding (with a code) or editing (code fixed) a competency."""

    class CompetencyForm(FlaskForm):
        pass

    if new:
        CompetencyForm.code = StringField(
            "Code",
            validators=[DataRequired(), Length(max=16)],
            description="Capitals and digits in parts joined by dashes, e.g. GOV-06. A code "
            "never changes once published: evidence and reports match on it.",
        )
    CompetencyForm.group = SelectField(
        "Group",
        choices=[SelectChoice(v, lb) for v, lb in groups],
        validators=[DataRequired("Choose a group.")],
    )
    CompetencyForm.name = StringField("Name", validators=[DataRequired(), Length(max=160)])
    CompetencyForm.description = TextAreaField(
        "Description",
        validators=[DataRequired(), Length(max=LONG_TEXT)],
        render_kw={"rows": 3},
        description=f"Up to {LONG_TEXT:,} characters.",
    )
    for level in INDICATOR_LEVELS:
        setattr(
            CompetencyForm,
            f"indicator_{level}",
            TextAreaField(
                f"Indicator at level {_level_label(level, level_names)}",
                validators=[Optional(), Length(max=SHORT_TEXT)],
                render_kw={"rows": 3},
                description="What the competency looks like at this level, up to "
                f"{SHORT_TEXT:,} characters. Leave blank for none."
                if level == 1
                else f"Up to {SHORT_TEXT:,} characters.",
            ),
        )
    CompetencyForm.boundary = TextAreaField(
        "Boundary",
        validators=[Optional(), Length(max=SHORT_TEXT)],
        render_kw={"rows": 2},
        description="Where this competency meets a neighbouring one, and which covers what. "
        f"Up to {SHORT_TEXT:,} characters; leave blank for none.",
    )
    CompetencyForm.row_version = VersionField()
    CompetencyForm.submit = SubmitField("Add to the draft" if new else "Save")
    return CompetencyForm(data=data or {})


def indicator_changes(form: FlaskForm) -> dict[int, str]:
    return {level: form[f"indicator_{level}"].data or "" for level in INDICATOR_LEVELS}


def level_choices(level_names: dict[int, str], zero: str | None = None) -> list[SelectChoice]:
    return [
        SelectChoice(
            level, f"0 — {zero}" if zero and level == 0 else _level_label(level, level_names)
        )
        for level in range(MAX_LEVEL + 1)
    ]


def scale_form(
    *, levels: list[dict], caps: dict[str, int], level_names: dict[int, str], token: str = ""
) -> FlaskForm:
    """One name and descriptor per scale level, one cap per evidence source; ``token`` is
    the version of the scale the form is read at."""

    class ScaleForm(FlaskForm):
        row_version = VersionField()

    data: dict[str, object] = {"row_version": token}
    for level in levels:
        n = level["level"]
        setattr(
            ScaleForm,
            f"name_{n}",
            StringField(f"Level {n} name", validators=[DataRequired(), Length(max=60)]),
        )
        setattr(
            ScaleForm,
            f"descriptor_{n}",
            TextAreaField(
                f"Level {n} descriptor", validators=[DataRequired()], render_kw={"rows": 3}
            ),
        )
        setattr(
            ScaleForm,
            f"note_{n}",
            TextAreaField(
                f"Level {n} note",
                validators=[Optional(), Length(max=SHORT_TEXT)],
                render_kw={"rows": 2},
                description="Read with the descriptor, e.g. what the level is not. Optional; "
                f"up to {SHORT_TEXT:,} characters.",
            ),
        )
        data[f"name_{n}"], data[f"descriptor_{n}"] = level["name"], level["descriptor"]
        data[f"note_{n}"] = level.get("note", "")
    for source, max_level in caps.items():
        setattr(
            ScaleForm,
            f"cap_{source}",
            SelectField(
                SOURCE_LABELS[Source(source)], choices=level_choices(level_names), coerce=int
            ),
        )
        data[f"cap_{source}"] = max_level
    ScaleForm.submit = SubmitField("Save scale and caps")
    return ScaleForm(data=data)


def profile_form(
    *,
    codes: list[str],
    current: dict[str, tuple[int, bool]],
    level_names: dict[int, str],
    token: str = "",
) -> FlaskForm:
    """A level (0 = not required) and an essential box per competency of the draft;
    ``token`` is the version of the profile the form is read at."""

    class ProfileForm(FlaskForm):
        row_version = VersionField()

    data: dict[str, object] = {"row_version": token}
    for code in codes:
        setattr(
            ProfileForm,
            f"level_{code}",
            SelectField(
                f"{code} level", choices=level_choices(level_names, zero="not required"), coerce=int
            ),
        )
        setattr(ProfileForm, f"essential_{code}", BooleanField(f"{code} essential"))
        level, essential = current.get(code, (0, False))
        data[f"level_{code}"], data[f"essential_{code}"] = level, essential
    ProfileForm.submit = SubmitField("Save profile")
    return ProfileForm(data=data)


def profile_requirements(form: FlaskForm, codes: list[str]) -> dict[str, tuple[int, bool]]:
    return {
        code: (form[f"level_{code}"].data, bool(form[f"essential_{code}"].data)) for code in codes
    }


def certificate_form(
    *,
    competencies: list[tuple[str, str]],
    level_names: dict[int, str],
    new: bool,
    data: dict | None = None,
) -> FlaskForm:
    """A certificate of the catalogue: code (new ones only), name, issuer, whether it
    expires, its max level, and a level (0 = not evidenced) per competency of the draft."""

    class CertificateForm(FlaskForm):
        pass

    if new:
        CertificateForm.code = StringField(
            "Code",
            validators=[DataRequired(), Length(max=16)],
            description="Capitals and digits in parts joined by dashes, e.g. PRINCE2-F. "
            "Learners' records name the certificate by its code, so it never changes.",
        )
    CertificateForm.name = StringField(
        "Name",
        validators=[DataRequired(), Length(max=160)],
        description="As the issuer names it.",
    )
    CertificateForm.issuer = StringField("Issuer", validators=[DataRequired(), Length(max=120)])
    CertificateForm.expires = BooleanField(
        "Expires",
        description="Tick when the issuer sets a renewal date; the date then comes from "
        "the learner's own record.",
    )
    CertificateForm.max_level = SelectField(
        "Max level",
        choices=level_choices(level_names)[1:],
        coerce=int,
        description="The highest level it may prove in any competency.",
    )
    for code, name in competencies:
        setattr(
            CertificateForm,
            f"level_{code}",
            SelectField(
                f"{code} {name}",
                choices=level_choices(level_names, zero="not evidenced"),
                coerce=int,
            ),
        )
    CertificateForm.row_version = VersionField()
    CertificateForm.submit = SubmitField("Add to the catalogue" if new else "Save")
    return CertificateForm(data=data or {})


def certificate_evidences(form: FlaskForm, codes: list[str]) -> dict[str, int]:
    return {code: form[f"level_{code}"].data or 0 for code in codes}


__all__ = [
    "PublishForm",
    "RemoveCompetencyForm",
    "certificate_evidences",
    "certificate_form",
    "competency_form",
    "indicator_changes",
    "profile_form",
    "profile_requirements",
    "scale_form",
]
