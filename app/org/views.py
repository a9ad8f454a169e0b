"""The organisation's pages: home, my page, people one may see, my team, the role catalogue;
and the administrator's pages for people, role assignments, org units, offices and roles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from app import clock
from app.access import (
    ADMIN,
    MANAGER,
    SIGNED_IN,
    TRAINER,
    allow,
    get_person_or_refuse,
    visible_people,
)
from app.accounts.services import account_of
from app.capability.profile import recent_decisions
from app.capability.summary import waiting_for, waiting_for_manager
from app.db import page_number, record_id
from app.extensions import db
from app.forms import ConfirmForm
from app.framework.queries import framework_status
from app.learning.summary import KeptFigures, learner_learning, trainer_learning
from app.org import queries, services
from app.org.forms import AssignmentForm, OfficeForm, OrgUnitForm, PersonForm, RoleForm
from app.org.models import AssignmentKind, Office, OrgUnit, Person, Role, RoleAssignment
from app.reports import personal, team_grid
from app.reports.heatmap import BAND_MARKS
from app.staff_import.queries import import_attention
from app.viewutil import (
    Confirmation,
    back_or,
    confirmation_page,
    confirmed,
    current_page,
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
    me, perms, today, now = current_user.person, current_user.permissions, clock.today(), _now()
    session = db.session()
    # A manager's figures are over the people they manage, or everyone for those who see
    # everyone (access.visible_people); their statements are built once per manager.
    everyone = visible_people(current_user) is None
    figures = (
        _kept_figures().figures(session, me.id, everyone, today, now) if MANAGER in perms else None
    )
    return render_template(
        "org/home.html",
        profile=queries.home_profile(session, me, today),
        gaps=personal.gap_summary(session, me.id, today),
        decisions=recent_decisions(
            session, me.id, since=now - timedelta(days=DECISIONS_SHOWN_DAYS), limit=5
        ),
        team=figures.team if figures else None,
        waiting=_waiting(session, me.id, perms, everyone, now),
        framework=framework_status(session) if TRAINER in perms else None,
        org=queries.org_summary(session) if perms & {ADMIN, TRAINER} else None,
        attention=queries.needs_attention(session) if ADMIN in perms else None,
        imports=import_attention(session) if ADMIN in perms else None,
        learning=learner_learning(session, me.id, today, now),
        team_learning=figures.learning if figures else None,
        figures=figures,
        trainer=trainer_learning(session, today) if TRAINER in perms else None,
    )


def _now() -> datetime:
    return clock.now()


def _kept_figures() -> KeptFigures:
    """The large teams' figures counted lately (``KeptFigures``), one for each app."""
    kept = current_app.extensions.get("pmo_kept_figures")
    if kept is None:
        kept = current_app.extensions.setdefault("pmo_kept_figures", KeptFigures())
    return kept


def _waiting(session, person_id: int, perms, everyone: bool, now: datetime):
    """The decisions waiting for the user, over ``access.validation_scope``: everyone for an
    admin (and a manager who sees everyone), else the people the manager reaches, found
    upwards from the few who wait."""
    if ADMIN in perms or (MANAGER in perms and everyone):
        return waiting_for(session, None, person_id, now)
    if MANAGER in perms:
        return waiting_for_manager(session, person_id, now)
    return None


@bp.route("/me")
@allow(SIGNED_IN)
def my_profile():
    profile = queries.person_profile(db.session(), current_user.person, clock.today())
    return render_template("org/person.html", profile=profile, own=True)


@bp.route("/people/<int:person_id>")
@allow(SIGNED_IN)
def person(person_id: int):
    target = get_person_or_refuse(db.session(), current_user, person_id)
    profile = queries.person_profile(db.session(), target, clock.today())
    return render_template(
        "org/person.html", profile=profile, own=target.id == current_user.person_id
    )


@bp.route("/team")
@allow(MANAGER)
def team():
    flt = queries.PeopleFilter(
        q=request.args.get("q", ""),
        org_unit_id=request.args.get("unit", type=record_id),
        status="active",
        without_role=request.args.get("norole") == "1",
        reports_to=current_user.person_id if request.args.get("direct") == "1" else None,
    )
    scope = visible_people(current_user)
    team = queries.team_statements(current_user.person_id, scope is None)
    if flt.narrowed:
        size = db.session.scalar(team.size) or 0
        page = paginate(queries.team_query(flt, current_user.person_id, scope))
    elif team.counted is not None:  # listed and counted in one pass
        page = paginate(team.counted, total=0)
        size = page.items[0].total if page.items else db.session.scalar(team.size) or 0
        page.total = size
    else:  # the list is the team just counted: no second count
        size = db.session.scalar(team.size) or 0
        page = paginate(team.people, total=size)
    # The direct reports' capability comes first, fetched after the page is drawn
    # (static/js/team.js; a link without script): a narrowed list is about its people.
    return render_template(
        "org/team.html",
        page=page,
        flt=flt,
        team_size=size,
        grid=not flt.narrowed,
    )


@bp.route("/team/heatmap")
@allow(MANAGER)
def team_heatmap():
    """The capability of a manager's direct reports, a page of people at a time (levels
    against what their roles require, from the maintained spans); ``?partial=1`` gives the
    grid alone, for the team page to show in place."""
    number = max(1, min(request.args.get("page", 1, type=page_number) or 1, 100_000))
    people = queries.direct_reports_page(
        db.session(), current_user.person_id, number, team_grid.PER_PAGE
    )
    grid = team_grid.team_grid(
        db.session(),
        [team_grid.GridPerson(p.id, p.first_name, p.last_name, p.job_title) for p in people.people],
        clock.today(),
    )
    if request.args.get("partial") == "1":
        return _fragment("org/_team_grid.html", people=people, grid=grid)
    return render_template("org/team_grid.html", people=people, grid=grid)


def _fragment(template: str, **context) -> str:
    """A part of a page that the page fetches and shows in place: rendered without the
    layout's context (the navigation, built for every full page), which it does not use."""
    return current_app.jinja_env.get_template(template).render(**context)


_GRID_MARKS = {
    band: f'<span class="hm-mark" aria-hidden="true">{mark}</span> '
    for band, mark in BAND_MARKS.items()
}


@bp.app_template_filter("team_grid_cells")
def team_grid_cells(row: team_grid.GridRow, starts: Sequence[bool]) -> Markup:
    """A row of the team grid's cells, written in one go: a page holds 25 people by some 30
    competencies, and a template loop over 750 cells costs more than the rest of the page.
    Only numbers and fixed marks go in, never text from a user."""
    out = []
    for cell, start in zip(row.cells, starts, strict=True):
        edge = " group-start" if start else ""
        band = cell.band
        if band is None:
            out.append(f'<td class="hm-cell hm-none{edge}"><span class="hm-empty">—</span></td>')
        else:
            out.append(
                f'<td class="hm-cell hm-{band}{edge}">{_GRID_MARKS[band]}'
                f"<b>{cell.level:d}/{cell.required:d}</b></td>"
            )
    return Markup("".join(out))


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
        org_unit_id=request.args.get("unit", type=record_id),
        role_id=request.args.get("role", type=record_id),
        status=queries.status_or_active(request.args.get("status")),
        without_role=request.args.get("norole") == "1",
    )
    page = paginate(queries.people_query(flt), counter=queries.people_count(flt))
    return render_template(
        "org/people.html",
        page=page,
        flt=flt,
        person_url=_id_url("org.person", "person_id"),
        edit_url=_id_url("org.person_edit", "person_id"),
        active_url=_id_url("org.person_active", "person_id"),
        roles=queries.role_choices(db.session(), active_only=False),
        units=queries.unit_filter_choices(db.session(), flt.org_unit_id),
        confirm=ConfirmForm(),
    )


#: A record id no list shows, marking where a row's id goes in a link built once per page.
_ID_MARK = 987654321


def _id_url(endpoint: str, field: str) -> tuple[str, str]:
    """``url_for(endpoint, field=<id>)`` as (before, after) the id, routed once per page: a
    list then writes each row's link as before + id + after, not through url_for 50 times."""
    values: dict[str, Any] = {field: _ID_MARK}
    before, after = url_for(endpoint, **values).split(str(_ID_MARK))
    return before, after


def _person_form(person: Person | None = None) -> PersonForm:
    form = PersonForm(data=services.person_values(person) if person else None)
    form.org_unit.choices = NONE_CHOICE + queries.org_unit_choices(db.session())
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
        done, _ = run(
            lambda: services.save_person(
                db.session(), _person_data(form), person, seen=form.row_version.data
            ),
            form,
        )
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
    form = AssignmentForm(
        data=services.assignment_values(assignment) if assignment else {"start_date": clock.today()}
    )
    form.role.choices = NONE_CHOICE + queries.role_choices(db.session())
    form.office.choices = NONE_CHOICE + queries.office_choices(db.session())
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
                db.session(), person, _assignment_data(form), assignment, seen=form.row_version.data
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
                message=f"The assignment ends today, {clock.today():%d %B %Y}. It stays in their "
                "history, and their capability is no longer measured against this role.",
                action=url_for("org.assignment_end", assignment_id=assignment.id),
                button="End the assignment",
                back=url_for("org.person", person_id=assignment.person_id),
            )
        )
    done, _ = run(lambda: services.end_assignment(assignment, clock.today()))
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
        page = db.paginate(
            queries.org_units_query(q, status),
            page=current_page(),
            per_page=per_page(),
            error_out=False,
        )
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
    form = OrgUnitForm(data=services.unit_values(unit) if unit else None)
    form.parent.choices = NONE_CHOICE + queries.org_unit_choices(
        db.session(), exclude_id=unit.id if unit else None
    )
    return form


def _save_unit(form: OrgUnitForm, unit: OrgUnit | None) -> OrgUnit:
    head_id = services.person_id_by_number(db.session(), form.head.data, "head")
    return services.save_org_unit(
        db.session(),
        services.OrgUnitData(
            code=form.code.data, name=form.name.data, parent_id=form.parent.data, head_id=head_id
        ),
        unit,
        seen=form.row_version.data,
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
    page = db.paginate(
        queries.offices_query(level, status),
        page=current_page(),
        per_page=per_page(),
        error_out=False,
    )
    return render_template(
        "org/offices.html", page=page, level=level, status=status, confirm=ConfirmForm()
    )


def _office_form(office: Office | None = None) -> OfficeForm:
    form = OfficeForm(data=services.office_values(office) if office else None)
    form.hub.choices = NONE_CHOICE + queries.office_choices(
        db.session(), active_only=False, exclude_id=office.id if office else None
    )
    form.org_unit.choices = NONE_CHOICE + queries.org_unit_choices(db.session())
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
            lambda: services.save_office(
                db.session(), _office_data(form), office, seen=form.row_version.data
            ),
            form,
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
    page = db.paginate(
        queries.roles_query(q, status), page=current_page(), per_page=per_page(), error_out=False
    )
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
    form = RoleForm(data=services.role_values(role) if role else None)
    if form.validate_on_submit():
        done, saved = run(
            lambda: services.save_role(
                db.session(), _role_data(form), role, seen=form.row_version.data
            ),
            form,
        )
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
