"""The capability heatmap (``/reports/heatmap``) and the people behind one of its cells
(``/reports/heatmap/cell``). Managers see their own subtree and reporting line; trainers
and admins everyone. ``?format=csv`` or ``?format=xlsx`` downloads the table on the screen,
saying what it holds (the date, whose people, the filters, the rows and the figure): a
heading row above the CSV's table; the workbook's title, print header and a second sheet,
"About this report" (views/exports.py, as every report's export).

Both pages read their filters from the query string (ReportFilterForm): a bad date or an
unknown id is shown on the page with status 400; a unit, office or person beyond the
viewer's reach is refused (403).
"""

from __future__ import annotations

from flask import abort, render_template, request, url_for
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination

from app.access import ADMIN, MANAGER, TRAINER, allow, can_see_person, visible_people
from app.assessment import statistics_tables as tables
from app.db import page_number
from app.extensions import db
from app.reports import heatmap as hm
from app.reports.forms import (
    HeatmapFilterForm,
    ScopeError,
    ScopeRefused,
    fill_choices,
    optional_id,
)
from app.reports.views import bp
from app.reports.views.exports import About, about_filters, download

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.app_template_filter("heatmap_figure")
def heatmap_figure(value: object, kind: str) -> str:
    """A figure as the heatmap prints it (``statistics_tables.display``), "—" for none."""
    return "—" if value is None else tables.display(value, kind)


@bp.app_template_filter("heatmap_change")
def heatmap_change(value: object, kind: str) -> str:
    """A change between two dates, signed: "+12 pts", "−0.50", "+2"."""
    if value is None:
        return ""
    number = float(value)  # type: ignore[arg-type]
    sign = "+" if number > 0 else "−" if number < 0 else "±"
    text = f"{abs(number):.2f}" if kind == tables.RATIO else f"{abs(number):.0f}"
    return f"{sign}{text}{' pts' if kind == tables.PERCENT else ''}"


@bp.app_template_global("heatmap_bands")
def heatmap_bands(measure: str) -> list[tuple[str, str, str, str]]:
    """The bands of the legend: (band, mark, label, what it means for ``measure``)."""
    rules = hm.BAND_RULES.get(measure, hm.BAND_RULES["meeting"])
    return [
        (b, hm.BAND_MARKS[b], hm.BAND_LABELS[b], rule)
        for b, rule in zip(hm.BANDS, rules, strict=True)
    ]


def _about(form: HeatmapFilterForm, now: hm.Heatmap, measure: str) -> About:
    """The export's date and scope (whose people, the filters picked), rows and figure."""
    rows = ROW_NOTES[now.row_kind].removeprefix("Rows: ")
    rows = rows[:1].upper() + rows[1:] + (f" Below {now.base_unit}." if now.base_unit else "")
    if now.row_kind == "people" and now.pages > 1:
        rows += f" Page {now.page} of {now.pages}, {now.per_page} people a page in name order."
    return about_filters(
        "Capability heatmap",
        form,
        now.on,
        compare=form.compare.data,
        people=now.total.people,
        extra=[
            ("Rows", rows),
            ("Figure in each cell", f"{hm.MEASURE_LABELS[measure]}; n = how many required"),
            ("Framework", now.version_label or "none published"),
        ],
    )


def _filters():
    """The bound, validated filter form and the scopes it gives: (form, scope, then, error).
    ``error`` is a message for the page (status 400); out-of-reach filters abort with 403."""
    visible = visible_people(current_user)
    form = HeatmapFilterForm(request.args)
    fill_choices(form, db.session(), visible)
    if not form.validate():
        return form, None, None, None  # the form shows what to put right
    try:
        return form, form.scope(visible), form.compare_scope(visible), None
    except ScopeRefused:
        abort(403)
    except ScopeError as error:
        return form, None, None, str(error)


class RowsPage(Pagination):
    """The pagination macro's view of rows already fetched (the heatmap's people rows)."""

    def _query_items(self) -> list:
        return list(self._query_args["items"])

    def _query_count(self) -> int:
        return int(self._query_args["total"])


ROW_NOTES = {
    "people": "Rows: each person in scope, against the highest level their current roles require.",
    "unit": "Rows: org units, each counting everyone below it.",
    "office": "Rows: P3O offices, counting the people with a current role in the office.",
    "role": "Rows: roles, each holder measured against that role's own profile.",
}


def _page() -> int:
    page = request.args.get("page", 1, type=page_number) or 1
    return max(1, min(page, 100_000))


@bp.route("/heatmap")
@allow(MANAGER, TRAINER, ADMIN)
def heatmap():
    form, scope, then_scope, error = _filters()
    fmt = request.args.get("format")
    if scope is None:
        return render_template("reports/heatmap/page.html", form=form, error=error), 400
    measure, kind = form.measure.data, form.rows.data
    now = hm.heatmap(db.session(), scope, kind, page=_page())
    then = None
    if then_scope is not None:
        ids = [r.key for r in now.rows] if kind == "people" else None
        then = hm.heatmap(db.session(), then_scope, kind, people_ids=ids)
    table = hm.heatmap_table(now, measure, then, form.compare.data)
    if fmt in ("csv", "xlsx"):
        return download(table, fmt, _about(form, now, measure))
    return render_template(
        "reports/heatmap/page.html",
        form=form,
        error=None,
        hm=now,
        then=then,
        table=table,
        measure=measure,
        kind=hm.measure_kind(measure),
        moves=hm.moves(now, then, measure) if then is not None else [],
        chart=hm.group_chart(now, then),
        args=form.query_args(),
        page_url=lambda number: url_for(".heatmap", **form.query_args(), page=number),
        measure_label=hm.MEASURE_LABELS[measure],
        row_note=ROW_NOTES[kind]
        + (f" Below {now.base_unit}." if kind == "unit" and now.base_unit else ""),
        page_of_rows=RowsPage(
            page=now.page,
            per_page=now.per_page,
            max_per_page=now.per_page,
            error_out=False,
            items=now.rows,
            total=now.row_count,
        ),
    )


def _may_drill(form: HeatmapFilterForm, row_kind: str, row: int) -> bool:
    """Whether the viewer may open a row's people: a person they see, an org unit or an office
    within their reach (an unknown one is left for the query to report)."""
    if row_kind == "people":
        return can_see_person(db.session(), current_user, row)
    if row_kind == "unit":
        return form.may_pick(db.session(), "unit", row)
    if row_kind == "office" and row != hm.NO_OFFICE:
        return form.may_pick(db.session(), "office", row)
    return True


def _one_unit(cell: hm.CellPeople | None) -> str | None:
    """The org unit of everyone the drill-down lists, when they all share one (said once
    above the table instead of on every row); None when they differ or fill several pages."""
    if cell is None or not cell.people or cell.pages > 1:
        return None
    units = {p.unit for p in cell.people}
    return units.pop() if len(units) == 1 else None


@bp.route("/heatmap/cell")
@allow(MANAGER, TRAINER, ADMIN)
def heatmap_cell():
    form, scope, _, error = _filters()
    row_kind = request.args.get("row_kind", "")
    row = optional_id(request.args.get("row"))  # an id too long to exist names no row
    code = request.args.get("competency", "").strip()
    if scope is not None and row is not None and not _may_drill(form, row_kind, row):
        abort(403)
    cell = None
    if scope is not None:
        try:
            cell = hm.cell_people(
                db.session(),
                scope,
                code=code,
                row_kind=row_kind,
                row=row,
                page=_page(),
                short_only=request.args.get("short") == "1",
            )
        except hm.UnknownCell as unknown:
            error = str(unknown)
    args = form.query_args(compare=None)
    args.pop("compare", None)
    back = url_for(".heatmap", **form.query_args())
    here = {**args, "competency": code, "row_kind": row_kind, "row": row}
    here = {k: v for k, v in here.items() if v not in (None, "")}
    short = "1" if cell is not None and cell.short_only else None
    return render_template(
        "reports/heatmap/cell.html",
        form=form,
        error=error,
        cell=cell,
        back=back,
        here=here,
        page_url=lambda number: url_for(".heatmap_cell", **here, short=short, page=number),
        one_unit=_one_unit(cell),
        people_page=None
        if cell is None
        else RowsPage(
            page=cell.page,
            per_page=cell.per_page,
            max_per_page=cell.per_page,
            error_out=False,
            items=cell.people,
            total=cell.total,
        ),
    ), (200 if cell is not None else 400)
