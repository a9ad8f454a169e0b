"""The audit page for administrators: the trail, filtered, a page at a time, and as CSV.

Read only: no route here (or anywhere) edits or deletes an event.
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, render_template, request

from app.access import ADMIN, allow
from app.audit import queries
from app.audit.exports import record_export
from app.audit.forms import AuditFilterForm
from app.extensions import db
from app.staff_import.services import safe_cell
from app.viewutil import paginate

bp = Blueprint("audit", __name__, template_folder="templates")


@bp.route("/admin/audit")
@allow(ADMIN)
def events():
    form = AuditFilterForm(request.args)
    if not form.validate():
        return render_template("audit/events.html", form=form, page=None, lines=[]), 400
    flt = form.filter()
    page = paginate(queries.events_query(flt), counter=queries.events_count(flt))
    lines = [queries.event_line(row) for row in page.items]
    return render_template("audit/events.html", form=form, page=page, lines=lines)


@bp.route("/admin/audit.csv")
@allow(ADMIN)
def events_csv():
    form = AuditFilterForm(request.args)
    if not form.validate():
        return render_template("audit/events.html", form=form, page=None, lines=[]), 400
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(queries.CSV_HEADER)
    rows = 0
    for row in queries.csv_rows(db.session(), form.filter()):
        writer.writerow([safe_cell(v) for v in row])
        rows += 1
    record_export(db.session(), what="audit trail", fmt="csv", rows=rows)
    return Response(
        out.getvalue(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"'},
    )
