"""Log-in throttling counters in the database: one table every worker and node shares.

An attempt is counted *before* its credential is checked, by a compare-and-set UPDATE
(the row's ``changes`` must still be the value read): two workers never both take the
same free attempt, and ten simultaneous wrong passwords leave ten failures, not five (the
read-modify-write race of the old per-user counter). A success then clears the account's
counter, or gives the client address back the attempt it took. The rule deciding when an
attempt is allowed is the pure ``app.accounts.throttle``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import Session

from app.accounts.models import LoginThrottle
from app.accounts.throttle import Policy, State, after_failure, counted, retry_at

#: What a counter counts.
ACCOUNT = "account"  # an email address typed at log-in, whether or not an account has it
ADDRESS = "address"  # a client address
DEVICE = "device"  # one account on one known device
CODE = "code"  # second-factor codes for one account (per known device, if any)
REAUTH = "reauth"  # passwords given to re-authenticate in a signed-in session

#: Compare-and-set retries before an attempt is refused for a second (never reached in
#: practice: each retry means another attempt on the same counter was counted meanwhile).
_RETRIES = 50


@dataclass(frozen=True)
class Counter:
    scope: str
    key: str
    policy: Policy


def counter(pepper: bytes, scope: str, value: str, policy: Policy) -> Counter:
    """The counter of ``value`` (an email, an address…) in ``scope``: its key is an HMAC, so
    the table says nothing about who was tried without the app's secret."""
    return Counter(scope, _key(pepper, scope, value), policy)


def _key(pepper: bytes, scope: str, value: str) -> str:
    return hmac.new(pepper, f"{scope}:{value}".encode(), hashlib.sha256).hexdigest()


def _read(session: Session, c: Counter) -> tuple[int, int, State] | None:
    """(row id, changes, state); columns, not the entity, so nothing stale is reused."""
    row = session.execute(
        select(
            LoginThrottle.id,
            LoginThrottle.changes,
            LoginThrottle.failures,
            LoginThrottle.window_started_at,
            LoginThrottle.last_failure_at,
        ).where(LoginThrottle.scope == c.scope, LoginThrottle.key == c.key)
    ).one_or_none()
    if row is None:
        return None
    return row.id, row.changes, State(row.failures, row.window_started_at, row.last_failure_at)


def _insert_if_missing(session: Session, c: Counter) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(LoginThrottle)
        .values(scope=c.scope, key=c.key, failures=0, changes=0)
        .on_conflict_do_nothing(index_elements=["scope", "key"])
    )


def retry_at_now(session: Session, c: Counter, now: datetime) -> datetime | None:
    """When ``c`` allows the next attempt, or None when it allows one now (counts nothing)."""
    read = _read(session, c)
    return retry_at(c.policy, read[2], now) if read else None


def claim(session: Session, c: Counter, now: datetime) -> datetime | None:
    """Count one attempt on ``c`` if the rule allows it now: None when counted, else the
    time from which the next attempt is allowed (nothing is counted then)."""
    for _ in range(_RETRIES):
        read = _read(session, c)
        if read is None:
            _insert_if_missing(session, c)
            continue
        row_id, changes, state = read
        wait = retry_at(c.policy, state, now)
        if wait is not None:
            return wait
        new = after_failure(c.policy, state, now)
        done = session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.id == row_id, LoginThrottle.changes == changes)
            .values(
                failures=new.failures,
                window_started_at=new.window_started_at,
                last_failure_at=new.last_failure_at,
                changes=LoginThrottle.changes + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if _rows(done) == 1:
            return None
    return now + timedelta(seconds=1)


def touch(session: Session, c: Counter, now: datetime) -> None:
    """A counted attempt failed at ``now``: the wait runs from the end of the check, so a
    slow password check does not use up a short wait."""
    session.execute(
        update(LoginThrottle)
        .where(
            LoginThrottle.scope == c.scope,
            LoginThrottle.key == c.key,
            LoginThrottle.last_failure_at < now,
        )
        .values(last_failure_at=now, changes=LoginThrottle.changes + 1)
        .execution_options(synchronize_session=False)
    )


def clear(session: Session, c: Counter) -> None:
    """A success: the counter starts again from nothing."""
    _clear_key(session, c.scope, c.key)


def clear_value(session: Session, pepper: bytes, scope: str, value: str) -> None:
    """Clear the counter of ``value`` in ``scope`` (as ``counter`` names it)."""
    _clear_key(session, scope, _key(pepper, scope, value))


def _clear_key(session: Session, scope: str, key: str) -> None:
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.scope == scope, LoginThrottle.key == key)
        .values(failures=0, window_started_at=None, changes=LoginThrottle.changes + 1)
        .execution_options(synchronize_session=False)
    )


def give_back(session: Session, c: Counter) -> None:
    """A success: return the attempt this request took (a client address keeps the
    failures of others behind it; only this attempt was not one)."""
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.scope == c.scope, LoginThrottle.key == c.key)
        .values(
            failures=case((LoginThrottle.failures > 0, LoginThrottle.failures - 1), else_=0),
            changes=LoginThrottle.changes + 1,
        )
        .execution_options(synchronize_session=False)
    )


def failures(session: Session, c: Counter, now: datetime) -> int:
    """The failures that count on ``c`` now."""
    read = _read(session, c)
    return counted(c.policy, read[2], now) if read else 0


def prune(session: Session, before: datetime) -> int:
    """Forget counters with no failure since ``before``; how many were dropped."""
    result = session.execute(
        delete(LoginThrottle)
        .where(LoginThrottle.last_failure_at < before)
        .execution_options(synchronize_session=False)
    )
    return _rows(result)


def _rows(result: Result) -> int:
    """The rows an UPDATE or DELETE matched (a CursorResult's rowcount)."""
    return int(cast(CursorResult, result).rowcount or 0)
