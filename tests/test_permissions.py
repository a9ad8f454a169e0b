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

import io
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from flask import current_app
from sqlalchemy import select

from app.access import may_reach, rule_for
from app.accounts.models import LoginSession, PasswordToken, Permission, User
from app.accounts.services import issue_password_token
from app.assessment import attempts as assessment_engine
from app.assessment import authoring as bank_authoring
from app.assessment.attempt_queries import shown_items
from app.assessment.authoring_queries import draft_of
from app.assessment.models import (
    Assessment,
    Attempt,
    AttemptItem,
    AttemptStatus,
    BankVersion,
)
from app.capability.models import Calibration, CalibrationStatus, Evidence, RatingStatus
from app.extensions import db
from app.framework.models import (
    Competency,
    CompetencyGroup,
    Framework,
    FrameworkVersion,
    RoleRequirement,
    Source,
    VersionStatus,
)
from app.framework.versions import FRAMEWORK_CODE, published_version
from app.learning import authoring, external
from app.learning.certificates import issue_certificate
from app.learning.models import (
    Booking,
    BookingStatus,
    ClassSession,
    CompletionCertificate,
    Enrolment,
    EnrolmentRule,
    EnrolmentStatus,
    ExternalCertificate,
    ExternalStatus,
    LearningPath,
    ModuleCompletion,
    ModuleType,
    PathPrerequisite,
    PathVersion,
)
from app.learning.path_queries import current_draft
from app.org.models import Person
from app.reports.maintain import refresh_all
from app.reports.models import (
    OfficeFunction,
    OfficeFunctionCompetency,
    OfficeFunctionNeed,
    OfficeKind,
)
from app.staff_import.services import upload as upload_import
from tests.assessment.attempt_factories import form_fields, make_assessment, make_bank
from tests.conftest import log_in, make_app
from tests.factories import assign, make_office, make_person, make_role, make_unit, make_user
from tests.learning.certificate_helpers import M, enrol, make_path, tiny_pdf

ANON, LEARNER, MANAGER, TRAINER, ADMIN = "anonymous", "learner", "manager", "trainer", "admin"
AUDIENCES = (ANON, LEARNER, MANAGER, TRAINER, ADMIN)
SIGNED_IN = frozenset({LEARNER, MANAGER, TRAINER, ADMIN})
EVERYONE = frozenset(AUDIENCES)
ADMIN_ONLY = frozenset({ADMIN})
TRAINER_ONLY = frozenset({TRAINER})
MANAGERS_AND_TRAINERS = frozenset({MANAGER, TRAINER})
REPORT_AUDIENCE = frozenset({MANAGER, TRAINER, ADMIN})

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
    "accounts.login_code": EVERYONE,  # the second log-in step (sends back to /login without one)
    "accounts.set_password": EVERYONE,
    # any signed-in user
    "accounts.logout": SIGNED_IN,
    "accounts.change_password": SIGNED_IN,
    "accounts.security": SIGNED_IN,
    "accounts.reauthenticate": SIGNED_IN,
    # two-step log-in is offered to trainers and admins; whoever has it may manage it
    "accounts.two_factor_setup": frozenset({TRAINER, ADMIN}),
    "accounts.two_factor_confirm": frozenset({TRAINER, ADMIN}),
    "accounts.two_factor_recovery_codes": SIGNED_IN,
    "accounts.two_factor_disable": SIGNED_IN,
    # where a holder of a permission that requires two-step log-in is sent until they set it up
    "accounts.two_factor_required": SIGNED_IN,
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
    "org.team_heatmap": frozenset({MANAGER}),  # the manager's own direct reports only
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
    # personal data: anyone's own download; an admin's of a person, and anonymising a leaver
    "privacy.my_data": SIGNED_IN,
    "privacy.my_data_download": SIGNED_IN,
    "privacy.person_data": ADMIN_ONLY,
    "privacy.person_data_download": ADMIN_ONLY,
    "privacy.anonymise_person": ADMIN_ONLY,
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
    "accounts.account_two_factor_reset": ADMIN_ONLY,
    "staff_import.history": ADMIN_ONLY,
    "staff_import.mapping": ADMIN_ONLY,
    "staff_import.preview": ADMIN_ONLY,
    "staff_import.apply": ADMIN_ONLY,
    "staff_import.discard": ADMIN_ONLY,
    "staff_import.detail": ADMIN_ONLY,
    "staff_import.issues_csv": ADMIN_ONLY,
    "staff_import.mapping_json": ADMIN_ONLY,
    # the audit trail (read only): administrators
    "audit.events": ADMIN_ONLY,
    "audit.events_csv": ADMIN_ONLY,
    # learning
    # - learners' own pages: any signed-in user. Those about an enrolment, a certificate, an
    #   external certificate or a booking are object-scoped as well (whose record: see
    #   tests/learning/test_learning_access.py)
    "learning.my_learning": SIGNED_IN,
    "learning.catalogue": SIGNED_IN,
    "learning.path_overview": SIGNED_IN,
    "learning.enrol_me": SIGNED_IN,
    "learning.enrolment": SIGNED_IN,
    "learning.lesson": SIGNED_IN,
    "learning.module_complete": SIGNED_IN,  # the learner's own enrolment only
    "learning.sessions": SIGNED_IN,
    "learning.session_detail": SIGNED_IN,
    "learning.session_book": SIGNED_IN,
    "learning.booking_cancel": SIGNED_IN,
    "learning.session_calendar": SIGNED_IN,  # to those with a place, and trainers
    "learning.certificates_mine": SIGNED_IN,
    "learning.certificate": SIGNED_IN,
    "learning.external_mine": SIGNED_IN,
    "learning.external_new": SIGNED_IN,
    "learning.external_record": SIGNED_IN,
    "learning.external_file": SIGNED_IN,
    "learning.cpd_new": SIGNED_IN,
    # - managers and trainers: their people's learning (a manager within their reach)
    "learning.team": MANAGERS_AND_TRAINERS,
    "learning.enrol": MANAGERS_AND_TRAINERS,
    "learning.person_learning": MANAGERS_AND_TRAINERS,
    "learning.person_enrol": MANAGERS_AND_TRAINERS,
    "learning.person_certificates": MANAGERS_AND_TRAINERS,
    "learning.module_sign_off": MANAGERS_AND_TRAINERS,
    "learning.withdraw": MANAGERS_AND_TRAINERS,
    # - trainers' authoring: paths and their versions, enrolment rules, sessions and the
    #   register, assessment results, certificates issued and revoked, external certificates
    #   verified or rejected
    "learning.authoring_paths": TRAINER_ONLY,
    "learning.authoring_path_new": TRAINER_ONLY,
    "learning.authoring_path": TRAINER_ONLY,
    "learning.authoring_version": TRAINER_ONLY,
    "learning.authoring_diff": TRAINER_ONLY,
    "learning.authoring_draft": TRAINER_ONLY,
    "learning.authoring_draft_start": TRAINER_ONLY,
    "learning.authoring_details": TRAINER_ONLY,
    "learning.authoring_prerequisite_add": TRAINER_ONLY,
    "learning.authoring_prerequisite_remove": TRAINER_ONLY,
    "learning.authoring_module_new": TRAINER_ONLY,
    "learning.authoring_module_edit": TRAINER_ONLY,
    "learning.authoring_module_move": TRAINER_ONLY,
    "learning.authoring_module_remove": TRAINER_ONLY,
    "learning.authoring_publish": TRAINER_ONLY,
    "learning.authoring_discard": TRAINER_ONLY,
    "learning.authoring_retire": TRAINER_ONLY,
    "learning.authoring_rule_add": TRAINER_ONLY,
    "learning.authoring_rule_edit": TRAINER_ONLY,
    "learning.authoring_rule_active": TRAINER_ONLY,
    "learning.session_new": TRAINER_ONLY,
    "learning.session_edit": TRAINER_ONLY,
    "learning.session_cancel": TRAINER_ONLY,
    "learning.session_attendance": TRAINER_ONLY,
    "learning.module_result": TRAINER_ONLY,
    "learning.certificates_issued": TRAINER_ONLY,
    "learning.certificate_revoke": TRAINER_ONLY,
    "learning.external_queue": TRAINER_ONLY,
    "learning.external_verify": TRAINER_ONLY,
    "learning.external_reject": TRAINER_ONLY,
    # - public verification of a certificate of completion
    "learning.verify": EVERYONE,
    # assessments
    # - learners take them: any signed-in user, on their own attempts only (anyone else's
    #   attempt is a 404: see tests/assessment/test_assessment_access.py)
    "assessment.mine": SIGNED_IN,
    "assessment.intro": SIGNED_IN,
    "assessment.start": SIGNED_IN,
    "assessment.attempt": SIGNED_IN,
    "assessment.save": SIGNED_IN,
    "assessment.autosave": SIGNED_IN,
    "assessment.submit_confirm": SIGNED_IN,
    "assessment.submit": SIGNED_IN,
    "assessment.result": SIGNED_IN,  # their own; their people's for a manager; any for a trainer
    # - managers and trainers: the results of their people (everyone's for a trainer)
    "assessment.results": MANAGERS_AND_TRAINERS,
    # - item statistics: trainers; by competency and by org unit, managers for their people
    "assessment.statistics_assessments": TRAINER_ONLY,
    "assessment.statistics_assessment": TRAINER_ONLY,
    "assessment.statistics_item": TRAINER_ONLY,
    "assessment.statistics_competencies": MANAGERS_AND_TRAINERS,
    "assessment.statistics_units": MANAGERS_AND_TRAINERS,
    # - trainers' authoring: question banks, their drafts and items, GIFT import and export
    "assessment.authoring_banks": TRAINER_ONLY,
    "assessment.authoring_bank_new": TRAINER_ONLY,
    "assessment.authoring_bank": TRAINER_ONLY,
    "assessment.authoring_item": TRAINER_ONLY,
    "assessment.authoring_preview": TRAINER_ONLY,
    "assessment.authoring_item_preview": TRAINER_ONLY,
    "assessment.authoring_gift_export": TRAINER_ONLY,
    "assessment.authoring_gift_import": TRAINER_ONLY,
    "assessment.authoring_draft_open": TRAINER_ONLY,
    "assessment.authoring_draft_details": TRAINER_ONLY,
    "assessment.authoring_item_new": TRAINER_ONLY,
    "assessment.authoring_item_edit": TRAINER_ONLY,
    "assessment.authoring_item_retire": TRAINER_ONLY,
    "assessment.authoring_draft_publish": TRAINER_ONLY,
    "assessment.authoring_draft_discard": TRAINER_ONLY,
    # - trainers' authoring: the assessment builder (settings, sections, certified levels)
    "assessment.authoring_assessments": TRAINER_ONLY,
    "assessment.authoring_assessment_new": TRAINER_ONLY,
    "assessment.authoring_assessment": TRAINER_ONLY,
    "assessment.authoring_assessment_settings": TRAINER_ONLY,
    "assessment.authoring_section_new": TRAINER_ONLY,
    "assessment.authoring_section_edit": TRAINER_ONLY,
    "assessment.authoring_section_remove": TRAINER_ONLY,
    "assessment.authoring_certify": TRAINER_ONLY,
    "assessment.authoring_certify_remove": TRAINER_ONLY,
    # capability reports (issue 13): managers on their own people (their subtree and
    # reporting line), trainers and admins on everyone, learners none. Each page and each
    # of its CSV/XLSX exports is probed (QUERIES); whose people a manager may report on is
    # tested in tests/reports/test_report_scope.py
    "reports.heatmap": REPORT_AUDIENCE,
    "reports.heatmap_cell": REPORT_AUDIENCE,
    "reports.readiness": REPORT_AUDIENCE,
    "reports.bench": REPORT_AUDIENCE,
    "reports.closest_roles": REPORT_AUDIENCE,
    "reports.coverage": REPORT_AUDIENCE,
    "reports.coverage_cell": REPORT_AUDIENCE,
    "reports.coverage_rules": REPORT_AUDIENCE,
    # - the coverage rules as a file to edit: those who edit content
    "reports.coverage_rules_file": frozenset({TRAINER, ADMIN}),
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


def test_the_probe_tables_name_registered_endpoints(app):
    """ARGS_FOR, OWN_RECORDS, POST_DATA and QUERIES do not outlive the routes they are
    about."""
    endpoints = registered_endpoints(app)
    stale = [p for p in ARGS_FOR if not any(e.startswith(p) for e in endpoints)]
    stale += [e for e in [*OWN_RECORDS, *POST_DATA, *PERSON_SCOPED, *QUERIES] if e not in endpoints]
    assert not stale, f"probe tables name no registered endpoint: {stale}"


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


PROBE_PATH, DONE_PATH = "PRB", "PRD"
#: The modules of the probe path, by type: e-learning (the learner marks it complete),
#: classroom (its sessions), on-the-job (signed off) and assessment (a result recorded).
E_LEARNING, CLASSROOM, ON_THE_JOB, ASSESSMENT = (f"{PROBE_PATH}-0{i}" for i in range(1, 5))


def session_at(path_id: int, starts_at: datetime, hours: int = 2) -> ClassSession:
    sitting = ClassSession(
        path_id=path_id,
        module_code=CLASSROOM,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        location="Probe House, room 1",
        capacity=10,
    )
    db.session.add(sitting)
    db.session.flush()
    return sitting


def external_record(person: Person) -> ExternalCertificate:
    """An external certificate of ``person`` with a stored copy (a real PDF)."""
    return external.record_external_certificate(
        db.session(),
        person_id=person.id,
        certificate=external.OTHER,
        other_name="Probe Practitioner",
        number=f"PROBE-{person.id}",
        issued_on=date.today() - timedelta(days=30),
        file=io.BytesIO(tiny_pdf()),
        file_name="probe.pdf",
        folder=current_app.config["UPLOAD_FOLDER"],
        today=date.today(),
    )


def learning_records(person: Person, probe: PathVersion, done: PathVersion) -> dict:
    """One person's learning: enrolled on the probe path (nothing done yet), the other path
    completed with its certificate, an external certificate with its copy, and a place on
    the upcoming session (added by the caller)."""
    enrolment = enrol(person, probe)
    certificate = issue_certificate(db.session(), enrol(person, done, complete=True))
    return {
        "enrolment_id": enrolment.id,
        "certificate_id": certificate.id,
        "record_id": external_record(person).id,
    }


def build_learning_world(target: Person, role, me: User | None) -> tuple[dict, dict]:
    """The learning records the learning routes are probed on, as URL arguments, and the
    records whose state the matrix checks afterwards.

    A published probe path (one module of each way of completing it) with a draft open
    and a prerequisite in the draft, an enrolment rule, a completed path; the target's
    learning (see ``learning_records``), and ``me``'s own, for the routes the audience may
    use on their own records only (OWN_RECORDS); an upcoming session on which both hold a
    place, and one under way (attendance is recorded once a session has started).
    """
    probe = make_path(
        M(title="Probe reading"),
        M(type=ModuleType.CLASSROOM, title="Probe classroom"),
        M(type=ModuleType.ON_THE_JOB, title="Probe task"),
        M(type=ModuleType.ASSESSMENT, title="Probe assessment"),
        code=PROBE_PATH,
        title="Probe path",
    )
    done = make_path(code=DONE_PATH, title="Probe path done")
    draft = authoring.start_draft(db.session(), probe.path, actor_id=None)
    db.session.add(PathPrerequisite(version_id=draft.id, alternative_set=0, path_code=DONE_PATH))
    rule = EnrolmentRule(path_id=probe.path_id, role_id=role.id, due_days=30)
    db.session.add(rule)
    db.session.flush()

    theirs = learning_records(target, probe, done)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    upcoming = session_at(probe.path_id, now + timedelta(days=14))
    under_way = session_at(probe.path_id, now - timedelta(hours=1))
    holders = [target] + ([me.person] if me is not None else [])
    for person in holders:
        for sitting in (upcoming, under_way):
            db.session.add(
                Booking(session_id=sitting.id, person_id=person.id, status=BookingStatus.BOOKED)
            )
    args = {
        **theirs,
        "path_code": PROBE_PATH,
        "path_id": probe.path_id,
        "number": probe.number,  # a version number
        "prerequisite_index": 0,  # the draft's first prerequisite
        "module": E_LEARNING,  # a module of the draft
        "rule_id": rule.id,
        "e_learning": E_LEARNING,
        "on_the_job": ON_THE_JOB,
        "assessment": ASSESSMENT,
        "session_id": upcoming.id,
        "started_session_id": under_way.id,
        "verification_code": db.session.get(CompletionCertificate, theirs["certificate_id"]).code,
    }
    if me is not None:
        args.update(
            {
                f"own_{name}": value
                for name, value in learning_records(me.person, probe, done).items()
            }
        )
    db.session.flush()
    state = {
        "probe_path_id": probe.path_id,
        "draft_id": draft.id,
        "rule_id": rule.id,
        "enrolment_id": theirs["enrolment_id"],
        "certificate_id": theirs["certificate_id"],
        "record_id": theirs["record_id"],
        "session_ids": (upcoming.id, under_way.id),
        "paths": db.session.query(LearningPath).count(),
        "versions": db.session.query(PathVersion).count(),
        "sessions": db.session.query(ClassSession).count(),
    }
    return args, state


PROBE_FUNCTION = "PRBFUNC"


def build_reports_world(role) -> dict:
    """What the report routes are probed on: the probe framework in force for the last
    year (so a date a month ago is reported on the same competencies), a profile for the
    probe role (so it has a bench), and a P3O function that the probe office (a portfolio
    office with the target as its member) needs, so that its coverage cell exists. As URL
    arguments (see QUERIES)."""
    version = published_version(db.session())
    assert version is not None
    version.published_at = datetime.now(UTC) - timedelta(days=400)
    competency = db.session.scalar(
        select(Competency).where(Competency.version_id == version.id, Competency.code == "C1")
    )
    db.session.add(
        RoleRequirement(version_id=version.id, role_id=role.id, competency=competency, level=2)
    )
    function = OfficeFunction(code=PROBE_FUNCTION, name="Probe function", level=1)
    function.competencies.append(OfficeFunctionCompetency(competency_code="C1"))
    function.needs.append(OfficeFunctionNeed(office_kind=OfficeKind.PORTFOLIO))
    db.session.add(function)
    db.session.flush()
    refresh_all(db.session())  # the profile was added to a version already published
    return {
        "report_competency": "C1",
        "report_function": PROBE_FUNCTION,
        "month_ago": (date.today() - timedelta(days=30)).isoformat(),
    }


PROBE_BANK = "PRBANK"


def attempts_of(person: Person, assessment: Assessment) -> tuple[int, int]:
    """A submitted attempt of ``person`` and one in progress, started through the engine."""
    now = datetime.now(UTC)
    first = assessment_engine.start(
        db.session(), assessment=assessment, person_id=person.id, now=now
    )
    assessment_engine.submit(db.session(), attempt=first.attempt, now=now)
    second = assessment_engine.start(
        db.session(), assessment=assessment, person_id=person.id, now=now
    )
    db.session.flush()
    return first.attempt.id, second.attempt.id


def build_assessment_world(target: Person, me: User | None) -> tuple[dict, dict]:
    """A published question bank with a draft open, a published assessment over it (two
    sections, certifying a competency), and the target's attempts (one submitted, one in
    progress) and ``me``'s own, as URL arguments and the state checked afterwards."""
    bank, content, _ = make_bank(PROBE_BANK)
    assessment = make_assessment(
        bank, code="PRB-ASSESS", sections=[{"count": 6}, {"count": 6}], certifies={"GOV-05": 2}
    )
    draft = bank_authoring.open_draft(db.session(), bank, actor_id=None)
    finished_id, in_progress_id = attempts_of(target, assessment)
    drawn = db.session.scalars(
        select(AttemptItem).where(AttemptItem.attempt_id == finished_id)
    ).first()
    args = {
        "bank_code": bank.code,
        "bank_version_number": 1,  # the published version
        "item": content.items[0].id,
        "assessment_code": assessment.code,
        "assessment_id": assessment.id,
        "section_number": 1,
        "competency": "GOV-05",  # certified by the assessment
        "item_version_id": drawn.item_version_id,
        "attempt_id": in_progress_id,
        "finished_attempt_id": finished_id,
        "fmt": "csv",
        "draft_hash": draft.content_hash,
    }
    if me is not None:
        own_finished, own_in_progress = attempts_of(me.person, assessment)
        own = db.session.get(Attempt, own_in_progress)
        item = shown_items(db.session(), own, None)[0]
        args |= {
            "own_attempt_id": own_in_progress,
            "own_finished_attempt_id": own_finished,
            "autosave_fields": {"item": str(item.id), **form_fields(item, 0)},
        }
    db.session.flush()
    state = {
        "bank_id": bank.id,
        "draft_id": draft.id,
        "draft_hash": draft.content_hash,
        "bank_versions": db.session.query(BankVersion).count(),
        "assessments": db.session.query(Assessment).count(),
        "assessment_id": assessment.id,
        "row_version": assessment.row_version,
        "attempt_id": in_progress_id,
        "attempts": db.session.query(Attempt).count(),
    }
    return args, state


def build_world(audience: str):
    """Real records for every URL argument, and the signed-in user of the audience.

    The records the admin routes act on belong to other people than the audience user, so
    that e.g. "end sessions" or "deactivate" in the matrix never ends the probing session.
    A manager heads the unit of the person the records are about, so the object-scoped
    manager routes are probed on someone the manager may act for. The learning records are
    ``build_learning_world``'s; it also returns their state, checked after the probes.
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
    reports_args = build_reports_world(role)
    learning_args, learning_state = build_learning_world(target, role, me)
    assessment_args, assessment_state = build_assessment_world(target, me)
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
        "employee_number": target.employee_number,
        "code": "GOV-01",  # a competency code (framework authoring)
        **learning_args,
        **assessment_args,
        **reports_args,
    }
    return me, args, objects, {**learning_state, "assessment": assessment_state}


STATIC_FILES = {"static": "css/app.css", "bootstrap.static": "css/bootstrap.min.css"}

#: Routes any signed-in user may reach, about one person whose record they must be allowed
#: to read. A learner is probed on their own record: the route rule is what is probed here,
#: whose record is another matter (see test_object_access.py).
PERSON_SCOPED = {"org.person", "capability.person"}

#: Where a URL argument means something else than in ``build_world``'s args: endpoint prefix
#: -> {URL argument: key in args}. Every matching prefix applies, the longer ones last.
#: ``code`` is a competency's code on the framework routes, but a learning path's code on
#: the authoring routes and the path overview, a module's code on an enrolment's pages and
#: a certificate's verification code under /verify/; ``number`` is a path version's number,
#: but the index of a draft's prerequisite when removing one; attendance is recorded on a
#: session under way, not the upcoming one the other session routes are probed on.
ARGS_FOR: dict[str, dict[str, str]] = {
    "learning.authoring_": {"code": "path_code"},
    "learning.authoring_prerequisite_remove": {"number": "prerequisite_index"},
    "learning.path_overview": {"code": "path_code"},
    "learning.lesson": {"code": "e_learning"},
    "learning.module_complete": {"code": "e_learning"},
    "learning.module_sign_off": {"code": "on_the_job"},
    "learning.module_result": {"code": "assessment"},
    "learning.session_attendance": {"session_id": "started_session_id"},
    "learning.verify": {"code": "verification_code"},
    # a bank's code and version number on the bank routes, an assessment's code and a
    # section's number on the builder's; a result is probed on a submitted attempt
    "assessment.authoring_": {"code": "bank_code", "number": "bank_version_number"},
    "assessment.authoring_assessment": {"code": "assessment_code"},
    "assessment.authoring_section": {"code": "assessment_code", "number": "section_number"},
    "assessment.authoring_certify": {"code": "assessment_code"},
    "assessment.result": {"attempt_id": "finished_attempt_id"},
}

#: Object-scoped routes some of whose audience may use them on their own records only:
#: those are probed on their own (args ``own_<key>``), like PERSON_SCOPED. Whose records
#: the others may reach is tested in tests/learning/test_learning_access.py.
OWN_RECORDS: dict[str, frozenset[str]] = {
    "learning.enrolment": frozenset({LEARNER}),
    "learning.lesson": frozenset({LEARNER}),
    # only the learner marks their own modules complete
    "learning.module_complete": SIGNED_IN,
    # certificates and their copies are personal: an administrator as such sees their own
    "learning.certificate": frozenset({LEARNER, ADMIN}),
    "learning.external_record": frozenset({LEARNER, ADMIN}),
    "learning.external_file": frozenset({LEARNER, ADMIN}),
    # an attempt is only ever its learner's: everyone probes their own
    "assessment.attempt": SIGNED_IN,
    "assessment.save": SIGNED_IN,
    "assessment.autosave": SIGNED_IN,
    "assessment.submit_confirm": SIGNED_IN,
    "assessment.submit": SIGNED_IN,
    # a result: a learner's own; a manager's people's, a trainer's or an admin's anyone's
    "assessment.result": frozenset({LEARNER}),
}


def _soon() -> str:
    return (date.today() + timedelta(days=60)).isoformat()


def _session_form(args: dict) -> dict:
    """A valid session form: the classroom module, three weeks ahead, at a whole hour."""
    return {
        "module": f"{args['path_id']}:{CLASSROOM}",
        "day": (date.today() + timedelta(days=21)).isoformat(),
        "starts": "09:00",
        "ends": "11:00",
        "location": "Probe House, room 2",
        "capacity": "12",
    }


#: Form fields, besides the CSRF token, that make a POST a complete, valid request: a dict,
#: or a function of build_world's args. A POST that shows a confirmation page first answers
#: 200 without one; so do forms re-shown with their errors, but the fields are given where
#: a form would otherwise answer 400, or to carry out the action itself.
POST_DATA = {
    # stale tokens: the builder's and the draft's actions are refused with a message (302)
    "assessment.authoring_certify_remove": {"row_version": "0"},
    "assessment.authoring_section_remove": {"row_version": "0"},
    "assessment.authoring_draft_publish": {"draft_hash": "stale"},
    # the discard and retire buttons ask first (200)
    "assessment.authoring_draft_discard": lambda args: {"draft_hash": args["draft_hash"]},
    "assessment.autosave": lambda args: args.get("autosave_fields", {}),
    "capability.decide": {"decision": "reject", "comment": "Probe: not shown yet."},
    "learning.authoring_module_move": {"direction": "down"},
    "learning.authoring_publish": {"note": "Probe: what changed."},
    "learning.authoring_rule_edit": {"due_days": "45"},
    "learning.certificate_revoke": {"reason": "Probe: issued in error."},
    "learning.cpd_new": lambda args: {
        "activity": "Probe reading",
        "done_on": date.today().isoformat(),
        "hours": "1.5",
    },
    "learning.enrol": lambda args: {
        "path": str(args["path_id"]),
        "who": "people",
        "numbers": args["employee_number"],
        "due_on": _soon(),
    },
    "learning.external_new": lambda args: {
        "certificate": external.OTHER,
        "other_name": "Probe Foundation",
        "issued_on": (date.today() - timedelta(days=1)).isoformat(),
    },
    "learning.external_reject": {"reason": "Probe: the copy is unreadable."},
    "learning.module_result": lambda args: {
        "passed_on": date.today().isoformat(),
        "comment": "Probe",
    },
    "learning.module_sign_off": {"comment": "Probe: saw the task done."},
    "learning.person_enrol": lambda args: {"path": str(args["path_id"]), "due_on": _soon()},
    "learning.session_edit": _session_form,
    "learning.session_new": _session_form,
    # a download names its format (without one: 400, as a forged form would get)
    "privacy.my_data_download": {"format": "json"},
    "privacy.person_data_download": {"format": "zip"},
}


def _report_filters(args: dict) -> dict:
    """Every filter of a report set to records within the manager's reach (the manager
    heads the probe unit; the target holds the probe role in the probe office)."""
    return {"unit": args["unit_id"], "office": args["office_id"], "role": args["role_id"]}


def _cell(args: dict, row_kind: str, row_key: str | None) -> dict:
    row = {"row": args[row_key]} if row_key else {}
    return {"competency": args["report_competency"], "row_kind": row_kind, **row}


#: Query strings a GET route is probed with, each a probe of its own: a function of
#: build_world's args giving the list. A route not listed is probed once without one. The
#: reports are probed bare, with every filter set (and a date to compare with), and as each
#: of their exports; a drill-down on real rows of each kind.
QUERIES: dict[str, Callable[[dict], list[dict]]] = {
    "reports.heatmap": lambda a: [
        {},
        {**_report_filters(a), "compare": a["month_ago"]},
        {"rows": "unit", "measure": "shortfall"},
        {"rows": "office", "measure": "short"},
        {"rows": "role"},
        {"format": "csv"},
        {"format": "xlsx"},
        {**_report_filters(a), "rows": "unit", "compare": a["month_ago"], "format": "csv"},
        {"rows": "role", "measure": "short", "format": "xlsx"},
    ],
    "reports.heatmap_cell": lambda a: [
        _cell(a, "people", "person_id"),
        {**_cell(a, "unit", "unit_id"), **_report_filters(a)},
        {**_cell(a, "office", "office_id"), "short": "1"},
        _cell(a, "role", "role_id"),
        _cell(a, "all", None),
    ],
    # the page and its exports (readiness.csv, readiness.xlsx) share the endpoint
    "reports.readiness": lambda a: [
        {},
        {**_report_filters(a), "compare": a["month_ago"]},
        {"table": "gaps"},
        {"table": "change", "compare": a["month_ago"]},
    ],
    "reports.bench": lambda a: [
        {},
        {**_report_filters(a), "basis": "all", "within": "0", "who": "targets"},
        {"role": a["role_id"], "table": "people"},
    ],
    "reports.closest_roles": lambda a: [{}, {"on": a["month_ago"]}],
    "reports.coverage": lambda a: [
        {},
        {**_report_filters(a), "compare": a["month_ago"]},
        {"format": "csv"},
        {"format": "xlsx", "compare": a["month_ago"]},
    ],
    "reports.coverage_cell": lambda a: [
        {"cell_office": a["office_id"], "function": a["report_function"]},
        {
            "cell_office": a["office_id"],
            "function": a["report_function"],
            "rolled": "1",
            **_report_filters(a),
        },
    ],
}

#: URL arguments probed with each of their values (every export format of a report).
VARIANTS: dict[str, tuple[str, ...]] = {"fmt": ("csv", "xlsx")}


def post_data(endpoint: str, args: dict) -> dict:
    data = POST_DATA.get(endpoint, {})
    return data(args) if callable(data) else data


def arg_keys(endpoint: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    for prefix in sorted(ARGS_FOR, key=len):
        if endpoint.startswith(prefix):
            keys.update(ARGS_FOR[prefix])
    return keys


def url_args(rule, args: dict, me, audience: str) -> dict:
    values = {}
    keys = arg_keys(rule.endpoint)
    own = audience in OWN_RECORDS.get(rule.endpoint, frozenset())
    for name in rule.arguments:
        if name == "filename":
            values[name] = STATIC_FILES[rule.endpoint]
        elif rule.endpoint in PERSON_SCOPED and audience == LEARNER:
            values[name] = me.person_id
        else:
            key = keys.get(name, name)
            values[name] = args[f"own_{key}"] if own and f"own_{key}" in args else args[key]
    return values


def probe_urls(rule, args: dict, me, audience: str, method: str) -> list[str]:
    """The URLs a (rule, method) is probed on: one per value of each argument in VARIANTS,
    times one per query string in QUERIES (GETs only)."""
    variants = [url_args(rule, args, me, audience)]
    for name, values in VARIANTS.items():
        if name in rule.arguments:
            variants = [{**v, name: value} for v in variants for value in values]
    queries = QUERIES[rule.endpoint](args) if method == "GET" and rule.endpoint in QUERIES else [{}]
    urls = []
    for values in variants:
        path = rule.build(values, append_unknown=False)[1]
        urls += [f"{path}?{urlencode(q)}" if q else path for q in queries]
    return urls


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
    me, args, objects, learning_state = build_world(audience)
    if me is not None:
        log_in(client, me)
    csrf = csrf_token_for(client, signed_in=me is not None)

    failures, probed = [], 0
    for endpoint, method, rule in probes(app):
        for url in probe_urls(rule, args, me, audience, method):
            if method == "GET":
                response = client.get(url)
            else:
                data = {"csrf_token": csrf, **post_data(endpoint, args)}
                response = client.post(url, data=data)
            problem = judge(endpoint, audience, response)
            response.close()
            probed += 1
            if problem:
                failures.append(f"{method} {url} ({endpoint}): {problem}")

    assert probed >= len(EXPECTED)
    assert not failures, f"{audience}:\n" + "\n".join(failures)
    if audience != ADMIN:
        assert_admin_posts_changed_nothing(*objects)
    assert_refused_learning_posts_changed_nothing(audience, learning_state)
    assert_refused_assessment_posts_changed_nothing(audience, learning_state["assessment"])


def assert_admin_posts_changed_nothing(
    target, target_user, unit, office, role, assignment, people_before
):
    """The refused admin POSTs (deactivate, end, reset link, end sessions) left no trace."""
    db.session.expire_all()
    assert target.active and target_user.active and unit.active and office.active and role.active
    assert assignment.end_date is None
    assert db.session.query(PasswordToken).filter_by(user_id=target_user.id).count() == 0
    assert db.session.query(Person).count() == people_before  # nobody was added either


def assert_refused_learning_posts_changed_nothing(audience: str, state: dict):
    """The learning POSTs refused to the audience left no trace: trainers' authoring,
    sessions, revoking and review for everyone but trainers; sign-off, results and
    withdrawal on the target's enrolment for those who are neither manager nor trainer."""
    db.session.expire_all()
    if audience != TRAINER:
        assert db.session.query(LearningPath).count() == state["paths"]
        assert db.session.query(PathVersion).count() == state["versions"]
        assert current_draft(db.session(), state["probe_path_id"]).id == state["draft_id"]
        draft = db.session.get(PathVersion, state["draft_id"])
        assert [m.code for m in draft.modules] == [E_LEARNING, CLASSROOM, ON_THE_JOB, ASSESSMENT]
        assert len(draft.prerequisites) == 1
        assert db.session.get(EnrolmentRule, state["rule_id"]).active
        assert db.session.get(CompletionCertificate, state["certificate_id"]).revoked_at is None
        record = db.session.get(ExternalCertificate, state["record_id"])
        assert record.status == ExternalStatus.PENDING
        assert db.session.query(ClassSession).count() == state["sessions"]
        for session_id in state["session_ids"]:
            sitting = db.session.get(ClassSession, session_id)
            assert sitting.cancelled_at is None and sitting.attendance_recorded_at is None
    if audience not in MANAGERS_AND_TRAINERS:
        enrolment_id = state["enrolment_id"]
        assert db.session.get(Enrolment, enrolment_id).status == EnrolmentStatus.ACTIVE
        completions = db.session.query(ModuleCompletion).filter_by(enrolment_id=enrolment_id)
        assert completions.count() == 0


def assert_refused_assessment_posts_changed_nothing(audience: str, state: dict):
    """Nobody changed the target's attempt in progress (an attempt is its learner's only);
    the banks and the assessment are as built for everyone but trainers, and the trainer's
    stale-token POSTs were refused."""
    db.session.expire_all()
    attempt = db.session.get(Attempt, state["attempt_id"])
    assert attempt.status == AttemptStatus.IN_PROGRESS
    rows = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id))
    assert all(row.answer is None for row in rows)
    assessment = db.session.get(Assessment, state["assessment_id"])
    assert len(assessment.sections) == 2
    assert [c.competency_code for c in assessment.certifies] == ["GOV-05"]
    draft = draft_of(db.session(), state["bank_id"])
    assert draft is not None and draft.id == state["draft_id"]
    if audience != TRAINER:
        assert assessment.row_version == state["row_version"]
        assert draft.content_hash == state["draft_hash"]
        assert db.session.query(BankVersion).count() == state["bank_versions"]
        assert db.session.query(Assessment).count() == state["assessments"]
        assert db.session.query(Attempt).count() == state["attempts"]


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
    # The menus open from buttons: a menu clicked before the script has loaded does nothing,
    # instead of following a link to "#".
    assert 'href="#"' not in page.text
    assert re.search(
        r'<button class="nav-link dropdown-toggle"[^>]*>Administration</button>', page.text
    )


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
