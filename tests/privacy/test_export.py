"""A learner downloads everything held about them (ASVS V8.3.2; RELIABILITY.md I1): every
record of every table that holds rows about them, none of anyone else's, never a secret,
and an assessment's key only where its feedback policy lets the learner review it."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from flask import current_app
from sqlalchemy import func, select

from app.accounts.models import LoginSession, PasswordToken
from app.assessment import attempts as engine
from app.audit.models import AuditEvent
from app.extensions import Model, db
from app.privacy.export import as_json, as_zip, csv_of, gather
from app.privacy.providers import PROVIDERS
from tests.assessment.attempt_factories import MARKER
from tests.factories import password_hash
from tests.learning.certificate_helpers import csrf_for
from tests.privacy.world import EMAIL, FIRST, LAST, NUMBER, build_world

#: Where each owned table's rows are in the download: the kind holding one record per
#: row, or None with where they are instead. A table a provider owns but this map does not
#: name fails test_every_owned_table_is_in_the_download.
TABLE_KINDS: dict[str, str | None] = {
    "people": "person",
    "role_assignments": "role_assignments",
    "users": "accounts",
    "user_permissions": None,  # the account's "permissions"
    "login_sessions": "login_sessions",
    "password_tokens": "password_links",
    "two_factor": None,  # the account's "two_factor" and "two_factor_since"
    "recovery_codes": "recovery_codes",
    "evidence": "evidence",
    "validation_decisions": "rating_decisions",
    "calibrations": "calibrations",
    "enrolments": "enrolments",
    "module_completions": "module_progress",
    "session_bookings": "session_bookings",
    "completion_certificates": "certificates",
    "external_certificates": "external_certificates",
    "cpd_records": "cpd",
    "reminder_log": "reminders",
    "attempts": "attempts",
    "attempt_items": "attempt_answers",
    "level_spans": "levels_over_time",
    "requirement_spans": "requirements_over_time",
    "role_distances": "role_distances",
    "role_distance_periods": None,  # the dates the role distances were computed over
    "audit_events": "audit_events",
}


def owned_tables() -> dict[str, str]:
    return {table: column for p in PROVIDERS for table, column in p.owned.items()}


def rows_about(table: str, person_id: int, user_id: int):
    """A SELECT counting ``table``'s rows about the person, following the owned links."""
    owned = owned_tables()
    t = Model.metadata.tables[table]
    column = t.c[owned[table]]
    if column.name == "id" and table == "people":
        return column == person_id
    parents = [fk.target_fullname.split(".")[0] for fk in column.foreign_keys]
    parent = parents[0] if parents else ("users" if column.name == "user_id" else "people")
    if parent == "people":
        return column == person_id
    if parent == "users":
        return column == user_id
    p = Model.metadata.tables[parent]
    return column.in_(select(p.c.id).where(rows_about(parent, person_id, user_id)))


def count_about(table: str, person_id: int, user_id: int) -> int:
    t = Model.metadata.tables[table]
    return db.session.scalar(
        select(func.count()).select_from(t).where(rows_about(table, person_id, user_id))
    )


@pytest.fixture
def world(app, session):
    built = build_world()
    db.session.commit()
    return built


def _download(world, now=None):
    return gather(
        db.session,
        world.person.id,
        now=now or datetime.now(UTC),
        upload_folder=current_app.config["UPLOAD_FOLDER"],
    )


def test_every_owned_table_is_in_the_download(world):
    """K of K: each table's rows about the learner, one record each in their kind; and
    every table a provider owns has its place in the download."""
    assert set(owned_tables()) <= set(TABLE_KINDS), "say where a new owned table is exported"
    download = _download(world)
    seeded = exported = 0
    for table, kind in TABLE_KINDS.items():
        if table not in owned_tables():
            continue
        n = count_about(table, world.person.id, world.user.id)
        seeded += n
        if kind is not None:
            assert len(download.data[kind]) == n, f"{table}: {n} rows, {kind} in the download"
            exported += n
    assert seeded >= 40 and exported >= seeded - 5  # rows folded into the account's record
    account = download.data["accounts"][0]
    assert account["permissions"] == "learner"
    assert account["two_factor"] == "being set up"


def test_the_download_holds_the_learners_data_and_nobody_elses(world):
    text = as_json(_download(world)).decode()
    for value in (FIRST, LAST, EMAIL, NUMBER, *world.canaries):
        assert value in text, value
    for value in world.other_canaries:
        assert value not in text, f"a colleague's record leaked: {value}"
    assert "Otto" not in text


def test_the_download_never_holds_a_secret(world):
    download = _download(world)
    secrets = [
        password_hash(),
        "SEALEDSECRETQ",
        "RECOVERYHASHQ",
        *db.session.scalars(select(LoginSession.token_hash)),
        *db.session.scalars(select(PasswordToken.token_hash)),
    ]
    text = as_json(download).decode()
    with zipfile.ZipFile(io.BytesIO(as_zip(download))) as archive:
        texts = [text] + [
            archive.read(n).decode() for n in archive.namelist() if n.endswith(".csv")
        ]
    for body in texts:
        for secret in secrets:
            assert secret not in body
        assert "password_hash" not in body and "token_hash" not in body


def _answers_of(download, assessment) -> list[dict]:
    return [r for r in download.data["attempt_answers"] if r["assessment_code"] == assessment.code]


def test_answers_show_the_key_only_where_the_feedback_policy_opens_the_review(world):
    download = _download(world)
    reviewed = _answers_of(download, world.reviewed)
    unreviewed = _answers_of(download, world.unreviewed)
    assert reviewed and unreviewed
    # review after submission: the marks, the key and the rationales of every question
    assert all("review" in r and "marks" in r for r in reviewed)
    assert any(line["correct"] for r in reviewed for line in r["review"])
    reviewed_text = json.dumps(reviewed)
    assert any(m in reviewed_text for m in world.markers.reviewed())
    # no review: the question and the learner's answer, nothing of the key
    unreviewed_text = json.dumps(unreviewed)
    assert all("review" not in r and "marks" not in r for r in unreviewed)
    assert MARKER not in unreviewed_text
    assert any(r["your_answer"] for r in unreviewed)
    # an author's note is never shown to a learner
    assert not any(m in as_json(download).decode() for m in world.markers.notes)
    # another attempt in progress closes the review of the earlier ones too
    engine.start(
        db.session(), assessment=world.reviewed, person_id=world.person.id, now=datetime.now(UTC)
    )
    db.session.commit()
    again = as_json(_download(world)).decode()
    assert MARKER not in again
    assert '"review"' not in again


def test_csv_cells_cannot_run_as_formulas():
    text = csv_of([{"note": '=HYPERLINK("http://evil")', "n": 3}, {"extra": ["a", 1]}])
    assert "'=HYPERLINK" in text
    assert text.splitlines()[0] == "note,n,extra"
    assert '"[""a"", 1]"' in text


# --- the pages -----------------------------------------------------------------------------


def test_the_learner_downloads_their_data_from_their_profile(world, client, login):
    login(world.user)
    profile = client.get("/me")
    assert 'href="/account/my-data"' in profile.text
    page = client.get("/account/my-data")
    assert page.status_code == 200
    assert "Download as JSON" in page.text and "Download as CSV files (zip)" in page.text
    assert "Rating decisions" in page.text
    csrf = csrf_for(client, "/account/my-data")

    as_file = client.post("/account/my-data/download", data={"csrf_token": csrf, "format": "json"})
    assert as_file.status_code == 200
    assert as_file.headers["Content-Type"].startswith("application/json")
    assert as_file.headers["Content-Disposition"].startswith("attachment;")
    assert as_file.headers["Cache-Control"] == "no-store"
    document = json.loads(as_file.data)
    assert document["data"]["person"][0]["email"] == EMAIL
    assert document["person_id"] == world.person.id

    zipped = client.post("/account/my-data/download", data={"csrf_token": csrf, "format": "zip"})
    assert zipped.status_code == 200 and zipped.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.data)) as archive:
        names = set(archive.namelist())
        assert {"README.txt", "person.csv", "evidence.csv", "attempt_answers.csv"} <= names
        copies = [n for n in names if n.startswith("files/")]
        assert len(copies) == 1 and archive.read(copies[0]) == world.upload_bytes
        assert world.canaries[0] in archive.read("evidence.csv").decode("utf-8-sig")

    # the trail notes each download (who, whose, which format), never its content
    exports = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "export", AuditEvent.person_id == world.person.id)
        .order_by(AuditEvent.id)
    ).all()
    assert [e.detail["format"] for e in exports] == ["json", "zip"]
    assert all(EMAIL not in json.dumps(e.detail) for e in exports)


def test_a_download_needs_the_form(world, client, login):
    login(world.user)
    assert client.post("/account/my-data/download", data={"format": "json"}).status_code == 400
    csrf = csrf_for(client, "/account/my-data")
    bad = client.post("/account/my-data/download", data={"csrf_token": csrf, "format": "xml"})
    assert bad.status_code == 400


def test_an_administrator_downloads_a_leavers_data(world, client, login):
    login(world.manager)  # an admin as well
    page = client.get(f"/admin/people/{world.person.id}/data")
    assert page.status_code == 200 and f"Personal data: {FIRST} {LAST}" in page.text
    csrf = csrf_for(client, f"/admin/people/{world.person.id}/data")
    response = client.post(
        f"/admin/people/{world.person.id}/data/download",
        data={"csrf_token": csrf, "format": "json"},
    )
    assert response.status_code == 200
    assert json.loads(response.data)["data"]["person"][0]["employee_number"] == NUMBER
