"""An administrator anonymises a leaver (ASVS V8.3.2; RELIABILITY.md I2): nothing that
identifies them is left anywhere in the database, their account is closed, their uploads
are gone, and the run can be repeated (a no-op) or, interrupted, finished by running it
again."""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from app.accounts.models import (
    LoginSession,
    PasswordToken,
    Permission,
    RecoveryCode,
    TwoFactor,
    User,
    UserPermission,
)
from app.audit.models import AuditEvent
from app.errors import DomainError
from app.extensions import Model, db
from app.learning.models import CompletionCertificate, ExternalCertificate
from app.org.models import Person
from app.privacy.erasure import anonymise
from app.privacy.providers import PROVIDERS
from app.privacy.registry import Pseudonym
from app.staff_import.models import ImportBatch
from tests.conftest import log_in
from tests.factories import PASSWORD, make_person, make_user
from tests.learning.certificate_helpers import csrf_for
from tests.privacy.world import EMAIL, FIRST, LAST, LOGIN, NUMBER, build_world

#: The trail records each run (its redaction is an event of its own): compared apart.
AUDIT_TABLES = {"audit_events", "audit_chain_head"}


@pytest.fixture
def world(app, session):
    built = build_world()
    built.person.active = False
    built.person.leaving_date = date.today() - timedelta(days=10)
    db.session.commit()
    return built


def run(world, person_id=None, providers=PROVIDERS, today=None):
    return anonymise(
        db.session,
        person_id=person_id or world.person.id,
        today=today or date.today(),
        now=datetime.now(UTC),
        salt="test-salt",
        upload_folder=current_app.config["UPLOAD_FOLDER"],
        providers=providers,
    )


def dump(skip: set[str] = frozenset()) -> dict[str, list[str]]:
    """Every row of every table, as text, in a stable order: a full database dump."""
    db.session.expire_all()
    out = {}
    with db.engine.connect() as conn:
        for table in Model.metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted(repr(tuple(r)) for r in rows)
    return out


def hits(found: dict[str, list[str]], values: list[str]) -> list[tuple[str, str]]:
    """(table, value) for every value found anywhere in the dump, ignoring case."""
    wanted = [v.lower() for v in values]
    return sorted(
        {
            (table, value)
            for table, rows in found.items()
            for row in rows
            for value in wanted
            if value in row.lower()
        }
    )


def test_nothing_that_identifies_the_leaver_is_left(world):
    before = dump()
    assert hits(before, world.identifiers)  # the search finds them while they are there
    outcome = run(world)
    db.session.commit()

    after = dump()
    assert hits(after, world.identifiers) == []
    assert hits(after, [f"cert-{world.person.id}"])  # not a personal value: kept
    assert all(hits(after, [c]) for c in world.other_canaries), "a colleague's data went"

    person = db.session.get(Person, world.person.id)
    assert re.fullmatch(r"Former employee #[0-9a-f]{6}", person.full_name)
    assert person.full_name == outcome.pseudonym
    assert person.employee_number.startswith("ANON-") and person.email is None
    assert person.anonymised_at is not None and not person.active
    assert person.leaving_date == world.person.leaving_date  # dates stay
    assert person.org_unit_id is not None and person.line_manager_id == world.manager.person_id
    certificate = db.session.scalar(
        select(CompletionCertificate).where(CompletionCertificate.person_id == person.id)
    )
    assert certificate.learner_name == outcome.pseudonym


def test_the_account_is_closed_and_its_secrets_gone(world, client):
    log_in(client, world.user)
    assert client.get("/").status_code == 200
    run(world)
    db.session.commit()

    user = db.session.get(User, world.user.id)
    assert user.email.endswith("@anonymised.invalid") and not user.active
    assert user.password_hash is None
    for model in (LoginSession, PasswordToken, UserPermission, TwoFactor, RecoveryCode):
        column = model.user_id
        assert not db.session.scalars(select(model).where(column == user.id)).all(), model
    # the session in the browser has ended, and the old log-in works no more
    assert client.get("/").status_code == 302
    page = client.get("/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login", data={"email": LOGIN, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code != 302 or "/login" in response.headers.get("Location", "")
    assert client.get("/").status_code == 302
    # the real address is free again: someone rehired gets a new account with it
    make_user(Permission.LEARNER, person=make_person("Re", "Hired"), email=LOGIN)
    db.session.commit()


def test_uploads_and_hr_files_listing_the_leaver_are_deleted(world):
    assert world.upload.is_file()
    outcome = run(world)
    db.session.commit()
    assert not world.upload.exists()
    assert outcome.files_deleted == 1
    record = db.session.scalar(
        select(ExternalCertificate).where(ExternalCertificate.person_id == world.person.id)
    )
    assert record.file_name is None and record.original_name == "" and record.number == ""
    batch = db.session.get(ImportBatch, world.batch_id)
    assert batch.content == b"" and batch.issues == [] and batch.file_deleted_at is not None
    assert batch.filename == "hr-export.csv" and batch.size > 0 and batch.sha256  # summary


def test_a_second_run_changes_nothing(world):
    first = run(world)
    db.session.commit()
    before = dump(AUDIT_TABLES)
    second = run(world)
    db.session.commit()
    assert dump(AUDIT_TABLES) == before
    assert second.changed == 0 and not second.first_time
    assert second.pseudonym == first.pseudonym


def test_an_interrupted_run_changes_no_record_and_is_finished_by_running_it_again(world):
    before = dump(AUDIT_TABLES)

    def broken(*_args):
        raise RuntimeError("the database went away")

    providers = tuple(
        dataclasses.replace(p, erase=broken) if p.name == "learning" else p for p in PROVIDERS
    )
    with pytest.raises(RuntimeError):
        run(world, providers=providers)
    db.session.rollback()
    assert dump(AUDIT_TABLES) == before  # one transaction: no record half-anonymised
    assert not world.upload.exists()  # files go first: no file is left that no record names

    outcome = run(world)
    db.session.commit()
    assert outcome.first_time
    assert hits(dump(), world.identifiers) == []
    record = db.session.scalar(
        select(ExternalCertificate).where(ExternalCertificate.person_id == world.person.id)
    )
    assert record.file_name is None


def test_only_a_leaver_is_anonymised(world):
    other = db.session.get(Person, world.other.id)
    before = dump(AUDIT_TABLES)
    with pytest.raises(DomainError, match="Not a leaver"):
        run(world, person_id=other.id)
    other.leaving_date = date.today()  # their last day: not gone yet
    db.session.commit()
    with pytest.raises(DomainError, match="Not a leaver"):
        run(world, person_id=other.id)
    db.session.rollback()
    assert dump(AUDIT_TABLES | {"people"}) == {k: v for k, v in before.items() if k != "people"}
    # the day after their last day, an active record is a leaver's: anonymised, made inactive
    outcome = run(world, person_id=other.id, today=date.today() + timedelta(days=1))
    db.session.commit()
    assert not db.session.get(Person, other.id).active
    assert db.session.get(Person, other.id).full_name == outcome.pseudonym


def test_the_last_active_administrator_is_not_anonymised(app, session):
    boss = make_person("Ada", "Admin", leaving_date=date.today() - timedelta(days=2))
    make_user(Permission.ADMIN, person=boss)
    db.session.commit()
    with pytest.raises(DomainError, match="last active administrator"):
        anonymise(
            db.session,
            person_id=boss.id,
            today=date.today(),
            now=datetime.now(UTC),
            salt="s",
            upload_folder=current_app.config["UPLOAD_FOLDER"],
        )
    db.session.rollback()
    assert db.session.get(Person, boss.id).first_name == "Ada"


def test_the_pseudonym_is_a_salted_hash():
    a, b = Pseudonym.of(7, "salt one"), Pseudonym.of(7, "salt two")
    assert a != b and a == Pseudonym.of(7, "salt one")
    assert Pseudonym.of(8, "salt one") != a
    assert Pseudonym.from_employee_number(a.employee_number) == a
    assert Pseudonym.from_employee_number("E00042") is None
    assert len(a.employee_number) <= 32 and "7" not in a.name.replace(a.tag, "")


# --- the pages -----------------------------------------------------------------------------


def test_the_administrator_confirms_before_anonymising(world, client, login, caplog):
    caplog.set_level(logging.DEBUG)
    login(world.manager)  # an admin too
    page = client.get(f"/people/{world.person.id}")
    assert 'data-testid="anonymise"' in page.text
    csrf = csrf_for(client, f"/people/{world.person.id}")
    url = f"/admin/people/{world.person.id}/anonymise"

    assert client.post(url).status_code == 400  # no CSRF token: refused, nothing done
    asked = client.post(url, data={"csrf_token": csrf})
    assert asked.status_code == 200
    assert "Anonymise for good" in asked.text and "1 uploaded file will be deleted" in asked.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", asked.text)  # no inline script
    assert db.session.get(Person, world.person.id).first_name == FIRST  # not yet

    done = client.post(url, data={"csrf_token": csrf, "confirmed": "1"})
    assert done.status_code == 302 and done.headers["Location"].endswith(
        f"/people/{world.person.id}"
    )
    shown = client.get(done.headers["Location"])
    assert "Anonymised: the record is now Former employee #" in shown.text
    assert FIRST not in shown.text and LAST not in shown.text and EMAIL not in shown.text
    assert NUMBER not in shown.text
    assert 'data-testid="anonymise"' not in shown.text
    # the trail recorded the change, request and all; its entries about them are redacted
    redacted = db.session.scalars(
        select(AuditEvent).where(AuditEvent.person_id == world.person.id)
    ).all()
    assert any(e.redacted_at is not None for e in redacted)
    assert any(e.action == "redact" for e in redacted)
    assert hits(dump(), world.identifiers) == []
    # nor did any log line name them (the security log holds ids only)
    assert caplog.records and not [v for v in world.identifiers if v.lower() in caplog.text.lower()]


def test_the_page_refuses_someone_who_has_not_left(world, client, login):
    login(world.manager)
    page = client.get(f"/people/{world.other.id}")
    assert 'data-testid="anonymise"' not in page.text
    csrf = csrf_for(client, f"/people/{world.other.id}")
    response = client.post(
        f"/admin/people/{world.other.id}/anonymise", data={"csrf_token": csrf, "confirmed": "1"}
    )
    assert response.status_code == 302
    assert "Not anonymised: Not a leaver" in client.get(response.headers["Location"]).text
    assert db.session.get(Person, world.other.id).first_name == "Otto"
