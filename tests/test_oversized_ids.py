"""An id too large for the database, in any route's path, is an honest 404 — never a server
error (on SQLite an OverflowError, on PostgreSQL "integer out of range")."""

from __future__ import annotations

import re

from app.accounts.models import Permission
from tests.factories import make_user

HUGE = ("99999999999999999999", str(2**31))


def _int_routes(app) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and "<int:" in rule.rule
    )


def test_every_id_route_answers_404_for_an_id_beyond_the_databases_integers(app, client, login):
    login(make_user(Permission.ADMIN, Permission.TRAINER, Permission.MANAGER))
    routes = _int_routes(app)
    assert len(routes) > 40  # people, capability, learning, assessment, reports, admin…
    crashed = []
    for path in routes:
        for huge in HUGE:
            url = re.sub(r"<int:[^>]+>", huge, path)
            url = re.sub(r"<[^>]+>", "x", url)
            status = client.get(url).status_code
            if status >= 500 or status == 200:
                crashed.append((url, status))
    assert crashed == []


def test_an_ordinary_missing_id_is_still_404(client, login):
    login(make_user(Permission.ADMIN))
    assert client.get("/people/123456").status_code == 404
