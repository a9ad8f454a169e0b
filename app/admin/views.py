"""Administration: people, org units, offices, roles, role assignments and accounts."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from app.access import ADMIN, allow
from app.accounts import services as accounts
from app.accounts.forms import AccountEditForm, AccountForm, ConfirmForm
from app.accounts.models import Permission, User
from app.admin.forms import AssignmentForm, OfficeForm, OrgUnitForm, PersonForm, RoleForm
from app.errors import DomainError
from app.extensions import db
from app.org import services
from app.org.models import AssignmentKind, Office, OrgUnit, Person, Role, RoleAssignment
from app.org.queries import office_list_query
from app.viewutil import apply_domain_error

bp = Blueprint("admin", __name__, url_prefix="/admin")

NONE_CHOICE = [(None, "— none —")]


def _per_page() -> int:
    return current_app.config["PEOPLE_PER_PAGE"]


def _person_by_number(number: str | None, form, field: str) -> int | None:
    if not number or not number.strip():
        return None
    person_id = db.session.scalar(select(Person.id).where(Person.employee_number == number.strip()))
    if person_id is None:
        raise DomainError("No person has that employee number.", field=field)
    return person_id


def _save(form, action, template: str, **context):
    """Run a use-case for a valid form: commit and return None, or roll back, show the error
    at its field and return the re-rendered page."""
    try:
        result = action()
    except DomainError as error:
        db.session.rollback()
        apply_domain_error(form, error)
        return None, render_template(template, form=form, **context)
    db.session.commit()
    return result, None


def _toggle(obj, setter, label: str, endpoint: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    try:
        setter(active)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(f"{label} {'reactivated' if active else 'deactivated'}.", "success")
    return redirect(request.referrer if request.referrer and request.referrer.startswith(
        request.host_url) else url_for(endpoint))


# --- people -----------------------------------------------------------------------------------


@bp.route("/people")
@allow(ADMIN)
def people():
    flt = services.PeopleFilter(
        q=request.args.get("q", ""), org_unit_id=request.args.get("unit", type=int),
        role_id=request.args.get("role", type=int),
        status=request.args.get("status", "active") if request.args.get("status") in
        ("active", "inactive", "all") else "active",
    )
    page = db.paginate(services.people_query(flt), per_page=_per_page(), error_out=False)
    roles = db.session.execute(select(Role.id, Role.name).order_by(Role.name)).all()
    return render_template("admin/people.html", page=page, flt=flt, roles=roles,
                           units=services.org_unit_choices(db.session), confirm=ConfirmForm())


def _person_form(person: Person | None = None) -> PersonForm:
    form = PersonForm(obj=person)
    form.org_unit.choices = NONE_CHOICE + services.org_unit_choices(db.session)
    if person is not None and request.method == "GET":
        form.org_unit.data = person.org_unit_id
        form.line_manager.data = person.line_manager.employee_number if person.line_manager else ""
    return form


def _person_data(form: PersonForm) -> services.PersonData:
    return services.PersonData(
        employee_number=form.employee_number.data, first_name=form.first_name.data,
        last_name=form.last_name.data, email=form.email.data, org_unit_id=form.org_unit.data,
        line_manager_number=form.line_manager.data, job_title=form.job_title.data)


@bp.route("/people/new", methods=["GET", "POST"])
@allow(ADMIN)
def person_new():
    form = _person_form()
    if form.validate_on_submit():
        person, page = _save(form, lambda: services.save_person(db.session, _person_data(form)),
                             "admin/person_form.html", person=None)
        if page:
            return page
        flash(f"{person.full_name} added.", "success")
        return redirect(url_for("main.person", person_id=person.id))
    return render_template("admin/person_form.html", form=form, person=None)


@bp.route("/people/<int:person_id>/edit", methods=["GET", "POST"])
@allow(ADMIN)
def person_edit(person_id: int):
    person = db.get_or_404(Person, person_id)
    account = db.session.scalar(select(User).where(User.person_id == person.id))
    form = _person_form(person)
    if form.validate_on_submit():
        _, page = _save(form, lambda: services.save_person(db.session, _person_data(form), person),
                        "admin/person_form.html", person=person, account=account)
        if page:
            return page
        flash(f"{person.full_name} saved.", "success")
        return redirect(url_for("main.person", person_id=person.id))
    return render_template("admin/person_form.html", form=form, person=person, account=account)


@bp.route("/people/<int:person_id>/active", methods=["POST"])
@allow(ADMIN)
def person_active(person_id: int):
    person = db.get_or_404(Person, person_id)
    return _toggle(person, lambda active: services.set_person_active(db.session, person, active),
                   person.full_name, "admin.people")


# --- role assignments --------------------------------------------------------------------------


def _assignment_form(assignment: RoleAssignment | None = None) -> AssignmentForm:
    form = AssignmentForm(obj=assignment)
    form.role.choices = NONE_CHOICE + [
        (r.id, f"{r.name} ({r.code})") for r in
        db.session.scalars(select(Role).where(Role.active.is_(True)).order_by(Role.name))]
    form.office.choices = NONE_CHOICE + [
        (o.id, f"{o.name} — {o.p3_level.value}") for o in
        db.session.scalars(select(Office).where(Office.active.is_(True)).order_by(Office.name))]
    if assignment is not None and request.method == "GET":
        form.role.data, form.office.data = assignment.role_id, assignment.office_id
        form.kind.data = assignment.kind.value
    elif request.method == "GET":
        form.start_date.data = date.today()
    return form


def _assignment_data(form: AssignmentForm) -> services.AssignmentData:
    return services.AssignmentData(role_id=form.role.data, kind=AssignmentKind(form.kind.data),
                                   start_date=form.start_date.data, office_id=form.office.data,
                                   end_date=form.end_date.data)


@bp.route("/people/<int:person_id>/assignments/new", methods=["GET", "POST"])
@allow(ADMIN)
def assignment_new(person_id: int):
    person = db.get_or_404(Person, person_id)
    form = _assignment_form()
    if form.validate_on_submit():
        _, page = _save(form, lambda: services.save_assignment(db.session, person,
                                                               _assignment_data(form)),
                        "admin/assignment_form.html", person=person, assignment=None)
        if page:
            return page
        flash("Role assigned.", "success")
        return redirect(url_for("main.person", person_id=person.id))
    return render_template("admin/assignment_form.html", form=form, person=person, assignment=None)


@bp.route("/assignments/<int:assignment_id>/edit", methods=["GET", "POST"])
@allow(ADMIN)
def assignment_edit(assignment_id: int):
    assignment = db.get_or_404(RoleAssignment, assignment_id)
    person = assignment.person
    form = _assignment_form(assignment)
    if form.validate_on_submit():
        _, page = _save(form, lambda: services.save_assignment(
            db.session, person, _assignment_data(form), assignment),
            "admin/assignment_form.html", person=person, assignment=assignment)
        if page:
            return page
        flash("Assignment saved.", "success")
        return redirect(url_for("main.person", person_id=person.id))
    return render_template("admin/assignment_form.html", form=form, person=person,
                           assignment=assignment)


@bp.route("/assignments/<int:assignment_id>/end", methods=["POST"])
@allow(ADMIN)
def assignment_end(assignment_id: int):
    assignment = db.get_or_404(RoleAssignment, assignment_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.end_assignment(assignment, date.today())
    db.session.commit()
    flash(f"{assignment.role.name} ended for {assignment.person.full_name}.", "success")
    return redirect(url_for("main.person", person_id=assignment.person_id))


# --- org units --------------------------------------------------------------------------------


@bp.route("/org-units")
@allow(ADMIN)
def org_units():
    q = request.args.get("q", "").strip()
    stmt = select(OrgUnit).options(joinedload(OrgUnit.parent), joinedload(OrgUnit.head))
    if q:
        stmt = stmt.where(or_(func.lower(OrgUnit.name).like(f"%{q.lower()}%"),
                              func.lower(OrgUnit.code).like(f"%{q.lower()}%")))
    status = request.args.get("status", "active")
    if status != "all":
        stmt = stmt.where(OrgUnit.active.is_(status != "inactive"))
    page = db.paginate(stmt.order_by(OrgUnit.name), per_page=_per_page(), error_out=False)
    return render_template("admin/org_units.html", page=page, q=q, status=status,
                           confirm=ConfirmForm())


def _unit_form(unit: OrgUnit | None = None) -> OrgUnitForm:
    form = OrgUnitForm(obj=unit)
    form.parent.choices = NONE_CHOICE + [c for c in services.org_unit_choices(db.session)
                                         if unit is None or c[0] != unit.id]
    if unit is not None and request.method == "GET":
        form.parent.data = unit.parent_id
        form.head.data = unit.head.employee_number if unit.head else ""
    return form


def _unit_action(form: OrgUnitForm, unit: OrgUnit | None):
    def action():
        head_id = _person_by_number(form.head.data, form, "head")
        return services.save_org_unit(db.session, services.OrgUnitData(
            code=form.code.data, name=form.name.data, parent_id=form.parent.data,
            head_id=head_id), unit)
    return action


@bp.route("/org-units/new", methods=["GET", "POST"])
@allow(ADMIN)
def org_unit_new():
    form = _unit_form()
    if form.validate_on_submit():
        unit, page = _save(form, _unit_action(form, None), "admin/org_unit_form.html", unit=None)
        if page:
            return page
        flash(f"{unit.name} created.", "success")
        return redirect(url_for("admin.org_units"))
    return render_template("admin/org_unit_form.html", form=form, unit=None)


@bp.route("/org-units/<int:unit_id>/edit", methods=["GET", "POST"])
@allow(ADMIN)
def org_unit_edit(unit_id: int):
    unit = db.get_or_404(OrgUnit, unit_id)
    form = _unit_form(unit)
    if form.validate_on_submit():
        _, page = _save(form, _unit_action(form, unit), "admin/org_unit_form.html", unit=unit)
        if page:
            return page
        flash(f"{unit.name} saved.", "success")
        return redirect(url_for("admin.org_units"))
    return render_template("admin/org_unit_form.html", form=form, unit=unit)


@bp.route("/org-units/<int:unit_id>/active", methods=["POST"])
@allow(ADMIN)
def org_unit_active(unit_id: int):
    unit = db.get_or_404(OrgUnit, unit_id)
    return _toggle(unit, lambda active: services.set_org_unit_active(db.session, unit, active),
                   unit.name, "admin.org_units")


# --- offices ----------------------------------------------------------------------------------


@bp.route("/offices")
@allow(ADMIN)
def offices():
    stmt = office_list_query()
    level = request.args.get("level", "")
    if level in ("portfolio", "programme", "project"):
        stmt = stmt.where(Office.p3_level == level)
    status = request.args.get("status", "active")
    if status != "all":
        stmt = stmt.where(Office.active.is_(status != "inactive"))
    page = db.paginate(stmt, per_page=_per_page(), error_out=False)
    return render_template("admin/offices.html", page=page, level=level, status=status,
                           confirm=ConfirmForm())


def _office_form(office: Office | None = None) -> OfficeForm:
    form = OfficeForm(obj=office)
    form.hub.choices = NONE_CHOICE + [
        (o.id, o.name) for o in db.session.scalars(select(Office).order_by(Office.name))
        if office is None or o.id != office.id]
    form.org_unit.choices = NONE_CHOICE + services.org_unit_choices(db.session)
    if office is not None and request.method == "GET":
        form.hub.data, form.org_unit.data = office.hub_id, office.org_unit_id
        form.p3_level.data, form.permanence.data = office.p3_level.value, office.permanence.value
    return form


def _office_data(form: OfficeForm) -> services.OfficeData:
    return services.OfficeData(
        code=form.code.data, name=form.name.data, p3_level=form.p3_level.data,
        permanence=form.permanence.data, is_coe=form.is_coe.data, hub_id=form.hub.data,
        org_unit_id=form.org_unit.data, start_date=form.start_date.data,
        end_date=form.end_date.data)


@bp.route("/offices/new", methods=["GET", "POST"])
@allow(ADMIN)
def office_new():
    form = _office_form()
    if form.validate_on_submit():
        office, page = _save(form, lambda: services.save_office(db.session, _office_data(form)),
                             "admin/office_form.html", office=None)
        if page:
            return page
        flash(f"{office.name} created.", "success")
        return redirect(url_for("admin.offices"))
    return render_template("admin/office_form.html", form=form, office=None)


@bp.route("/offices/<int:office_id>/edit", methods=["GET", "POST"])
@allow(ADMIN)
def office_edit(office_id: int):
    office = db.get_or_404(Office, office_id)
    form = _office_form(office)
    if form.validate_on_submit():
        _, page = _save(form, lambda: services.save_office(db.session, _office_data(form), office),
                        "admin/office_form.html", office=office)
        if page:
            return page
        flash(f"{office.name} saved.", "success")
        return redirect(url_for("admin.offices"))
    return render_template("admin/office_form.html", form=form, office=office)


@bp.route("/offices/<int:office_id>/active", methods=["POST"])
@allow(ADMIN)
def office_active(office_id: int):
    office = db.get_or_404(Office, office_id)
    return _toggle(office, lambda active: setattr(office, "active", active), office.name,
                   "admin.offices")


# --- roles ------------------------------------------------------------------------------------


@bp.route("/roles")
@allow(ADMIN)
def roles():
    q = request.args.get("q", "").strip()
    stmt = select(Role).order_by(Role.code)
    if q:
        stmt = stmt.where(or_(func.lower(Role.name).like(f"%{q.lower()}%"),
                              func.lower(Role.code).like(f"%{q.lower()}%")))
    status = request.args.get("status", "active")
    if status != "all":
        stmt = stmt.where(Role.active.is_(status != "inactive"))
    page = db.paginate(stmt, per_page=_per_page(), error_out=False)
    return render_template("admin/roles.html", page=page, q=q, status=status, confirm=ConfirmForm())


def _role_data(form: RoleForm) -> services.RoleData:
    return services.RoleData(code=form.code.data, name=form.name.data,
                             p3_level=form.p3_level.data, family=form.family.data,
                             description=form.description.data or "")


@bp.route("/roles/new", methods=["GET", "POST"])
@allow(ADMIN)
def role_new():
    form = RoleForm()
    if form.validate_on_submit():
        role, page = _save(form, lambda: services.save_role(db.session, _role_data(form)),
                           "admin/role_form.html", role=None)
        if page:
            return page
        flash(f"{role.name} created.", "success")
        return redirect(url_for("admin.roles"))
    return render_template("admin/role_form.html", form=form, role=None)


@bp.route("/roles/<int:role_id>/edit", methods=["GET", "POST"])
@allow(ADMIN)
def role_edit(role_id: int):
    role = db.get_or_404(Role, role_id)
    form = RoleForm(obj=role)
    if request.method == "GET":
        form.p3_level.data, form.family.data = role.p3_level.value, role.family.value
    if form.validate_on_submit():
        _, page = _save(form, lambda: services.save_role(db.session, _role_data(form), role),
                        "admin/role_form.html", role=role)
        if page:
            return page
        flash(f"{role.name} saved.", "success")
        return redirect(url_for("admin.roles"))
    return render_template("admin/role_form.html", form=form, role=role)


@bp.route("/roles/<int:role_id>/active", methods=["POST"])
@allow(ADMIN)
def role_active(role_id: int):
    role = db.get_or_404(Role, role_id)
    return _toggle(role, lambda active: setattr(role, "active", active), role.name, "admin.roles")


# --- accounts ---------------------------------------------------------------------------------


@bp.route("/accounts")
@allow(ADMIN)
def accounts_list():
    q = request.args.get("q", "").strip().lower()
    stmt = select(User).join(User.person).options(joinedload(User.person))
    if q:
        full_name = func.lower(Person.first_name + " " + Person.last_name)
        stmt = stmt.where(or_(User.email.like(f"%{q}%"), full_name.like(f"%{q}%")))
    perm = request.args.get("permission", "")
    if perm in {p.value for p in Permission}:
        stmt = stmt.where(User.permission_rows.any(permission=Permission(perm)))
    page = db.paginate(stmt.order_by(Person.last_name, Person.first_name),
                       per_page=_per_page(), error_out=False)
    return render_template("admin/accounts.html", page=page, q=q, permission=perm,
                           confirm=ConfirmForm())


def _link_page(user: User, token: str, created: bool):
    link = url_for("accounts.set_password", token=token, _external=True)
    return render_template("admin/account_link.html", user=user, link=link, created=created,
                           ttl=current_app.config["SET_PASSWORD_TOKEN_TTL"])


@bp.route("/accounts/new", methods=["GET", "POST"])
@allow(ADMIN)
def account_new():
    form = AccountForm()
    if request.method == "GET" and request.args.get("person"):
        person = db.session.get(Person, request.args.get("person", type=int) or 0)
        if person is not None:
            form.person.data, form.email.data = person.employee_number, person.email
            form.permissions.data = [Permission.LEARNER.value]

    def action():
        person_id = _person_by_number(form.person.data, form, "person")
        user = accounts.create_account(db.session, person_id=person_id, email=form.email.data,
                                       permissions=set(form.permissions.data))
        token = accounts.issue_password_token(
            db.session, user=user, ttl=current_app.config["SET_PASSWORD_TOKEN_TTL"])
        return user, token

    if form.validate_on_submit():
        result, page = _save(form, action, "admin/account_form.html", user=None)
        if page:
            return page
        return _link_page(*result, created=True)
    return render_template("admin/account_form.html", form=form, user=None)


@bp.route("/accounts/<int:user_id>/edit", methods=["GET", "POST"])
@allow(ADMIN)
def account_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    form = AccountEditForm(obj=user)
    if request.method == "GET":
        form.permissions.data = [p.value for p in user.permissions]
    if form.validate_on_submit():
        _, page = _save(form, lambda: accounts.update_account(
            db.session, user=user, email=form.email.data,
            permissions=set(form.permissions.data), active=form.active.data),
            "admin/account_form.html", user=user, confirm=ConfirmForm())
        if page:
            return page
        flash(f"Account {user.email} saved.", "success")
        return redirect(url_for("admin.accounts_list"))
    return render_template("admin/account_form.html", form=form, user=user, confirm=ConfirmForm())


@bp.route("/accounts/<int:user_id>/reset-link", methods=["POST"])
@allow(ADMIN)
def account_reset_link(user_id: int):
    user = db.get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    token = accounts.issue_password_token(db.session, user=user,
                                          ttl=current_app.config["SET_PASSWORD_TOKEN_TTL"])
    db.session.commit()
    return _link_page(user, token, created=False)


@bp.route("/accounts/<int:user_id>/end-sessions", methods=["POST"])
@allow(ADMIN)
def account_end_sessions(user_id: int):
    user = db.get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    count = accounts.end_all_sessions(db.session, user.id)
    db.session.commit()
    flash(f"Ended {count} session(s) of {user.email}.", "success")
    return redirect(url_for("admin.account_edit", user_id=user.id))
