"""`flask privacy retention` (ASVS V8.3.8; RELIABILITY.md I2): leavers past the retention
period are anonymised, exactly (the boundary to the day), and staff import files past
theirs deleted, each batch keeping its summary; --dry-run changes nothing; the output names
people by id only."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from app.accounts.models import Permission
from app.extensions import db
from app.org.models import Person
from app.staff_import.models import BatchStatus, ImportBatch
from app.staff_import.services import upload
from tests.factories import make_person, make_user

TODAY = date(2026, 6, 1)


def retention(app, *args: str):
    return app.test_cli_runner().invoke(args=["privacy", "retention", *args])


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def names_of(*people: Person) -> list[str]:
    db.session.expire_all()
    return [db.session.get(Person, p.id).full_name for p in people]


def test_leavers_past_the_period_are_anonymised_to_the_day(app, session):
    days = app.config["RETAIN_LEAVERS_DAYS"]
    assert days == 2190  # six years by default
    cutoff = TODAY - timedelta(days=days)
    kept = make_person("Kim", "Cutoff", leaving_date=cutoff, active=False)
    gone = make_person("Gil", "Overdue", leaving_date=cutoff - timedelta(days=1), active=False)
    recent = make_person("Rae", "Recent", leaving_date=TODAY - timedelta(days=10), active=False)
    # inactive without a leaving date: the last change to the record is when they left
    old = make_person("Ola", "Inactive", active=False, updated_at=_noon(cutoff - timedelta(1)))
    new = make_person("Nia", "Inactive", active=False, updated_at=_noon(cutoff))
    staying = make_person("Sam", "Staying")
    db.session.commit()
    everyone = (kept, gone, recent, old, new, staying)
    before = names_of(*everyone)

    dry = retention(app, "--dry-run", "--today", TODAY.isoformat())
    assert dry.exit_code == 0, dry.output
    assert "Would anonymise 2 leavers" in dry.output
    assert f"person {gone.id} " in dry.output and f"person {old.id} " in dry.output
    assert f"person {kept.id} " not in dry.output and f"person {new.id} " not in dry.output
    assert names_of(*everyone) == before

    done = retention(app, "--today", TODAY.isoformat())
    assert done.exit_code == 0, done.output
    after = dict(
        zip(["kept", "gone", "recent", "old", "new", "staying"], names_of(*everyone), strict=True)
    )
    assert after["gone"].startswith("Former employee #")
    assert after["old"].startswith("Former employee #")
    assert [after[k] for k in ("kept", "recent", "new", "staying")] == [
        before[0],
        before[2],
        before[4],
        before[5],
    ]
    for name in before:  # the output lands in logs: ids and pseudonyms only
        assert name.split()[0] not in done.output and name.split()[-1] not in done.output
    assert f"person {gone.id} (left {cutoff - timedelta(days=1)}): now Former employee #" in (
        done.output
    )

    again = retention(app, "--today", TODAY.isoformat())
    assert again.exit_code == 0 and "Anonymising 0 leavers" in again.output


def test_one_refusal_does_not_stop_the_others_and_fails_the_run(app, session):
    long_ago = TODAY - timedelta(days=3000)
    admin = make_person("Ada", "Admin", leaving_date=long_ago)  # still active: refused
    make_user(Permission.ADMIN, person=admin)
    other = make_person("Oli", "Other", leaving_date=long_ago, active=False)
    db.session.commit()
    result = retention(app, "--today", TODAY.isoformat())
    assert result.exit_code == 1
    assert f"person {admin.id} (left {long_ago}): not anonymised" in result.output
    assert names_of(admin, other)[0] == "Ada Admin"
    assert names_of(admin, other)[1].startswith("Former employee #")


def _batch(days_ago: int, status: BatchStatus) -> ImportBatch:
    batch = upload(
        db.session,
        data=b"Employee Number,First Name,Last Name\nE1,Hana,Hr\nE2,Ivo,Hr\n",
        filename=f"hr-{days_ago}.csv",
        actor_id=make_user(Permission.ADMIN).id,
    )
    batch.status = status
    batch.uploaded_at = datetime.now(UTC) - timedelta(days=days_ago)
    batch.counts = {"create": 2}
    batch.issues = [[2, "First Name", "warning", "'Hana' looks like a nickname"]]
    db.session.flush()
    return batch


def test_hr_files_past_the_period_are_deleted_and_their_summaries_kept(app, session):
    assert app.config["RETAIN_HR_FILES_DAYS"] == 30
    old = _batch(31, BatchStatus.APPLIED)
    fresh = _batch(29, BatchStatus.APPLIED)
    stale = _batch(45, BatchStatus.UPLOADED)  # never applied
    db.session.commit()
    ids = (old.id, fresh.id, stale.id)

    dry = retention(app, "--dry-run")
    assert "Would delete the files of 2 staff imports" in dry.output
    db.session.expire_all()
    assert all(db.session.get(ImportBatch, i).content for i in ids)

    done = retention(app)
    assert done.exit_code == 0, done.output
    assert f"batch {stale.id} " in done.output and "never applied: discarded" in done.output
    assert "Hana" not in done.output
    db.session.expire_all()
    old, fresh, stale = (db.session.get(ImportBatch, i) for i in ids)
    for gone in (old, stale):
        assert gone.content == b"" and gone.issues == [] and gone.file_deleted_at is not None
        assert gone.filename and gone.size > 0 and gone.sha256 and gone.counts == {"create": 2}
    assert stale.status == BatchStatus.DISCARDED and old.status == BatchStatus.APPLIED
    assert b"Hana" in fresh.content and fresh.issues and fresh.file_deleted_at is None
    deleted = db.session.scalars(
        select(ImportBatch.id).where(ImportBatch.file_deleted_at.is_not(None))
    ).all()
    assert sorted(deleted) == sorted([old.id, stale.id])


def test_the_periods_are_settings(app, session):
    app.config["RETAIN_LEAVERS_DAYS"] = 30
    left = make_person("Lee", "Leaver", leaving_date=TODAY - timedelta(days=31), active=False)
    db.session.commit()
    result = retention(app, "--today", TODAY.isoformat())
    assert "leavers' records 30 days" in result.output
    assert names_of(left)[0].startswith("Former employee #")
