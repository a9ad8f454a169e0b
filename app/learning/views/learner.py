"""Learning views: learner — my learning, the path and lesson pages of an enrolment,
self-enrolment and progress (mark complete, sign-off, assessment result); a manager's team
learning; enrolling people and withdrawing them (trainers, and managers for their people)."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import Select

from app import clock
from app.access import (
    MANAGER,
    SIGNED_IN,
    TRAINER,
    allow,
    can_see_person,
    get_person_or_refuse,
    visible_people,
)
from app.access import sees_everyone as _sees_everyone
from app.db import record_id
from app.errors import DomainError
from app.extensions import db
from app.forms import ConfirmForm
from app.learning import enrolment as enrolling
from app.learning import learner_queries as queries
from app.learning import progress
from app.learning.forms.learner import (
    AssessmentResultForm,
    CompleteModuleForm,
    EnrolPeopleForm,
    EnrolPersonForm,
    SignOffForm,
    split_numbers,
)
from app.learning.lessons import render_lesson
from app.learning.models import Enrolment, EnrolmentStatus, ModuleType, PathModule
from app.learning.views import bp
from app.org.queries import org_unit_choices, role_choices
from app.viewutil import (
    Confirmation,
    confirmation_page,
    confirmed,
    paginate,
    require_confirmation,
    run,
)

CHOOSE: list[tuple[int | None, str]] = [(None, "— choose —")]


# --- object scope ---------------------------------------------------------------------------


def _enrolment_or_refuse(enrolment_id: int) -> Enrolment:
    """The enrolment if the user may see its learner. Others get 403 whether or not it
    exists (ids cannot be probed); those who see everyone get an honest 404."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        abort(404 if _sees_everyone(current_user) else 403)
    if not can_see_person(db.session(), current_user, enrolment.person_id):
        abort(403)
    return enrolment


def _module_or_404(enrolment: Enrolment, code: str) -> PathModule:
    try:
        return progress.module_of(enrolment, code)
    except DomainError:
        abort(404)


def _manages(enrolment: Enrolment) -> bool:
    """A trainer, or a manager who may see the learner (the route rule already holds)."""
    perms = current_user.permissions
    return TRAINER in perms or (
        MANAGER in perms and can_see_person(db.session(), current_user, enrolment.person_id)
    )


def _may_sign_off(enrolment: Enrolment) -> bool:
    return enrolment.person_id != current_user.person_id and _manages(enrolment)


def _may_record_result(enrolment: Enrolment) -> bool:
    return TRAINER in current_user.permissions and enrolment.person_id != current_user.person_id


def _enrol_scope() -> Select | None:
    """Whom the user may enrol: everyone for a trainer, else the people they may see."""
    return None if TRAINER in current_user.permissions else visible_people(current_user)


def _completed_message(result: progress.Completed, title: str) -> str:
    message = f"{result.completion.module.title} complete."
    if result.evidence:
        message += f" Evidence recorded in {len(result.evidence)} competenc" + (
            "y." if len(result.evidence) == 1 else "ies."
        )
    if result.path_completed:
        message += f" {title} is complete: a certificate of completion has been issued."
    return message


# --- my learning and self-enrolment ------------------------------------------------------------


@bp.route("/learning")
@allow(SIGNED_IN)
def my_learning():
    page = queries.my_learning(db.session(), current_user.person_id, clock.today(), clock.now())
    return render_template("learning/learner/my_learning.html", page=page, confirm=ConfirmForm())


@bp.route("/learning/open/<int:path_id>/enrol", methods=["POST"])
@allow(SIGNED_IN)
def enrol_me(path_id: int):
    require_confirmation()
    done, enrolment = run(
        lambda: enrolling.enrol_self(
            db.session(),
            person_id=current_user.person_id,
            path_id=path_id,
            actor_id=current_user.id,
            today=clock.today(),
        )
    )
    if not done or enrolment is None:
        return redirect(url_for("learning.my_learning"))
    flash(f"You are enrolled on {enrolment.version.title}. Start with the first module.", "success")
    return redirect(url_for("learning.enrolment", enrolment_id=enrolment.id))


# --- an enrolment: the path page, the lesson page, progress -------------------------------------


@bp.route("/learning/enrolments/<int:enrolment_id>")
@allow(SIGNED_IN)
def enrolment(enrolment_id: int):
    enrolment = _enrolment_or_refuse(enrolment_id)
    return render_template(
        "learning/learner/path.html",
        page=queries.path_page(db.session(), enrolment, clock.today(), clock.now()),
        own=enrolment.person_id == current_user.person_id,
        may_sign_off=_may_sign_off(enrolment),
        may_record_result=_may_record_result(enrolment),
        may_withdraw=_manages(enrolment) and enrolment.status == EnrolmentStatus.ACTIVE,
        confirm=ConfirmForm(),
    )


def _lesson_page(enrolment: Enrolment, code: str, form: CompleteModuleForm | None = None):
    module = _module_or_404(enrolment, code)
    page = queries.path_page(db.session(), enrolment, clock.today(), clock.now())
    line = next(m for m in page.modules if m.module.code == module.code)
    own = enrolment.person_id == current_user.person_id
    return render_template(
        "learning/learner/lesson.html",
        page=page,
        line=line,
        lesson=render_lesson(module.lesson),
        own=own,
        form=form or CompleteModuleForm(),
        may_sign_off=_may_sign_off(enrolment) and module.type == ModuleType.ON_THE_JOB,
        may_record_result=_may_record_result(enrolment) and module.type == ModuleType.ASSESSMENT,
        confirm=ConfirmForm(),
    )


@bp.route("/learning/enrolments/<int:enrolment_id>/modules/<code>")
@allow(SIGNED_IN)
def lesson(enrolment_id: int, code: str):
    return _lesson_page(_enrolment_or_refuse(enrolment_id), code)


@bp.route("/learning/enrolments/<int:enrolment_id>/modules/<code>/complete", methods=["POST"])
@allow(SIGNED_IN)
def module_complete(enrolment_id: int, code: str):
    enrolment = _enrolment_or_refuse(enrolment_id)
    if enrolment.person_id != current_user.person_id:
        abort(403)
    _module_or_404(enrolment, code)
    form = CompleteModuleForm()
    if not form.validate_on_submit():
        return _lesson_page(enrolment, code, form), 400
    title = enrolment.version.title
    done, result = run(
        lambda: progress.mark_complete(
            db.session(),
            enrolment=enrolment,
            module_code=code,
            reflection=form.reflection.data or "",
            actor_id=current_user.id,
            actor_person_id=current_user.person_id,
            today=clock.today(),
        ),
        form,
    )
    if not done or result is None:
        return redirect(url_for("learning.lesson", enrolment_id=enrolment_id, code=code))
    flash(_completed_message(result, title), "success")
    return redirect(url_for("learning.enrolment", enrolment_id=enrolment_id))


def _record_page(enrolment: Enrolment, module: PathModule, form, heading: str, action: str):
    return render_template(
        "learning/learner/record.html",
        enrolment=enrolment,
        module=module,
        form=form,
        heading=heading,
        action=action,
    )


@bp.route(
    "/learning/enrolments/<int:enrolment_id>/modules/<code>/sign-off", methods=["GET", "POST"]
)
@allow(MANAGER, TRAINER)
def module_sign_off(enrolment_id: int, code: str):
    enrolment = _enrolment_or_refuse(enrolment_id)
    if not _may_sign_off(enrolment):
        abort(403)
    module = _module_or_404(enrolment, code)
    form = SignOffForm()
    if form.validate_on_submit():
        title = enrolment.version.title
        done, result = run(
            lambda: progress.sign_off(
                db.session(),
                enrolment=enrolment,
                module_code=code,
                comment=form.comment.data or "",
                actor_id=current_user.id,
                actor_person_id=current_user.person_id,
                today=clock.today(),
            ),
            form,
        )
        if done and result is not None:
            flash(_completed_message(result, title), "success")
            return redirect(url_for("learning.enrolment", enrolment_id=enrolment_id))
        enrolment = _enrolment_or_refuse(enrolment_id)
        module = _module_or_404(enrolment, code)
    return _record_page(
        enrolment,
        module,
        form,
        f"Sign off {enrolment.person.full_name}'s task",
        url_for("learning.module_sign_off", enrolment_id=enrolment_id, code=code),
    )


@bp.route("/learning/enrolments/<int:enrolment_id>/modules/<code>/result", methods=["GET", "POST"])
@allow(TRAINER)
def module_result(enrolment_id: int, code: str):
    enrolment = _enrolment_or_refuse(enrolment_id)
    if not _may_record_result(enrolment):
        abort(403)
    module = _module_or_404(enrolment, code)
    form = AssessmentResultForm()
    if request.method == "GET" and form.passed_on.data is None:
        form.passed_on.data = clock.today()
    if form.validate_on_submit():
        title = enrolment.version.title
        done, result = run(
            lambda: progress.record_assessment_pass(
                db.session(),
                enrolment=enrolment,
                module_code=code,
                passed_on=form.passed_on.data,
                comment=form.comment.data or "",
                actor_id=current_user.id,
                actor_person_id=current_user.person_id,
                today=clock.today(),
            ),
            form,
        )
        if done and result is not None:
            flash(_completed_message(result, title), "success")
            return redirect(url_for("learning.enrolment", enrolment_id=enrolment_id))
        enrolment = _enrolment_or_refuse(enrolment_id)
        module = _module_or_404(enrolment, code)
    return _record_page(
        enrolment,
        module,
        form,
        f"Record {enrolment.person.full_name}'s assessment result",
        url_for("learning.module_result", enrolment_id=enrolment_id, code=code),
    )


@bp.route("/learning/enrolments/<int:enrolment_id>/withdraw", methods=["POST"])
@allow(MANAGER, TRAINER)
def withdraw(enrolment_id: int):
    enrolment = _enrolment_or_refuse(enrolment_id)
    if not _manages(enrolment):
        abort(403)
    require_confirmation()
    back = url_for("learning.enrolment", enrolment_id=enrolment_id)
    who, title = enrolment.person.full_name, enrolment.version.title
    if not confirmed():
        return confirmation_page(
            Confirmation(
                title=f"Withdraw {who} from {title}?",
                message="The enrolment stops: it no longer shows as due or overdue and no "
                "reminders are sent. The modules already completed, and the evidence they "
                "recorded, stay. An enrolment rule will not enrol them on this path again; "
                "you can enrol them again by hand.",
                action=url_for("learning.withdraw", enrolment_id=enrolment_id),
                button="Withdraw the enrolment",
                back=back,
            )
        )
    done, _ = run(
        lambda: enrolling.withdraw(db.session(), enrolment=enrolment, actor_id=current_user.id)
    )
    if done:
        flash(f"{who} withdrawn from {title}.", "success")
    return redirect(back)


# --- a manager's team learning -------------------------------------------------------------


@bp.route("/learning/team")
@allow(MANAGER, TRAINER)
def team():
    flt = queries.TeamFilter(
        status=request.args.get("status", "active"), q=request.args.get("q", "")
    )
    scope = visible_people(current_user)
    today = clock.today()
    page = paginate(queries.team_learning_query(flt, scope, today))
    return render_template(
        "learning/learner/team.html",
        flt=flt,
        statuses=queries.TEAM_STATUSES,
        counts=queries.team_counts(db.session(), scope, today),
        page=page,
        lines=queries.team_lines(page.items),
        everyone=scope is None,
    )


# --- enrolling people ----------------------------------------------------------------------


def _enrol_form() -> EnrolPeopleForm:
    form = EnrolPeopleForm()
    session = db.session()
    form.path.choices = CHOOSE + queries.path_choices(session)
    form.unit.choices = CHOOSE + org_unit_choices(session)
    form.role.choices = CHOOSE + role_choices(session)
    people = queries.people_choices(session, _enrol_scope())
    if people is None:
        del form.people
    else:
        form.people.choices = people
    return form


def _who(form: EnrolPeopleForm, today: date) -> Select:
    """The people the form names, as a SELECT of ids; DomainError at the field otherwise."""
    session = db.session()
    if form.who.data == "unit":
        if form.unit.data is None:
            raise DomainError("Choose the org unit.", field="unit")
        return enrolling.unit_people(form.unit.data)
    if form.who.data == "role":
        if form.role.data is None:
            raise DomainError("Choose the role.", field="role")
        return enrolling.role_holders(form.role.data, today)
    ids = list(form.people.data or []) if "people" in form else []
    found, unknown = queries.ids_for_numbers(session, split_numbers(form.numbers.data))
    if unknown:
        shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise DomainError(f"No person has the employee number {shown}.", field="numbers")
    ids += found
    if not ids:
        field = "people" if "people" in form else "numbers"
        raise DomainError("Choose at least one person.", field=field)
    return enrolling.listed_people(ids)


def _form_fields(form: EnrolPeopleForm) -> list[tuple[str, str]]:
    """The form's values as hidden fields for the confirmation page."""
    fields = [
        ("path", str(form.path.data)),
        ("who", form.who.data or ""),
        ("numbers", form.numbers.data or ""),
        ("unit", "" if form.unit.data is None else str(form.unit.data)),
        ("role", "" if form.role.data is None else str(form.role.data)),
        ("due_on", form.due_on.data.isoformat() if form.due_on.data else ""),
    ]
    if "people" in form:
        fields += [("people", str(i)) for i in form.people.data or []]
    return fields


def _enrol_page(form: EnrolPeopleForm):
    return render_template("learning/learner/enrol.html", form=form, pick_list="people" in form)


def _preview(form: EnrolPeopleForm, today: date, scope: Select | None):
    """The people the form names and what enrolling them would do (nothing is written)."""
    people = _who(form, today)
    counts = enrolling.preview_enrolment(
        db.session(),
        path_id=form.path.data,
        people=people,
        due_on=form.due_on.data,
        today=today,
        scope=scope,
    )
    return people, counts


def _confirm_enrolment(form: EnrolPeopleForm, counts: enrolling.EnrolmentCounts):
    sentences = counts.sentences()
    return confirmation_page(
        Confirmation(
            title=f"Enrol {counts.enrolled:,} on {counts.path_title}?",
            message=f"Due by {form.due_on.data:%d %B %Y}. Of the "
            f"{counts.candidates + counts.out_of_reach:,} people chosen:",
            details=[sentences[0].replace(" enrolled on", " will be enrolled on"), *sentences[1:]],
            action=url_for("learning.enrol"),
            fields=_form_fields(form),
            button=f"Enrol {counts.enrolled:,}",
            back=url_for("learning.enrol"),
            danger=False,
        )
    )


@bp.route("/learning/enrol", methods=["GET", "POST"])
@allow(MANAGER, TRAINER)
def enrol():
    """Choose a path, who and a due date; see the counts on a confirmation page; enrol."""
    form = _enrol_form()
    chosen = request.args.get("path", type=record_id)
    if request.method == "GET" and chosen:
        form.path.data = chosen
    if not form.validate_on_submit():
        return _enrol_page(form), 400 if request.method == "POST" else 200
    today, scope = clock.today(), _enrol_scope()
    done, previewed = run(lambda: _preview(form, today, scope), form)
    if not done or previewed is None:
        return _enrol_page(form), 400
    people, preview = previewed
    if not preview.enrolled:
        flash("Nobody to enrol. " + " ".join(preview.sentences()[1:]), "warning")
        return _enrol_page(form)
    if not confirmed():
        return _confirm_enrolment(form, preview)
    done, counts = run(
        lambda: enrolling.enrol_people(
            db.session(),
            path_id=form.path.data,
            people=people,
            due_on=form.due_on.data,
            actor_id=current_user.id,
            today=today,
            scope=scope,
        ),
        form,
    )
    if not done or counts is None:
        return _enrol_page(form), 400
    flash(" ".join(counts.sentences()), "success")
    return redirect(url_for("learning.team", status="active"))


# --- one person's learning, and assigning them a path -------------------------------------------


@bp.route("/people/<int:person_id>/learning")
@allow(MANAGER, TRAINER)
def person_learning(person_id: int):
    person = get_person_or_refuse(db.session(), current_user, person_id)
    return render_template(
        "learning/learner/person.html",
        person=person,
        enrolments=queries.person_enrolments(db.session(), person.id, clock.today()),
        sessions=queries.booked_sessions(db.session(), person.id, clock.now()),
    )


@bp.route("/people/<int:person_id>/learning/enrol", methods=["GET", "POST"])
@allow(MANAGER, TRAINER)
def person_enrol(person_id: int):
    person = get_person_or_refuse(db.session(), current_user, person_id)
    form = EnrolPersonForm()
    form.path.choices = CHOOSE + queries.path_choices(db.session())
    chosen = request.args.get("path", type=record_id)
    if request.method == "GET" and chosen:
        form.path.data = chosen
    if form.validate_on_submit():
        done, enrolment = run(
            lambda: enrolling.enrol_person(
                db.session(),
                person_id=person.id,
                path_id=form.path.data,
                due_on=form.due_on.data,
                actor_id=current_user.id,
                today=clock.today(),
            ),
            form,
        )
        if done and enrolment is not None:
            flash(
                f"{enrolment.person.full_name} enrolled on {enrolment.version.title}, due by "
                f"{enrolment.due_on:%d %B %Y}.",
                "success",
            )
            return redirect(url_for("learning.person_learning", person_id=person_id))
        person = get_person_or_refuse(db.session(), current_user, person_id)
    return render_template(
        "learning/learner/person_enrol.html",
        person=person,
        form=form,
        enrolments=queries.person_enrolments(db.session(), person.id, clock.today()),
    )
