"""C3, mass assignment and data minimisation (checklist RELIABILITY.md C3).

The real edit forms are read from their pages, one declared field changed, and posted back
with extra fields a forger would add (role, active, permissions, is_admin, score, user_id,
person_id of another person, manager_id and the like). The save must go through (the
declared change is stored) and nothing beyond the form's declared fields may change: the
rows of every table a form could reach are compared before and after, column by column.

Then every JSON the app answers is checked against an allow-list of keys: the GET crawl of
test_csrf_sweep.py finds the JSON routes; here the autosave (the one JSON answer to a form)
and the personal-data download are posted and their keys checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.learning.factories import make_path
from tests.security.forms import form_posting_to
from tests.security.json_keys import assert_json_allowed
from tests.security.world import ADMIN, LEARNER, MANAGER, TRAINER, World, csrf_of, seeded_world


#: Names a forger adds to a form. Those a form declares itself are left out for that form.
def forged_fields(world: World) -> dict[str, str]:
    other = str(world.people[ADMIN])
    return {
        "role": "admin",
        "roles": "admin",
        "active": "0",
        "is_active": "0",
        "permissions": "admin",
        "permission": "admin",
        "is_admin": "1",
        "admin": "1",
        "score": "100",
        "score_percent": "100",
        "passed": "1",
        "status": "validated",
        "user_id": str(world.users[ADMIN]),
        "person_id": other,
        "manager_id": other,
        "line_manager_id": other,
        "org_unit_id": "1",
        "role_id": str(world.args["role_id"] + 1),
        "version_id": "1",
        "competency_id": "1",
        "employee_number_id": other,
        "validated_by_id": str(world.users[ADMIN]),
        "created_by_id": str(world.users[ADMIN]),
        "row_version_forged": "99",
    }


#: Tables any of the forms could write to (directly or by a forged id).
WATCHED = (
    "people",
    "users",
    "user_permissions",
    "role_assignments",
    "evidence",
    "calibrations",
    "enrolments",
    "module_completions",
    "attempts",
    "attempt_items",
    "login_sessions",
    "two_factor",
    "role_requirements",
    "roles",
)
#: Columns that move on every save of a row (optimistic locking, timestamps).
BOOKKEEPING = {"row_version", "updated_at", "last_seen_at", "saved_at", "revision"}

Snapshot = dict[str, dict[tuple, dict[str, Any]]]


def snapshot(world: World) -> Snapshot:
    out: Snapshot = {}
    with world.context() as session:
        for name in WATCHED:
            table = db.metadata.tables[name]
            pk = list(table.primary_key.columns)
            rows = session.execute(sa.select(table)).mappings().all()
            out[name] = {tuple(r[c.name] for c in pk): dict(r) for r in rows}
    return out


def changes(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    """table.column -> [(pk, old, new)] for changed columns; table+'+' / table+'-' for rows
    added or removed."""
    out: dict[str, Any] = {}
    for name in WATCHED:
        old, new = before[name], after[name]
        for pk in new.keys() - old.keys():
            out.setdefault(f"{name}+", []).append(new[pk])
        for pk in old.keys() - new.keys():
            out.setdefault(f"{name}-", []).append(old[pk])
        for pk in old.keys() & new.keys():
            for column, value in new[pk].items():
                if column not in BOOKKEEPING and old[pk][column] != value:
                    out.setdefault(f"{name}.{column}", []).append((pk, old[pk][column], value))
    return out


def extend(args: dict) -> dict:
    """A path nobody is enrolled on (for the enrolment form)."""
    fresh = make_path(code="MAS", title="Mass assignment path")
    return {"fresh_path_id": fresh.path_id}


@pytest.fixture(scope="module")
def world(database_url):
    with seeded_world(database_url, extend) as built:
        yield built


def post_form(client, world: World, page: str, action: str, **change: str):
    """Read the form on ``page`` posting to ``action``, change declared fields, add the
    forged ones it does not declare, post it; returns (response, the form)."""
    html = client.get(page)
    assert html.status_code == 200, (page, html.status_code)
    form = form_posting_to(html.text, page, action)
    for name in change:
        assert name in form.names, f"{name} is not a field of the form on {page}"
    forged = {k: v for k, v in forged_fields(world).items() if k not in form.names}
    data = {**forged, **form.data(**change)}
    return client.post(action, data=data), form


def problems(html: str) -> list[str]:
    """The messages a form page shows (to say why a save did not go through)."""
    found = re.findall(r'class="[^"]*(?:invalid-feedback|alert)[^"]*"[^>]*>(.*?)<', html, re.S)
    return [" ".join(m.split()) for m in found if m.strip()]


def assert_only(found: dict[str, Any], allowed: set[str], what: str) -> None:
    extra = {k: v for k, v in found.items() if k not in allowed}
    assert not extra, f"{what} changed more than its declared fields: {extra}"


#: (name, audience, page, action, declared changes, what may change, check) per form.
Case = tuple[str, str, Callable[[World], str], Callable[[World], str], Callable, set[str], Callable]


def _person_page(w: World) -> str:
    return f"/admin/people/{w.args['person_id']}/edit"


def _account_page(w: World) -> str:
    return f"/admin/accounts/{w.args['user_id']}/edit"


def _attempt_page(w: World) -> str:
    return f"/attempts/{w.args['attempt_id']}"


def _enrol_page(w: World) -> str:
    return f"/people/{w.args['person_id']}/learning/enrol"


def _check_person(world, found, form):
    assert [new for _, _, new in found["people.job_title"]] == ["Probe analyst"]


def _check_account(world, found, form):
    assert [new for _, _, new in found["users.email"]] == ["tara.probe@example.com"]


def _check_self_rating(world, found, form):
    (row,) = found["evidence+"]
    assert row["person_id"] == world.people[LEARNER]
    assert row["status"] != "validated" and str(row["status"]).lower().endswith("pending")
    assert row["note"] == "Forged fields alongside."
    # a new rating withdraws the learner's own earlier pending rating of the competency
    with world.context() as session:
        for (evidence_id,), old, new in found.get("evidence.status", []):
            owner = session.scalar(
                sa.text(f"SELECT person_id FROM evidence WHERE id = {evidence_id}")
            )
            assert owner == world.people[LEARNER] and (old, new) == ("pending", "withdrawn")


def _check_enrolment(world, found, form):
    (row,) = found["enrolments+"]
    assert row["person_id"] == world.args["person_id"]
    assert row["path_id"] == world.extra["fresh_path_id"]


def _profile_page(w: World) -> str:
    return f"/framework/draft/profiles/{w.args['role_id']}"


def _profile_change(w: World, form) -> dict[str, str]:
    """The probe competency required at another level than now."""
    (name,) = [n for n in form.names if n.startswith("level_")]
    now = form.values[name][0]
    return {name: next(v for v in form.options[name] if v not in (now, "0"))}


def _check_profile(world, found, form):
    with world.context() as session:
        for key in ("role_requirements+", "role_requirements-"):
            for row in found.get(key, []):
                assert row["role_id"] == world.args["role_id"], row
        for (row_id,), _, _ in found.get("role_requirements.level", []):
            role = session.scalar(
                sa.text(f"SELECT role_id FROM role_requirements WHERE id = {row_id}")
            )
            assert role == world.args["role_id"]
    assert found.get("role_requirements+") or found.get("role_requirements.level")


def _check_answer(world, found, form):
    changed = found.get("attempt_items.answer", [])
    assert changed, "the answer was not saved"


CASES: list[Case] = [
    (
        "person edit",
        ADMIN,
        _person_page,
        _person_page,
        lambda w, f: {"job_title": "Probe analyst", "email": "tara.target@example.com"},
        {"people.job_title", "people.email"},
        _check_person,
    ),
    (
        "account edit",
        ADMIN,
        _account_page,
        _account_page,
        lambda w, f: {"email": "tara.probe@example.com"},
        {"users.email"},
        _check_account,
    ),
    (
        "self-rating",
        LEARNER,
        lambda w: "/capability",
        lambda w: "/capability/self-rating",
        lambda w, f: {
            "competency": next(v for v in f.options["competency"] if v),
            "level": (f.options.get("level") or ["2"])[-1],
            "note": "Forged fields alongside.",
        },
        {"evidence+", "evidence.status"},
        _check_self_rating,
    ),
    (
        "enrolment",
        MANAGER,
        _enrol_page,
        _enrol_page,
        lambda w, f: {
            "path": str(w.extra["fresh_path_id"]),
            "due_on": (date.today() + timedelta(days=40)).isoformat(),
        },
        {"enrolments+"},
        _check_enrolment,
    ),
    (
        "role profile",
        TRAINER,
        _profile_page,
        _profile_page,
        _profile_change,
        {"role_requirements+", "role_requirements-", "role_requirements.level"},
        _check_profile,
    ),
    (
        "attempt answer save",
        LEARNER,
        _attempt_page,
        _attempt_page,
        lambda w, f: _first_choice(f),
        {"attempt_items.answer", "attempt_items.answered_at", "attempts.last_saved_at"},
        _check_answer,
    ),
]


def _first_choice(form) -> dict[str, str]:
    """Answer the first question shown (fields a<item id>): its first offered choice."""
    for name, offered in sorted(form.options.items()):
        if name.startswith("a") and offered:
            return {name: offered[0]}
    raise AssertionError(f"no question on the attempt page: {sorted(form.names)}")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_forged_field_changes_nothing_beyond_the_declared_ones(world, case):
    name, audience, page_of, action_of, change_of, allowed, check = case
    page, action = page_of(world), action_of(world)
    client = world.client(audience)
    if page.startswith("/framework/draft/"):  # the trainer opens a draft of the framework
        opened = client.post("/framework/draft", data={"csrf_token": csrf_of(client)})
        assert opened.status_code == 302
    form = form_posting_to(client.get(page).text, page, action)
    before = snapshot(world)
    response, form = post_form(client, world, page, action, **change_of(world, form))
    after = snapshot(world)
    assert response.status_code == 302, (name, response.status_code, problems(response.text))
    found = changes(before, after)
    assert_only(found, allowed, name)
    check(world, found, form)


# --- JSON answers ----------------------------------------------------------------------------


def test_the_autosave_answers_only_its_allowed_keys(world):
    client = world.client(LEARNER)
    page = _attempt_page(world)
    form = form_posting_to(client.get(page).text, page, page)
    answer = _first_choice(form)
    item = next(iter(answer))[1:].split("-")[0]
    data = {**forged_fields(world), **form.data(**answer), "item": item}
    response = client.post(f"{page}/autosave", data=data)
    assert response.status_code == 200, response.text[:500]
    assert response.is_json
    document = assert_json_allowed("assessment.autosave", response.data)
    assert document["ok"] is True


def test_the_personal_data_download_sends_no_secret(world):
    client = world.client(LEARNER)
    response = client.post(
        "/account/my-data/download", data={"csrf_token": csrf_of(client), "format": "json"}
    )
    assert response.status_code == 200
    document = assert_json_allowed("privacy.my_data_download", response.data)
    assert document["person_id"] == world.people[LEARNER]
