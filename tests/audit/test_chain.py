"""The hash chain: `flask audit verify` passes on an untouched trail, names the first event
changed or deleted straight in the database, and passes an erasure (reported as redacted).
On PostgreSQL the table itself refuses UPDATE and DELETE."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import g

from app.accounts.models import Permission
from app.audit import record, redact_person
from app.audit.capture import begin_request
from app.audit.models import AuditEvent
from app.extensions import db
from tests.audit.helpers import trail
from tests.factories import make_person, make_user


@pytest.fixture
def events(app):
    """Four events: a person added and renamed by an admin, then two exports."""
    admin = make_user(Permission.ADMIN, person=make_person("Ada", "Admin"))
    db.session.commit()
    with app.test_request_context("/"):
        begin_request(actor_user_id=admin.id, request_id="req1", client_address="10.0.0.1")
        person = make_person("Ann", "Lee", number="E1")
        db.session.commit()
        person.first_name = "Anna"
        db.session.commit()
        record(db.session, "export", detail={"what": "people"})
        record(db.session, "export", detail={"what": "people", "format": "xlsx"})
        db.session.commit()
        g.pop("audit_context")
    assert [e.action for e in trail()] == ["create", "update", "export", "export"]
    return person


def verify(app):
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def tamper(sql: str) -> None:
    """Change the table behind the application's back, as someone with the database's
    owner rights could (on PostgreSQL past the trigger: replica mode skips triggers)."""
    db.session.commit()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.exec_driver_sql(sql)


def test_an_untouched_trail_verifies(app, events):
    code, output = verify(app)
    assert code == 0, output
    assert "The audit trail verifies: 4 event(s) chain correctly." in output


def test_a_changed_after_value_is_found_and_named(app, events):
    tamper("""UPDATE audit_events SET after = '{"first_name": "Mallory"}' WHERE id = 2""")
    code, output = verify(app)
    assert code == 1
    assert "event #2 was changed: its before/after/detail do not match" in output
    assert "1 event(s) before it chain correctly" in output


def test_a_changed_actor_is_found(app, events):
    tamper("UPDATE audit_events SET actor_user_id = 999 WHERE id = 3")
    code, output = verify(app)
    assert code == 1 and "event #3 was changed: its fields do not match its digest" in output


def test_a_deleted_event_is_found_and_named(app, events):
    tamper("DELETE FROM audit_events WHERE id = 2")
    code, output = verify(app)
    assert code == 1 and "event #2 missing: deleted from the trail" in output


def test_deleting_the_last_events_is_found(app, events):
    tamper("DELETE FROM audit_events WHERE id >= 3")
    code, output = verify(app)
    assert code == 1
    assert "the trail ends at event #2 but #4 was written" in output


def test_an_erasure_blanks_personal_data_and_the_trail_still_verifies(app, events):
    person = events
    with app.test_request_context("/"):
        begin_request(actor_user_id=None, request_id="erase", client_address=None)
        redacted = redact_person(db.session, person.id)
        db.session.commit()
    assert redacted == [1, 2]
    create, update = trail(AuditEvent.id <= 2)
    assert (
        create.after["first_name"] == "(erased)" and create.after["employee_number"] == "(erased)"
    )
    assert create.after["active"] is True  # not personal: kept
    assert (update.before, update.after) == ({"first_name": "(erased)"}, {"first_name": "(erased)"})
    assert create.redacted_at is not None
    [erasure] = trail(AuditEvent.action == "redact")
    assert (erasure.record_table, erasure.record_id) == ("people", str(person.id))
    assert erasure.detail == {"events": [1, 2]}

    code, output = verify(app)
    assert code == 0, output
    assert "5 event(s) chain correctly; 2 redacted by an erasure (#1, #2)" in output


def test_a_row_marked_redacted_without_an_erasure_does_not_pass(app, events):
    tamper(
        'UPDATE audit_events SET after = \'{"first_name": "Mallory"}\', '
        "redacted_at = CURRENT_TIMESTAMP WHERE id = 2"
    )
    code, output = verify(app)
    assert code == 1
    assert "event #2 is marked redacted but no erasure event records it" in output


def test_the_database_refuses_to_change_or_delete_events_on_postgresql(app, events, backend):
    """PostgreSQL: the trigger refuses UPDATE and DELETE (even the app's own connection);
    only the erasure's blanking, which keeps every chained field, passes. SQLite has no
    such guard (the chain still shows any change, as the tests above do)."""
    db.session.commit()
    statements = [
        "UPDATE audit_events SET actor_user_id = 999 WHERE id = 1",
        "DELETE FROM audit_events WHERE id = 1",
    ]
    for sql in statements:
        with db.engine.connect() as conn:
            if backend == "postgresql":
                with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                    conn.exec_driver_sql(sql)
            else:
                conn.exec_driver_sql(sql)  # SQLite: allowed by the database...
            conn.rollback()
    # ... and no route of the application edits or deletes an event
    writers = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("audit.") and rule.methods & {"POST", "PUT", "DELETE"}
    ]
    assert writers == []
    assert verify(app)[0] == 0
