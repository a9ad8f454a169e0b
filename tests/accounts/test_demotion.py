"""An administrator demoted mid-session loses the admin pages at once (RELIABILITY.md B3).

Permissions are read from the database on every request: taking the admin permission away
ends nothing (the person stays signed in as a learner), yet their very next /admin request
is refused with 403, with no new log-in in between.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.accounts import services
from app.accounts.models import LoginSession, Permission, User
from app.extensions import db
from tests.accounts.test_two_step_required import admin_routes, url_of
from tests.conftest import log_in
from tests.factories import make_person, make_user


def test_a_demoted_admin_gets_403_on_the_next_admin_request(app, client):
    boss = make_user(Permission.ADMIN, Permission.LEARNER, person=make_person("Bo", "Boss"))
    demoted = make_user(Permission.ADMIN, Permission.LEARNER, person=make_person("De", "Moted"))
    db.session.commit()
    log_in(client, demoted)
    assert client.get("/admin/accounts").status_code == 200

    # Another administrator takes the permission away, as the account form does.
    services.update_account(
        db.session(),
        user=db.session.get(User, demoted.id),
        email=demoted.email,
        permissions={Permission.LEARNER},
        active=True,
        actor_id=boss.id,
    )
    db.session.commit()

    assert client.get("/admin/accounts").status_code == 403
    # Still signed in (no new log-in, the session kept), only the admin pages are gone:
    assert client.get("/").status_code == 200
    sessions = select(func.count()).select_from(LoginSession)
    assert db.session.scalar(sessions.where(LoginSession.user_id == demoted.id)) == 1
    served = [
        url_of(rule)
        for rule, method in admin_routes(app)
        if method == "GET" and client.get(url_of(rule)).status_code != 403
    ]
    assert served == []
