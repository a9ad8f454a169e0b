"""P3O function coverage (``/reports/coverage``): for each office, whether each function it
needs is covered by its members, and where only one person covers it; the people behind one
cell (``/reports/coverage/cell``); and how the needed functions are decided
(``/reports/coverage/rules``, with the rules file to download for trainers).

Managers see the offices with members in their reach (names only of their own people);
trainers and admins every office. ``?format=csv`` or ``?format=xlsx`` downloads the table
the page shows. Filters come from the query string (ReportFilterForm): a bad date or an
unknown id is shown on the page with status 400; a unit, office or role beyond the
viewer's reach is refused (403).
"""

from __future__ import annotations

from flask import Response, abort, render_template, request, url_for
from flask_login import current_user

from app.access import ADMIN, MANAGER, TRAINER, allow, visible_people
from app.assessment import statistics_tables as tables
from app.content.office_functions_export import export_office_functions
from app.extensions import db
from app.org.models import Office
from app.reports import coverage as cov
from app.reports.forms import (
    ReportFilterForm,
    ScopeError,
    ScopeRefused,
    fill_choices,
    optional_id,
)
from app.reports.views import bp
from app.reports.views.exports import about_filters, download
from app.viewutil import paginate


def _download(body: str | bytes, name: str, kind: str) -> Response:
    return Response(
        body,
        content_type=kind,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def _filters():
    """(form, scope, error): the validated filters; ``error`` is a message for the page
    (status 400); a unit, office or role beyond the viewer's reach aborts with 403."""
    visible = visible_people(current_user)
    form = ReportFilterForm(request.args)
    fill_choices(form, db.session(), visible)
    if not form.validate():
        return form, None, "Some filters could not be used; see below."
    try:
        return form, form.scope(visible), None
    except ScopeRefused:
        abort(403)
    except ScopeError as error:
        return form, None, str(error)


@bp.route("/coverage")
@allow(MANAGER, TRAINER, ADMIN)
def coverage():
    form, scope, error = _filters()
    if scope is None:
        return render_template("reports/coverage/page.html", form=form, error=error), 400
    report = cov.coverage_report(db.session(), scope, compare=form.compare.data)
    table = cov.coverage_table(report)
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx"):
        about = about_filters("P3O function coverage", form, scope.on, compare=form.compare.data)
        return download(table, fmt, about)
    return render_template(
        "reports/coverage/page.html",
        form=form,
        error=None,
        report=report,
        table=table,
        rows_by_office=_rows_by_office(table),
        chart=cov.coverage_chart(report),
        scale=cov.scale_names(db.session()),
        names=cov.competency_names(db.session()),
        everyone=scope.visible is None,
        args=form.query_args(),
    )


def _rows_by_office(table: tables.StatTable) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for row in table.rows:
        out.setdefault(row["office_id"], []).append(row)
    return out


@bp.route("/coverage/cell")
@allow(MANAGER, TRAINER, ADMIN)
def coverage_cell():
    form, scope, error = _filters()
    office_id = optional_id(request.args.get("cell_office"))  # too long to exist: none
    code = request.args.get("function", "").strip()[:16]
    rolled = request.args.get("rolled") == "1"
    found = None
    if scope is not None:
        report = cov.coverage_report(db.session(), scope)
        try:
            found = cov.cell_people(
                db.session(), report, office_id or 0, code, rolled=rolled, visible=scope.visible
            )
        except cov.UnknownCell as unknown:
            if scope.visible is not None and _office_exists(office_id):
                abort(403)
            error = str(unknown)
    args = form.query_args()
    args.pop("compare", None)
    page = None
    if found is not None:
        page = paginate(found.people, total=found.visible_count)
    return render_template(
        "reports/coverage/cell.html",
        form=form,
        error=error,
        found=found,
        page=page,
        back=url_for(".coverage", **args),
        here={**args, "cell_office": office_id, "function": code, "rolled": "1" if rolled else ""},
        scale=cov.scale_names(db.session()),
        names=cov.competency_names(db.session()),
        everyone=scope is not None and scope.visible is None,
    ), (200 if found is not None else 400)


def _office_exists(office_id: int | None) -> bool:
    return office_id is not None and db.session.get(Office, office_id) is not None


@bp.route("/coverage/rules")
@allow(MANAGER, TRAINER, ADMIN)
def coverage_rules():
    functions, needs = cov.load_functions(db.session())
    return render_template(
        "reports/coverage/rules.html",
        functions=functions,
        needs=needs,
        by_code={f.code: f for f in functions},
        scale=cov.scale_names(db.session()),
        names=cov.competency_names(db.session()),
        trainer=bool(current_user.permissions & {TRAINER, ADMIN}),
    )


@bp.route("/coverage/office-functions.yaml")
@allow(TRAINER, ADMIN)
def coverage_rules_file():
    text = export_office_functions(db.session())
    if text is None:
        abort(404)
    return _download(text, "office-functions.yaml", "application/yaml; charset=utf-8")
