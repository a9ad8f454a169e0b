"""What the security sweeps share: one seeded world per test module, clients signed in as
each audience, a digest of every table's rows, and the routes read from ``app.url_map``.

Each sweep module builds its world once (a module-scoped fixture, on the backend's
migrated database, like tests/demo/test_demo_reports.py) and empties the tables after its
last test. The tests of such a module never use the function-scoped ``app`` fixture, so
nothing empties the world between them. The world is test_permissions.py's
``build_world``: real records for every URL argument of every route, so a route added
later is swept with real ids as soon as the route matrix knows how to reach it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask

from app.accounts.models import Permission, User
from app.extensions import db
from tests.conftest import empty_all_tables, log_in, make_app
from tests.factories import make_person, make_unit, make_user
from tests.test_permissions import (
    ADMIN,
    ANON,
    AUDIENCES,
    EXPECTED,
    LEARNER,
    MANAGER,
    TRAINER,
    build_world,
    extract_csrf,
    probe_urls,
    probes,
)

__all__ = [
    "ADMIN",
    "ANON",
    "AUDIENCES",
    "EXPECTED",
    "LEARNER",
    "MANAGER",
    "TRAINER",
    "UNSAFE",
    "World",
    "changed_tables",
    "export_records",
    "header_problems",
    "is_download",
    "csrf_of",
    "digest",
    "probe_urls",
    "probes",
    "seeded_world",
    "signed_in_client",
]

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: Columns a request may write without changing anything the user did, left out of the
#: digest, each with its reason. Nothing else may change on a GET or a refused POST.
WRITTEN_ON_ANY_REQUEST: dict[str, str] = {
    # app/accounts/services.py load_login_session: the idle timeout needs the time of the
    # session's last request, touched at most once a minute (a sweep lasting over a minute
    # sees it move). It is the session's own bookkeeping, not data a user changed.
    "login_sessions.last_seen_at": "idle-timeout bookkeeping, touched once a minute",
}

#: Rows a GET may add, each with its reason: an export (a CSV/XLSX download) is recorded in
#: the audit trail as it is served (app/audit, ASVS V7/V8: who took which data out), which
#: also moves the chain head the events are linked by. The sweeps count these rows and
#: check there is exactly one per download served; every other audit row is in the digest.
EXPORT_ACTION = "export"
WRITTEN_ON_EXPORT: dict[str, str] = {
    "audit_events": "rows with action 'export': the record of a download, one per download",
    "audit_chain_head": "the hash chain's head, moved by each audit row added",
}


@dataclass
class World:
    """The seeded app, its URL arguments, and a user per audience (ids, not rows: rows
    belong to the session that loaded them)."""

    app: Flask
    args: dict[str, Any]
    users: dict[str, int]  # audience -> user id
    people: dict[str, int]  # audience -> person id
    extra: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def context(self) -> Iterator[Any]:
        """An app context on the world's database; yields the session."""
        with self.app.app_context():
            try:
                yield db.session
            finally:
                db.session.rollback()
                db.session.remove()

    def me(self, audience: str) -> Any:
        """What test_permissions.url_args needs of the signed-in user: the person id."""
        if audience == ANON:
            return None
        return _Me(self.people[audience])

    def client(self, audience: str):
        """A new client signed in as the audience's user (a new login session each time)."""
        if audience == ANON:
            return self.app.test_client()
        return signed_in_client(self, self.users[audience])


@dataclass
class _Me:
    person_id: int


def signed_in_client(world: World, user_id: int):
    client = world.app.test_client()
    with world.context() as session:
        log_in(client, session.get(User, user_id))
    return client


@contextmanager
def seeded_world(
    database_url: str,
    extend: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    prepare: Callable[[Flask], None] | None = None,
    **overrides,
) -> Iterator[World]:
    """test_permissions.build_world as seen by a manager (who heads the probe unit), plus
    a trainer and an administrator elsewhere in the tree; the target (a learner) is the
    learner audience. ``extend(args)`` may add records and returns extra values kept on
    the world; ``prepare(app)`` may add test-only routes before any request. The tables
    are emptied afterwards."""
    app = make_app(database_url, **overrides)
    if prepare is not None:
        prepare(app)
    try:
        with app.app_context():
            me, args, objects, _state = build_world(MANAGER)
            target, target_user = objects[0], objects[1]
            elsewhere = make_unit("Sweep Elsewhere")
            trainer = make_user(
                Permission.LEARNER,
                Permission.TRAINER,
                person=make_person("Tess", "Trainer", unit=elsewhere),
            )
            admin = make_user(
                Permission.LEARNER,
                Permission.ADMIN,
                person=make_person("Adam", "Admin", unit=elsewhere),
            )
            users = {LEARNER: target_user.id, MANAGER: me.id, TRAINER: trainer.id, ADMIN: admin.id}
            people = {
                LEARNER: target.id,
                MANAGER: me.person_id,
                TRAINER: trainer.person_id,
                ADMIN: admin.person_id,
            }
            extra = extend(args) if extend else {}
            db.session.commit()
            db.session.remove()
        yield World(app, args, users, people, extra)
    finally:
        with app.app_context():
            db.session.remove()
            empty_all_tables()
            db.engine.dispose()


def csrf_of(client) -> str:
    """The CSRF token of the client's session, read from a page with a form."""
    response = client.get("/account/password")
    assert response.status_code == 200, response.status_code
    return extract_csrf(response.text)


# --- the digest of the database --------------------------------------------------------------


def digest(world: World) -> dict[str, str]:
    """table -> a hash of all its rows (every column but WRITTEN_ON_ANY_REQUEST's), in
    primary-key order; the audit trail's export records and chain head apart (see
    WRITTEN_ON_EXPORT), counted under "export records" instead."""
    out = {}
    with world.context() as session:
        for table in db.metadata.sorted_tables:
            if table.name == "audit_chain_head":
                continue
            columns = [
                c for c in table.columns if f"{table.name}.{c.name}" not in WRITTEN_ON_ANY_REQUEST
            ]
            order = list(table.primary_key.columns) or columns
            query = sa.select(*columns).order_by(*order)
            if table.name == "audit_events":
                query = query.where(table.c.action != EXPORT_ACTION)
            rows = session.execute(query).all()
            out[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
        events = db.metadata.tables["audit_events"]
        out["export records"] = str(
            session.scalar(
                sa.select(sa.func.count())
                .select_from(events)
                .where(events.c.action == EXPORT_ACTION)
            )
        )
    return out


def export_records(before: dict[str, str], after: dict[str, str]) -> int:
    """How many export records (audit rows of downloads) were added between two digests."""
    return int(after["export records"]) - int(before["export records"])


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The tables whose rows changed, the export records left out (see export_records)."""
    return sorted(
        name
        for name in before.keys() | after.keys()
        if name != "export records" and before.get(name) != after.get(name)
    )


# --- pages compared as the user sees them -----------------------------------------------------

SPREADSHEET_TYPES = ("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml")


def is_download(response) -> bool:
    """Whether the response is a CSV or XLSX export (what the audit trail records)."""
    return response.content_type.startswith(SPREADSHEET_TYPES)


# --- the security headers (D2) ------------------------------------------------------------------

#: Header -> what its value must contain, on every response the app sends.
REQUIRED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
#: What the Content-Security-Policy must say (no inline script, no framing, no plugins).
CSP_DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
)
PUBLIC_FILES = ("static", "bootstrap.static")
#: A file a user uploaded is served under a stricter policy of its own (nothing loads, and
#: the browser sandboxes it, and no page may frame it: app/learning/views/certificates.py).
SANDBOXED_FILE_CSP = ("default-src 'none'", "sandbox", "frame-ancestors 'none'")


def header_problems(response, *, signed_in: bool, endpoint: str | None) -> list[str]:
    """What is missing from a response's security headers (empty: nothing)."""
    problems = []
    headers = response.headers
    for name, value in REQUIRED_HEADERS.items():
        if value not in headers.get(name, ""):
            problems.append(f"{name}: {headers.get(name)!r}")
    csp = headers.get("Content-Security-Policy", "")
    if not all(d in csp for d in SANDBOXED_FILE_CSP):
        problems += [f"CSP lacks {d}" for d in CSP_DIRECTIVES if d not in csp]
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append(f"CSP allows inline code: {csp}")
    if signed_in and endpoint not in PUBLIC_FILES:
        if "no-store" not in headers.get("Cache-Control", ""):
            problems.append(f"signed in, Cache-Control {headers.get('Cache-Control')!r}")
    return problems
