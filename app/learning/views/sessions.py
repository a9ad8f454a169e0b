"""Learning views: sessions — classroom and workshop sessions: the list of upcoming
sessions, scheduling, editing and cancelling them (trainers), booking and cancelling a place
(learners enrolled on the path), the iCalendar invitation, and the attendance register."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app import clock
from app.access import SIGNED_IN, TRAINER, allow
from app.db import record_id
from app.extensions import db
from app.forms import ConfirmForm
from app.learning import learner_queries as queries
from app.learning import sessions as scheduling
from app.learning.forms.sessions import AttendanceForm, SessionForm
from app.learning.models import BookingStatus, ClassSession
from app.learning.views import bp
from app.viewutil import (
    Confirmation,
    back_or,
    confirmation_page,
    confirmed,
    require_confirmation,
    run,
)


def _zone() -> str:
    """The zone session times are entered and shown in: the organisation's (PMO_TIMEZONE)."""
    return current_app.config.get("PMO_TIMEZONE") or scheduling.DEFAULT_ZONE


@bp.app_template_filter("session_time")
def session_time(value: datetime | None, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A stored (UTC) time as the organisation reads it, in its time zone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(_zone())).strftime(fmt)


def _session_or_404(session_id: int) -> ClassSession:
    return db.get_or_404(ClassSession, session_id)


# --- lists and the session page -------------------------------------------------------------


@bp.route("/learning/sessions")
@allow(SIGNED_IN)
def sessions():
    path_id = request.args.get("path", type=record_id)
    module = request.args.get("module", "")
    trainer = TRAINER in current_user.permissions
    return render_template(
        "learning/sessions/list.html",
        sessions=queries.upcoming_sessions(
            db.session(),
            clock.now(),
            path_id=path_id,
            module_code=module or None,
            person_id=current_user.person_id,
            include_cancelled=trainer,
        ),
        past=queries.past_sessions(db.session(), clock.now()) if trainer else [],
        trainer=trainer,
        filtered=bool(path_id or module),
        zone=_zone(),
        confirm=ConfirmForm(),
    )


def _attendance_form(session_id: int, roster) -> AttendanceForm:
    form = AttendanceForm()
    form.attended.choices = [
        (r.booking_id, r.name) for r in roster if r.status == BookingStatus.BOOKED
    ]
    if request.method == "GET":
        form.attended.data = [r.booking_id for r in roster if r.attended]
    return form


def _session_page(class_session: ClassSession, attendance: AttendanceForm | None = None):
    trainer = TRAINER in current_user.permissions
    roster = queries.roster(db.session(), class_session.id) if trainer else []
    return render_template(
        "learning/sessions/detail.html",
        s=class_session,
        line=queries.session_line(db.session(), class_session.id, current_user.person_id),
        roster=roster,
        trainer=trainer,
        started=class_session.starts_at <= clock.now(),
        attendance=attendance or (_attendance_form(class_session.id, roster) if trainer else None),
        zone=_zone(),
        confirm=ConfirmForm(),
    )


@bp.route("/learning/sessions/<int:session_id>")
@allow(SIGNED_IN)
def session_detail(session_id: int):
    return _session_page(_session_or_404(session_id))


# --- scheduling (trainers) ------------------------------------------------------------------


def _data(form: SessionForm, class_session: ClassSession | None) -> scheduling.SessionData:
    path_id, _, code = (form.module.data or "").partition(":")
    if class_session is not None:
        path_id, code = str(class_session.path_id), class_session.module_code
    return scheduling.SessionData(
        path_id=int(path_id) if path_id.isdigit() else None,
        module_code=code,
        day=form.day.data,
        starts=form.starts.data,
        ends=form.ends.data,
        location=form.location.data or "",
        link=form.link.data or None,
        capacity=form.capacity.data,
        notes=form.notes.data or "",
    )


def _session_form(class_session: ClassSession | None) -> SessionForm:
    form = SessionForm()
    if class_session is None:
        form.module.choices = [("", "— choose —"), *queries.taught_module_choices(db.session())]
        if request.method == "GET" and request.args.get("module"):
            form.module.data = request.args["module"]
    else:
        label = queries.session_line(db.session(), class_session.id, None)
        value = f"{class_session.path_id}:{class_session.module_code}"
        form.module.choices = [(value, label.module_title if label else value)]
        form.module.data = value
        if request.method == "GET":
            tz = ZoneInfo(_zone())
            starts, ends = (
                class_session.starts_at.astimezone(tz),
                class_session.ends_at.astimezone(tz),
            )
            form.day.data, form.starts.data, form.ends.data = (
                starts.date(),
                starts.time(),
                ends.time(),
            )
            form.location.data, form.link.data = class_session.location, class_session.link
            form.capacity.data, form.notes.data = class_session.capacity, class_session.notes
    return form


def _save(class_session: ClassSession | None):
    form = _session_form(class_session)
    if form.validate_on_submit():
        done, saved = run(
            lambda: scheduling.save_session(
                db.session(),
                _data(form, class_session),
                zone=_zone(),
                actor_id=current_user.id,
                now=clock.now(),
                class_session=class_session,
            ),
            form,
        )
        if done and saved is not None:
            flash("Session saved.", "success")
            return redirect(url_for("learning.session_detail", session_id=saved.id))
    return render_template(
        "learning/sessions/form.html", form=form, s=class_session, zone=_zone()
    ), 400 if request.method == "POST" else 200


@bp.route("/learning/sessions/new", methods=["GET", "POST"])
@allow(TRAINER)
def session_new():
    return _save(None)


@bp.route("/learning/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@allow(TRAINER)
def session_edit(session_id: int):
    return _save(_session_or_404(session_id))


@bp.route("/learning/sessions/<int:session_id>/cancel", methods=["POST"])
@allow(TRAINER)
def session_cancel(session_id: int):
    class_session = _session_or_404(session_id)
    require_confirmation()
    back = url_for("learning.session_detail", session_id=session_id)
    if not confirmed():
        line = queries.session_line(db.session(), session_id, None)
        people = (line.booked + line.waiting) if line else 0
        return confirmation_page(
            Confirmation(
                title=f"Cancel the session of {session_time(class_session.starts_at)}?",
                message=f"{people} booked or waiting learners will see it as cancelled and can "
                "book another session of the module. This cannot be undone.",
                action=url_for("learning.session_cancel", session_id=session_id),
                button="Cancel the session",
                back=back,
            )
        )
    done, _ = run(
        lambda: scheduling.cancel_session(
            db.session(), class_session=class_session, now=clock.now()
        )
    )
    if done:
        flash("Session cancelled.", "success")
    return redirect(back)


# --- booking (learners) ---------------------------------------------------------------------


@bp.route("/learning/sessions/<int:session_id>/book", methods=["POST"])
@allow(SIGNED_IN)
def session_book(session_id: int):
    class_session = _session_or_404(session_id)
    require_confirmation()
    done, booking = run(
        lambda: scheduling.book(
            db.session(),
            class_session=class_session,
            person_id=current_user.person_id,
            now=clock.now(),
        )
    )
    if done and booking is not None:
        if booking.status == BookingStatus.BOOKED:
            flash(
                "You have a place. Download the calendar invitation to add it to your calendar.",
                "success",
            )
        else:
            flash(
                "The session is full: you are on the waiting list and get a place if someone "
                "cancels.",
                "info",
            )
    return redirect(back_or(url_for("learning.session_detail", session_id=session_id)))


@bp.route("/learning/sessions/<int:session_id>/booking/cancel", methods=["POST"])
@allow(SIGNED_IN)
def booking_cancel(session_id: int):
    class_session = _session_or_404(session_id)
    require_confirmation()
    done, _ = run(
        lambda: scheduling.cancel_booking(
            db.session(),
            class_session=class_session,
            person_id=current_user.person_id,
            now=clock.now(),
        )
    )
    if done:
        flash("Your booking is cancelled.", "success")
    return redirect(back_or(url_for("learning.session_detail", session_id=session_id)))


@bp.route("/learning/sessions/<int:session_id>/calendar.ics")
@allow(SIGNED_IN)
def session_calendar(session_id: int):
    class_session = _session_or_404(session_id)
    has_place = queries.has_place(db.session(), session_id, current_user.person_id)
    if not has_place and TRAINER not in current_user.permissions:
        abort(404)
    line = queries.session_line(db.session(), session_id, None)
    page = url_for("learning.session_detail", session_id=session_id, _external=True)
    body = scheduling.calendar_invite(
        uid=f"learning-session-{session_id}@{request.host.split(':')[0]}",
        title=f"{line.module_title} ({line.path_title})" if line else "Learning session",
        starts_at=class_session.starts_at,
        ends_at=class_session.ends_at,
        location=class_session.location or (class_session.link or ""),
        url=class_session.link or page,
        description="\n\n".join(p for p in (class_session.notes, f"Details: {page}") if p),
        cancelled=class_session.cancelled_at is not None,
        stamp=clock.now(),
    )
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="session-{session_id}.ics"'},
    )


# --- attendance (trainers) ------------------------------------------------------------------


@bp.route("/learning/sessions/<int:session_id>/attendance", methods=["POST"])
@allow(TRAINER)
def session_attendance(session_id: int):
    class_session = _session_or_404(session_id)
    roster = queries.roster(db.session(), session_id)
    form = _attendance_form(session_id, roster)
    if not form.validate_on_submit():
        return _session_page(class_session, form), 400
    done, outcome = run(
        lambda: scheduling.record_attendance(
            db.session(),
            class_session=class_session,
            attended_booking_ids=set(form.attended.data or []),
            actor_id=current_user.id,
            now=clock.now(),
        ),
        form,
    )
    if not done or outcome is None:
        return _session_page(_session_or_404(session_id), form), 400
    flash(
        f"Attendance recorded: {outcome.attended} attended, {outcome.absent} absent; "
        f"{outcome.completed} completed the module.",
        "success",
    )
    return redirect(url_for("learning.session_detail", session_id=session_id))
