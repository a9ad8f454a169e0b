"""The audit trail and security events (issue 14, point 5; RELIABILITY.md section F).

The bottom of the layers: it imports no domain package. Domains are audited by the table
names in ``registry.py``; their changes are noted through SQLAlchemy's events
(``capture.py``) and written at commit, in the same transaction, to a hash-chained table
(``models.py``, ``chain.py``). For other engines of the project:

* ``record(session, action, ...)``: an event that is not a row's change;
* ``record_export(session, what=..., fmt=..., rows=...)`` (``exports.py``): a view serving
  a download of personal data records it (and commits);
* ``redact_person(session, person_id)``: erasure blanks a person's personal data in the
  trail, keeping the chain verifiable;
* ``security_event(kind, **fields)``: a structured security log line;
* ``flask audit verify``: walks the chain.
"""

from app.audit.capture import record
from app.audit.redaction import redact_person
from app.audit.security import security_event

__all__ = ["record", "redact_person", "security_event"]
