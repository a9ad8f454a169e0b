"""Assessment views: item statistics — the assessments with their attempts and alpha, one
assessment's items (facility, discrimination, flags), one item's answers, and where
learners fail by competency and by org unit. Every table is also an export: the same URL
ending in ``.csv`` or ``.xlsx`` writes the very rows the page shows.

Trainers see everything; managers see the tables by competency and by org unit for the
people they manage only (their units' subtrees and their reporting line)."""

from __future__ import annotations

from flask import Response, abort, current_app, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import Select

from app import clock
from app.access import MANAGER, TRAINER, allow, sees_everyone, visible_people
from app.assessment import statistics as stats
from app.assessment import statistics_queries as queries
from app.assessment import statistics_tables as tables
from app.assessment.models import Assessment
from app.assessment.views import bp
from app.audit.exports import record_export
from app.db import record_id
from app.extensions import db
from app.learning.lessons import render_lesson
from app.org.models import OrgUnit
from app.org.queries import unit_path

EXPORT = "<any(csv, xlsx):fmt>"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.app_template_filter("stat_cell")
def stat_cell(value: object, kind: str) -> str:
    return tables.display(value, kind)


def _min_attempts() -> int:
    return int(current_app.config.get("ITEM_STATS_MIN_ATTEMPTS", stats.DEFAULT_MIN_ATTEMPTS))


def _export(table: tables.StatTable, fmt: str) -> Response:
    """The table as a download; the file is named after the table and today's date."""
    name = f"{table.name}-{clock.today().isoformat()}"
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in name)
    if fmt == "xlsx":
        body: str | bytes = tables.table_xlsx(table)
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


def _assessment_or_404(assessment_id: int) -> Assessment:
    return db.get_or_404(Assessment, assessment_id)


# --- assessments, items, answers (trainers) ------------------------------------------------------


@bp.route("/assessments/statistics")
@bp.route(f"/assessments/statistics.{EXPORT}")
@allow(TRAINER)
def statistics_assessments(fmt: str | None = None):
    table = tables.assessments_table(stats.assessment_summaries(db.session()))
    if fmt:
        return _export(table, fmt)
    return render_template(
        "assessment/statistics/assessments.html",
        table=table,
        definitions=stats.DEFINITIONS,
        links={"title": lambda row: url_for(".statistics_assessment", assessment_id=row["id"])},
    )


@bp.route("/assessments/<int:assessment_id>/statistics")
@bp.route(f"/assessments/<int:assessment_id>/statistics/items.{EXPORT}")
@allow(TRAINER)
def statistics_assessment(assessment_id: int, fmt: str | None = None):
    assessment = _assessment_or_404(assessment_id)
    sort = request.args.get("sort", "item")
    sort = sort if sort in tables.ITEM_SORTS else "item"
    result = stats.assessment_statistics(db.session(), assessment.id, min_attempts=_min_attempts())
    table = tables.items_table(result, sort, assessment.code)
    if fmt:
        return _export(table, fmt)
    return render_template(
        "assessment/statistics/assessment.html",
        assessment=assessment,
        result=result,
        table=table,
        sort=sort,
        sort_links={
            s: url_for(".statistics_assessment", assessment_id=assessment.id, sort=s)
            for s in tables.ITEM_SORTS
        },
        links={
            "code": lambda row: url_for(
                ".statistics_item",
                assessment_id=assessment.id,
                item_version_id=row["item_version_id"],
            )
        },
        flag_rule=stats.flag_rule(result.min_attempts),
        definitions=stats.DEFINITIONS,
    )


@bp.route("/assessments/<int:assessment_id>/statistics/items/<int:item_version_id>")
@bp.route(
    f"/assessments/<int:assessment_id>/statistics/items/<int:item_version_id>/answers.{EXPORT}"
)
@allow(TRAINER)
def statistics_item(assessment_id: int, item_version_id: int, fmt: str | None = None):
    assessment = _assessment_or_404(assessment_id)
    result = stats.assessment_statistics(db.session(), assessment.id, min_attempts=_min_attempts())
    item = result.item(item_version_id)
    if item is None:
        abort(404)
    table = tables.answers_table(item, assessment.code)
    if fmt:
        return _export(table, fmt)
    content = item.content
    return render_template(
        "assessment/statistics/item.html",
        assessment=assessment,
        result=result,
        item=item,
        content=content,
        table=table,
        text={
            key: render_lesson(content.get(key) or "")
            for key in ("stem", "statement", "assertion", "reason", "feedback")
            if content.get(key)
        },
        flag_rule=stats.flag_rule(result.min_attempts),
        definitions=stats.DEFINITIONS,
    )


# --- by competency and by org unit (trainers; managers for their own people) ---------------------


def _people_scope() -> Select | None:
    """The people whose responses count: everyone for trainers, a manager's people."""
    return None if sees_everyone(current_user) else visible_people(current_user)


def _assessment_filter() -> int | None:
    """The ?assessment= filter, when it names an assessment with finished attempts."""
    wanted = request.args.get("assessment", type=record_id)
    known = {i for i, _ in queries.assessment_choices(db.session())}
    return wanted if wanted in known else None


@bp.route("/assessments/statistics/competencies")
@bp.route(f"/assessments/statistics/competencies.{EXPORT}")
@allow(TRAINER, MANAGER)
def statistics_competencies(fmt: str | None = None):
    assessment_id = _assessment_filter()
    table = tables.competency_table(
        db.session(), assessment_id=assessment_id, people=_people_scope()
    )
    if fmt:
        return _export(table, fmt)
    return render_template(
        "assessment/statistics/competencies.html",
        table=table,
        choices=queries.assessment_choices(db.session()),
        assessment_id=assessment_id,
        everyone=sees_everyone(current_user),
        weak=tables.WEAK_PERCENT,
        definitions=stats.DEFINITIONS,
    )


@bp.route("/assessments/statistics/units")
@bp.route(f"/assessments/statistics/units.{EXPORT}")
@allow(TRAINER, MANAGER)
def statistics_units(fmt: str | None = None):
    unit_id = request.args.get("unit", type=record_id)
    assessment_id = _assessment_filter()
    unit = db.get_or_404(OrgUnit, unit_id) if unit_id is not None else None
    manager = None if sees_everyone(current_user) else current_user.person_id
    scope = tables.unit_scope(db.session(), unit=unit, manager_person_id=manager)
    if scope is None:
        abort(403)
    table = tables.unit_table(
        db.session(), scope, assessment_id=assessment_id, people=_people_scope()
    )
    if fmt:
        return _export(table, fmt)
    return render_template(
        "assessment/statistics/units.html",
        table=table,
        unit=unit,
        trail=unit_path(db.session(), unit.id) if unit else [],
        choices=queries.assessment_choices(db.session()),
        assessment_id=assessment_id,
        everyone=sees_everyone(current_user),
        weak=tables.WEAK_PERCENT,
        min_cell=tables.MIN_CELL_RESPONSES,
        links={
            "unit": lambda row: (
                url_for(".statistics_units", unit=row["unit_id"], assessment=assessment_id)
                if row["drill"]
                else None
            )
        },
    )
