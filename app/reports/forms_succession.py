"""The bench-strength and closest-roles filter forms: the reports' shared filters
(app/reports/forms.py) plus how the bench is drawn. GET forms, no CSRF (they change
nothing)."""

from __future__ import annotations

from datetime import date

from wtforms import DateField, Form, SelectChoice, SelectField
from wtforms.validators import Optional

from app import clock
from app.dates import in_range
from app.forms import date_in_range
from app.reports.forms import ReportFilterForm
from app.reports.succession import (
    ALL,
    ESSENTIAL,
    WITHIN_DEFAULT,
    WITHIN_MAX,
    BenchOptions,
)

BASIS_CHOICES = [
    SelectChoice(ESSENTIAL, "Essential only"),
    SelectChoice(ALL, "All competencies"),
]
WITHIN_CHOICES = [
    SelectChoice(
        str(n),
        "none (ready now only)" if n == 0 else f"up to {n} competenc{'y' if n == 1 else 'ies'}",
    )
    for n in range(WITHIN_MAX + 1)
]
WHO_CHOICES = [SelectChoice("", "Everyone"), SelectChoice("targets", "Only those who target it")]


def _within(value) -> int | None:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() and len(text) <= 2 else None


class BenchFilterForm(ReportFilterForm):
    """The shared filters (no compare date) plus: ready on which competencies, how many
    may be one level short, and whether only people who target the role."""

    compare = None  # the bench is read on one date
    basis = SelectField(
        "Ready on",
        choices=BASIS_CHOICES,
        default=ESSENTIAL,
        description="The competencies of the role's profile a person must meet: the "
        "essential ones, or all of them.",
    )
    within = SelectField(
        "Short by one level on",
        choices=WITHIN_CHOICES,
        coerce=_within,
        default=WITHIN_DEFAULT,
        description="How many competencies a person may be one level short of and still "
        "count as within reach (0: ready now only).",
    )
    who = SelectField("Who", choices=WHO_CHOICES, default="")

    def options(self) -> BenchOptions:
        """The bench options from the (validated) form."""
        within = self.within.data if self.within.data is not None else WITHIN_DEFAULT
        return BenchOptions(
            basis=self.basis.data or ESSENTIAL,
            within=within,
            targets_only=self.who.data == "targets",
        )


class ClosestRolesForm(Form):
    """Only the date: the roles one person is closest to, as at a date."""

    on = DateField(
        "As at",
        default=date.today,
        validators=[Optional(), date_in_range],
        description="The figures the person had on this date.",
    )

    @property
    def as_at(self) -> date:
        """The date asked for (today when not given or not valid)."""
        value = self.on.data
        return value if value is not None and in_range(value) else clock.today()
