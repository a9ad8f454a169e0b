"""What the audit trail records: a change by an admin, trainer or manager, with who, when,
what, before and after; an export; an import as one event; nothing for work rolled back."""

from __future__ import annotations

import json
import threading

import pytest
from flask import g
from sqlalchemy import select

from app.accounts.models import Permission, User, UserPermission
from app.audit import record
from app.audit.capture import BUDGET, begin_request
from app.audit.chain import verify
from app.audit.models import AuditEvent
from app.extensions import db
from app.org.models import Person
from tests.audit.helpers import acting, last_id, trail
from tests.capability.test_views import pending_rating, post_decision, rate_myself, scene
from tests.factories import make_person, make_role, make_unit, make_user
from tests.stale_forms import editor

__all__ = ["scene"]  # the capability views' fixture, used here


@pytest.fixture
def admin(app):
    user = make_user(Permission.ADMIN, person=make_person("Ada", "Admin"))
    db.session.commit()
    return user


def test_an_admins_person_edit_is_recorded_with_before_after_and_actor(app, admin):
    person = make_person("Ann", "Lee", unit=make_unit("Delivery"), job_title="Analyst")
    person.email = "ann@example.com"  # the form checks the address for real
    db.session.commit()
    page = editor(app, admin, f"/admin/people/{person.id}/edit").open()
    assert page.save(first_name="Anna", job_title="Senior Analyst").status_code == 302

    [event] = trail(AuditEvent.record_table == "people")
    assert (event.action, event.record_id, event.person_id) == ("update", str(person.id), person.id)
    assert event.before == {"first_name": "Ann", "job_title": "Analyst"}
    assert event.after == {"first_name": "Anna", "job_title": "Senior Analyst"}
    assert event.actor_user_id == admin.id and event.command is None
    assert event.request_id and event.client_address == "127.0.0.1"
    assert event.at.tzinfo is not None


def test_opening_and_saving_unchanged_records_nothing(app, admin):
    person = make_person("Ann", "Lee", unit=make_unit("Delivery"))
    person.email = "ann@example.com"
    db.session.commit()
    page = editor(app, admin, f"/admin/people/{person.id}/edit").open()
    assert page.save().status_code == 302
    assert trail() == []


def test_a_managers_validation_decision_is_recorded(client, login, scene):
    login(scene.learner)
    assert rate_myself(client, level=3).status_code == 302
    rating_id = pending_rating(scene.learner_id).id
    start = last_id()

    login(scene.manager)
    assert post_decision(client, rating_id, decision="accept").status_code == 302

    events = trail(AuditEvent.id > start)
    assert {e.actor_user_id for e in events} == {scene.manager.id}
    [decision] = [e for e in events if e.record_table == "validation_decisions"]
    assert decision.action == "create"
    assert decision.after["decision"] == "accept"
    assert decision.after["evidence_id"] == rating_id
    assert decision.person_id == scene.learner_id
    rating = next(e for e in events if e.record_table == "evidence" and e.action == "update")
    assert rating.before["status"] == "pending" and rating.after["status"] == "accepted"


def test_a_permission_change_is_recorded_and_logged(app, admin, caplog):
    """Granting a permission (as account administration does: the user's permission rows
    replaced) is an audit event and a security event."""
    target = make_user(Permission.LEARNER, person=make_person("Tom", "Target"))
    db.session.commit()
    caplog.set_level("INFO", logger="pmo.security")
    with app.test_request_context("/admin/accounts"):
        begin_request(actor_user_id=admin.id, request_id="perm", client_address="10.0.0.9")
        user = db.session.get(User, target.id)
        user.permission_rows = [UserPermission(permission=Permission.TRAINER)]
        db.session.commit()

    events = trail(AuditEvent.record_table == "user_permissions")
    assert sorted((e.action, e.record_id) for e in events) == [
        ("create", f"{target.id}/trainer"),
        ("delete", f"{target.id}/learner"),
    ]
    assert {(e.actor_user_id, e.person_id) for e in events} == {(admin.id, target.person_id)}
    [line] = [r.getMessage() for r in caplog.records if r.name == "pmo.security"]
    logged = json.loads(line)
    assert logged["event"] == "permission_change" and logged["actor"] == admin.id
    assert (logged["user_id"], logged["granted"], logged["revoked"]) == (
        target.id,
        ["trainer"],
        ["learner"],
    )


def test_an_export_of_personal_data_is_recorded(client, login, admin):
    make_person("Ann", "Lee", unit=make_unit("Delivery"))
    db.session.commit()
    login(admin)
    response = client.get("/reports/heatmap?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"

    [event] = trail()
    assert (event.action, event.actor_user_id) == ("export", admin.id)
    assert event.detail["format"] == "csv"
    assert event.detail["endpoint"] == "reports.heatmap"


CSV = (
    "Employee Number,First Name,Last Name,Email,Department,Job Title,Manager ID\n"
    "N1,Nora,North,nora@example.com,Delivery,PMO Analyst,\n"
    "N2,Olu,Ogun,olu@example.com,Delivery,PMO Analyst,N1\n"
    "N3,Pia,Park,,Delivery,PMO Analyst,N1\n"
)


def test_a_cli_import_records_one_event_with_its_counts(app, admin, tmp_path):
    make_role(code="PMOA", name="PMO Analyst")
    make_unit("Delivery", code="DEL")
    db.session.commit()
    path = tmp_path / "staff.csv"
    path.write_text(CSV, encoding="utf-8")

    result = app.test_cli_runner().invoke(args=["import", "people", str(path)])
    assert result.exit_code == 0, result.output

    [event] = trail()
    assert event.action == "bulk" and event.command == "import people"
    assert event.actor_user_id is None
    assert event.record_table == "import_batches"
    assert event.after["status"] == "applied" and event.after["counts"]["create"] == 3
    assert event.detail["rows"]["people"]["create"] == 3


def test_a_large_change_is_one_bulk_event_not_one_per_row(app, admin):
    n = BUDGET + 50
    with app.test_request_context("/"):
        begin_request(actor_user_id=admin.id, request_id="bulk", client_address="10.0.0.1")
        for i in range(n):
            db.session.add(
                Person(employee_number=f"B{i}", first_name="B", last_name=str(i), email=None)
            )
        db.session.commit()
        g.pop("audit_context")

    [event] = trail()
    assert event.action == "bulk" and event.actor_user_id == admin.id
    assert event.detail == {"rows": {"people": {"create": n}}}
    assert event.before is None and event.after is None


def test_work_rolled_back_records_nothing(app, admin):
    with app.test_request_context("/"):
        begin_request(actor_user_id=admin.id, request_id="r", client_address=None)
        make_person("Roll", "Back")
        record(db.session, "export", detail={"what": "nothing"})
        db.session.rollback()
        make_person("Kept", "Person")
        db.session.commit()
    assert [(e.action, e.after["first_name"]) for e in trail()] == [("create", "Kept")]


def test_concurrent_writers_do_not_fork_the_chain(app):
    """Eight threads, each its own connection, commit 10 events each at once: the chain
    stays one line (consecutive ids, every digest chaining onto the one before)."""
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for i in range(10):
                    record(db.session, "export", detail={"writer": n, "i": i})
                    db.session.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    events = trail()
    assert [e.id for e in events] == list(range(1, 81))
    verdict = verify(db.session.connection())
    assert verdict.ok, verdict.problem
    assert verdict.checked == 80
    assert db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc())) == 80


def test_an_import_applied_from_the_pages_is_one_event_for_the_batch(client, login, admin):
    from tests.staff_import import test_views as imports

    make_role(code="PMOL", name="PMO Lead")
    make_unit("Harbour Works", code="HW")
    db.session.commit()
    login(admin)
    batch = imports.run_to_preview(client)
    start = last_id()
    assert imports.apply(client, batch.id).status_code == 302

    [event] = trail(AuditEvent.id > start)
    assert (event.action, event.record_table, event.record_id) == (
        "bulk",
        "import_batches",
        str(batch.id),
    )
    assert event.actor_user_id == admin.id
    assert event.before["status"] == "uploaded" and event.after["status"] == "applied"
    assert event.after["counts"]["create"] == 3
    assert event.detail["rows"]["people"]["create"] == 3
    assert event.detail["endpoint"] == "staff_import.apply"


def test_a_rolled_back_savepoint_is_forgotten(app, admin):
    with app.test_request_context("/"):
        begin_request(actor_user_id=admin.id, request_id="sp", client_address=None)
        make_person("Kept", "Before")
        with pytest.raises(RuntimeError), db.session.begin_nested():
            make_person("Undone", "Inside")
            raise RuntimeError
        make_person("Kept", "After")
        db.session.commit()
    assert [e.after["last_name"] for e in trail()] == ["Before", "After"]


def test_a_record_changed_twice_in_one_transaction_is_one_event(app, admin):
    with acting(app, admin.id):
        person = make_person("First", "Draft")
        person.first_name = "Final"
        db.session.flush()
        person.job_title = "Analyst"
        db.session.commit()
        person.job_title = "Lead"
        db.session.flush()
        person.job_title = "Analyst"  # back as it was: nothing changed in the end
        person.last_name = "Done"
        db.session.commit()
    create, update = trail()
    assert create.action == "create" and create.before is None
    assert (create.after["first_name"], create.after["job_title"]) == ("Final", "Analyst")
    assert (update.before, update.after) == ({"last_name": "Draft"}, {"last_name": "Done"})
