"""Learning views: certificates of completion (the learner's list, the printable certificate,
trainers' list and revoking, the public verification page), external certificates and CPD
(the learner's records, the guarded download of an uploaded copy, the trainers' queue of
certificates to verify or reject).

Whose records: a learner reads their own; a manager their people's; a training specialist
everyone's. A record outside the reader's reach is answered 404, exactly like one that does
not exist, so ids cannot be probed.
"""

from __future__ import annotations

from typing import TypeVar

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup

from app import clock
from app.access import MANAGER, PUBLIC, SIGNED_IN, TRAINER, allow, can_see_person
from app.extensions import db
from app.forms import ConfirmForm
from app.learning import certificates as completion
from app.learning import external, uploads
from app.learning.forms.certificates import CpdForm, ExternalCertificateForm, RejectForm, RevokeForm
from app.learning.mail import link_builder
from app.learning.models import CompletionCertificate, ExternalCertificate, ExternalStatus
from app.learning.qr import qr_svg
from app.learning.views import bp
from app.org.models import Person
from app.viewutil import paginate, require_confirmation, run


def _may_see(person_id: int) -> bool:
    """The person themselves, a training specialist, or a manager whose reach includes
    the person (never an administrator as such: certificate copies are personal)."""
    user = current_user
    if person_id == user.person_id or TRAINER in user.permissions:
        return True
    return MANAGER in user.permissions and can_see_person(db.session(), user, person_id)


Record = TypeVar("Record", CompletionCertificate, ExternalCertificate)


def _visible_or_404(model: type[Record], record_id: int) -> Record:
    record = db.session.get(model, record_id)
    if record is None or not _may_see(record.person_id):
        abort(404)
    return record


def _verification_url(code: str) -> str:
    link = link_builder(current_app.url_map, current_app.config["PUBLIC_BASE_URL"])
    return link("learning.verify", code=code)


@bp.app_template_filter("learning_hours")
def _hours(minutes: int | None) -> str:
    """Minutes as hours for people: 450 -> "7.5 hours", 60 -> "1 hour"."""
    hours = round((minutes or 0) / 60, 1)
    return f"{hours:g} hour{'' if hours == 1 else 's'}"


# --- certificates of completion ---------------------------------------------------------------


@bp.route("/learning/certificates")
@allow(SIGNED_IN)
def certificates_mine():
    return render_template(
        "learning/certificates/list.html",
        person=current_user.person,
        own=True,
        certificates=completion.certificates_of(db.session(), current_user.person_id),
        records=None,
        cpd=None,
    )


@bp.route("/learning/people/<int:person_id>/certificates")
@allow(MANAGER, TRAINER)
def person_certificates(person_id: int):
    if person_id == current_user.person_id:
        return redirect(url_for("learning.certificates_mine"))
    person = db.session.get(Person, person_id)
    if person is None or not _may_see(person_id):
        abort(404)
    return render_template(
        "learning/certificates/list.html",
        person=person,
        own=False,
        certificates=completion.certificates_of(db.session(), person_id),
        records=external.external_of(db.session(), person_id),
        cpd=external.cpd_of(db.session(), person_id),
        names=external.catalogue_names(db.session()),
    )


@bp.route("/learning/certificates/<int:certificate_id>")
@allow(SIGNED_IN)
def certificate(certificate_id: int):
    cert = _visible_or_404(CompletionCertificate, certificate_id)
    url = _verification_url(cert.code)
    return render_template(
        "learning/certificates/certificate.html",
        cert=cert,
        verify_url=url,
        qr=Markup(qr_svg(url, title="QR code of the verification address")),
    )


@bp.route("/learning/certificates/<int:certificate_id>/revoke", methods=["GET", "POST"])
@allow(TRAINER)
def certificate_revoke(certificate_id: int):
    cert = db.get_or_404(CompletionCertificate, certificate_id)
    form = RevokeForm()
    if cert.revoked_at is None and form.validate_on_submit():
        done, _ = run(
            lambda: completion.revoke_certificate(
                db.session(),
                certificate_id=cert.id,
                reason=form.reason.data,
                actor_id=current_user.id,
            ),
            form,
        )
        if done:
            flash(
                f"{cert.learner_name}'s certificate for {cert.path_title} is revoked. Its "
                "public page now says so.",
                "success",
            )
            return redirect(url_for("learning.certificate", certificate_id=cert.id))
    return render_template("learning/certificates/revoke.html", cert=cert, form=form)


@bp.route("/learning/certificates/issued")
@allow(TRAINER)
def certificates_issued():
    search = request.args.get("q", "").strip()[:100]
    page = paginate(completion.issued_certificates(search))
    return render_template("learning/certificates/issued.html", page=page, search=search)


@bp.route("/verify/<path:code>")
@allow(PUBLIC)
def verify(code: str):
    """What the certificate with this code states, for anyone who holds its address. Any
    other address under /verify/ (unknown, mistyped, cut short) gets the same 404 page."""
    cert = completion.certificate_by_code(db.session(), code)
    if cert is None:
        return render_template("learning/certificates/verify_unknown.html"), 404
    return render_template("learning/certificates/verify.html", cert=cert)


# --- external certificates and CPD ------------------------------------------------------------


def _certificate_choices() -> list[tuple[str, str]]:
    return (
        [("", "— choose —")]
        + [(c.code, f"{c.name} ({c.issuer})") for c in external.catalogue(db.session())]
        + [(external.OTHER, "Other (not listed)")]
    )


@bp.route("/learning/external")
@allow(SIGNED_IN)
def external_mine():
    person_id = current_user.person_id
    return render_template(
        "learning/certificates/external.html",
        records=external.external_of(db.session(), person_id),
        cpd=external.cpd_of(db.session(), person_id),
        names=external.catalogue_names(db.session()),
    )


@bp.route("/learning/external/new", methods=["GET", "POST"])
@allow(SIGNED_IN)
def external_new():
    form = ExternalCertificateForm()
    form.certificate.choices = _certificate_choices()
    if form.validate_on_submit():
        upload = form.file.data if form.file.data and form.file.data.filename else None
        done, _ = run(
            lambda: external.record_external_certificate(
                db.session(),
                person_id=current_user.person_id,
                certificate=form.certificate.data,
                other_name=form.other_name.data or "",
                number=form.number.data or "",
                issued_on=form.issued_on.data,
                expires_on=form.expires_on.data,
                file=upload.stream if upload else None,
                file_name=upload.filename if upload else None,
                folder=current_app.config["UPLOAD_FOLDER"],
                today=clock.today(),
            ),
            form,
        )
        if done:
            flash("Certificate recorded. A training specialist will verify it.", "success")
            return redirect(url_for("learning.external_mine"))
    return render_template(
        "_form_page.html",
        form=form,
        heading="Record an external certificate",
        subheading="A training specialist checks it against its copy; once verified, a "
        "certificate from the framework's catalogue counts as evidence.",
        back=url_for("learning.external_mine"),
    )


@bp.route("/learning/cpd/new", methods=["GET", "POST"])
@allow(SIGNED_IN)
def cpd_new():
    form = CpdForm()
    if form.validate_on_submit():
        done, _ = run(
            lambda: external.log_cpd(
                db.session(),
                person_id=current_user.person_id,
                activity=form.activity.data,
                done_on=form.done_on.data,
                hours=form.hours.data,
                notes=form.notes.data or "",
                today=clock.today(),
            ),
            form,
        )
        if done:
            flash("CPD logged.", "success")
            return redirect(url_for("learning.external_mine"))
    return render_template(
        "_form_page.html",
        form=form,
        heading="Log CPD",
        subheading="Continuing professional development: an event, a course, reading, "
        "a community of practice.",
        back=url_for("learning.external_mine"),
    )


def _record_page(record: ExternalCertificate, reject_form: RejectForm | None = None):
    entry = next(
        (c for c in external.catalogue(db.session()) if c.code == record.certificate_code), None
    )
    return render_template(
        "learning/certificates/external_record.html",
        record=record,
        entry=entry,
        names=external.catalogue_names(db.session()),
        reviewer=TRAINER in current_user.permissions and record.person_id != current_user.person_id,
        confirm=ConfirmForm(),
        reject_form=reject_form or RejectForm(),
    )


@bp.route("/learning/external/<int:record_id>")
@allow(SIGNED_IN)
def external_record(record_id: int):
    return _record_page(_visible_or_404(ExternalCertificate, record_id))


@bp.route("/learning/external/<int:record_id>/file")
@allow(SIGNED_IN)
def external_file(record_id: int):
    """The uploaded copy, to the learner, their managers and training specialists only;
    always as a download of the type its content was checked to be."""
    record = _visible_or_404(ExternalCertificate, record_id)
    path = uploads.stored_path(current_app.config["UPLOAD_FOLDER"], record.file_name)
    if path is None or record.file_type not in uploads.ALLOWED:
        abort(404)
    response = send_file(
        path,
        mimetype=record.file_type,
        as_attachment=True,
        download_name=f"certificate-{record.id}.{uploads.ALLOWED[record.file_type]}",
        max_age=0,
        etag=False,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; sandbox; frame-ancestors 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/learning/external/review")
@allow(TRAINER)
def external_queue():
    page = paginate(external.pending_queue())
    return render_template(
        "learning/certificates/queue.html",
        page=page,
        catalogue={c.code: c for c in external.catalogue(db.session())},
        confirm=ConfirmForm(),
        reject_form=RejectForm(),
    )


@bp.route("/learning/external/<int:record_id>/verify", methods=["POST"])
@allow(TRAINER)
def external_verify(record_id: int):
    require_confirmation()
    record = db.get_or_404(ExternalCertificate, record_id)
    done, result = run(
        lambda: external.verify_external_certificate(
            db.session(),
            record_id=record.id,
            actor_id=current_user.id,
            actor_person_id=current_user.person_id,
        )
    )
    if done and result is not None:
        who = result.record.person.full_name
        if result.evidence is not None:
            flash(f"Verified {who}'s certificate: it now counts as evidence.", "success")
        else:
            flash(f"Verified {who}'s certificate (it proves no competency).", "success")
    return redirect(url_for("learning.external_queue"))


@bp.route("/learning/external/<int:record_id>/reject", methods=["POST"])
@allow(TRAINER)
def external_reject(record_id: int):
    record = db.get_or_404(ExternalCertificate, record_id)
    form = RejectForm()
    if form.validate_on_submit():
        done, _ = run(
            lambda: external.reject_external_certificate(
                db.session(),
                record_id=record.id,
                reason=form.reason.data,
                actor_id=current_user.id,
                actor_person_id=current_user.person_id,
            ),
            form,
        )
        if done:
            flash(f"Rejected {record.person.full_name}'s certificate.", "success")
            return redirect(url_for("learning.external_queue"))
    if record.status != ExternalStatus.PENDING:
        return redirect(url_for("learning.external_record", record_id=record.id))
    return _record_page(record, form), 200
