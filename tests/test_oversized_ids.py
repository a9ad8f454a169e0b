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


#: Every name a page reads a record id or a page number from its query string.
QUERY_IDS = ("unit", "role", "person", "page", "assessment", "path", "from", "to", "compare")


def _plain_get_routes(app) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ())
        and "<" not in rule.rule
        and not rule.rule.startswith(("/static", "/logout"))
    )


def test_every_page_refuses_an_oversized_number_in_its_query_string_without_a_500(
    app, client, login
):
    """``?unit=99999999999999999999`` (or any id or page argument) is read as absent or
    refused, never passed to the database: no page answers with a server error."""
    login(make_user(Permission.ADMIN, Permission.TRAINER, Permission.MANAGER))
    routes = _plain_get_routes(app)
    assert len(routes) > 40
    crashed = []
    for path in routes:
        for huge in HUGE:
            query = "&".join(f"{name}={huge}" for name in QUERY_IDS)
            status = client.get(f"{path}?{query}").status_code
            if status >= 500:
                crashed.append((path, status))
    assert crashed == []


def test_a_sensible_query_id_still_filters(client, login):
    """The bound keeps ordinary ids working: the people list filtered by a unit that does
    not exist shows nobody, rather than ignoring the filter."""
    login(make_user(Permission.ADMIN))
    assert client.get("/admin/people?unit=5").status_code == 200
