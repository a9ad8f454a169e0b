"""Staff import pages: upload an HR export, map its columns and values, preview, apply, and
the history of imports with their error reports. The work is done in app.staff_import.services;
each POST commits once."""

from __future__ import annotations

import json
from typing import cast
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from app import clock
from app.access import ADMIN, allow
from app.audit.exports import record_export
from app.errors import DomainError
from app.extensions import db
from app.forms import ConfirmForm
from app.staff_import import queries, services
from app.staff_import.forms import (
    ApplyForm,
    UploadForm,
    chosen_columns,
    chosen_value_maps,
    column_field,
    dept_field,
    mapping_form,
    parent_field,
    status_field,
    title_field,
)
from app.staff_import.mapping import FIELD_KEYS, FIELDS
from app.staff_import.models import BatchStatus, ImportBatch
from app.staff_import.reading import BadFile
from app.staff_import.rows import CREATE, IGNORE
from app.viewutil import apply_domain_error, current_page, run

bp = Blueprint("staff_import", __name__, url_prefix="/admin/imports", template_folder="templates")

#: Row errors and warnings shown on a page; the CSV download has them all.
ISSUES_SHOWN = 200
HISTORY_PER_PAGE = 20


def _session() -> Session:
    """The request's session, typed as the plain Session the use-cases take."""
    return cast(Session, db.session)


def _batch(batch_id: int) -> ImportBatch:
    return db.get_or_404(ImportBatch, batch_id)


def _open_batch(batch_id: int) -> tuple[ImportBatch, BaseResponse | None]:
    """The batch, and a redirect to its record when it is no longer open for changes."""
    batch = _batch(batch_id)
    if batch.status != BatchStatus.UPLOADED:
        flash(
            f"This import is {batch.status.value}; upload the file again to import it anew.",
            "warning",
        )
        return batch, redirect(url_for("staff_import.detail", batch_id=batch.id))
    return batch, None


@bp.route("", methods=["GET", "POST"])
@allow(ADMIN)
def history():
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            # Some browsers send a full path; only the name is kept (shown, never used).
            name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
            try:
                data = upload.read()
            finally:
                upload.close()  # a large upload is spooled to a temporary file
            batch = services.upload(_session(), data=data, filename=name, actor_id=current_user.id)
        except BadFile as error:
            db.session.rollback()
            form.file.errors = [*form.file.errors, str(error)]
        else:
            db.session.commit()
            flash(f"{batch.filename} uploaded. Check how its columns map, then preview.", "success")
            return redirect(url_for("staff_import.mapping", batch_id=batch.id))
    page = db.paginate(
        queries.history_query(), page=current_page(), per_page=HISTORY_PER_PAGE, error_out=False
    )
    return render_template("staff_import/history.html", form=form, page=page)


@bp.route("/<int:batch_id>/mapping", methods=["GET", "POST"])
@allow(ADMIN)
def mapping(batch_id: int):
    batch, closed = _open_batch(batch_id)
    if closed:
        return closed
    proposal = services.mapping_for(_session(), batch)
    roles, units = queries.value_choices(_session())
    form = mapping_form(
        headers=batch.headers,
        proposal=proposal,
        full_sync=batch.full_sync,
        roles=roles,
        units=units,
    )
    column_errors: list[str] = []
    if form.validate_on_submit():
        done = _save_mapping(batch, form, proposal, column_errors)
        if done:
            return done
    return render_template(
        "staff_import/mapping.html",
        batch=batch,
        form=form,
        proposal=proposal,
        fields=FIELDS,
        column_field=column_field,
        title_field=title_field,
        dept_field=dept_field,
        parent_field=parent_field,
        CREATE=CREATE,
        status_field=status_field,
        column_errors=column_errors,
    )


def _save_mapping(batch: ImportBatch, form, proposal, column_errors: list[str]):
    """Save the admin's choices and say where to go next; on a refusal, roll back, put the
    message where it belongs and return None (the form is shown again)."""
    columns = chosen_columns(form)
    value_maps = chosen_value_maps(form, proposal)
    # A new job-title or department column brings other values: those are mapped next.
    moved = [
        key
        for key in value_maps
        if key in FIELD_KEYS and columns.get(key) != proposal.columns.get(key)
    ]
    for key in moved:
        value_maps[key] = {}
    try:
        services.save_mapping(
            _session(),
            batch=batch,
            columns=columns,
            value_maps=value_maps,
            full_sync=form.full_sync.data,
            actor_id=current_user.id,
        )
    except DomainError as error:
        # The column choices are not one field of the form: their refusal is listed above
        # the column table; any other refusal goes through the shared helper.
        db.session.rollback()
        if error.field and error.field.startswith("parent:"):
            _parent_error(form, proposal, error)
            return None
        if error.field != "columns":
            apply_domain_error(None, error)
            return None
        column_errors.append(error.message)
        return None
    db.session.commit()
    if any(columns.get(key) for key in moved):
        flash(
            "You chose another job-title, department, status or end-date column: map its "
            "values below, then "
            "save again.",
            "info",
        )
        return redirect(url_for("staff_import.mapping", batch_id=batch.id))
    return redirect(url_for("staff_import.preview", batch_id=batch.id))


def _parent_error(form, proposal, error: DomainError) -> None:
    """A new unit without a place in the tree: the message goes at its "goes under" choice."""
    dept = (error.field or "").split(":", 1)[1]
    keys = [d.lower() for d in proposal.departments]
    if dept in keys:
        field = form[parent_field(keys.index(dept))]
        field.errors = [*field.errors, error.message]
    else:
        apply_domain_error(None, error)


@bp.route("/<int:batch_id>/preview")
@allow(ADMIN)
def preview(batch_id: int):
    batch, closed = _open_batch(batch_id)
    if closed:
        return closed
    if not batch.mapping:
        flash("Map the columns of this file first.", "info")
        return redirect(url_for("staff_import.mapping", batch_id=batch.id))
    plan = services.preview(
        _session(), batch, actor_person_id=current_user.person_id, today=clock.today()
    )
    return render_template(
        "staff_import/preview.html",
        batch=batch,
        plan=plan,
        counts=plan.counts(),
        changes=plan.changes_sample(),
        issue_rows=services.issue_rows(plan)[:ISSUES_SHOWN],
        form=ApplyForm(),
        confirm=ConfirmForm(),
    )


@bp.route("/<int:batch_id>/apply", methods=["POST"])
@allow(ADMIN)
def apply(batch_id: int):
    batch, closed = _open_batch(batch_id)
    if closed:
        return closed
    form = ApplyForm()
    if not form.validate_on_submit():
        flash("The form expired; preview the import again.", "warning")
        return redirect(url_for("staff_import.preview", batch_id=batch.id))
    done, plan = run(
        lambda: services.apply(
            _session(),
            batch,
            skip_errors=form.skip_errors.data == "1",
            actor_person_id=current_user.person_id,
            today=clock.today(),
        )
    )
    if not done or plan is None:
        return redirect(url_for("staff_import.preview", batch_id=batch.id))
    c = plan.counts()
    skipped = f", {c['error_rows']} row(s) in error skipped" if c["error_rows"] else ""
    flash(
        f"Import applied: {c['create']} created, {c['update']} updated, {c['unchanged']} "
        f"unchanged, {c['deactivate']} deactivated{skipped}.",
        "success",
    )
    return redirect(url_for("staff_import.detail", batch_id=batch.id))


@bp.route("/<int:batch_id>/discard", methods=["POST"])
@allow(ADMIN)
def discard(batch_id: int):
    batch = _batch(batch_id)
    if not ConfirmForm().validate_on_submit():
        flash("The form expired; try again.", "warning")
        return redirect(url_for("staff_import.detail", batch_id=batch.id))
    done, _ = run(lambda: services.discard(batch))
    if not done:
        return redirect(url_for("staff_import.detail", batch_id=batch.id))
    flash(f"{batch.filename} discarded; nothing was imported.", "success")
    return redirect(url_for("staff_import.history"))


@bp.route("/<int:batch_id>")
@allow(ADMIN)
def detail(batch_id: int):
    batch = _batch(batch_id)
    return render_template(
        "staff_import/detail.html",
        batch=batch,
        fields=FIELDS,
        names=queries.value_names(_session()),
        issues=batch.issues[:ISSUES_SHOWN],
        CREATE=CREATE,
        IGNORE=IGNORE,
        open=batch.status == BatchStatus.UPLOADED,
        confirm=ConfirmForm(),
    )


@bp.route("/<int:batch_id>/mapping.json")
@allow(ADMIN)
def mapping_json(batch_id: int):
    """The batch's mapping, for `flask import people FILE --mapping mapping.json`."""
    batch = _batch(batch_id)
    return Response(
        json.dumps(services.mapping_document(batch), indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
        headers={"Content-Disposition": _attachment("mapping.json")},
    )


@bp.route("/<int:batch_id>/issues.csv")
@allow(ADMIN)
def issues_csv(batch_id: int):
    batch = _batch(batch_id)
    if batch.status == BatchStatus.UPLOADED and batch.mapping:
        plan = services.preview(
            _session(), batch, actor_person_id=current_user.person_id, today=clock.today()
        )
        rows = services.issue_rows(plan)
    elif batch.status == BatchStatus.UPLOADED:
        flash("Map the columns of this file first.", "info")
        return redirect(url_for("staff_import.mapping", batch_id=batch.id))
    else:
        rows = batch.issues
    stem = batch.filename.rsplit(".", 1)[0] or "import"
    record_export(_session(), what=f"import #{batch.id} row issues", fmt="csv", rows=len(rows))
    return Response(
        services.issues_csv(rows),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": _attachment(f"{stem}-issues.csv")},
    )


def _attachment(filename: str) -> str:
    """A Content-Disposition value that survives any characters in the uploaded file's name."""
    ascii_name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


__all__ = ["bp"]
