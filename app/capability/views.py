"""Capability pages: my capability and self-assessment; a manager's validation queue,
calibrations, and a report's capability page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app import clock
from app.access import (
    ADMIN,
    MANAGER,
    SIGNED_IN,
    allow,
    can_validate_for,
    get_person_or_refuse,
    validation_scope,
)
from app.capability import profile, queries, services
from app.capability.chart import bar_chart
from app.capability.forms import CalibrationForm, DecisionForm, SelfRatingForm
from app.capability.levels import CALIBRATION_GAP
from app.capability.models import Calibration, Decision, Evidence
from app.db import record_id
from app.errors import DomainError
from app.extensions import db
from app.framework.versions import published_version
from app.learning.path_queries import gap_closers
from app.viewutil import Confirmation, confirmation_page, confirmed, paginate, run

bp = Blueprint("capability", __name__, template_folder="templates")


def _self_rating_form(cap: profile.Capability) -> SelfRatingForm:
    form = SelfRatingForm()
    form.competency.choices = [("", "— choose —")] + [
        (code, f"{code} {name}") for code, name, _group in cap.competencies
    ]
    form.level.choices = [(level, f"{level} · {name}") for level, name, _ in cap.scale]
    if request.method == "GET" and request.args.get("rate"):
        form.competency.data = request.args["rate"]
    return form


def _render_capability(person, own: bool, form=None):
    try:
        cap = profile.capability(
            db.session(),
            person,
            clock.today(),
            compare_role_id=request.args.get("compare", type=record_id),
        )
    except DomainError as error:
        return render_template("capability/unavailable.html", message=error.message)
    if form is None and own:
        form = _self_rating_form(cap)
    elif form is not None:
        fresh = _self_rating_form(cap)
        form.competency.choices = fresh.competency.choices
        form.level.choices = fresh.level.choices  # keep the level names after an error
    ratings = queries.ratings_of(db.session(), person.id) if own else []
    return render_template(
        "capability/profile.html",
        cap=cap,
        own=own,
        form=form,
        ratings=ratings,
        chart=bar_chart(cap.chart),
        closers=gap_closers(db.session(), _gaps(cap)),
    )


def _gaps(cap: profile.Capability) -> list[tuple[str, int, int]]:
    """(competency, current level, highest required level) of every gap on the page."""
    needed: dict[str, tuple[int, int]] = {}
    for rc in cap.roles:
        for r in rc.rows:
            if r.gap:
                current, required = needed.get(r.code, (r.current, 0))
                needed[r.code] = (current, max(required, r.required))
    return [(code, current, required) for code, (current, required) in needed.items()]


@bp.route("/capability")
@allow(SIGNED_IN)
def mine():
    return _render_capability(current_user.person, own=True)


@bp.route("/capability/self-rating", methods=["POST"])
@allow(SIGNED_IN)
def self_rating():
    form = SelfRatingForm()
    version = published_version(db.session())
    if version is None:
        abort(404)
    form.competency.choices = [(c.code, c.name) for c in version.competencies]
    if form.validate_on_submit():
        done, _ = run(
            lambda: services.record_self_rating(
                db.session(),
                person_id=current_user.person_id,
                competency_code=form.competency.data,
                level=form.level.data,
                note=form.note.data,
                link=form.link.data,
                actor_id=current_user.id,
                on=clock.today(),
            ),
            form,
        )
        if done:
            flash("Thank you — your rating is with your manager for validation.", "success")
            return redirect(url_for("capability.mine"))
    return _render_capability(current_user.person, own=True, form=form), 200


@bp.route("/people/<int:person_id>/capability")
@allow(SIGNED_IN)
def person(person_id: int):
    target = get_person_or_refuse(db.session(), current_user, person_id)
    if target.id == current_user.person_id:
        return redirect(url_for("capability.mine"))
    return _render_capability(target, own=False)


# --- validation -----------------------------------------------------------------------------


def _queue_scope():
    """The people whose ratings the user decides on (``validation_scope``), for a manager
    narrowed first to the people with something waiting: the same people, found without
    walking the manager's whole organisation on every view of the queue — once, as ids,
    for both lists (None: everyone, for admins)."""
    if ADMIN in current_user.permissions or MANAGER not in current_user.permissions:
        return validation_scope(current_user)
    return queries.reach_among(current_user.person_id, queries.waiting_people())


@bp.route("/validations")
@allow(MANAGER, ADMIN)
def queue():
    scope = _queue_scope()
    among = None if scope is None else list(db.session.scalars(scope))
    page = paginate(queries.pending_ratings_among(among, current_user.person_id))
    calibrations = paginate(
        queries.open_calibrations_among(among, current_user.person_id), size=10, number=1
    )
    return render_template(
        "capability/queue.html",
        page=page,
        context=queries.rating_context(db.session(), page.items, clock.today()),
        calibrations=calibrations,
        form=DecisionForm(),
        calibration_form=CalibrationForm(),
        everyone=MANAGER not in current_user.permissions,
    )


def _rating_or_refuse(evidence_id: int) -> Evidence:
    rating = db.session.get(Evidence, evidence_id)
    if rating is None or not can_validate_for(db.session(), current_user, rating.person_id):
        abort(404)
    return rating


@bp.route("/validations/<int:evidence_id>", methods=["POST"])
@allow(MANAGER, ADMIN)
def decide(evidence_id: int):
    rating = _rating_or_refuse(evidence_id)
    form = DecisionForm()
    if not form.validate_on_submit() or form.decision.data not in {d.value for d in Decision}:
        abort(400)
    if (
        form.decision.data == Decision.REJECT
        and (form.comment.data or "").strip()
        and not confirmed()
    ):
        return _confirm_rejection(rating, form.comment.data.strip())
    who = f"{rating.person.full_name}, {rating.competency_code}: "
    done, outcome = run(
        lambda: services.decide(
            db.session(),
            rating=rating,
            decision=Decision(form.decision.data),
            level=form.level.data,
            comment=form.comment.data,
            actor_id=current_user.id,
            actor_person_id=current_user.person_id,
            on=clock.today(),
        ),
        prefix=who,
    )
    if not done or outcome is None:
        return redirect(url_for("capability.queue"))
    who = f"{rating.person.full_name} — {rating.competency.name}"
    if outcome.calibration:
        apart = abs(outcome.calibration.manager_level - rating.level)
        why = (
            f"you and they are {apart} levels apart"
            if apart >= CALIBRATION_GAP
            else "level 5 stands only once a calibration confirms it"
        )
        flash(
            f"{who}: {why}, so a calibration is open. Their validated level stays as it was "
            "until it is resolved.",
            "warning",
        )
    elif outcome.evidence:
        flash(f"{who}: validated at level {outcome.evidence.level}.", "success")
    else:
        flash(f"{who}: rating rejected.", "info")
    return redirect(url_for("capability.queue"))


def _confirm_rejection(rating: Evidence, comment: str):
    name = rating.person.full_name
    return confirmation_page(
        Confirmation(
            title=f"Reject {name}'s self-rating?",
            message=(
                f"{name} rated themselves level {rating.level} in {rating.competency_code} "
                f"{rating.competency.name}. Rejecting it records no level: their validated "
                "level stays as it is, and they see your reason on their capability page."
            ),
            details=[f"Your reason: “{comment}”"],
            action=url_for("capability.decide", evidence_id=rating.id),
            fields=[("decision", Decision.REJECT.value), ("comment", comment)],
            button="Reject the rating",
            back=url_for("capability.queue"),
        )
    )


@bp.route("/calibrations/<int:calibration_id>", methods=["POST"])
@allow(MANAGER, ADMIN)
def resolve(calibration_id: int):
    calibration = db.session.get(Calibration, calibration_id)
    if calibration is None or not can_validate_for(
        db.session(), current_user, calibration.person_id
    ):
        abort(404)
    form = CalibrationForm()
    if not form.validate_on_submit():
        flash("Give the agreed level and the rationale for it.", "danger")
        return redirect(url_for("capability.queue"))
    done, evidence = run(
        lambda: services.resolve_calibration(
            db.session(),
            calibration=calibration,
            level=form.level.data,
            rationale=form.rationale.data,
            actor_id=current_user.id,
            actor_person_id=current_user.person_id,
            on=clock.today(),
        )
    )
    if not done or evidence is None:
        return redirect(url_for("capability.queue"))
    flash(
        f"Calibration resolved: {calibration.person.full_name} validated at level "
        f"{evidence.level}.",
        "success",
    )
    return redirect(url_for("capability.queue"))
