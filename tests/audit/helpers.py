"""Reading the audit trail in tests."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import select

from app.audit.capture import begin_request
from app.audit.models import AuditEvent
from app.extensions import db


def trail(*where) -> list[AuditEvent]:
    """Every event (matching ``where``), oldest first, read afresh."""
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(*where).order_by(AuditEvent.id)))


def last_id() -> int:
    events = trail()
    return events[-1].id if events else 0


@contextmanager
def acting(app, user_id: int | None, request_id: str = "test"):
    """Run the block as a request by ``user_id`` would: what it commits is theirs."""
    with app.test_request_context("/"):
        begin_request(actor_user_id=user_id, request_id=request_id, client_address="10.0.0.1")
        yield
