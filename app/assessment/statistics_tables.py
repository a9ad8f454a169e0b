"""The item statistics' tables, as the pages show them and their exports write them.

Every table a statistics page shows is a ``StatTable``: columns (with the kind of value
each holds) and rows whose figures are already rounded to what is displayed. The page
formats a cell with ``display``; the CSV writes the same figure (``csv_value``); the
workbook holds the same number (``export_value``) — so an export always says what the
screen says, cell for cell. Text in an export that a spreadsheet would read as a formula
(starting with = + - @, a tab or a carriage return) gets a leading quote; numbers are
written as numbers, which cannot be formulas.

The figures come from ``app.assessment.statistics`` (items, answers, assessments) and from
grouped queries (``statistics_queries``: by competency and by org unit).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import Select
from sqlalchemy.orm import Session

from app.assessment import statistics_queries as queries
from app.assessment.statistics import (
    FLAGS,
    AssessmentStats,
    AssessmentSummary,
    ItemStats,
)
from app.org.models import OrgUnit

#: A cell of the table by org unit shows a share correct only from this many responses.
MIN_CELL_RESPONSES = 10
#: Below this share correct (per cent) a competency is shown as where learners fail.
WEAK_PERCENT = 50

# --- the table value and its cells ------------------------------------------------------------

TEXT = "text"
COUNT = "count"
RATIO = "ratio"  # 0.00-1.00, or a correlation -1.00-1.00: two decimals
PERCENT = "percent"  # whole per cent
FLAG_LIST = "flags"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = TEXT
    #: the sort a column header offers (``items_table``), if any
    sort: str | None = None
    #: long text that wraps (other text stays on one line)
    wrap: bool = False
    #: left out on a phone's narrow screen (never from the exports)
    wide_only: bool = False
    #: what the header means, when the label is a code
    hint: str = ""


@dataclass(frozen=True)
class StatTable:
    """A table as a page shows it and its exports write it: values already rounded to
    what is displayed (so screen, CSV and XLSX agree cell for cell). Rows are dicts; a
    row may carry keys that are not columns (ids the page links with)."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[dict, ...]

    def values(self, row: Mapping) -> list:
        return [row.get(c.key) for c in self.columns]


def _round(x: float | None, digits: int) -> float | None:
    return None if x is None else round(float(x), digits)


def _percent(part: float, whole: float) -> float | None:
    return round(part * 100 / whole) if whole else None


def display(value: object, kind: str) -> str:
    """A cell as the page shows it: "–" for no value, two decimals for ratios, whole per
    cent, flags joined by "; "."""
    if value is None or value == ():
        return "" if kind == FLAG_LIST else "–"
    if kind == RATIO:
        return f"{float(value):.2f}"  # type: ignore[arg-type]
    if kind == PERCENT:
        return f"{float(value):.0f}%"  # type: ignore[arg-type]
    if kind == FLAG_LIST:
        return "; ".join(value)  # type: ignore[arg-type]
    return str(value)


ITEM_SORTS = ("item", "flag", "facility", "discrimination", "responses")


def _item_sort_key(sort: str) -> Callable[[ItemStats], tuple]:
    if sort == "flag":
        return lambda i: (-len(i.flags), [FLAGS.index(f) for f in i.flags], i.code)
    if sort == "facility":
        return lambda i: (i.facility is None, i.facility or 0.0, i.code)
    if sort == "discrimination":
        return lambda i: (i.discrimination is None, i.discrimination or 0.0, i.code)
    if sort == "responses":
        return lambda i: (-i.responses, i.code)
    return lambda i: (i.code, i.version)


def items_table(stats: AssessmentStats, sort: str = "item", code: str = "") -> StatTable:
    """The assessment's items, sorted by ``sort`` (``ITEM_SORTS``): flagged first (the
    most flags first), by facility or discrimination (lowest first), by responses (most
    first), or by item id."""
    items = sorted(stats.items, key=_item_sort_key(sort if sort in ITEM_SORTS else "item"))
    return StatTable(
        name=f"{code or stats.assessment_id}-items",
        title="Items",
        columns=(
            Column("code", "Item", sort="item"),
            Column("version", "Version", COUNT, wide_only=True),
            Column("type", "Type", wide_only=True),
            Column("competency", "Competency"),
            Column("responses", "Responses", COUNT, sort="responses"),
            Column("facility", "Facility", RATIO, sort="facility"),
            Column("discrimination", "Discrimination", RATIO, sort="discrimination"),
            Column("upper_lower", "Upper–lower", RATIO, wide_only=True),
            Column("flags", "Flags", FLAG_LIST, sort="flag"),
        ),
        rows=tuple(
            {
                "item_version_id": i.item_version_id,
                "code": i.code,
                "version": i.version,
                "type": i.type_label,
                "competency": i.competency,
                "responses": i.responses,
                "facility": _round(i.facility, 2),
                "discrimination": _round(i.discrimination, 2),
                "upper_lower": _round(i.upper_lower, 2),
                "flags": i.flags,
            }
            for i in items
        ),
    )


def answers_table(item: ItemStats, code: str = "") -> StatTable:
    """The answers chosen on one item: each option (the key marked), how many chose it, the
    share of responses, and how many of the stronger half chose it."""
    return StatTable(
        name=f"{code + '-' if code else ''}{item.code}-answers",
        title="Answers chosen",
        columns=(
            Column("label", "Answer", wrap=True),
            Column("key", "Key"),
            Column("chosen", "Chosen", COUNT),
            Column("share", "Share", PERCENT),
            Column("strong", "Chosen by the stronger half", COUNT),
        ),
        rows=tuple(
            {
                "label": a.label,
                "key": "Key" if a.key else "",
                "chosen": a.chosen,
                "share": _percent(a.chosen, item.responses),
                "strong": a.strong,
            }
            for a in item.answers
        ),
    )


def assessments_table(summaries: Iterable[AssessmentSummary]) -> StatTable:
    return StatTable(
        name="assessments",
        title="Assessments",
        columns=(
            Column("title", "Assessment", wrap=True),
            Column("code", "Code", wide_only=True),
            Column("status", "Status", wide_only=True),
            Column("attempts", "Attempts", COUNT),
            Column("people", "People", COUNT, wide_only=True),
            Column("pass_rate", "Passed", PERCENT),
            Column("alpha", "Alpha", RATIO),
        ),
        rows=tuple(
            {
                "id": s.id,
                "title": s.title,
                "code": s.code,
                "status": s.status.capitalize(),
                "attempts": s.attempts,
                "people": s.people,
                "pass_rate": _percent(s.passed, s.attempts),
                "alpha": _round(s.alpha, 2),
            }
            for s in summaries
        ),
    )


def competency_table(
    session: Session, *, assessment_id: int | None = None, people: Select | None = None
) -> StatTable:
    """Per competency: items, responses, people and the share of responses correct, the
    weakest first — where learners fail."""
    rows = queries.by_competency(session, assessment_id=assessment_id, people=people)
    rows.sort(key=lambda r: (r.marks / r.max_marks if r.max_marks else 1.0, r.code))
    return StatTable(
        name="competencies",
        title="By competency",
        columns=(
            Column("code", "Competency"),
            Column("name", "Name", wrap=True),
            Column("items", "Items", COUNT, wide_only=True),
            Column("responses", "Responses", COUNT),
            Column("people", "People", COUNT),
            Column("correct", "Correct", PERCENT),
        ),
        rows=tuple(
            {
                "code": r.code,
                "name": r.name,
                "items": r.items,
                "responses": r.responses,
                "people": r.people,
                "correct": _percent(r.marks, r.max_marks),
            }
            for r in rows
        ),
    )


@dataclass(frozen=True)
class UnitScope:
    """The units a table by org unit compares: ``units`` (id, name, has children), each
    with everything below it, and ``direct`` (id, name) for the people placed in the
    parent unit itself."""

    units: tuple[tuple[int, str, bool], ...]
    direct: tuple[int, str] | None = None


def unit_scope(
    session: Session, *, unit: OrgUnit | None, manager_person_id: int | None = None
) -> UnitScope | None:
    """The units to compare: ``unit``'s children (and the people placed in ``unit``
    itself); with no unit, the top-level units below the root (and the people placed in
    the root). For a manager (``manager_person_id``): with no unit, the units they head;
    a unit only within the subtrees they head — None for any other unit."""
    if unit is not None:
        if manager_person_id is not None and not queries.within_headed_units(
            session, manager_person_id, unit.id
        ):
            return None
        return _scope(session, queries.child_units(session, unit.id), unit)
    if manager_person_id is not None:
        return _scope(session, queries.headed_units(session, manager_person_id), None)
    tops = queries.top_units(session)
    roots = {u.parent_id for u in tops}
    root = session.get(OrgUnit, roots.pop()) if len(roots) == 1 else None
    return _scope(session, tops, root)


def _scope(session: Session, units: list[OrgUnit], parent: OrgUnit | None) -> UnitScope:
    parents = queries.units_with_children(session, [u.id for u in units])
    return UnitScope(
        units=tuple((u.id, u.name, u.id in parents) for u in units),
        direct=(parent.id, parent.name) if parent is not None else None,
    )


def unit_table(
    session: Session,
    scope: UnitScope,
    *,
    assessment_id: int | None = None,
    people: Select | None = None,
) -> StatTable:
    """Per unit: the people and responses, the share correct overall and per competency
    (a competency's cell is left empty under ``MIN_CELL_RESPONSES`` responses). Two
    grouped queries over the org-unit closure table."""
    unit_ids = [u for u, _, _ in scope.units]
    direct_id = scope.direct[0] if scope.direct else None
    rows = queries.by_unit(
        session, unit_ids, direct_unit_id=direct_id, assessment_id=assessment_id, people=people
    )
    heads = queries.unit_people(
        session, unit_ids, direct_unit_id=direct_id, assessment_id=assessment_id, people=people
    )
    competencies = sorted({r.competency for r in rows})
    names = queries.competency_names(session) if competencies else {}
    cells: dict[int, dict[str, queries.UnitRow]] = {}
    for r in rows:
        cells.setdefault(r.unit_id, {})[r.competency] = r
    listed = [(u, name, children) for u, name, children in scope.units]
    if scope.direct:
        listed.append((scope.direct[0], f"{scope.direct[1]} (placed directly)", False))
    out = []
    for unit_id, name, children in listed:
        mine = cells.get(unit_id, {})
        if not mine and unit_id == direct_id:
            continue
        responses = sum(c.responses for c in mine.values())
        row: dict = {
            "unit_id": unit_id,
            "drill": children and unit_id != direct_id,
            "unit": name,
            "people": heads.get(unit_id, 0),
            "responses": responses,
            "correct": _percent(
                sum(c.marks for c in mine.values()), sum(c.max_marks for c in mine.values())
            ),
        }
        for code in competencies:
            cell = mine.get(code)
            row[f"c:{code}"] = (
                _percent(cell.marks, cell.max_marks)
                if cell and cell.responses >= MIN_CELL_RESPONSES
                else None
            )
        out.append(row)
    return StatTable(
        name="org-units",
        title="By org unit",
        columns=(
            Column("unit", "Org unit", wrap=True),
            Column("people", "People", COUNT, wide_only=True),
            Column("responses", "Responses", COUNT, wide_only=True),
            Column("correct", "Correct", PERCENT),
            *(
                Column(f"c:{code}", code, PERCENT, hint=names.get(code, ""))
                for code in competencies
            ),
        ),
        rows=tuple(out),
    )


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """Neutralise a spreadsheet formula (CSV/formula injection): text starting with
    = + - @, a tab or a carriage return gets a leading quote. Numbers are written as
    numbers and cannot be formulas."""
    return "'" + text if text.startswith(FORMULA_START) else text


def export_value(value: object, kind: str) -> object:
    """A cell as the XLSX export holds it: the displayed number (rounded as shown), or
    formula-safe text; None for no value."""
    if value is None or value == ():
        return None
    if kind == FLAG_LIST:
        return safe_text("; ".join(value))  # type: ignore[arg-type]
    if kind in (COUNT, RATIO, PERCENT) and isinstance(value, int | float):
        return value
    return safe_text(str(value))


def csv_value(value: object, kind: str) -> str:
    """A cell as the CSV export writes it: the page's figure (without the per cent sign),
    or formula-safe text; empty for no value."""
    if value is None or value == ():
        return ""
    if kind == RATIO:
        return f"{float(value):.2f}"  # type: ignore[arg-type]
    if kind == PERCENT:
        return f"{float(value):.0f}"  # type: ignore[arg-type]
    if kind == COUNT:
        return str(value)
    return str(export_value(value, kind))


def _header(column: Column) -> str:
    return safe_text(column.label + (" (%)" if column.kind == PERCENT else ""))


def table_csv(table: StatTable) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_header(c) for c in table.columns])
    for row in table.rows:
        writer.writerow([csv_value(row.get(c.key), c.kind) for c in table.columns])
    return out.getvalue()


def _xlsx_value(value: object, kind: str) -> object:
    """``export_value`` without the control characters a workbook cannot hold."""
    out = export_value(value, kind)
    return ILLEGAL_CHARACTERS_RE.sub("", out) if isinstance(out, str) else out


def table_xlsx(table: StatTable) -> bytes:
    """The table as a workbook of one sheet (openpyxl through pandas)."""
    frame = pd.DataFrame(
        [[_xlsx_value(row.get(c.key), c.kind) for c in table.columns] for row in table.rows],
        columns=[_header(c) for c in table.columns],
    )
    out = io.BytesIO()
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=table.title[:31])
    return out.getvalue()
