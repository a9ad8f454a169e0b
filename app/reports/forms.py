"""The reports' GET filter form: the date a report is run as at, an optional date to compare
with, and the org unit, office and role it is narrowed to.

A plain WTForms ``Form`` bound to the query string (a GET form changes nothing, so it carries
no CSRF token and its URL can be bookmarked or shared). Use it in a view as::

    form = ReportFilterForm(request.args)
    fill_choices(form, db.session(), visible)     # visible = access.visible_people(user)
    if not form.validate():                       # bad date, unknown id: errors on the fields
        return render_template(..., form=form), 400
    try:
        scope = form.scope(visible)               # compare_scope(visible): the compare date
    except ScopeRefused:                          # a unit/office/role beyond the viewer's reach
        abort(403)

``fill_choices`` lists only what the viewer may report on and notes which ids exist, so that
``validate`` reports an id that names nothing (a field error) and ``scope`` refuses one that
exists beyond the viewer's reach. ``reports/_filters.html`` renders the form and its errors.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from wtforms import DateField, Form, SelectChoice, SelectField
from wtforms.validators import Optional, ValidationError

from app import clock
from app.dates import in_range
from app.db import MAX_ID
from app.forms import date_in_range
from app.org.models import Office, OrgUnit, Role
from app.reports.heatmap import visible_office_ids, visible_unit_ids
from app.reports.scope import ReportScope


class ScopeError(ValueError):
    """A filter names something that does not exist (shown on the page, status 400)."""

    status = 400


class ScopeRefused(ScopeError):
    """A filter names a unit, office or role the viewer may not report on (status 403)."""

    status = 403


def optional_id(value) -> int | None:
    """A select's value: "" means none; anything but digits (or a number larger than any
    id) is kept as text to report."""
    if value in (None, "", "None"):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_ID else None
    text = str(value).strip()
    return int(text) if text.isdigit() and len(text) <= 10 and int(text) <= MAX_ID else None


def _differs_from_on(form: Form, field) -> None:
    if field.data is not None and form.on.data is not None and field.data == form.on.data:
        raise ValidationError("Pick a date other than the report's date to compare with.")


ROW_DIMENSIONS = [
    SelectChoice("people", "People"),
    SelectChoice("unit", "Org units"),
    SelectChoice("office", "Offices"),
    SelectChoice("role", "Roles"),
]
MEASURES = [
    SelectChoice("meeting", "Share meeting (%)"),
    SelectChoice("shortfall", "Mean shortfall (levels)"),
    SelectChoice("short", "Number short"),
]


class ReportFilterForm(Form):
    """The filters every report shares (bound to ``request.args``)."""

    on = DateField(
        "As at",
        default=date.today,
        validators=[Optional(), date_in_range],
        description="The report gives the figures the organisation had on this date.",
    )
    compare = DateField(
        "Compare with",
        validators=[Optional(), date_in_range, _differs_from_on],
        description="Optional: a second date, shown side by side with what moved.",
    )
    unit = SelectField("Org unit", coerce=optional_id, validate_choice=False)
    office = SelectField("Office", coerce=optional_id, validate_choice=False)
    role = SelectField("Role", coerce=optional_id, validate_choice=False)

    #: filled by ``fill_choices``: ids the viewer may pick, and the raw ids given per field
    _allowed: dict[str, set[int]]

    def __init__(self, formdata=None, **kwargs):
        super().__init__(formdata, **kwargs)
        self._allowed = {}
        raw = self.on.raw_data[0].strip() if self.on.raw_data else ""
        if self.on.data is None and not raw:
            self.on.data = clock.today()

    def validate(self, extra_validators=None) -> bool:
        """The fields' own checks, and ids that name nothing (once ``fill_choices`` ran)."""
        ok = super().validate(extra_validators)
        for name, kind in (("unit", "org unit"), ("office", "office"), ("role", "role")):
            field = self[name]
            raw = field.raw_data[0] if field.raw_data else ""
            if raw not in ("", "None") and field.data is None:
                field.errors = [*field.errors, f"“{raw[:40]}” is not an id; pick from the list."]
                ok = False
            elif self._unknown(name, field.data):
                field.errors = [*field.errors, f"There is no {kind} with id {field.data}."]
                ok = False
        return ok

    def _unknown(self, name: str, value: int | None) -> bool:
        known = self._allowed.get(name, set()) | self._allowed.get(f"{name}_exists", set())
        return bool(self._allowed) and value is not None and value not in known

    @property
    def as_at(self) -> date:
        """The report's date (today when not given or not valid)."""
        value = self.on.data
        return value if value is not None and in_range(value) else clock.today()

    def scope(self, visible: Select | None, *, on: date | None = None) -> ReportScope:
        """The report's scope from the (validated) filters.

        :param visible: the viewer's people (``access.visible_people``), None for everyone
        :param on: the date to run as at instead of the form's (e.g. the compare date)
        :raises ScopeRefused: a unit, office or role beyond the viewer's reach
        :raises ScopeError: an id that names nothing
        """
        if not self._allowed:
            raise RuntimeError("call fill_choices(form, session, visible) before scope()")
        for name, kind in (("unit", "org unit"), ("office", "office"), ("role", "role")):
            value = self[name].data
            if value is None or value in self._allowed[name]:
                continue
            if value in self._allowed.get(f"{name}_exists", set()):
                raise ScopeRefused(f"You may not report on that {kind}.")
            raise ScopeError(f"There is no {kind} with id {value}.")
        return ReportScope(
            on=on or self.as_at,
            visible=visible,
            unit_id=self.unit.data,
            office_id=self.office.data,
            role_id=self.role.data,
        )

    def may_pick(self, session: Session, name: str, value: int) -> bool:
        """Whether ``value`` is a unit/office the viewer may report on, or names nothing (an
        unknown id is not a refusal: the page says it does not exist)."""
        if value in self._allowed.get(name, set()):
            return True
        model = {"unit": OrgUnit, "office": Office, "role": Role}[name]
        return session.get(model, value) is None

    def compare_scope(self, visible: Select | None) -> ReportScope | None:
        """The same scope as at the compare date, or None when there is none."""
        if self.compare.data is None:
            return None
        return self.scope(visible, on=self.compare.data)

    def query_args(self, **overrides) -> dict[str, str]:
        """The filters as URL arguments (for links that keep them: exports, drill-downs);
        a select left at its default is left out, to keep links short."""
        args: dict[str, str] = {}
        for name, field in self._fields.items():
            value = field.data
            if value is None or value == "" or (name != "on" and value == field.default):
                continue
            args[name] = value.isoformat() if isinstance(value, date) else str(value)
        args.update({k: str(v) for k, v in overrides.items() if v is not None})
        return args


class HeatmapFilterForm(ReportFilterForm):
    """The shared filters plus the heatmap's rows and the figure in each cell."""

    rows = SelectField("Rows", choices=ROW_DIMENSIONS, default="people")
    measure = SelectField("Figure in each cell", choices=MEASURES, default="meeting")


def fill_choices(form: ReportFilterForm, session: Session, visible: Select | None) -> None:
    """Fill the unit, office and role choices with what the viewer may report on.

    Roles are the public catalogue (narrowing by role still counts only visible people).
    Records which ids exist, so ``form.scope`` can tell "unknown" from "not yours".
    """
    units = session.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.code)
        .where(OrgUnit.id.in_(visible_unit_ids(visible)))
        .order_by(OrgUnit.name)
    ).all()
    offices = session.execute(
        select(Office.id, Office.name, Office.code)
        .where(Office.id.in_(visible_office_ids(visible)))
        .order_by(Office.name)
    ).all()
    roles = session.execute(select(Role.id, Role.name, Role.code).order_by(Role.name)).all()
    form.unit.choices = [SelectChoice("", "Everyone you can see")] + [
        SelectChoice(str(i), n) for i, n, _ in units
    ]
    form.office.choices = [SelectChoice("", "Any office")] + [
        SelectChoice(str(i), n) for i, n, _ in offices
    ]
    form.role.choices = [SelectChoice("", "Any role")] + [
        SelectChoice(str(i), f"{n} ({c})") for i, n, c in roles
    ]
    form._allowed = {
        "unit": {i for i, _, _ in units},
        "office": {i for i, _, _ in offices},
        "role": {i for i, _, _ in roles},
    }
    for name, model in (("unit", OrgUnit), ("office", Office), ("role", Role)):
        value = form[name].data
        if value is not None and value not in form._allowed[name]:
            if session.get(model, value) is not None:
                form._allowed[f"{name}_exists"] = {value}
