"""Security events as structured log lines (ASVS V7.1, V7.2; checklist F1, F2).

One event, one line of JSON on the logger ``pmo.security``: when (UTC), which event, the
outcome, who (a user id or "anonymous"), from where (the client address) and which request
(the request id), plus the event's own fields. No personal data goes beyond an id: a field
whose name says it holds an email, a password, a token, a secret or a name is withheld, and
long or structured values are cut short. JSON escapes control characters, so a value such
as ``eve\\n2025-01-01 INFO admin login ok`` stays inside its own line.

Kinds used across the app (keep to these names so that an alert can match them):

======================  ===========================================================
``login_success``        user_id
``login_failure``        user_id when the account exists (never the typed email)
``lockout``              user_id, until
``logout``               user_id
``forbidden``            the 403 answered (endpoint)
``csrf_failure``         the 400 answered for a missing or stale CSRF token
``permission_change``    user_id, granted, revoked (written by the audit trail itself)
``password_change``      user_id
``two_factor_change``    user_id, change ("enabled", "disabled", "recovery_codes")
``two_factor_failure``   user_id
======================  ===========================================================
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

from flask import Flask, g, has_request_context, request
from flask_login import current_user

from app import clock

LOGGER_NAME = "pmo.security"
log = logging.getLogger(LOGGER_NAME)

#: Parts of a field name that say its value is personal or secret: never logged.
WITHHELD_NAMES = ("email", "password", "token", "secret", "name", "code", "otp", "cookie")
WITHHELD = "(withheld)"
#: Longest text value logged; a longer one is cut.
MAX_TEXT = 200


def _clean(key: str, value: Any) -> Any:
    if any(part in key.lower() for part in WITHHELD_NAMES):
        return WITHHELD
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_clean(key, v) for v in list(items)[:20]]
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def _actor() -> int | str:
    """The request's user id: from the audit context, or (before the request hooks ran, as
    for a CSRF failure) from Flask-Login."""
    context = g.get("audit_context")
    if context is not None:
        actor = context.actor_user_id
    else:
        actor = current_user.id if current_user.is_authenticated else None
    return actor if actor is not None else "anonymous"


def security_event(kind: str, *, outcome: str = "", **fields: Any) -> dict[str, Any]:
    """Log one security event and return what was logged.

    ``kind`` names the event (see the table above); ``outcome`` is "success", "failure" or
    "refused" when the kind does not say; ``fields`` add ids and counts (``user_id=7``).
    Inside a request the actor, client address, request id and endpoint are added.
    """
    record: dict[str, Any] = {
        "at": clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event": kind,
    }
    if outcome:
        record["outcome"] = outcome
    if has_request_context():
        record["actor"] = _actor()
        record["client"] = request.remote_addr
        record["request_id"] = g.setdefault("request_id", uuid.uuid4().hex[:12])
        record["method"] = request.method
        record["endpoint"] = request.endpoint
    else:
        record["actor"] = "system"
    for key, value in fields.items():
        record[key] = _clean(key, value)
    log.info(json.dumps(record, ensure_ascii=True, default=str))
    return record


#: Where the app logs its incidents (app/__init__.py) with their stack traces.
INCIDENT_LOGGER = "pmo_pathways"
_DETAIL = re.compile(r"^(\s*DETAIL:).*$", re.MULTILINE)


class HideDatabaseDetail(logging.Filter):
    """A database error's text in a logged stack trace, without the values it quotes.

    ``hide_parameters`` keeps SQLAlchemy from printing the statement's values, but
    PostgreSQL's own message adds a DETAIL line that quotes them ("Key (email)=(…) already
    exists", "Failing row contains (…)"): the trace is formatted here once, with that line
    replaced, and the handlers print it as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = _DETAIL.sub(r"\1  (values hidden)", text)
        return True


class _Plain(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return record.getMessage()


def init_security_log(app: Flask) -> None:
    """Make the security lines reach the server's standard error even when nothing else
    configures logging (gunicorn configures only its own loggers; tests capture them with
    pytest's ``caplog`` instead), and keep database values out of logged stack traces."""
    incidents = logging.getLogger(INCIDENT_LOGGER)
    if not any(isinstance(f, HideDatabaseDetail) for f in incidents.filters):
        incidents.addFilter(HideDatabaseDetail())
    log.setLevel(logging.INFO)
    if app.testing or any(getattr(h, "pmo_security", False) for h in log.handlers):
        return
    if logging.getLogger().handlers:  # the host configured logging: use theirs
        return
    handler = logging.StreamHandler()
    handler.setFormatter(_Plain())
    handler.pmo_security = True  # type: ignore[attr-defined]
    log.addHandler(handler)
