"""Pages for every signed-in user: home, own profile, people they may see, team, roles."""

from datetime import date

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from app.access import (
    ADMIN,
    MANAGER,
    SIGNED_IN,
    TRAINER,
    allow,
    get_person_or_refuse,
    restrict_people,
    validation_scope,
)
from app.extensions import db
from app.framework.services import waiting_counts
from app.org import queries
from app.org.models import Person
from app.org.services import PeopleFilter, people_query

bp = Blueprint("main", __name__)


@bp.route("/")
@allow(SIGNED_IN)
def home():
    me = current_user.person
    perms = current_user.permissions
    waiting = (waiting_counts(db.session, validation_scope(current_user), me.id)
               if perms & {MANAGER, ADMIN} else None)
    return render_template(
        "main/home.html",
        profile=queries.person_profile(db.session, me, date.today()),
        team=queries.team_summary(db.session, current_user) if MANAGER in perms else None,
        org=queries.org_summary(db.session) if perms & {ADMIN, TRAINER} else None,
        waiting=waiting,
    )


@bp.route("/me")
@allow(SIGNED_IN)
def my_profile():
    profile = queries.person_profile(db.session, current_user.person, date.today())
    return render_template("main/person.html", profile=profile, own=True)


@bp.route("/people/<int:person_id>")
@allow(SIGNED_IN)
def person(person_id: int):
    target = get_person_or_refuse(db.session, current_user, person_id)
    profile = queries.person_profile(db.session, target, date.today())
    return render_template("main/person.html", profile=profile,
                           own=target.id == current_user.person_id)


@bp.route("/team")
@allow(MANAGER)
def team():
    flt = PeopleFilter(q=request.args.get("q", ""),
                       org_unit_id=request.args.get("unit", type=int),
                       status="active")
    # The team is everyone else in scope, as counted in the summary above the list.
    stmt = restrict_people(people_query(flt), current_user).where(
        Person.id != current_user.person_id)
    page = db.paginate(stmt, per_page=current_app.config["PEOPLE_PER_PAGE"], error_out=False)
    return render_template("main/team.html", page=page, flt=flt,
                           summary=queries.team_summary(db.session, current_user))


@bp.route("/roles")
@allow(SIGNED_IN)
def roles():
    return render_template("main/roles.html", holdings=queries.role_catalogue(db.session))
