"""Learning views: the catalogue of published paths and a path's overview, for anyone signed
in (what a path teaches, how long it takes, what it evidences, and how to start it)."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user

from app import clock
from app.access import SIGNED_IN, allow
from app.extensions import db
from app.forms import ConfirmForm
from app.learning import path_queries
from app.learning.views import bp


@bp.route("/learning/paths")
@allow(SIGNED_IN)
def catalogue():
    return render_template(
        "learning/catalogue/catalogue.html",
        paths=path_queries.published_paths(db.session()),
        enrolled=path_queries.my_enrolled_paths(db.session(), current_user.person_id),
    )


@bp.route("/learning/paths/<code>")
@allow(SIGNED_IN)
def path_overview(code: str):
    overview = path_queries.path_overview(db.session(), code, current_user.person_id, clock.today())
    if overview is None:
        abort(404)
    return render_template("learning/catalogue/overview.html", path=overview, confirm=ConfirmForm())
