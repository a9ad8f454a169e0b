"""Forms for staff imports. They shape input; the rules live in app.staff_import.services.

The mapping form is built from the uploaded file: one select per field (the file's headers
as choices), one per distinct job title and one per distinct department, as the framework's
profile form is built from the draft.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, SubmitField

from app.staff_import.mapping import DATE_ORDERS, DAY_FIRST, FIELDS, STATUS_CHOICES, STATUS_IGNORE
from app.staff_import.reading import MAX_IMPORT_BYTES
from app.staff_import.rows import CREATE, IGNORE, TOP
from app.staff_import.services import MappingProposal

NOT_IN_FILE = "— not in this file —"
NO_ROLE = "— no role —"
CREATE_UNIT = "Create a new org unit"
LEAVE_UNIT = "— leave unchanged —"
CHOOSE_PARENT = "— choose where it goes —"
AT_THE_TOP = "At the top of the tree (a new top unit)"


class UploadForm(FlaskForm):
    file = FileField(
        "HR export",
        validators=[
            FileRequired("Choose the file to upload."),
            FileAllowed(
                ["csv", "xlsx", "txt"], "Upload a CSV (.csv or .txt) or an Excel (.xlsx) file."
            ),
        ],
        description=f"CSV or XLSX as your HR system exports it, up to "
        f"{MAX_IMPORT_BYTES // 1_048_576} MB. The first row must hold the column "
        "names. Nothing changes until you preview and apply the import.",
    )
    submit = SubmitField("Upload and map columns")


class ApplyForm(FlaskForm):
    skip_errors = HiddenField(default="0")


def column_field(key: str) -> str:
    return f"col-{key}"


def title_field(index: int) -> str:
    return f"title-{index}"


def dept_field(index: int) -> str:
    return f"dept-{index}"


def parent_field(index: int) -> str:
    return f"parent-{index}"


def status_field(index: int) -> str:
    return f"status-{index}"


DATE_ORDER_FIELD = "end-date-order"
LABEL_MAX = 80  # a value shown as a label is cut: one huge cell cannot make a huge page


def _label(value: str, rows: int | None = None) -> str:
    text = value if len(value) <= LABEL_MAX else value[: LABEL_MAX - 1] + "…"
    return text if rows is None else f"{text} ({rows:,} row{'s' if rows != 1 else ''})"


def _with_sample(header: str, sample: str) -> str:
    """A column's name and what its first row holds, so the admin sees what it is."""
    if not sample:
        return f"{header} (empty)"
    return f"{header} — e.g. {sample if len(sample) <= 24 else sample[:23] + '…'}"


def mapping_form(
    *,
    headers: list[str],
    proposal: MappingProposal,
    full_sync: bool,
    roles: list[tuple[str, str]],
    units: list[tuple[str, str]],
) -> FlaskForm:
    """A select per field, the full-sync box, and a select per job title and department.

    ``roles`` and ``units`` are (code, label) pairs of the active catalogue roles and units.
    """

    class MappingForm(FlaskForm):
        pass

    data: dict[str, object] = {}
    column_choices = [SelectChoice("", NOT_IN_FILE)] + [
        SelectChoice(h, _with_sample(h, proposal.samples.get(h, ""))) for h in headers
    ]
    for field in FIELDS:
        name = column_field(field.key)
        setattr(
            MappingForm,
            name,
            SelectField(field.label, choices=column_choices, description=field.help or None),
        )
        data[name] = proposal.columns.get(field.key, "")
    MappingForm.full_sync = BooleanField(
        "Full-file sync: deactivate people missing from this file",
        description="Only for a complete staff list. Everyone active in PMO Pathways who is "
        "not in this file is marked as a leaver and loses their log-in.",
    )
    data["full_sync"] = full_sync
    role_choices = [SelectChoice(IGNORE, NO_ROLE)] + [SelectChoice(c, lb) for c, lb in roles]
    for i, title in enumerate(proposal.titles):
        setattr(MappingForm, title_field(i), SelectField(_label(title), choices=role_choices))
        data[title_field(i)] = proposal.value_maps.get("job_title", {}).get(title.lower(), IGNORE)
    unit_choices = (
        [SelectChoice(CREATE, CREATE_UNIT)]
        + [SelectChoice(c, lb) for c, lb in units]
        + [SelectChoice(IGNORE, LEAVE_UNIT)]
    )
    parent_choices = [SelectChoice("", CHOOSE_PARENT), SelectChoice(TOP, AT_THE_TOP)] + [
        SelectChoice(c, lb) for c, lb in units
    ]
    for i, dept in enumerate(proposal.departments):
        setattr(MappingForm, dept_field(i), SelectField(_label(dept), choices=unit_choices))
        data[dept_field(i)] = proposal.value_maps.get("org_unit", {}).get(dept.lower(), CREATE)
        setattr(
            MappingForm,
            parent_field(i),
            SelectField(f"New unit “{_label(dept)}” goes under", choices=parent_choices),
        )
        data[parent_field(i)] = proposal.value_maps.get("org_unit_parent", {}).get(
            dept.lower(), proposal.default_parent
        )
    status_choices = [SelectChoice(k, lb) for k, lb in STATUS_CHOICES]
    for i, (status, rows) in enumerate(proposal.statuses):
        setattr(
            MappingForm, status_field(i), SelectField(_label(status, rows), choices=status_choices)
        )
        data[status_field(i)] = proposal.value_maps.get("status", {}).get(status.lower())
    if proposal.date_order_open:
        MappingForm.end_date_order = SelectField(
            "How the end dates are written",
            choices=[SelectChoice(k, lb) for k, lb in DATE_ORDERS],
            description="The dates in this column fit both ways; choose how your HR system "
            "writes them. Every row is read the same way.",
        )
        data["end_date_order"] = proposal.value_maps.get("end_date", {}).get("order", DAY_FIRST)
    MappingForm.submit = SubmitField("Save mapping and preview")
    return MappingForm(data=data)


def chosen_columns(form: FlaskForm) -> dict[str, str]:
    return {f.key: form[column_field(f.key)].data for f in FIELDS if form[column_field(f.key)].data}


def chosen_value_maps(form: FlaskForm, proposal: MappingProposal) -> dict[str, dict[str, str]]:
    maps = {
        "job_title": {
            t.lower(): form[title_field(i)].data or IGNORE for i, t in enumerate(proposal.titles)
        },
        "org_unit": {
            d.lower(): form[dept_field(i)].data or IGNORE
            for i, d in enumerate(proposal.departments)
        },
        "org_unit_parent": {
            d.lower(): form[parent_field(i)].data or ""
            for i, d in enumerate(proposal.departments)
            if form[dept_field(i)].data == CREATE
        },
        "status": {
            v.lower(): form[status_field(i)].data or STATUS_IGNORE
            for i, (v, _) in enumerate(proposal.statuses)
        },
    }
    if proposal.date_order_open:
        maps["end_date"] = {"order": form["end_date_order"].data or DAY_FIRST}
    return maps


__all__ = [
    "ApplyForm",
    "UploadForm",
    "chosen_columns",
    "chosen_value_maps",
    "column_field",
    "dept_field",
    "mapping_form",
    "parent_field",
    "status_field",
    "title_field",
]
