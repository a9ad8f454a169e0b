"""What every report's download says about itself: the report, the date it is as at, whose
people and the filters picked (org unit, office, role, and the report's own options).

- **CSV**: the table exactly as on screen, its header row first and nothing above it, so
  that a program (pandas, a BI tool, another system's import) reads it as it is. What it
  holds is said by its file name (the report and the as-at date) and, in full, by the XLSX.
- **XLSX**: the table's sheet stays first and unchanged; the heading is the workbook's
  title and the sheet's print header, and a second sheet, "About this report", lists each
  filter on a line of its own.

Every text written goes through the exporter's formula-injection guard
(statistics_tables.safe_text), as the table's cells do.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from flask import Response
from flask_login import current_user
from openpyxl import load_workbook
from wtforms import Form

from app.access import visible_people
from app.assessment import statistics_tables as tables
from app.audit.exports import record_export
from app.extensions import db

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: the filters every report shares, in the order they are named
FILTERS = (("unit", "Org unit"), ("office", "Office"), ("role", "Role"))


@dataclass(frozen=True)
class About:
    """What an export holds, in words: the report, a heading (the date and the scope) and
    lines of (label, text) for the filters and anything else the reader needs."""

    report: str
    heading: str
    lines: list[tuple[str, str]] = field(default_factory=list)


def day(on: date) -> str:
    return on.strftime("%d %b %Y")


def reach_words() -> str:
    """Whose people the viewer's reports count: everyone, or the people they manage."""
    if visible_people(current_user) is None:
        return "everyone"
    person = getattr(current_user, "person", None)
    return f"the people {person.full_name} manages" if person else "the people you manage"


def picked(form: Form, name: str) -> str | None:
    """The label of the choice picked in a select field (None: nothing picked)."""
    if name not in form._fields or form[name].data in (None, ""):
        return None
    labels = [str(label) for _, label, chosen, *_ in form[name].iter_choices() if chosen]
    return ", ".join(labels) or str(form[name].data)


def about_filters(
    report: str,
    form: Form,
    on: date,
    *,
    compare: date | None = None,
    people: int | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> About:
    """The About of a report run with the shared filter form (``ReportFilterForm`` or a
    subclass): as at, compared with, whose people (``people``: how many in scope, when the
    report knows), the unit, office and role picked, then ``extra`` lines (its options)."""
    reach = reach_words()
    if people is not None:
        reach += f" ({people:,} {'person' if people == 1 else 'people'} in scope)"
    lines = [("As at", day(on))]
    if compare is not None:
        lines.append(("Compared with", day(compare)))
    lines.append(("People", reach))
    scope = [reach]
    for name, noun in FILTERS:
        label = picked(form, name)
        if label is not None:
            lines.append((noun, label))
            scope.append(f"{noun.lower()}: {label}")
    lines += list(extra)
    heading = f"As at {day(on)}" + (f" compared with {day(compare)}" if compare else "")
    return About(report, f"{heading} · " + " · ".join(scope), lines)


def described_xlsx(workbook: bytes, about: About) -> bytes:
    """The workbook with its title, print header and an "About this report" sheet."""
    book = load_workbook(io.BytesIO(workbook))
    book.properties.title = about.heading[:250]
    # Excel's header and footer codes start with "&"; a header holds 255 characters at most.
    book.active.oddHeader.center.text = about.heading.replace("&", "&&")[:250]
    sheet = book.create_sheet("About this report")
    sheet.append([tables.safe_text(about.report), tables.safe_text(about.heading)])
    for label, text in about.lines:
        sheet.append([label, tables.safe_text(text)])
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(table: tables.StatTable, fmt: str, about: About, name: str | None = None) -> Response:
    """The table as a CSV or XLSX download saying what it holds (``about``), named
    ``name`` (by default the table's name), and the export recorded in the audit trail."""
    stem = name or table.name
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in stem)
    if fmt == "xlsx":
        body: str | bytes = described_xlsx(tables.table_xlsx(table), about)
        kind = XLSX_TYPE
    else:
        body, kind = tables.table_csv(table), "text/csv; charset=utf-8"
    record_export(db.session(), what=table.name, fmt=fmt, rows=len(table.rows))
    return Response(
        body,
        content_type=kind,
        headers={
            "Content-Disposition": f'attachment; filename="{safe}.{fmt}"',
            "Cache-Control": "no-store",
        },
    )
