"""Reports: role readiness — per role, its holders on a date, how many fully meet the
profile (essential competencies only, and all), the competencies most often short with what
would close them; optionally two dates side by side. The page's tables are also exports:
the same URL ending in ``.csv`` or ``.xlsx`` (``?table=`` roles, gaps or change).

Managers see their own people only; trainers and admins everyone; learners none."""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask import Response, abort, render_template, request
from flask_login import current_user

from app.access import ADMIN, MANAGER, TRAINER, allow, visible_people
from app.assessment.statistics_tables import StatTable
from app.extensions import db
from app.reports import readiness as queries
from app.reports.forms import ReportFilterForm, ScopeError, ScopeRefused, fill_choices
from app.reports.scope import ReportScope
from app.reports.views import bp
from app.reports.views.exports import About, about_filters, download

EXPORT = "<any(csv, xlsx):fmt>"
AUDIENCE = (MANAGER, TRAINER, ADMIN)


def export(table: StatTable, fmt: str, on_label: str, about: About) -> Response:
    """The table as a download named after the table and the date it is as at, saying
    what it holds (``about``: a heading row in CSV, a sheet in XLSX; views/exports.py)."""
    about = replace(about, lines=[*about.lines, ("Table", table.title)])
    return download(table, fmt, about, f"{table.name}-{on_label}")


@dataclass(frozen=True)
class Filtered:
    """The filter form read: the scope to run, or the problem to show (and its status)."""

    form: ReportFilterForm
    scope: ReportScope | None
    problem: str | None = None
    status: int = 200


def read_filters(form: ReportFilterForm) -> Filtered:
    """Validate a report's GET filters against the viewer's reach: a bad value is a message
    on the page (400), a unit or office beyond the viewer's reach is refused (403)."""
    visible = visible_people(current_user)
    fill_choices(form, db.session(), visible)
    if not form.validate():
        return Filtered(form, None, "Check the filters above; the report was not run.", 400)
    try:
        return Filtered(form, form.scope(visible))
    except ScopeRefused:
        abort(403)
    except ScopeError as error:
        return Filtered(form, None, str(error), 400)


def scope_words(scope: ReportScope, form: ReportFilterForm) -> str:
    """The scope in words, for the page's subtitle."""
    parts = []
    for name in ("unit", "office", "role"):
        if getattr(scope, f"{name}_id") is not None:
            parts += [str(label) for _, label, picked, *_ in form[name].iter_choices() if picked]
    everyone = visible_people(current_user) is None
    reach = "everyone" if everyone else "the people you manage"
    return f"As at {scope.on.strftime('%d %b %Y')} · {reach}" + (
        " · " + " · ".join(parts) if parts else ""
    )


@bp.route("/readiness")
@bp.route(f"/readiness.{EXPORT}")
@allow(*AUDIENCE)
def readiness(fmt: str | None = None):
    filtered = read_filters(ReportFilterForm(request.args))
    form, scope = filtered.form, filtered.scope
    if scope is None:
        if fmt:
            abort(filtered.status)
        return render_template(
            "reports/readiness/readiness.html", form=form, problem=filtered.problem
        ), filtered.status
    session = db.session()
    roles = queries.role_readiness(session, scope)
    changes, dates = None, None
    if form.compare.data is not None:
        first, second = sorted([scope.on, form.compare.data])
        changes = queries.compare(session, replace(scope, on=first), replace(scope, on=second))
        dates = (first, second)
    tables = {
        "roles": queries.readiness_table(roles),
        "gaps": queries.gaps_table(roles),
    }
    if changes is not None and dates is not None:
        tables["change"] = queries.change_table(changes, *dates)
    if fmt:
        table = tables.get(request.args.get("table", "roles"))
        if table is None:
            abort(404)
        about = about_filters("Role readiness", form, scope.on, compare=form.compare.data)
        return export(table, fmt, scope.on.isoformat(), about)
    return render_template(
        "reports/readiness/readiness.html",
        form=form,
        scope=scope,
        subtitle=scope_words(scope, form),
        tables=tables,
        bars=queries.readiness_bars(roles),
        dates=dates,
        args=form.query_args(),
    )
