"""Bad input on each form gives a message at the field and saves nothing.

Every form of the app is posted with bad input, WTForms-level (missing, malformed, too
long, not a choice) and domain-level (rules enforced by the use-cases). Each case checks
that the form comes back (200), that the message sits in the ``invalid-feedback`` block
right after the input it concerns and nowhere else, and that the committed database is
exactly as before. One happy path per form proves the same post, made valid, does save.

CSRF protection stays on: every post first GETs the page and sends its csrf_token back.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from app.accounts.models import LoginSession, PasswordToken, Permission, User
from app.accounts.passwords import verify_password
from app.accounts.services import issue_password_token
from app.accounts.views import GENERIC_LOGIN_ERROR
from app.extensions import db
from app.org.models import (
    AssignmentKind,
    Office,
    OrgUnit,
    P3Level,
    Permanence,
    Person,
    Role,
    RoleAssignment,
    RoleFamily,
    RoleLevel,
)
from tests.factories import (
    PASSWORD,
    assign,
    make_office,
    make_person,
    make_role,
    make_unit,
    make_user,
)

REQUIRED = "This field is required."
NOT_A_CHOICE = "Not a valid choice."
BAD_DATE = "Not a valid date value."
NO_AT_SIGN = "Not a valid email address. An email address must have an @-sign."
BAD_CODE = "Use letters, digits, dots, dashes or underscores, without spaces."
NO_SUCH_NUMBER = "No person has that employee number."
DIFFERENT = "The two passwords differ."
TOO_SHORT = "Use at least 12 characters."
TOO_EASY = "This password is too easy to guess; choose another."
NEW_PASSWORD = "violet lantern orbit 42"


def too_long(limit: int) -> str:
    return f"Field cannot be longer than {limit} characters."


# --- helpers ----------------------------------------------------------------------------------


def csrf_token(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, f"GET {url} gave {page.status_code}"
    tag = re.search(r'<input[^>]*\bname="csrf_token"[^>]*>', page.text)
    assert tag, f"no csrf_token input on {url}"
    return re.search(r'\bvalue="([^"]+)"', tag.group(0)).group(1)


def post_form(client, url: str, data: dict):
    """GET the form (for its CSRF token), then POST ``data`` with it."""
    return client.post(url, data={**data, "csrf_token": csrf_token(client, url)})


class _FeedbackParser(HTMLParser):
    """Collects each ``invalid-feedback`` message under the form control just before it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.last_control: str | None = None
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.invalid: set[str] = set()
        self._capture: list[str] | None = None
        self._owner: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag in ("input", "select", "textarea") and attrs.get("name"):
            self.last_control = attrs["name"]
            if "is-invalid" in classes:
                self.invalid.add(attrs["name"])
        elif tag == "ul" and attrs.get("id") and "is-invalid" in classes:
            # a multi-checkbox list: the list carries the field's id and the invalid class
            self.last_control = attrs["id"]
            self.invalid.add(attrs["id"])
        elif tag == "div" and "invalid-feedback" in classes:
            self._capture, self._owner = [], self.last_control

    def handle_data(self, data):
        if self._capture is not None:
            self._capture.append(data)

    def handle_endtag(self, tag):
        if tag == "div" and self._capture is not None:
            self.errors[self._owner].append("".join(self._capture).strip())
            self._capture = None


def field_errors(html: str) -> _FeedbackParser:
    parser = _FeedbackParser()
    parser.feed(html)
    parser.close()
    return parser


def assert_field_error(response, field: str | dict[str, str], message: str = "") -> None:
    """The form came back with ``message`` right after ``field``'s input, and no other error.

    ``field`` may also map several fields to their messages, when one input breaks two.
    """
    expected = field if isinstance(field, dict) else {field: message}
    assert response.status_code == 200, response.status_code
    found = field_errors(response.text)
    for name, text in expected.items():
        assert text in found.errors.get(name, []), (
            f"expected {text!r} at {name!r}; errors shown: {dict(found.errors)}"
        )
        assert name in found.invalid, f"{name!r} is not marked is-invalid"
    assert set(found.errors) == set(expected), f"errors at other fields: {dict(found.errors)}"
    assert 'class="alert alert-danger' not in response.text


def snapshot(*skip_tables: str) -> dict[str, list[str]]:
    """Every committed row of every table (read on a connection of its own)."""
    with db.engine.connect() as conn:
        return {
            table.name: sorted(repr(tuple(row)) for row in conn.execute(table.select()))
            for table in db.metadata.sorted_tables
            if table.name not in skip_tables
        }


def count(model) -> int:
    with db.engine.connect() as conn:
        return len(conn.execute(select(model.__table__)).all())


def check_rejected(client, url: str, data: dict, field: str | dict, message: str) -> None:
    # A wrong password is counted by the log-in throttle, by design (login_throttles).
    before = snapshot("login_throttles")
    response = post_form(client, url, data)
    assert_field_error(response, field, message)
    assert snapshot("login_throttles") == before, "bad input changed the database"


def resolve(value, world):
    return value(world) if callable(value) else value


# --- the scene --------------------------------------------------------------------------------


@dataclass
class World:
    admin_user: int
    root: int
    child: int
    grandchild: int
    finance: int
    boss: int
    worker: int
    loner: int
    hub: int
    spoke: int
    temp: int
    closed: int
    analyst: int
    manager_role: int
    retired_role: int
    assignment: int
    later_assignment: int
    account: int


@pytest.fixture
def world(client, login) -> World:
    """An admin signed in, and a small organisation to edit."""
    admin_user = make_user(Permission.ADMIN, email="admin@example.org")
    root = make_unit("Head Office", code="HO")
    child = make_unit("Delivery", parent=root, code="DEL")
    grandchild = make_unit("Projects", parent=child, code="PRJ")
    finance = make_unit("Finance", code="FIN")
    boss = make_person("Bea", "Boss", unit=root, number="B001")
    worker = make_person("Wes", "Worker", unit=child, manager=boss, number="W001")
    loner = make_person("Lou", "Loner", unit=finance, number="L001")
    hub = make_office("HUB", name="Enterprise PMO", start_date=date(2020, 1, 1))
    spoke = make_office("SPK", name="Delivery PMO", hub_id=hub.id, p3_level=P3Level.PROGRAMME)
    temp = make_office(
        "TMP",
        name="Programme Office",
        p3_level=P3Level.PROGRAMME,
        permanence=Permanence.TEMPORARY,
        start_date=date(2024, 1, 1),
    )
    closed = make_office(
        "OLD",
        name="Closed Office",
        p3_level=P3Level.PROJECT,
        permanence=Permanence.TEMPORARY,
        start_date=date(2020, 1, 1),
        end_date=date(2022, 12, 31),
    )
    analyst = make_role("PMOA", "PMO Analyst")
    manager_role = make_role(
        "PM", "Project Manager", p3_level=RoleLevel.PROJECT, family=RoleFamily.DELIVERY
    )
    retired_role = make_role("OLDR", "Retired Role", active=False)
    assignment = assign(worker, analyst, start=date(2024, 1, 1), end=date(2024, 6, 30))
    later = assign(worker, analyst, start=date(2025, 1, 1))
    account = make_user(Permission.LEARNER, person=boss, email="bea@example.org")
    login(admin_user)  # commits
    return World(
        admin_user.id,
        root.id,
        child.id,
        grandchild.id,
        finance.id,
        boss.id,
        worker.id,
        loner.id,
        hub.id,
        spoke.id,
        temp.id,
        closed.id,
        analyst.id,
        manager_role.id,
        retired_role.id,
        assignment.id,
        later.id,
        account.id,
    )


def _case(id_, overrides, field, message):
    return pytest.param(overrides, field, message, id=id_)


# --- people -----------------------------------------------------------------------------------


def person_data(w: World) -> dict:
    return {
        "employee_number": "N100",
        "first_name": "Nia",
        "last_name": "Newcomer",
        "email": "nia@example.org",
        "job_title": "Analyst",
        "org_unit": str(w.child),
        "line_manager": "B001",
    }


PERSON_NEW_CASES = [
    _case("number-missing", {"employee_number": ""}, "employee_number", REQUIRED),
    _case("number-blank", {"employee_number": "   "}, "employee_number", REQUIRED),
    _case("number-has-space", {"employee_number": "N 100"}, "employee_number", BAD_CODE),
    _case("number-bad-chars", {"employee_number": "N100<script>"}, "employee_number", BAD_CODE),
    _case("number-too-long", {"employee_number": "N" * 33}, "employee_number", too_long(32)),
    _case("first-name-missing", {"first_name": ""}, "first_name", REQUIRED),
    _case("last-name-missing", {"last_name": ""}, "last_name", REQUIRED),
    _case("first-name-too-long", {"first_name": "x" * 81}, "first_name", too_long(80)),
    _case("last-name-too-long", {"last_name": "x" * 81}, "last_name", too_long(80)),
    _case("bad-email", {"email": "not-an-email"}, "email", NO_AT_SIGN),
    _case(
        "reserved-email",
        {"email": "nia@example.invalid"},
        "email",
        "Not a valid email address. The part after the @-sign is a special-use or reserved "
        "name that cannot be used with email.",
    ),
    _case(
        "email-too-long",
        {"email": "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".org"},
        "email",
        too_long(254),
    ),
    _case("job-title-too-long", {"job_title": "x" * 121}, "job_title", too_long(120)),
    _case("org-unit-missing", {"org_unit": ""}, "org_unit", "Choose the person's org unit."),
    _case("org-unit-none", {"org_unit": "None"}, "org_unit", "Choose the person's org unit."),
    _case("org-unit-unknown", {"org_unit": "99999"}, "org_unit", NOT_A_CHOICE),
    _case("manager-too-long", {"line_manager": "B" * 33}, "line_manager", too_long(32)),
    # domain rules
    _case(
        "duplicate-number",
        {"employee_number": "W001"},
        "employee_number",
        "Another person already uses 'W001'.",
    ),
    _case(
        "duplicate-number-other-case",
        {"employee_number": "w001"},
        "employee_number",
        "Another person already uses 'w001'.",
    ),
    _case("unknown-manager", {"line_manager": "NOPE1"}, "line_manager", NO_SUCH_NUMBER),
]


@pytest.mark.parametrize("overrides, field, message", PERSON_NEW_CASES)
def test_person_new_rejects_bad_input(client, world, overrides, field, message):
    check_rejected(client, "/admin/people/new", {**person_data(world), **overrides}, field, message)


PERSON_EDIT_CASES = [
    _case("first-name-missing", {"first_name": ""}, "first_name", REQUIRED),
    _case("number-bad-chars", {"employee_number": "B 001"}, "employee_number", BAD_CODE),
    _case(
        "bad-email",
        {"email": "bea@"},
        "email",
        "Not a valid email address. There must be something after the @-sign.",
    ),
    _case("org-unit-missing", {"org_unit": ""}, "org_unit", "Choose the person's org unit."),
    _case(
        "duplicate-number",
        {"employee_number": "L001"},
        "employee_number",
        "Another person already uses 'L001'.",
    ),
    _case("unknown-manager", {"line_manager": "ZZZ9"}, "line_manager", NO_SUCH_NUMBER),
    # Bea manages Wes: Wes cannot become Bea's manager, nor Bea her own
    _case(
        "manager-cycle",
        {"line_manager": "W001"},
        "line_manager",
        "Wes Worker reports to Bea Boss, so they cannot also be their line manager.",
    ),
    _case(
        "own-manager",
        {"line_manager": "B001"},
        "line_manager",
        "A person cannot be their own line manager.",
    ),
]


@pytest.mark.parametrize("overrides, field, message", PERSON_EDIT_CASES)
def test_person_edit_rejects_bad_input(client, world, overrides, field, message):
    # every valid field differs from the stored row, so a half-save would show
    data = {
        "employee_number": "B002",
        "first_name": "Beatrice",
        "last_name": "Boss-Smith",
        "email": "beatrice@example.org",
        "job_title": "Director",
        "org_unit": str(world.finance),
        "line_manager": "L001",
    }
    check_rejected(
        client, f"/admin/people/{world.boss}/edit", {**data, **overrides}, field, message
    )


def test_manager_cycle_through_a_longer_chain_is_refused(client, world):
    """Bea → Wes → Tom: Tom may not become Bea's manager either."""
    tom = make_person(
        "Tom",
        "Third",
        unit=db.session.get(OrgUnit, world.child),
        manager=db.session.get(Person, world.worker),
        number="T001",
    )
    db.session.commit()
    data = {
        "employee_number": "B001",
        "first_name": "Beatrice",
        "last_name": "Boss",
        "email": "",
        "job_title": "",
        "org_unit": str(world.root),
        "line_manager": tom.employee_number,
    }
    check_rejected(
        client,
        f"/admin/people/{world.boss}/edit",
        data,
        "line_manager",
        "Tom Third reports to Bea Boss, so they cannot also be their line manager.",
    )


def test_person_new_saves_an_active_directory_address(client, world):
    # jo.bloggs@corp.local is how many organisations' directories name people (app/emails.py).
    response = post_form(
        client, "/admin/people/new", {**person_data(world), "email": "Nia.N@CORP.local"}
    )
    assert response.status_code == 302
    saved = db.session.scalar(select(Person.email).where(Person.employee_number == "N100"))
    assert saved == "nia.n@corp.local"


def test_person_new_saves_and_redirects(client, world):
    before = count(Person)
    response = post_form(
        client, "/admin/people/new", {**person_data(world), "email": "Nia@Example.ORG"}
    )
    assert response.status_code == 302
    assert count(Person) == before + 1
    person = db.session.scalar(select(Person).where(Person.employee_number == "N100"))
    assert response.headers["Location"].endswith(f"/people/{person.id}")
    assert (person.first_name, person.last_name, person.email, person.job_title) == (
        "Nia",
        "Newcomer",
        "nia@example.org",
        "Analyst",
    )
    assert (person.org_unit_id, person.line_manager_id) == (world.child, world.boss)


def test_person_edit_saves_and_redirects(client, world):
    data = {
        "employee_number": "W001",
        "first_name": "Wesley",
        "last_name": "Worker",
        "email": "",
        "job_title": "",
        "org_unit": str(world.grandchild),
        "line_manager": "",
    }
    response = post_form(client, f"/admin/people/{world.worker}/edit", data)
    assert response.status_code == 302
    db.session.expire_all()
    person = db.session.get(Person, world.worker)
    assert (person.first_name, person.org_unit_id, person.line_manager_id, person.email) == (
        "Wesley",
        world.grandchild,
        None,
        None,
    )


# --- org units --------------------------------------------------------------------------------


def unit_data(w: World) -> dict:
    return {"code": "ops", "name": "Operations", "parent": str(w.root), "head": "B001"}


UNIT_NEW_CASES = [
    _case("code-missing", {"code": ""}, "code", REQUIRED),
    _case("code-has-space", {"code": "OP S"}, "code", BAD_CODE),
    _case("code-leading-dash", {"code": "-OPS"}, "code", BAD_CODE),
    _case("code-too-long", {"code": "C" * 33}, "code", too_long(32)),
    _case("name-missing", {"name": ""}, "name", REQUIRED),
    _case("name-too-long", {"name": "n" * 121}, "name", too_long(120)),
    _case("parent-unknown", {"parent": "99999"}, "parent", NOT_A_CHOICE),
    _case("parent-not-a-number", {"parent": "abc"}, "parent", "Invalid Choice: could not coerce."),
    _case("head-too-long", {"head": "H" * 33}, "head", too_long(32)),
    # domain rules
    _case("duplicate-code", {"code": "del"}, "code", "Another org unit already uses 'DEL'."),
    _case("unknown-head", {"head": "NOPE"}, "head", NO_SUCH_NUMBER),
]


@pytest.mark.parametrize("overrides, field, message", UNIT_NEW_CASES)
def test_org_unit_new_rejects_bad_input(client, world, overrides, field, message):
    check_rejected(
        client, "/admin/org-units/new", {**unit_data(world), **overrides}, field, message
    )


UNIT_EDIT_CASES = [
    _case("name-missing", {"name": ""}, "name", REQUIRED),
    _case("duplicate-code", {"code": "FIN"}, "code", "Another org unit already uses 'FIN'."),
    _case("unknown-head", {"head": "NOPE"}, "head", NO_SUCH_NUMBER),
    # the unit itself is not offered as its own parent
    _case("parent-is-itself", lambda w: {"parent": str(w.root)}, "parent", NOT_A_CHOICE),
    # Head Office → Delivery → Projects: neither sub-unit may become Head Office's parent
    _case(
        "parent-is-child",
        lambda w: {"parent": str(w.child)},
        "parent",
        "A unit cannot sit under itself or one of its own sub-units.",
    ),
    _case(
        "parent-is-grandchild",
        lambda w: {"parent": str(w.grandchild)},
        "parent",
        "A unit cannot sit under itself or one of its own sub-units.",
    ),
]


@pytest.mark.parametrize("overrides, field, message", UNIT_EDIT_CASES)
def test_org_unit_edit_rejects_bad_input(client, world, overrides, field, message):
    data = {"code": "HQ", "name": "Head Office Group", "parent": "", "head": "B001"}
    check_rejected(
        client,
        f"/admin/org-units/{world.root}/edit",
        {**data, **resolve(overrides, world)},
        field,
        message,
    )


def test_org_unit_new_saves_and_redirects(client, world):
    before = count(OrgUnit)
    response = post_form(client, "/admin/org-units/new", unit_data(world))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/org-units")
    assert count(OrgUnit) == before + 1
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "OPS"))
    assert (unit.name, unit.parent_id, unit.head_id) == ("Operations", world.root, world.boss)


def test_org_unit_edit_saves_and_redirects(client, world):
    data = {"code": "PRJ", "name": "Project Delivery", "parent": str(world.finance), "head": "L001"}
    response = post_form(client, f"/admin/org-units/{world.grandchild}/edit", data)
    assert response.status_code == 302
    db.session.expire_all()
    unit = db.session.get(OrgUnit, world.grandchild)
    assert (unit.name, unit.parent_id, unit.head_id) == (
        "Project Delivery",
        world.finance,
        world.loner,
    )


# --- offices ----------------------------------------------------------------------------------


def office_data(w: World) -> dict:
    return {
        "code": "new-pmo",
        "name": "New PMO",
        "p3_level": "programme",
        "permanence": "temporary",
        "hub": str(w.hub),
        "org_unit": str(w.child),
        "start_date": "2025-02-01",
        "end_date": "2026-01-31",
    }


OFFICE_NEW_CASES = [
    _case("code-missing", {"code": ""}, "code", REQUIRED),
    _case("code-bad-chars", {"code": "PMO/1"}, "code", BAD_CODE),
    _case("code-too-long", {"code": "C" * 33}, "code", too_long(32)),
    _case("name-missing", {"name": ""}, "name", REQUIRED),
    _case("name-too-long", {"name": "n" * 121}, "name", too_long(120)),
    _case("level-unknown", {"p3_level": "galaxy"}, "p3_level", NOT_A_CHOICE),
    _case("permanence-unknown", {"permanence": "forever"}, "permanence", NOT_A_CHOICE),
    _case("hub-unknown", {"hub": "99999"}, "hub", NOT_A_CHOICE),
    _case("org-unit-unknown", {"org_unit": "99999"}, "org_unit", NOT_A_CHOICE),
    _case("start-not-a-date", {"start_date": "2025-02-30"}, "start_date", BAD_DATE),
    _case("end-not-a-date", {"end_date": "31/01/2026"}, "end_date", BAD_DATE),
    # domain rules
    _case("duplicate-code", {"code": "hub"}, "code", "Another office already uses 'HUB'."),
    _case(
        "temporary-without-start",
        {"start_date": ""},
        "start_date",
        "A temporary office needs the date it opened.",
    ),
    _case(
        "permanent-with-end",
        {"permanence": "permanent"},
        "end_date",
        "A permanent office has no end date; make it temporary or clear the date.",
    ),
    _case(
        "end-before-start",
        {"end_date": "2025-01-31"},
        "end_date",
        "The end date must be on or after the start date.",
    ),
    _case(
        "hub-is-temporary",
        lambda w: {"hub": str(w.temp)},
        "hub",
        "A hub must be a permanent office.",
    ),
]


@pytest.mark.parametrize("overrides, field, message", OFFICE_NEW_CASES)
def test_office_new_rejects_bad_input(client, world, overrides, field, message):
    check_rejected(
        client,
        "/admin/offices/new",
        {**office_data(world), **resolve(overrides, world)},
        field,
        message,
    )


OFFICE_EDIT_CASES = [
    _case("name-missing", {"name": ""}, "name", REQUIRED),
    _case("duplicate-code", {"code": "TMP"}, "code", "Another office already uses 'TMP'."),
    _case(
        "permanent-with-end",
        {"end_date": "2030-01-01"},
        "end_date",
        "A permanent office has no end date; make it temporary or clear the date.",
    ),
    _case(
        "temporary-without-start",
        {"permanence": "temporary", "start_date": ""},
        "start_date",
        "A temporary office needs the date it opened.",
    ),
    _case(
        "end-before-start",
        {"permanence": "temporary", "end_date": "2018-12-31"},
        "end_date",
        "The end date must be on or after the start date.",
    ),
    # the office itself is not offered as its own hub
    _case("hub-is-itself", lambda w: {"hub": str(w.hub)}, "hub", NOT_A_CHOICE),
    # Delivery PMO is a spoke of Enterprise PMO: it cannot also be its hub
    _case(
        "hub-is-own-spoke",
        lambda w: {"hub": str(w.spoke)},
        "hub",
        "An office cannot be a spoke of itself or of its own spokes.",
    ),
    _case(
        "hub-is-temporary",
        lambda w: {"hub": str(w.temp)},
        "hub",
        "A hub must be a permanent office.",
    ),
]


@pytest.mark.parametrize("overrides, field, message", OFFICE_EDIT_CASES)
def test_office_edit_rejects_bad_input(client, world, overrides, field, message):
    data = {
        "code": "HUB",
        "name": "Enterprise PMO Hub",
        "p3_level": "portfolio",
        "permanence": "permanent",
        "is_coe": "y",
        "hub": "",
        "org_unit": str(world.root),
        "start_date": "2019-01-01",
        "end_date": "",
    }
    check_rejected(
        client,
        f"/admin/offices/{world.hub}/edit",
        {**data, **resolve(overrides, world)},
        field,
        message,
    )


def test_office_new_saves_and_redirects(client, world):
    before = count(Office)
    response = post_form(client, "/admin/offices/new", {**office_data(world), "is_coe": "y"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/offices")
    assert count(Office) == before + 1
    office = db.session.scalar(select(Office).where(Office.code == "NEW-PMO"))
    assert (office.name, office.p3_level, office.permanence, office.is_coe) == (
        "New PMO",
        P3Level.PROGRAMME,
        Permanence.TEMPORARY,
        True,
    )
    assert (office.hub_id, office.org_unit_id, office.start_date, office.end_date) == (
        world.hub,
        world.child,
        date(2025, 2, 1),
        date(2026, 1, 31),
    )


def test_office_edit_saves_and_redirects(client, world):
    data = {
        "code": "TMP",
        "name": "Transformation Office",
        "p3_level": "programme",
        "permanence": "temporary",
        "hub": str(world.hub),
        "org_unit": "",
        "start_date": "2024-01-01",
        "end_date": "2025-12-31",
    }
    response = post_form(client, f"/admin/offices/{world.temp}/edit", data)
    assert response.status_code == 302
    db.session.expire_all()
    office = db.session.get(Office, world.temp)
    assert (office.name, office.hub_id, office.end_date) == (
        "Transformation Office",
        world.hub,
        date(2025, 12, 31),
    )


# --- roles ------------------------------------------------------------------------------------


ROLE_DATA = {
    "code": "pmoa2",
    "name": "Senior PMO Analyst",
    "p3_level": "programme",
    "family": "pmo",
    "description": "Runs the programme's reporting.",
}

ROLE_CASES = [
    _case("code-missing", {"code": ""}, "code", REQUIRED),
    _case("code-has-space", {"code": "PM O"}, "code", BAD_CODE),
    _case("code-too-long", {"code": "C" * 17}, "code", too_long(16)),
    _case("name-missing", {"name": ""}, "name", REQUIRED),
    _case("name-too-long", {"name": "n" * 121}, "name", too_long(120)),
    _case("level-unknown", {"p3_level": "galaxy"}, "p3_level", NOT_A_CHOICE),
    _case("family-unknown", {"family": "mafia"}, "family", NOT_A_CHOICE),
    _case("description-too-long", {"description": "d" * 4001}, "description", too_long(4000)),
    # domain rules
    _case("duplicate-code", {"code": "pm"}, "code", "Another role already uses 'PM'."),
    _case(
        "duplicate-name",
        {"name": "project manager"},
        "name",
        "Another role already uses 'project manager'.",
    ),
    _case(
        "duplicate-code-of-inactive-role",
        {"code": "OLDR"},
        "code",
        "Another role already uses 'OLDR'.",
    ),
]


@pytest.mark.parametrize("overrides, field, message", ROLE_CASES)
def test_role_new_rejects_bad_input(client, world, overrides, field, message):
    check_rejected(client, "/admin/roles/new", {**ROLE_DATA, **overrides}, field, message)


@pytest.mark.parametrize("overrides, field, message", ROLE_CASES)
def test_role_edit_rejects_bad_input(client, world, overrides, field, message):
    data = {
        "code": "PMOA1",
        "name": "PMO Analyst I",
        "p3_level": "programme",
        "family": "support",
        "description": "Changed.",
    }
    check_rejected(
        client, f"/admin/roles/{world.analyst}/edit", {**data, **overrides}, field, message
    )


def test_role_new_saves_and_redirects(client, world):
    before = count(Role)
    response = post_form(client, "/admin/roles/new", ROLE_DATA)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/roles")
    assert count(Role) == before + 1
    role = db.session.scalar(select(Role).where(Role.code == "PMOA2"))
    assert (role.name, role.p3_level, role.family, role.description) == (
        "Senior PMO Analyst",
        RoleLevel.PROGRAMME,
        RoleFamily.PMO,
        "Runs the programme's reporting.",
    )


def test_role_edit_saves_and_redirects(client, world):
    data = {
        "code": "PMOA",
        "name": "PMO Analyst",
        "p3_level": "portfolio",
        "family": "support",
        "description": "Supports the portfolio office.",
    }
    response = post_form(client, f"/admin/roles/{world.analyst}/edit", data)
    assert response.status_code == 302
    db.session.expire_all()
    role = db.session.get(Role, world.analyst)
    assert (role.p3_level, role.family, role.description) == (
        RoleLevel.PORTFOLIO,
        RoleFamily.SUPPORT,
        "Supports the portfolio office.",
    )


# --- role assignments -------------------------------------------------------------------------


def assignment_data(w: World) -> dict:
    return {
        "role": str(w.manager_role),
        "kind": "current",
        "office": str(w.temp),
        "start_date": "2025-03-01",
        "end_date": "",
    }


ASSIGNMENT_NEW_CASES = [
    _case("role-missing", {"role": ""}, "role", "Choose a role."),
    _case("role-none", {"role": "None"}, "role", "Choose a role."),
    _case("role-unknown", {"role": "99999"}, "role", NOT_A_CHOICE),
    _case("role-inactive", lambda w: {"role": str(w.retired_role)}, "role", NOT_A_CHOICE),
    _case("kind-unknown", {"kind": "boss"}, "kind", NOT_A_CHOICE),
    _case("office-unknown", {"office": "99999"}, "office", NOT_A_CHOICE),
    _case("start-missing", {"start_date": ""}, "start_date", "Give a start date."),
    _case("start-not-a-date", {"start_date": "01/03/2025"}, "start_date", BAD_DATE),
    _case("end-not-a-date", {"end_date": "soon"}, "end_date", BAD_DATE),
    # domain rules
    _case(
        "end-before-start",
        {"end_date": "2025-02-28"},
        "end_date",
        "The end date must be on or after the start date.",
    ),
    _case(
        "office-closed-before-start",
        lambda w: {"office": str(w.closed)},
        "office",
        "Closed Office closed on 31 Dec 2022.",
    ),
    # Wes already holds PMO Analyst from 2025-01-01, open-ended
    _case(
        "overlapping-current",
        lambda w: {"role": str(w.analyst)},
        "role",
        "Wes Worker already has this role as current for overlapping dates.",
    ),
    _case(
        "overlapping-earlier-spell",
        lambda w: {"role": str(w.analyst), "start_date": "2024-06-01", "end_date": "2024-07-31"},
        "role",
        "Wes Worker already has this role as current for overlapping dates.",
    ),
]


@pytest.mark.parametrize("overrides, field, message", ASSIGNMENT_NEW_CASES)
def test_assignment_new_rejects_bad_input(client, world, overrides, field, message):
    check_rejected(
        client,
        f"/admin/people/{world.worker}/assignments/new",
        {**assignment_data(world), **resolve(overrides, world)},
        field,
        message,
    )


ASSIGNMENT_EDIT_CASES = [
    _case("role-missing", {"role": ""}, "role", "Choose a role."),
    _case("start-missing", {"start_date": ""}, "start_date", "Give a start date."),
    _case(
        "end-before-start",
        {"end_date": "2023-12-31"},
        "end_date",
        "The end date must be on or after the start date.",
    ),
    # stretching the first spell into the second one
    _case(
        "overlaps-later-spell",
        {"end_date": "2025-01-01"},
        "role",
        "Wes Worker already has this role as current for overlapping dates.",
    ),
    _case(
        "open-ended-overlaps-later-spell",
        {"end_date": ""},
        "role",
        "Wes Worker already has this role as current for overlapping dates.",
    ),
]


@pytest.mark.parametrize("overrides, field, message", ASSIGNMENT_EDIT_CASES)
def test_assignment_edit_rejects_bad_input(client, world, overrides, field, message):
    data = {
        "role": str(world.analyst),
        "kind": "current",
        "office": str(world.hub),
        "start_date": "2024-02-01",
        "end_date": "2024-06-30",
    }
    check_rejected(
        client, f"/admin/assignments/{world.assignment}/edit", {**data, **overrides}, field, message
    )


def test_assignment_new_saves_and_redirects(client, world):
    before = count(RoleAssignment)
    response = post_form(
        client, f"/admin/people/{world.worker}/assignments/new", assignment_data(world)
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/people/{world.worker}")
    assert count(RoleAssignment) == before + 1
    made = db.session.scalar(
        select(RoleAssignment).where(RoleAssignment.role_id == world.manager_role)
    )
    assert (made.person_id, made.kind, made.office_id, made.start_date, made.end_date) == (
        world.worker,
        AssignmentKind.CURRENT,
        world.temp,
        date(2025, 3, 1),
        None,
    )


def test_same_role_as_target_does_not_clash_with_current(client, world):
    response = post_form(
        client,
        f"/admin/people/{world.worker}/assignments/new",
        {**assignment_data(world), "role": str(world.analyst), "kind": "target"},
    )
    assert response.status_code == 302
    kinds = db.session.scalars(
        select(RoleAssignment.kind).where(
            RoleAssignment.person_id == world.worker,
            RoleAssignment.role_id == world.analyst,
            RoleAssignment.end_date.is_(None),
        )
    ).all()
    assert sorted(k.value for k in kinds) == ["current", "target"]


def test_assignment_edit_saves_and_redirects(client, world):
    data = {
        "role": str(world.analyst),
        "kind": "current",
        "office": str(world.hub),
        "start_date": "2024-01-01",
        "end_date": "2024-12-31",
    }
    response = post_form(client, f"/admin/assignments/{world.assignment}/edit", data)
    assert response.status_code == 302
    db.session.expire_all()
    edited = db.session.get(RoleAssignment, world.assignment)
    assert (edited.office_id, edited.end_date) == (world.hub, date(2024, 12, 31))


# --- accounts ---------------------------------------------------------------------------------


ACCOUNT_DATA = {"person": "W001", "email": "wes@example.org", "permissions": ["learner"]}

ACCOUNT_NEW_CASES = [
    _case("person-missing", {"person": ""}, "person", REQUIRED),
    _case("person-too-long", {"person": "W" * 33}, "person", too_long(32)),
    _case("email-missing", {"email": ""}, "email", REQUIRED),
    _case("bad-email", {"email": "wes at example"}, "email", NO_AT_SIGN),
    _case("no-permission", {"permissions": []}, "permissions", "Tick at least one permission."),
    _case(
        "unknown-permission",
        {"permissions": ["superuser"]},
        "permissions",
        "'superuser' is not a valid choice for this field.",
    ),
    # domain rules
    _case("unknown-person", {"person": "NOPE"}, "person", NO_SUCH_NUMBER),
    _case("person-has-account", {"person": "B001"}, "person", "Bea Boss already has an account."),
    _case(
        "duplicate-email",
        {"email": "bea@example.org"},
        "email",
        "Another account already uses this email.",
    ),
    _case(
        "duplicate-email-other-case",
        {"email": "BEA@Example.Org"},
        "email",
        "Another account already uses this email.",
    ),
]


@pytest.mark.parametrize("overrides, field, message", ACCOUNT_NEW_CASES)
def test_account_new_rejects_bad_input(client, world, overrides, field, message):
    check_rejected(client, "/admin/accounts/new", {**ACCOUNT_DATA, **overrides}, field, message)


ACCOUNT_EDIT_CASES = [
    _case("email-missing", {"email": ""}, "email", REQUIRED),
    _case(
        "bad-email",
        {"email": "bea@@example.org"},
        "email",
        "Not a valid email address. The part after the @-sign contains invalid characters: '@'.",
    ),
    _case("email-too-long", {"email": "b" * 250 + "@x.org"}, "email", too_long(254)),
    _case("no-permission", {"permissions": []}, "permissions", "Tick at least one permission."),
    _case(
        "unknown-permission",
        {"permissions": ["learner", "root"]},
        "permissions",
        "'root' is not a valid choice for this field.",
    ),
    _case(
        "duplicate-email",
        {"email": "Admin@Example.org"},
        "email",
        "Another account already uses this email.",
    ),
]


@pytest.mark.parametrize("overrides, field, message", ACCOUNT_EDIT_CASES)
def test_account_edit_rejects_bad_input(client, world, overrides, field, message):
    data = {"email": "bea.boss@example.org", "permissions": ["learner", "manager"]}
    check_rejected(
        client, f"/admin/accounts/{world.account}/edit", {**data, **overrides}, field, message
    )


def test_account_new_saves_and_shows_the_link(client, world):
    before = count(User)
    response = post_form(
        client,
        "/admin/accounts/new",
        {**ACCOUNT_DATA, "email": "Wes@Example.ORG", "permissions": ["learner", "manager"]},
    )
    # the one-time link is shown once, on the page itself, not behind a redirect
    assert response.status_code == 200
    assert 'data-testid="set-password-link"' in response.text
    assert not field_errors(response.text).errors
    assert count(User) == before + 1
    user = db.session.scalar(select(User).where(User.person_id == world.worker))
    assert user.email == "wes@example.org"
    assert user.permissions == {Permission.LEARNER, Permission.MANAGER}
    assert user.password_hash is None
    assert count(PasswordToken) == 1


def test_account_edit_saves_and_redirects(client, world):
    data = {"email": "Beatrice@Example.org", "permissions": ["manager", "trainer"]}
    response = post_form(client, f"/admin/accounts/{world.account}/edit", data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/accounts")
    db.session.expire_all()
    user = db.session.get(User, world.account)
    assert (user.email, user.permissions, user.active) == (
        "beatrice@example.org",
        {Permission.MANAGER, Permission.TRAINER},
        False,
    )


# --- log in -----------------------------------------------------------------------------------


@pytest.fixture
def member(app) -> User:
    """A learner with the test password, not signed in."""
    user = make_user(Permission.LEARNER, email="member@example.org")
    db.session.commit()
    return user


LOGIN_CASES = [
    _case("email-missing", {"email": ""}, "email", REQUIRED),
    _case("email-too-long", {"email": "m" * 250 + "@x.test"}, "email", too_long(254)),
    _case("password-missing", {"password": ""}, "password", REQUIRED),
    _case("password-too-long", {"password": "p" * 129}, "password", too_long(128)),
]


@pytest.mark.parametrize("overrides, field, message", LOGIN_CASES)
def test_login_rejects_malformed_input(client, member, overrides, field, message):
    data = {"email": "member@example.org", "password": PASSWORD}
    # a malformed form never reaches the credential check: nothing changes, not even counters
    check_rejected(client, "/login", {**data, **overrides}, field, message)


@pytest.mark.parametrize(
    "email, password",
    [
        pytest.param("member@example.org", "wrong password here", id="wrong-password"),
        pytest.param("nobody@example.org", PASSWORD, id="unknown-email"),
        pytest.param("inactive@example.org", PASSWORD, id="inactive-account"),
    ],
)
def test_login_refuses_bad_credentials_at_the_password(client, member, email, password):
    make_user(Permission.LEARNER, email="inactive@example.org", active=False)
    db.session.commit()
    before = snapshot("users", "login_throttles")  # the failure is counted, by design
    response = post_form(client, "/login", {"email": email, "password": password})
    assert_field_error(response, "password", GENERIC_LOGIN_ERROR)
    assert snapshot("users", "login_throttles") == before  # no login session opened
    assert count(LoginSession) == 0


def test_login_succeeds_and_redirects(client, member):
    response = post_form(client, "/login", {"email": " Member@Example.org ", "password": PASSWORD})
    assert response.status_code == 302
    assert count(LoginSession) == 1
    assert client.get("/").status_code == 200


# --- change password --------------------------------------------------------------------------


@pytest.fixture
def signed_in_member(client, login, member) -> User:
    login(member)
    return member


CHANGE_DATA = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}

CHANGE_CASES = [
    _case("current-missing", {"current_password": ""}, "current_password", REQUIRED),
    _case(
        "new-missing", {"new_password": ""}, {"new_password": REQUIRED, "confirm": DIFFERENT}, None
    ),
    _case(
        "new-and-confirm-missing",
        {"new_password": "", "confirm": ""},
        {"new_password": REQUIRED, "confirm": REQUIRED},
        None,
    ),
    _case("confirm-missing", {"confirm": ""}, "confirm", REQUIRED),
    _case("confirm-differs", {"confirm": NEW_PASSWORD + "!"}, "confirm", DIFFERENT),
    # domain rules
    _case(
        "wrong-current",
        {"current_password": "not my password"},
        "current_password",
        "Your current password is not right.",
    ),
    _case(
        "new-too-short",
        {"new_password": "short pass1", "confirm": "short pass1"},
        "new_password",
        TOO_SHORT,
    ),
    _case(
        "new-too-long",
        {"new_password": "x1y2" * 33, "confirm": "x1y2" * 33},
        "new_password",
        "Use at most 128 characters.",
    ),
    _case(
        "new-common",
        {"new_password": "password1234", "confirm": "password1234"},
        "new_password",
        TOO_EASY,
    ),
    _case(
        "new-common-other-case",
        {"new_password": "Qwerty123456", "confirm": "Qwerty123456"},
        "new_password",
        TOO_EASY,
    ),
    _case(
        "new-one-letter",
        {"new_password": "aaaaaaaaaaaaaaaa", "confirm": "aaaaaaaaaaaaaaaa"},
        "new_password",
        TOO_EASY,
    ),
]


@pytest.mark.parametrize("overrides, field, message", CHANGE_CASES)
def test_change_password_rejects_bad_input(client, signed_in_member, overrides, field, message):
    check_rejected(client, "/account/password", {**CHANGE_DATA, **overrides}, field, message)
    # still signed in on the same session
    assert client.get("/").status_code == 200


def test_change_password_saves_and_redirects(client, signed_in_member):
    response = post_form(client, "/account/password", CHANGE_DATA)
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, signed_in_member.id)
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert not verify_password(user.password_hash, PASSWORD)
    assert count(LoginSession) == 1  # the old session ended, a fresh one opened
    assert client.get("/").status_code == 200


# --- set password (one-time link) -------------------------------------------------------------


@pytest.fixture
def link(app) -> tuple[str, int]:
    """A new account without a password and its one-time link path."""
    user = make_user(Permission.LEARNER, email="fresh@example.org")
    user.password_hash = None
    token = issue_password_token(db.session, user=user, ttl=app.config["SET_PASSWORD_TOKEN_TTL"])
    db.session.commit()
    return f"/account/set-password/{token}", user.id


SET_CASES = [
    _case(
        "password-missing",
        {"password": "", "confirm": ""},
        {"password": REQUIRED, "confirm": REQUIRED},
        None,
    ),
    _case("confirm-missing", {"confirm": ""}, "confirm", REQUIRED),
    _case("confirm-differs", {"confirm": "something else entirely"}, "confirm", DIFFERENT),
    # domain rules
    _case(
        "too-short", {"password": "eleven char", "confirm": "eleven char"}, "password", TOO_SHORT
    ),
    _case(
        "too-long",
        {"password": "ab1-" * 33, "confirm": "ab1-" * 33},
        "password",
        "Use at most 128 characters.",
    ),
    _case("common", {"password": "letmein12345", "confirm": "letmein12345"}, "password", TOO_EASY),
    _case(
        "few-characters",
        {"password": "abababababab", "confirm": "abababababab"},
        "password",
        TOO_EASY,
    ),
]


@pytest.mark.parametrize("overrides, field, message", SET_CASES)
def test_set_password_rejects_bad_input(client, link, overrides, field, message):
    url, _ = link
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    check_rejected(client, url, {**data, **overrides}, field, message)
    assert client.get(url).status_code == 200  # the link still works


def test_set_password_saves_and_redirects(client, link):
    url, user_id = link
    response = post_form(client, url, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    db.session.expire_all()
    assert verify_password(db.session.get(User, user_id).password_hash, NEW_PASSWORD)
    assert client.get(url).status_code == 404  # used once, gone


# --- NUL characters ---------------------------------------------------------------------------
# PostgreSQL text cannot hold "\x00": such input used to reach a query and fail with a 500
# there (SQLite stored it). It is refused up front with a 400, on every backend.


@pytest.mark.parametrize(
    "url, data, field",
    [
        pytest.param("/admin/people/new", person_data, "first_name", id="person"),
        pytest.param("/admin/people/new", person_data, "line_manager", id="person-manager"),
        pytest.param("/admin/org-units/new", unit_data, "name", id="org-unit"),
        pytest.param("/admin/org-units/new", unit_data, "head", id="org-unit-head"),
        pytest.param("/admin/offices/new", office_data, "name", id="office"),
        pytest.param("/admin/roles/new", lambda w: ROLE_DATA, "description", id="role"),
        pytest.param("/admin/accounts/new", lambda w: ACCOUNT_DATA, "person", id="account"),
    ],
)
def test_nul_character_in_an_admin_form_is_refused(client, world, url, data, field):
    before = snapshot()
    values = data(world)
    response = post_form(client, url, {**values, field: values[field][:2] + "\x00x"})
    assert response.status_code == 400
    assert snapshot() == before


def test_nul_character_in_a_search_is_refused(client, world):
    assert client.get("/admin/people?q=a%00b").status_code == 400
    assert client.get("/admin/people?q=ab").status_code == 200


@pytest.mark.parametrize(
    "data",
    [
        {"email": "mem\x00ber@example.org", "password": PASSWORD},
        {"email": "member@example.org", "password": PASSWORD + "\x00"},
    ],
    ids=["email", "password"],
)
def test_nul_character_at_login_is_refused(client, member, data):
    before = snapshot()
    assert post_form(client, "/login", data).status_code == 400
    assert snapshot() == before


# --- data sanity: one email per person, dates within 1900-2100 ---------------------------------


def test_two_people_cannot_share_an_email(client, world):
    db.session.get(Person, world.worker).email = "wes.worker@example.org"
    response = post_form(
        client, "/admin/people/new", {**person_data(world), "email": "Wes.Worker@example.org"}
    )
    assert_field_error(response, "email", "Another person already uses 'wes.worker@example.org'.")


@pytest.mark.parametrize("when", ["0202-03-01", "2202-03-01"])
def test_dates_outside_1900_to_2100_are_refused_at_the_field(client, world, when):
    before = count(RoleAssignment)
    response = post_form(
        client,
        f"/admin/people/{world.worker}/assignments/new",
        {**assignment_data(world), "start_date": when},
    )
    assert_field_error(response, "start_date", "Give a date between 1900 and 2100.")
    assert count(RoleAssignment) == before
