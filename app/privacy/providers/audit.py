"""The audit trail's piece: the events about the person (changes to their records, exports
of their data). Erasure blanks the personal fields of those events through the trail's own
redaction, which keeps the hash chain verifiable and records itself as an event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.audit.redaction import redact_person
from app.privacy.registry import Provider, Pseudonym, Rows, Subject, row


def export(session: Session, subject: Subject, _now: datetime) -> dict[str, Rows]:
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.person_id == subject.person_id).order_by(AuditEvent.id)
    ).all()
    return {
        "audit_events": [
            row(
                at=e.at,
                action=e.action,
                record=e.record_table,
                record_id=e.record_id,
                by_you=subject.user_id is not None and e.actor_user_id == subject.user_id,
                before=e.before,
                after=e.after,
                detail=e.detail,
                redacted_at=e.redacted_at,
            )
            for e in events
        ]
    }


def erase(session: Session, subject: Subject, _pseudonym: Pseudonym) -> dict[str, int]:
    """Run last, so that the erasure's own changes (noted by the trail, not yet written)
    are blanked with the rest."""
    return {"audit trail entries redacted": len(redact_person(session, subject.person_id))}


PROVIDER = Provider(
    name="audit",
    owned={"audit_events": "person_id"},
    actions={("audit_events", "actor_user_id"): "changes you made that the audit trail holds"},
    kinds={
        "audit_events": "The audit trail's entries about you: changes to your records and "
        "downloads of your data, with what changed",
    },
    export=export,
    erase=erase,
    erasure_text="The audit trail's entries about the person have their personal fields "
    "blanked (the trail still verifies).",
)
