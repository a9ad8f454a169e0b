"""D1, CSRF and safe methods, swept over the whole app (checklist RELIABILITY.md D1).

Every POST/PUT/PATCH/DELETE route in ``app.url_map`` is sent its real form (real ids in
the URL, test_permissions.py's POST_DATA) by a user allowed to use it, three times: with no
token, with a token from another login session of the same user, and with a token past
WTF_CSRF_TIME_LIMIT by one second. Each is refused with the product's own "Form expired"
page (400), for the reason the case is about, and no table changes.

Then every GET route is crawled as each audience (anonymous, learner, manager, trainer,
admin), with every report's query strings and export formats: no table changes either
(world.WRITTEN_ON_ANY_REQUEST lists the one column a GET may move, and why).
"""

from __future__ import annotations

import logging
import time

import pytest
from flask import session as flask_session
from flask_wtf.csrf import validate_csrf
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from wtforms import ValidationError

from app.audit.security import LOGGER_NAME
from tests.security.json_keys import assert_json_allowed
from tests.security.world import (
    ADMIN,
    ANON,
    AUDIENCES,
    EXPECTED,
    LEARNER,
    MANAGER,
    TRAINER,
    UNSAFE,
    World,
    changed_tables,
    csrf_of,
    digest,
    export_records,
    header_problems,
    is_download,
    probe_urls,
    probes,
    seeded_world,
)
from tests.test_permissions import post_data

#: Who sends each unsafe route's form: the first audience allowed to use it, the manager
#: first (who heads the probe unit, so the object-scoped routes act on their own people).
SENDER_ORDER = (MANAGER, TRAINER, ADMIN, LEARNER)

REASONS = {
    "no token": "The CSRF token is missing.",
    "another session's token": "The CSRF tokens do not match.",
    "expired token": "The CSRF token has expired.",
}


@pytest.fixture(scope="module")
def world(database_url):
    with seeded_world(database_url) as built:
        yield built


def unsafe_routes(app) -> list[tuple[str, str, object]]:
    return [(e, m, r) for e, m, r in probes(app) if m in UNSAFE]


def sender(endpoint: str) -> str:
    return next(a for a in SENDER_ORDER if a in EXPECTED[endpoint])


def expired_token(world: World, client, seconds_past: int = 1) -> str:
    """A token for the client's session signed WTF_CSRF_TIME_LIMIT + ``seconds_past``
    seconds ago (Flask-WTF's own serializer and salt, the clock moved back)."""
    config = world.app.config
    limit = config["WTF_CSRF_TIME_LIMIT"]

    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - limit - seconds_past

    with client.session_transaction() as sess:
        raw = sess["csrf_token"]
    serializer = URLSafeTimedSerializer(
        config.get("WTF_CSRF_SECRET_KEY") or config["SECRET_KEY"],
        salt="wtf-csrf-token",
        signer=Earlier,
    )
    return str(serializer.dumps(raw))


def test_the_forged_expired_token_is_the_real_token_but_for_its_age(world):
    """Control for the expired case: the same construction one minute younger than the
    limit is accepted, so the refusal below is about the age alone."""
    client = world.client(LEARNER)
    csrf_of(client)
    fresh, stale = expired_token(world, client, -60), expired_token(world, client, 1)
    with client.session_transaction() as sess:
        raw = sess["csrf_token"]
    with world.app.test_request_context():
        flask_session["csrf_token"] = raw
        validate_csrf(fresh)
        with pytest.raises(ValidationError, match="expired"):
            validate_csrf(stale)


def test_every_unsafe_route_refuses_a_missing_foreign_or_expired_token(world, caplog):
    app = world.app
    routes = unsafe_routes(app)
    clients, tokens = {}, {}
    for audience in SENDER_ORDER:
        clients[audience] = world.client(audience)
        csrf_of(clients[audience])
        # another login session of the same user: its own session, its own token
        tokens[audience] = csrf_of(world.client(audience))

    failures: list[str] = []
    probed = 0
    before = digest(world)
    for endpoint, method, rule in routes:
        audience = sender(endpoint)
        client = clients[audience]
        cases = {
            "no token": None,
            "another session's token": tokens[audience],
            "expired token": expired_token(world, client),
        }
        form = post_data(endpoint, world.args)
        for url in probe_urls(rule, world.args, world.me(audience), audience, method):
            for case, token in cases.items():
                data = dict(form) if token is None else {**form, "csrf_token": token}
                caplog.clear()
                with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
                    response = client.open(url, method=method, data=data)
                probed += 1
                reasons = [r.getMessage() for r in caplog.records if r.name == LOGGER_NAME]
                where = f"{method} {url} ({endpoint}) as {audience}, {case}"
                if response.status_code != 400 or "Form expired" not in response.text:
                    failures.append(f"{where}: {response.status_code}, not the Form expired page")
                elif not any(REASONS[case] in r and "csrf_failure" in r for r in reasons):
                    failures.append(f"{where}: refused for another reason: {reasons}")
    after = digest(world)

    print(f"\nD1 CSRF sweep: {len(routes)} unsafe routes x {len(REASONS)} cases = {probed} probes")
    assert len(routes) >= 100  # 104 POST routes when this sweep was written
    assert probed == len(routes) * len(REASONS)
    assert not failures, "\n".join(failures)
    assert not changed_tables(before, after), changed_tables(before, after)
    assert export_records(before, after) == 0


@pytest.mark.parametrize("audience", AUDIENCES)
def test_the_get_crawl_changes_nothing(world, audience):
    client = world.client(audience)
    before = digest(world)
    probed, downloads, problems = 0, 0, []
    kinds: dict[str, int] = {}
    for endpoint, method, rule in probes(world.app):
        if method != "GET":
            continue
        for url in probe_urls(rule, world.args, world.me(audience), audience, method):
            response = client.get(url)
            probed += 1
            where = f"GET {url} ({endpoint}): {response.status_code}"
            kind = response.content_type.split(";")[0]
            kinds[kind] = kinds.get(kind, 0) + 1
            downloads += response.status_code == 200 and is_download(response)
            if response.status_code >= 500:
                problems.append(where)
            # D2: the security headers on every response, whatever its type
            signed_in = audience != ANON
            problems += [
                f"{where}: {p}"
                for p in header_problems(response, signed_in=signed_in, endpoint=endpoint)
            ]
            # C3: every JSON answer keeps to its allow-list of keys
            if kind == "application/json" and response.status_code == 200:
                assert_json_allowed(endpoint, response.data)
            response.close()
    after = digest(world)
    print(f"\nD1 GET crawl as {audience}: {probed} requests, {downloads} downloads, types {kinds}")
    assert probed >= 139
    assert not problems, "\n".join(problems)
    changed = changed_tables(before, after)
    assert not changed, f"GETs as {audience} changed the tables {changed}"
    # the only rows a GET adds: one audit record per CSV/XLSX export (WRITTEN_ON_EXPORT)
    assert export_records(before, after) == downloads
