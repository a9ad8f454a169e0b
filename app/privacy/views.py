"""Personal data pages: a learner's download of everything held about them; an
administrator's download of a person's data and the anonymisation of a leaver."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app import clock
from app.access import ADMIN, SIGNED_IN, allow
from app.extensions import db
from app.forms import ConfirmForm
from app.org.models import Person
from app.privacy.erasure import anonymise, impact, is_leaver, refusal, salt_of
from app.privacy.export import Download, as_json, as_zip, gather, note_download
from app.viewutil import Confirmation, confirmation_page, confirmed, require_confirmation, run

bp = Blueprint("privacy", __name__, template_folder="templates")

FORMATS = {
    "json": ("application/json; charset=utf-8", as_json, "json"),
    "zip": ("application/zip", as_zip, "zip"),
}


def _gather(person_id: int) -> Download:
    return gather(
        db.session(),
        person_id,
        now=clock.now(),
        upload_folder=current_app.config["UPLOAD_FOLDER"],
    )


def _send(download: Download, *, by_admin: bool) -> Response:
    """The download as an attachment in the format the form asked for, never cached; the
    audit trail notes it."""
    fmt = request.form.get("format", "")
    chosen = FORMATS.get(fmt)
    if chosen is None:
        abort(400)
    content_type, render, extension = chosen
    run(lambda: note_download(db.session(), download, fmt, by_admin=by_admin))
    return Response(
        render(download),
        content_type=content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{download.stem}.{extension}"',
            "Cache-Control": "no-store",
        },
    )


@bp.app_template_global()
def anonymisable(person: Person) -> bool:
    """Whether the person is a leaver not yet anonymised (shows the Anonymise button)."""
    return person.anonymised_at is None and is_leaver(person, clock.today())


def _retention_years() -> float:
    return round(int(current_app.config["RETAIN_LEAVERS_DAYS"]) / 365, 1)


# --- a learner's own data --------------------------------------------------------------------


@bp.route("/account/my-data")
@allow(SIGNED_IN)
def my_data():
    return render_template(
        "privacy/data.html",
        download=_gather(current_user.person_id),
        person=current_user.person,
        own=True,
        action=url_for("privacy.my_data_download"),
        retention_years=_retention_years(),
        form=ConfirmForm(),
    )


@bp.route("/account/my-data/download", methods=["POST"])
@allow(SIGNED_IN)
def my_data_download():
    require_confirmation()
    return _send(_gather(current_user.person_id), by_admin=False)


# --- an administrator's: a person's data, and anonymising a leaver --------------------------


@bp.route("/admin/people/<int:person_id>/data")
@allow(ADMIN)
def person_data(person_id: int):
    person = db.get_or_404(Person, person_id)
    return render_template(
        "privacy/data.html",
        download=_gather(person.id),
        person=person,
        own=False,
        action=url_for("privacy.person_data_download", person_id=person.id),
        retention_years=_retention_years(),
        form=ConfirmForm(),
    )


@bp.route("/admin/people/<int:person_id>/data/download", methods=["POST"])
@allow(ADMIN)
def person_data_download(person_id: int):
    person = db.get_or_404(Person, person_id)
    require_confirmation()
    return _send(_gather(person.id), by_admin=True)


@bp.route("/admin/people/<int:person_id>/anonymise", methods=["POST"])
@allow(ADMIN)
def anonymise_person(person_id: int):
    """Asks first (what goes, what stays), then anonymises."""
    person = db.get_or_404(Person, person_id)
    require_confirmation()
    back = url_for("org.person", person_id=person.id)
    if not confirmed():
        problem = refusal(db.session(), person, clock.today())
        if problem:
            flash(f"{person.full_name}: {problem}", "danger")
            return redirect(back)
        return confirmation_page(
            Confirmation(
                title=f"Anonymise {person.full_name}?",
                message="This cannot be undone. Their name, email, employee number, free "
                "text and uploads are replaced or removed and their account closed; the "
                "record stays under a pseudonym, so that reports and item statistics "
                "keep their figures.",
                details=impact(db.session(), person),
                action=url_for("privacy.anonymise_person", person_id=person.id),
                button="Anonymise for good",
                back=back,
            )
        )
    config = current_app.config
    done, outcome = run(
        lambda: anonymise(
            db.session(),
            person_id=person.id,
            today=clock.today(),
            now=clock.now(),
            salt=salt_of(config),
            upload_folder=config["UPLOAD_FOLDER"],
        ),
        prefix="Not anonymised: ",
    )
    if done and outcome is not None:
        flash(
            f"Anonymised: the record is now {outcome.pseudonym} "
            f"({sum(outcome.changes.values())} records changed, {outcome.files_deleted} "
            "files deleted) and the account is closed.",
            "success",
        )
    return redirect(back)


__all__ = ["bp"]
