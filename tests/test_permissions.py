"""Who may reach which page: every registered route, probed over HTTP by every audience.

EXPECTED below is the reviewed statement of the access policy. It is written out by hand on
purpose: adding a route without adding it here, or without an ``@allow`` rule, fails the
suite. The matrix then sends a real request per (endpoint, method, audience) with URL
arguments pointing at real records and a valid CSRF token on POSTs, and checks that:

* signed-in users outside the audience get 403;
* anonymous visitors to a non-public page are sent to /login;
* users inside the audience get a working page or redirect (never 403, never a 5xx).
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

import pytest
from flask import current_app

from app.access import may_reach, rule_for
from app.accounts.models import LoginSession, PasswordToken, Permission, User
from app.accounts.services import issue_password_token
from app.capability.models import Calibration, CalibrationStatus, Evidence, RatingStatus
from app.extensions import db
from app.framework.models import (
    Competency,
    CompetencyGroup,
    Framework,
    FrameworkVersion,
    Source,
    VersionStatus,
)
from app.framework.versions import FRAMEWORK_CODE
from app.org.models import Person
from app.staff_import.services import upload as upload_import
from tests.conftest import log_in, make_app
from tests.factories import assign, make_office, make_person, make_role, make_unit, make_user

ANON, LEARNER, MANAGER, TRAINER, ADMIN = "anonymous", "learner", "manager", "trainer", "admin"
AUDIENCES = (ANON, LEARNER, MANAGER, TRAINER, ADMIN)
SIGNED_IN = frozenset({LEARNER, MANAGER, TRAINER, ADMIN})
EVERYONE = frozenset(AUDIENCES)
ADMIN_ONLY = frozenset({ADMIN})

PERMISSION_OF = {
    LEARNER: Permission.LEARNER,
    MANAGER: Permission.MANAGER,
    TRAINER: Permission.TRAINER,
    ADMIN: Permission.ADMIN,
}

EXPECTED: dict[str, frozenset[str]] = {
    # public
    "static": EVERYONE,
    "bootstrap.static": EVERYONE,
    "accounts.login": EVERYONE,
    "accounts.set_password": EVERYONE,
    # any signed-in user
    "accounts.logout": SIGNED_IN,
    "accounts.change_password": SIGNED_IN,
    "org.home": SIGNED_IN,
    "org.my_profile": SIGNED_IN,
    "org.person": SIGNED_IN,  # object-scoped as well: see test_object_access.py
    "org.role_catalogue": SIGNED_IN,
    "capability.mine": SIGNED_IN,
    "capability.self_rating": SIGNED_IN,
    "capability.person": SIGNED_IN,  # object-scoped as well, like main.person
    "framework.browse": SIGNED_IN,
    # managers
    "org.team": frozenset({MANAGER}),
    # managers and administrators validate self-ratings (object-scoped as well)
    "capability.queue": frozenset({MANAGER, ADMIN}),
    "capability.decide": frozenset({MANAGER, ADMIN}),
    "capability.resolve": frozenset({MANAGER, ADMIN}),
    # trainers author the competency framework
    "framework.versions": frozenset({TRAINER}),
    "framework.diff": frozenset({TRAINER}),
    "framework.draft": frozenset({TRAINER}),
    "framework.draft_create": frozenset({TRAINER}),
    "framework.draft_publish": frozenset({TRAINER}),
    "framework.draft_discard": frozenset({TRAINER}),
    "framework.competency_new": frozenset({TRAINER}),
    "framework.competency_edit": frozenset({TRAINER}),
    "framework.competency_remove": frozenset({TRAINER}),
    "framework.scale": frozenset({TRAINER}),
    "framework.profile": frozenset({TRAINER}),
    "framework.certificate_new": frozenset({TRAINER}),
    "framework.certificate_edit": frozenset({TRAINER}),
    "framework.certificate_remove": frozenset({TRAINER}),
    # administrators
    "org.people": ADMIN_ONLY,
    "org.person_new": ADMIN_ONLY,
    "org.person_edit": ADMIN_ONLY,
    "org.person_active": ADMIN_ONLY,
    "org.assignment_new": ADMIN_ONLY,
    "org.assignment_edit": ADMIN_ONLY,
    "org.assignment_end": ADMIN_ONLY,
    "org.org_units": ADMIN_ONLY,
    "org.org_unit_new": ADMIN_ONLY,
    "org.org_unit_edit": ADMIN_ONLY,
    "org.org_unit_active": ADMIN_ONLY,
    "org.offices": ADMIN_ONLY,
    "org.office_new": ADMIN_ONLY,
    "org.office_edit": ADMIN_ONLY,
    "org.office_active": ADMIN_ONLY,
    "org.roles": ADMIN_ONLY,
    "org.role_new": ADMIN_ONLY,
    "org.role_edit": ADMIN_ONLY,
    "org.role_active": ADMIN_ONLY,
    "accounts.accounts_list": ADMIN_ONLY,
    "accounts.account_new": ADMIN_ONLY,
    "accounts.account_edit": ADMIN_ONLY,
    "accounts.account_reset_link": ADMIN_ONLY,
    "accounts.account_end_sessions": ADMIN_ONLY,
    "staff_import.history": ADMIN_ONLY,
    "staff_import.mapping": ADMIN_ONLY,
    "staff_import.preview": ADMIN_ONLY,
    "staff_import.apply": ADMIN_ONLY,
    "staff_import.discard": ADMIN_ONLY,
    "staff_import.detail": ADMIN_ONLY,
    "staff_import.issues_csv": ADMIN_ONLY,
    "staff_import.mapping_json": ADMIN_ONLY,
}

#: Statuses an allowed audience may get with real ids and a valid CSRF token: the page, or a
#: redirect after a POST (or from /login once signed in). A 400/404 here would mean a broken
#: form or a bad lookup, so it is not accepted.
OK_FOR_ALLOWED = {200, 302}

CSRF_INPUT = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*>')
VALUE_ATTR = re.compile(r'\bvalue="([^"]+)"')


def registered_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules()}


def extract_csrf(html: str) -> str:
    tag = CSRF_INPUT.search(html)
    assert tag, "no csrf_token input on the page"
    value = VALUE_ATTR.search(tag.group(0))
    assert value, "csrf_token input without a value"
    return value.group(1)


def csrf_token_for(client, signed_in: bool) -> str:
    """A CSRF token bound to the client's session, read from a page with a form."""
    response = client.get("/account/password" if signed_in else "/login")
    assert response.status_code == 200
    return extract_csrf(response.text)


class FakeUser:
    """Just enough of a user for may_reach."""

    def __init__(self, audience: str):
        self.is_authenticated = audience != ANON
        self.permissions = frozenset({PERMISSION_OF[audience]}) if audience != ANON else frozenset()


# --- the table itself ----------------------------------------------------------------------


def test_every_registered_endpoint_is_in_the_expected_table(app):
    missing = registered_endpoints(app) - EXPECTED.keys()
    assert not missing, f"routes without a reviewed entry in EXPECTED: {sorted(missing)}"


def test_expected_table_lists_no_route_that_no_longer_exists(app):
    stale = EXPECTED.keys() - registered_endpoints(app)
    assert not stale, f"EXPECTED lists endpoints that are not registered: {sorted(stale)}"


def test_every_registered_endpoint_declares_an_access_rule(app):
    undeclared = sorted(e for e in registered_endpoints(app) if rule_for(e) is None)
    assert not undeclared, f"endpoints without @allow(...): {undeclared}"


def test_declared_rules_grant_exactly_the_expected_audiences(app):
    """The @allow rules and the reviewed table say the same thing (the navigation and the
    permission check both read the rules)."""
    mismatches = {}
    for endpoint in sorted(registered_endpoints(app) & EXPECTED.keys()):
        granted = frozenset(a for a in AUDIENCES if may_reach(FakeUser(a), endpoint))
        if granted != EXPECTED[endpoint]:
            mismatches[endpoint] = (sorted(granted), sorted(EXPECTED[endpoint]))
    assert not mismatches, f"endpoint: (rule grants, expected): {mismatches}"


def test_an_endpoint_without_a_rule_is_refused_at_request_time(app, database_url):
    """Deny by default: a route registered without @allow answers 403 to everyone, even an
    admin, and anonymous visitors are refused outright rather than asked to log in."""
    fresh = make_app(database_url)
    fresh.add_url_rule("/throwaway", "throwaway", lambda: "throwaway secret")
    try:
        with fresh.app_context():
            assert rule_for("throwaway") is None
            admin = make_user(Permission.ADMIN)
            db.session.commit()

            anonymous = fresh.test_client()
            response = anonymous.get("/throwaway")
            assert response.status_code == 403
            assert "throwaway secret" not in response.text

            signed_in = fresh.test_client()
            log_in(signed_in, admin)
            assert signed_in.get("/").status_code == 200  # the log-in itself works
            response = signed_in.get("/throwaway")
            assert response.status_code == 403
            assert "throwaway secret" not in response.text
            assert "Not yours to see" in response.text
            db.session.remove()
    finally:
        with fresh.app_context():
            db.engine.dispose()


# --- the matrix ----------------------------------------------------------------------------


def make_rating_and_calibration(person: Person, opened_by: User):
    """A published framework with one competency, a pending self-rating of ``person`` and
    an open calibration about them."""
    framework = Framework(code=FRAMEWORK_CODE, name="Probe framework")
    version = FrameworkVersion(
        framework=framework, number=1, status=VersionStatus.PUBLISHED, name="Probe framework v1"
    )
    group = CompetencyGroup(version=version, code="G1", name="Probe group")
    competency = Competency(version=version, group=group, code="C1", name="Probing")
    db.session.add_all([framework, version, group, competency])
    db.session.flush()

    def self_rating(status: RatingStatus) -> Evidence:
        return Evidence(
            person_id=person.id,
            competency_id=competency.id,
            competency_code="C1",
            source=Source.SELF_RATING,
            level=4,
            achieved_on=date.today(),
            status=status,
        )

    pending, disputed = self_rating(RatingStatus.PENDING), self_rating(RatingStatus.IN_CALIBRATION)
    db.session.add_all([pending, disputed])
    db.session.flush()
    calibration = Calibration(
        person_id=person.id,
        self_rating_id=disputed.id,
        self_level=4,
        manager_level=1,
        status=CalibrationStatus.OPEN,
        opened_by_id=opened_by.id,
    )
    db.session.add(calibration)
    db.session.flush()
    return pending, calibration


def build_world(audience: str):
    """Real records for every URL argument, and the signed-in user of the audience.

    The records the admin routes act on belong to other people than the audience user, so
    that e.g. "end sessions" or "deactivate" in the matrix never ends the probing session.
    A manager heads the unit of the person the records are about, so the object-scoped
    manager routes are probed on someone the manager may act for.
    """
    root = make_unit("Probe Root")
    unit = make_unit("Probe Unit", parent=root)
    target = make_person("Tara", "Target", unit=unit)
    target_user = make_user(Permission.LEARNER, person=target)
    role = make_role()
    office = make_office(org_unit=unit)
    assignment = assign(target, role, office=office)
    token_holder = make_user(Permission.LEARNER, person=make_person("Tobi", "Token"))
    token = issue_password_token(
        db.session, user=token_holder, ttl=current_app.config["SET_PASSWORD_TOKEN_TTL"]
    )
    me = (
        None
        if audience == ANON
        else make_user(PERMISSION_OF[audience], person=make_person("Mia", "Prober", unit=unit))
    )
    if audience == MANAGER:
        unit.head_id = me.person_id
    rating, calibration = make_rating_and_calibration(target, target_user)
    batch = upload_import(
        db.session,
        data=b"Employee Number,First Name,Last Name\nP1,Pat,Probe\n",
        filename="probe.csv",
        actor_id=target_user.id,
    )
    db.session.commit()
    objects = (
        target,
        target_user,
        unit,
        office,
        role,
        assignment,
        db.session.query(Person).count(),
    )
    args = {
        "person_id": target.id,
        "user_id": target_user.id,
        "unit_id": unit.id,
        "office_id": office.id,
        "role_id": role.id,
        "assignment_id": assignment.id,
        "token": token,
        "evidence_id": rating.id,
        "calibration_id": calibration.id,
        "batch_id": batch.id,
        "code": "GOV-01",  # a competency code (framework authoring)
    }
    return me, args, objects


STATIC_FILES = {"static": "css/app.css", "bootstrap.static": "css/bootstrap.min.css"}

#: Routes any signed-in user may reach, about one person whose record they must be allowed
#: to read. A learner is probed on their own record: the route rule is what is probed here,
#: whose record is another matter (see test_object_access.py).
PERSON_SCOPED = {"org.person", "capability.person"}

#: Form fields, besides the CSRF token, that make a POST a complete, valid request.
POST_DATA = {
    "capability.decide": {"decision": "reject", "comment": "Probe: not shown yet."},
}


def url_args(rule, args: dict, me, audience: str) -> dict:
    values = {}
    for name in rule.arguments:
        if name == "filename":
            values[name] = STATIC_FILES[rule.endpoint]
        elif rule.endpoint in PERSON_SCOPED and audience == LEARNER:
            values[name] = me.person_id
        else:
            values[name] = args[name]
    return values


def probes(app):
    """(endpoint, method, rule): GETs first, then POSTs, log-out last (it ends the session)."""
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, rule))
    return sorted(out, key=lambda p: (p[0] == "accounts.logout", p[1] != "GET", p[0]))


def judge(endpoint: str, audience: str, response) -> str | None:
    """None if the response is what the policy asks for, else what went wrong."""
    status = response.status_code
    allowed = audience in EXPECTED.get(endpoint, frozenset())
    if allowed:
        if status not in OK_FOR_ALLOWED:
            return f"allowed but got {status}"
        return None
    if audience == ANON:
        location = response.headers.get("Location", "")
        if status != 302 or urlsplit(location).path != "/login":
            return f"anonymous should be sent to /login, got {status} {location!r}"
        return None
    if status != 403:
        return f"should be refused with 403, got {status}"
    return None


@pytest.mark.parametrize("audience", AUDIENCES)
def test_route_matrix(app, client, audience):
    me, args, objects = build_world(audience)
    if me is not None:
        log_in(client, me)
    csrf = csrf_token_for(client, signed_in=me is not None)

    failures, probed = [], 0
    for endpoint, method, rule in probes(app):
        url = rule.build(url_args(rule, args, me, audience), append_unknown=False)[1]
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": csrf, **POST_DATA.get(endpoint, {})})
        problem = judge(endpoint, audience, response)
        response.close()
        probed += 1
        if problem:
            failures.append(f"{method} {url} ({endpoint}): {problem}")

    assert probed >= len(EXPECTED)
    assert not failures, f"{audience}:\n" + "\n".join(failures)
    if audience != ADMIN:
        assert_admin_posts_changed_nothing(*objects)


def assert_admin_posts_changed_nothing(
    target, target_user, unit, office, role, assignment, people_before
):
    """The refused admin POSTs (deactivate, end, reset link, end sessions) left no trace."""
    db.session.expire_all()
    assert target.active and target_user.active and unit.active and office.active and role.active
    assert assignment.end_date is None
    assert db.session.query(PasswordToken).filter_by(user_id=target_user.id).count() == 0
    assert db.session.query(Person).count() == people_before  # nobody was added either


@pytest.mark.parametrize("audience", [LEARNER, MANAGER, TRAINER])
def test_admin_pages_are_absent_from_the_navigation_of_non_admins(client, login, audience):
    login(make_user(PERMISSION_OF[audience]))
    page = client.get("/")
    assert page.status_code == 200
    assert "Administration" not in page.text
    assert "/admin/" not in page.text


def test_admin_sees_the_administration_menu(client, login):
    login(make_user(Permission.ADMIN))
    page = client.get("/")
    assert "Administration" in page.text
    assert 'href="/admin/people"' in page.text


# --- CSRF ----------------------------------------------------------------------------------


def test_logout_without_csrf_token_is_refused_and_keeps_the_session(app, client, login):
    user = make_user(Permission.LEARNER, person=make_person("Lena", "Logout"))
    login(user)
    response = client.post("/logout")
    assert response.status_code == 400
    assert "Form expired" in response.text
    assert db.session.query(LoginSession).filter_by(user_id=user.id).count() == 1
    assert client.get("/").status_code == 200  # still signed in


def test_logout_with_a_forged_csrf_token_is_refused(client, login):
    user = make_user(Permission.LEARNER)
    login(user)
    response = client.post("/logout", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert db.session.query(LoginSession).filter_by(user_id=user.id).count() == 1


def test_logout_with_csrf_token_ends_the_session(client, login):
    """Control for the two tests above: the same POST with the page's token works."""
    user = make_user(Permission.LEARNER)
    login(user)
    csrf = csrf_token_for(client, signed_in=True)
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.query(LoginSession).filter_by(user_id=user.id).count() == 0
    assert client.get("/").status_code == 302


def test_admin_deactivation_without_csrf_token_changes_nothing(client, login):
    leaver = make_person("Dora", "Stays")
    leaver_user = make_user(Permission.LEARNER, person=leaver)
    log_in_as = make_user(Permission.ADMIN)
    db.session.commit()
    login(log_in_as)
    other_sessions = log_in(client.application.test_client(), leaver_user)
    assert other_sessions

    response = client.post(f"/admin/people/{leaver.id}/active", data={"active": "0"})
    assert response.status_code == 400
    response = client.post(f"/admin/accounts/{leaver_user.id}/end-sessions")
    assert response.status_code == 400

    db.session.expire_all()
    assert db.session.get(Person, leaver.id).active is True
    assert leaver_user.active is True
    assert db.session.query(LoginSession).filter_by(user_id=leaver_user.id).count() == 1


def test_admin_deactivation_with_csrf_token_takes_effect(client, login):
    """Control: the same deactivation with a valid token does deactivate."""
    leaver = make_person("Dora", "Goes")
    login(make_user(Permission.ADMIN))
    csrf = csrf_token_for(client, signed_in=True)
    response = client.post(
        f"/admin/people/{leaver.id}/active",
        data={"active": "0", "confirmed": "1", "csrf_token": csrf},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Person, leaver.id).active is False
