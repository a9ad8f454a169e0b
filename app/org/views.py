"""The organisation's pages: home, my page, people one may see, my team, the role catalogue;
and the administrator's pages for people, role assignments, org units, offices and roles."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.access import (
    ADMIN,
    MANAGER,
    SIGNED_IN,
    TRAINER,
    allow,
    get_person_or_refuse,
    validation_scope,
    visible_people,
)
from app.accounts.services import account_of
from app.capability.profile import recent_decisions
from app.capability.summary import gap_summary, waiting_for
from app.extensions import db
from app.forms import ConfirmForm
from app.framework.queries import framework_status
from app.learning.learner_queries import team_counts
from app.learning.summary import learner_learning, trainer_learning
from app.org import queries, services
from app.org.forms import AssignmentForm, OfficeForm, OrgUnitForm, PersonForm, RoleForm
from app.org.models import AssignmentKind, Office, OrgUnit, Person, Role, RoleAssignment
from app.reports.heatmap import team_heatmap
from app.staff_import.queries import import_attention
from app.viewutil import (
    Confirmation,
    back_or,
    confirmation_page,
    confirmed,
    paginate,
    per_page,
    require_confirmation,
    run,
)

bp = Blueprint("org", __name__, template_folder="templates")

#: Managers' decisions on a learner's self-ratings stay on their home page this long.
DECISIONS_SHOWN_DAYS = 30

NONE_CHOICE: list[tuple[int | None, str]] = [(None, "— none —")]


def _toggle(setter, label: str, endpoint: str):
    """The shared deactivate/reactivate button: a confirmed POST with ``active`` 0 or 1."""
    require_confirmation()
    active = request.form.get("active") == "1"
    done, _ = run(lambda: setter(active))
    if done:
        flash(f"{label} {'reactivated' if active else 'deactivated'}.", "success")
    return redirect(back_or(url_for(endpoint)))


# --- everyone's pages ---------------------------------------------------------------------------


@bp.route("/")
@allow(SIGNED_IN)
def home():
    """What to do next, for each permission the user holds: a learner's gaps and next step;
    a manager's decisions, overdue items and team; a trainer's framework work; an admin's
    links and what needs attention. Every count links to the list it counts."""
    me, perms, today = current_user.person, current_user.permissions, date.today()
    session = db.session()
    scope = visible_people(current_user)
    return render_template(
        "org/home.html",
        profile=queries.person_profile(session, me, today),
        gaps=gap_summary(session, me.id, today),
        decisions=recent_decisions(
            session, me.id, since=datetime.now(UTC) - timedelta(days=DECISIONS_SHOWN_DAYS), limit=5
        ),
        team=queries.team_summary(session, me.id, scope) if MANAGER in perms else None,
        waiting=(
            waiting_for(session, validation_scope(current_user), me.id, datetime.now(UTC))
            if perms & {MANAGER, ADMIN}
            else None
        ),
        framework=framework_status(session) if TRAINER in perms else None,
        org=queries.org_summary(session) if perms & {ADMIN, TRAINER} else None,
        attention=queries.needs_attention(session) if ADMIN in perms else None,
        imports=import_attention(session) if ADMIN in perms else None,
        learning=learner_learning(session, me.id, today, datetime.now(UTC)),
        team_learning=team_counts(session, scope, today) if MANAGER in perms else None,
        trainer=trainer_learning(session, today) if TRAINER in perms else None,
    )


@bp.route("/me")
@allow(SIGNED_IN)
def my_profile():
    profile = queries.person_profile(db.session(), current_user.person, date.today())
    return render_template("org/person.html", profile=profile, own=True)


@bp.route("/people/<int:person_id>")
@allow(SIGNED_IN)
def person(person_id: int):
    target = get_person_or_refuse(db.session(), current_user, person_id)
    profile = queries.person_profile(db.session(), target, date.today())
    return render_template(
        "org/person.html", profile=profile, own=target.id == current_user.person_id
    )


@bp.route("/team")
@allow(MANAGER)
def team():
    flt = queries.PeopleFilter(
        q=request.args.get("q", ""),
        org_unit_id=request.args.get("unit", type=int),
        status="active",
        without_role=request.args.get("norole") == "1",
        reports_to=current_user.person_id if request.args.get("direct") == "1" else None,
    )
    scope = visible_people(current_user)
    size = queries.team_size(db.session(), current_user.person_id, scope)
    stmt = queries.team_query(flt, current_user.person_id, scope)
    # Unnarrowed, the list is the team just counted: no second count.
    page = paginate(stmt, total=None if flt.narrowed else size)
    # The whole team's capability comes first; a narrowed list is about the people it lists.
    heat = None if flt.narrowed else team_heatmap(db.session(), scope, date.today())
    return render_template("org/team.html", page=page, flt=flt, team_size=size, heat=heat)


@bp.route("/roles")
@allow(SIGNED_IN)
def role_catalogue():
    return render_template("org/role_catalogue.html", holdings=queries.role_catalogue(db.session()))


# --- people -------------------------------------------------------------------------------------


@bp.route("/admin/people")
@allow(ADMIN)
def people():
    flt = queries.PeopleFilter(
        q=request.args.get("q", ""),
        org_unit_id=request.args.get("unit", type=int),
        role_id=request.args.get("role", type=int),
        status=queries.status_or_active(request.args.get("status")),
        without_role=request.args.get("norole") == "1",
    )
    page = paginate(queries.people_query(flt), counter=queries.people_count(flt))
    return render_template(
        "org/people.html",
        page=page,
        flt=flt,
        roles=queries.role_choices(db.session(), active_only=False),
        units=queries.unit_filter_choices(db.session(), flt.org_unit_id),
        confirm=ConfirmForm(),
    )


def _person_form(person: Person | None = None) -> PersonForm:
    form = PersonForm(obj=person)
    form.org_unit.choices = NONE_CHOICE + queries.org_unit_choices(db.session())
    if person is not None and request.method == "GET":
        form.org_unit.data = person.org_unit_id
        form.line_manager.data = person.line_manager.employee_number if person.line_manager else ""
    return form


def _person_data(form: PersonForm) -> services.PersonData:
    return services.PersonData(
        employee_number=form.employee_number.data,
        first_name=form.first_name.data,
        last_name=form.last_name.data,
        email=form.email.data,
        org_unit_id=form.org_unit.data,
        line_manager_number=form.line_manager.data,
        job_title=form.job_title.data,
    )


@bp.route("/admin/people/new", methods=["GET", "POST"])
@allow(ADMIN)
def person_new():
    form = _person_form()
    if form.validate_on_submit():
        done, person = run(lambda: services.save_person(db.session(), _person_data(form)), form)
        if done and person is not None:
            flash(f"{person.full_name} added.", "success")
            return redirect(url_for("org.person", person_id=person.id))
    return render_template("org/person_form.html", form=form, person=None)


@bp.route("/admin/people/<int:person_id>/edit", methods=["GET", "POST"])
@allow(ADMIN)
def person_edit(person_id: int):
    person = db.get_or_404(Person, person_id)
    form = _person_form(person)
    if form.validate_on_submit():
        done, _ = run(lambda: services.save_person(db.session(), _person_data(form), person), form)
        if done:
            flash(f"{person.full_name} saved.", "success")
            return redirect(url_for("org.person", person_id=person.id))
    return render_template(
        "org/person_form.html",
        form=form,
        person=person,
        account=account_of(db.session(), person.id),
    )


@bp.route("/admin/people/<int:person_id>/active", methods=["POST"])
@allow(ADMIN)
def person_active(person_id: int):
    person = db.get_or_404(Person, person_id)
    if request.form.get("active") == "0" and not confirmed():
        require_confirmation()
        account = account_of(db.session(), person.id)
        details = queries.leaver_impact(db.session(), person.id)
        if account is not None and account.active:
            details.insert(
                0,
                f"Their account {account.email} is disabled and every session of theirs ends now.",
            )
        return confirmation_page(
            Confirmation(
                title=f"Deactivate {person.full_name}?",
                message="Do this when someone leaves the organisation.",
                details=details,
                action=url_for("org.person_active", person_id=person.id),
                fields=[("active", "0")],
                button=f"Deactivate {person.full_name}",
                back=back_or(url_for("org.people")),
            )
        )
    return _toggle(
        lambda active: services.set_person_active(db.session(), person, active),
        person.full_name,
        "org.people",
    )


# --- role assignments ---------------------------------------------------------------------------


def _assignment_form(assignment: RoleAssignment | None = None) -> AssignmentForm:
    form = AssignmentForm(obj=assignment)
    form.role.choices = NONE_CHOICE + queries.role_choices(db.session())
    form.office.choices = NONE_CHOICE + queries.office_choices(db.session())
    if assignment is not None and request.method == "GET":
        form.role.data, form.office.data = assignment.role_id, assignment.office_id
        form.kind.data = assignment.kind.value
    elif request.method == "GET":
        form.start_date.data = date.today()
    return form


def _assignment_data(form: AssignmentForm) -> services.AssignmentData:
    return services.AssignmentData(
        role_id=form.role.data,
        kind=AssignmentKind(form.kind.data),
        start_date=form.start_date.data,
        office_id=form.office.data,
        end_date=form.end_date.data,
    )


@bp.route("/admin/people/<int:person_id>/assignments/new", methods=["GET", "POST"])
@allow(ADMIN)
def assignment_new(person_id: int):
    person = db.get_or_404(Person, person_id)
    form = _assignment_form()
    if form.validate_on_submit():
        done, _ = run(
            lambda: services.save_assignment(db.session(), person, _assignment_data(form)), form
        )
        if done:
            flash("Role assigned.", "success")
            return redirect(url_for("org.person", person_id=person.id))
    return render_template("org/assignment_form.html", form=form, person=person, assignment=None)


@bp.route("/admin/assignments/<int:assignment_id>/edit", methods=["GET", "POST"])
@allow(ADMIN)
def assignment_edit(assignment_id: int):
    assignment = db.get_or_404(RoleAssignment, assignment_id)
    person = assignment.person
    form = _assignment_form(assignment)
    if form.validate_on_submit():
        done, _ = run(
            lambda: services.save_assignment(
                db.session(), person, _assignment_data(form), assignment
            ),
            form,
        )
        if done:
            flash("Assignment saved.", "success")
            return redirect(url_for("org.person", person_id=person.id))
    return render_template(
        "org/assignment_form.html", form=form, person=person, assignment=assignment
    )


@bp.route("/admin/assignments/<int:assignment_id>/end", methods=["POST"])
@allow(ADMIN)
def assignment_end(assignment_id: int):
    assignment = db.get_or_404(RoleAssignment, assignment_id)
    require_confirmation()
    if not confirmed():
        return confirmation_page(
            Confirmation(
                title=f"End {assignment.person.full_name}'s role as {assignment.role.name}?",
                message=f"The assignment ends today, {date.today():%d %B %Y}. It stays in their "
                "history, and their capability is no longer measured against this role.",
                action=url_for("org.assignment_end", assignment_id=assignment.id),
                button="End the assignment",
                back=url_for("org.person", person_id=assignment.person_id),
            )
        )
    done, _ = run(lambda: services.end_assignment(assignment, date.today()))
    if done:
        flash(f"{assignment.role.name} ended for {assignment.person.full_name}.", "success")
    return redirect(url_for("org.person", person_id=assignment.person_id))


# --- org units ----------------------------------------------------------------------------------


@bp.route("/admin/org-units")
@allow(ADMIN)
def org_units():
    q = request.args.get("q", "").strip()
    status = queries.status_or_active(request.args.get("status"))
    if q or status == "inactive":  # a search or the inactive ones: a flat list of matches
        page = db.paginate(queries.org_units_query(q, status), per_page=per_page(), error_out=False)
        return render_template(
            "org/org_units.html", page=page, tree=None, q=q, status=status, confirm=ConfirmForm()
        )
    return render_template(
        "org/org_units.html",
        page=None,
        q=q,
        status=status,
        tree=queries.unit_tree(db.session(), status),
        confirm=ConfirmForm(),
    )


def _unit_form(unit: OrgUnit | None = None) -> OrgUnitForm:
    form = OrgUnitForm(obj=unit)
    form.parent.choices = NONE_CHOICE + queries.org_unit_choices(
        db.session(), exclude_id=unit.id if unit else None
    )
    if unit is not None and request.method == "GET":
        form.parent.data = unit.parent_id
        form.head.data = unit.head.employee_number if unit.head else ""
    return form


def _save_unit(form: OrgUnitForm, unit: OrgUnit | None) -> OrgUnit:
    head_id = services.person_id_by_number(db.session(), form.head.data, "head")
    return services.save_org_unit(
        db.session(),
        services.OrgUnitData(
            code=form.code.data, name=form.name.data, parent_id=form.parent.data, head_id=head_id
        ),
        unit,
    )


@bp.route("/admin/org-units/new", methods=["GET", "POST"])
@allow(ADMIN)
def org_unit_new():
    return org_unit_edit(None)


@bp.route("/admin/org-units/<int:unit_id>/edit", methods=["GET", "POST"])
@allow(ADMIN)
def org_unit_edit(unit_id: int | None):
    unit = db.get_or_404(OrgUnit, unit_id) if unit_id is not None else None
    form = _unit_form(unit)
    if form.validate_on_submit():
        done, saved = run(lambda: _save_unit(form, unit), form)
        if done and saved is not None:
            flash(f"{saved.name} {'saved' if unit else 'created'}.", "success")
            return redirect(url_for("org.org_units"))
    return render_template("org/org_unit_form.html", form=form, unit=unit)


@bp.route("/admin/org-units/<int:unit_id>/active", methods=["POST"])
@allow(ADMIN)
def org_unit_active(unit_id: int):
    unit = db.get_or_404(OrgUnit, unit_id)
    return _toggle(
        lambda active: services.set_org_unit_active(db.session(), unit, active),
        unit.name,
        "org.org_units",
    )


# --- offices ------------------------------------------------------------------------------------


@bp.route("/admin/offices")
@allow(ADMIN)
def offices():
    level = request.args.get("level", "")
    status = queries.status_or_active(request.args.get("status"))
    page = db.paginate(queries.offices_query(level, status), per_page=per_page(), error_out=False)
    return render_template(
        "org/offices.html", page=page, level=level, status=status, confirm=ConfirmForm()
    )


def _office_form(office: Office | None = None) -> OfficeForm:
    form = OfficeForm(obj=office)
    form.hub.choices = NONE_CHOICE + queries.office_choices(
        db.session(), active_only=False, exclude_id=office.id if office else None
    )
    form.org_unit.choices = NONE_CHOICE + queries.org_unit_choices(db.session())
    if office is not None and request.method == "GET":
        form.hub.data, form.org_unit.data = office.hub_id, office.org_unit_id
        form.p3_level.data, form.permanence.data = office.p3_level.value, office.permanence.value
    return form


def _office_data(form: OfficeForm) -> services.OfficeData:
    return services.OfficeData(
        code=form.code.data,
        name=form.name.data,
        p3_level=form.p3_level.data,
        permanence=form.permanence.data,
        is_coe=form.is_coe.data,
        hub_id=form.hub.data,
        org_unit_id=form.org_unit.data,
        start_date=form.start_date.data,
        end_date=form.end_date.data,
    )


@bp.route("/admin/offices/new", methods=["GET", "POST"])
@allow(ADMIN)
def office_new():
    return office_edit(None)


@bp.route("/admin/offices/<int:office_id>/edit", methods=["GET", "POST"])
@allow(ADMIN)
def office_edit(office_id: int | None):
    office = db.get_or_404(Office, office_id) if office_id is not None else None
    form = _office_form(office)
    if form.validate_on_submit():
        done, saved = run(
            lambda: services.save_office(db.session(), _office_data(form), office), form
        )
        if done and saved is not None:
            flash(f"{saved.name} {'saved' if office else 'created'}.", "success")
            return redirect(url_for("org.offices"))
    return render_template("org/office_form.html", form=form, office=office)


@bp.route("/admin/offices/<int:office_id>/active", methods=["POST"])
@allow(ADMIN)
def office_active(office_id: int):
    office = db.get_or_404(Office, office_id)
    return _toggle(
        lambda active: services.set_office_active(db.session(), office, active),
        office.name,
        "org.offices",
    )


# --- roles --------------------------------------------------------------------------------------


@bp.route("/admin/roles")
@allow(ADMIN)
def roles():
    q = request.args.get("q", "").strip()
    status = queries.status_or_active(request.args.get("status"))
    page = db.paginate(queries.roles_query(q, status), per_page=per_page(), error_out=False)
    return render_template("org/roles.html", page=page, q=q, status=status, confirm=ConfirmForm())


def _role_data(form: RoleForm) -> services.RoleData:
    return services.RoleData(
        code=form.code.data,
        name=form.name.data,
        p3_level=form.p3_level.data,
        family=form.family.data,
        description=form.description.data or "",
    )


@bp.route("/admin/roles/new", methods=["GET", "POST"])
@allow(ADMIN)
def role_new():
    return role_edit(None)


@bp.route("/admin/roles/<int:role_id>/edit", methods=["GET", "POST"])
@allow(ADMIN)
def role_edit(role_id: int | None):
    role = db.get_or_404(Role, role_id) if role_id is not None else None
    form = RoleForm(obj=role)
    if role is not None and request.method == "GET":
        form.p3_level.data, form.family.data = role.p3_level.value, role.family.value
    if form.validate_on_submit():
        done, saved = run(lambda: services.save_role(db.session(), _role_data(form), role), form)
        if done and saved is not None:
            flash(f"{saved.name} {'saved' if role else 'created'}.", "success")
            return redirect(url_for("org.roles"))
    return render_template("org/role_form.html", form=form, role=role)


@bp.route("/admin/roles/<int:role_id>/active", methods=["POST"])
@allow(ADMIN)
def role_active(role_id: int):
    role = db.get_or_404(Role, role_id)
    return _toggle(
        lambda active: services.set_role_active(db.session(), role, active), role.name, "org.roles"
    )
