"""Logging in: the password step, the second-factor step and re-authentication, each
throttled by the shared counters of ``throttling`` under the rule of ``throttle``.

Each step is two use-cases: ``open_*`` counts the attempt (or refuses it, saying until
when) and must be committed before ``check_*`` runs the slow credential check, so that
every worker sees the attempt at once and SQLite's single writer is not held through an
Argon2 verification. Unknown email, wrong password and disabled account give the same
answer and cost the same time; an email nobody has is throttled like one that exists, so
neither the message nor the delay tells an attacker whether an account exists.

Use-cases take a session and explicit values, flush when needed, and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts import throttling, two_factor
from app.accounts.devices import Device
from app.accounts.models import LoginSession, User
from app.accounts.passwords import hash_password, needs_rehash, verify_password
from app.accounts.sealing import Sealer
from app.accounts.services import normalise_email, open_login_session, token_digest
from app.accounts.throttle import Policy
from app.accounts.throttling import ACCOUNT, ADDRESS, CODE, DEVICE, REAUTH, Counter
from app.errors import DomainError

#: Counters untouched this long are dropped (well past any window).
KEEP_COUNTERS = timedelta(days=2)


@dataclass(frozen=True)
class Policies:
    """The throttling rule's settings for each kind of counter."""

    account: Policy
    address: Policy

    @classmethod
    def from_config(cls, config: Any) -> Policies:
        return cls(
            account=Policy(
                free=int(config["LOGIN_FREE_FAILURES"]),
                cap=config["LOGIN_DELAY_CAP"],
                window=config["LOGIN_FAILURE_WINDOW"],
            ),
            address=Policy(
                free=int(config["LOGIN_ADDRESS_FREE_FAILURES"]),
                cap=config["LOGIN_ADDRESS_DELAY_CAP"],
                window=config["LOGIN_FAILURE_WINDOW"],
            ),
        )


@dataclass(frozen=True)
class Client:
    """Who is trying: the client address, the known-device cookie's device (if any) and
    the secret the counters' keys are made with."""

    address: str
    device: Device | None
    pepper: bytes


@dataclass(frozen=True)
class Gate:
    """An attempt let through (``refused_until`` None, its counters counted) or refused."""

    counters: tuple[Counter, ...] = ()
    refused_until: datetime | None = None
    #: Which counter refused: "account" (this email), "address" (this network), "device",
    #: "code" or "reauth"; shown to the user as what is being slowed down.
    refused_by: str = ""
    user_id: int | None = None
    known_device: bool = False
    #: Failures on the account counter after this attempt's (to explain the rule).
    failures: int = 0
    #: The account's password hash and whether it is active, read with the claim, so that
    #: the slow check runs outside any transaction (on SQLite a request that writes holds
    #: the one write lock for its whole transaction).
    password_hash: str | None = None
    active: bool = False


def _open(session: Session, counters: list[Counter], now: datetime, **gate: Any) -> Gate:
    """Refuse if any counter says wait, else count the attempt on each."""
    for c in counters:
        wait = throttling.retry_at_now(session, c, now)
        if wait is not None:
            return Gate(refused_until=wait, refused_by=c.scope, **gate)
    for c in counters:
        wait = throttling.claim(session, c, now)
        if wait is not None:  # another attempt was counted meanwhile and closed the gate
            return Gate(refused_until=wait, refused_by=c.scope, **gate)
    return Gate(counters=tuple(counters), **gate)


def _succeeded(session: Session, gate: Gate) -> None:
    """Clear the per-account counters of a successful attempt and give the address back
    the attempt it took."""
    for c in gate.counters:
        if c.scope == ADDRESS:
            throttling.give_back(session, c)
        else:
            throttling.clear(session, c)


# --- the password step --------------------------------------------------------------------------


def open_password_attempt(
    session: Session, *, email: str, client: Client, policies: Policies, now: datetime
) -> Gate:
    """Count a log-in attempt for ``email`` before its password is checked.

    From a device the account has logged in on before, only that device's counter is used;
    otherwise the email's and the client address's. An email nobody has gets a counter too.
    """
    email = normalise_email(email)
    account = session.execute(
        select(User.id, User.password_hash, User.active).where(User.email == email)
    ).one_or_none()
    user_id = account.id if account else None
    device = client.device
    if device is not None and device.knows(user_id):
        counters = [
            throttling.counter(client.pepper, DEVICE, f"{device.id}:{user_id}", policies.account)
        ]
        known = True
    else:
        counters = [
            throttling.counter(client.pepper, ACCOUNT, email, policies.account),
            throttling.counter(client.pepper, ADDRESS, client.address, policies.address),
        ]
        known = False
    gate = _open(
        session,
        counters,
        now,
        user_id=user_id,
        known_device=known,
        password_hash=account.password_hash if account else None,
        active=bool(account and account.active),
    )
    if gate.refused_until is None:
        gate = replace(gate, failures=throttling.failures(session, counters[0], now))
    return gate


@dataclass(frozen=True)
class PasswordResult:
    #: The account, when the password was right and the account active.
    user: User | None
    #: The account asks for a second factor before a session is opened.
    needs_code: bool = False


def check_password(session: Session, *, gate: Gate, password: str) -> PasswordResult:
    """Check the password of an attempt ``open_password_attempt`` let through. Every path
    costs one Argon2 verification, made before this touches the database; a wrong
    password writes nothing more."""
    ok = verify_password(gate.password_hash, password)
    if gate.user_id is None or not ok or not gate.active:
        return PasswordResult(None)
    user = session.get(User, gate.user_id)
    if user is None or not user.active:
        return PasswordResult(None)
    _succeeded(session, gate)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return PasswordResult(user, needs_code=two_factor.is_enabled(session, user.id))


def finish_login(session: Session, *, user: User, fingerprint: str | None, now: datetime) -> str:
    """Open the login session of a user who passed every step; returns its token."""
    user.last_login_at = now
    throttling.prune(session, now - KEEP_COUNTERS)
    return open_login_session(session, user, fingerprint=fingerprint)


# --- the second-factor step -----------------------------------------------------------------------


def _code_counter(client: Client, user_id: int, known: bool, policy: Policy) -> Counter:
    where = client.device.id if known and client.device else "elsewhere"
    return throttling.counter(client.pepper, CODE, f"{user_id}:{where}", policy)


def open_code_attempt(
    session: Session,
    *,
    user_id: int,
    known_device: bool,
    client: Client,
    policies: Policies,
    now: datetime,
) -> Gate:
    """Count a second-factor attempt (per account, and per known device apart)."""
    c = _code_counter(client, user_id, known_device, policies.account)
    return _open(session, [c], now, user_id=user_id, known_device=known_device)


def check_code(session: Session, *, gate: Gate, code: str, sealer: Sealer, now: datetime) -> str:
    """ "app" or "recovery" when the code is right (clearing the counter), else ""."""
    if gate.user_id is None:
        return ""
    kind = two_factor.verify(session, user_id=gate.user_id, code=code, sealer=sealer, now=now)
    if kind:
        _succeeded(session, gate)
    return kind


# --- re-authentication ------------------------------------------------------------------------


def open_reauth_attempt(
    session: Session, *, user_id: int, pepper: bytes, policies: Policies, now: datetime
) -> Gate:
    """Count a re-authentication (or a current password given to change it)."""
    c = throttling.counter(pepper, REAUTH, str(user_id), policies.account)
    password_hash = session.scalar(select(User.password_hash).where(User.id == user_id))
    return _open(session, [c], now, user_id=user_id, password_hash=password_hash, active=True)


def check_credentials(
    session: Session, *, gate: Gate, password: str, code: str | None, sealer: Sealer, now: datetime
) -> None:
    """Refuse unless ``password`` is the account's (checked before touching the database),
    and ``code`` is valid when two-step log-in is on (a ``DomainError`` naming the field)."""
    if gate.user_id is None or not verify_password(gate.password_hash, password):
        raise DomainError("That is not your current password.", field="password")
    if two_factor.is_enabled(session, gate.user_id) and not two_factor.verify(
        session, user_id=gate.user_id, code=code or "", sealer=sealer, now=now
    ):
        raise DomainError(
            "That code is not right, or was used already. Type the code your app shows "
            "now, or a recovery code.",
            field="code",
        )


def reauthenticate(
    session: Session,
    *,
    gate: Gate,
    token: str | None,
    password: str,
    code: str | None,
    sealer: Sealer,
    now: datetime,
) -> None:
    """Re-authenticate the session ``token`` (of the account ``open_reauth_attempt`` let
    through): sensitive changes are allowed in it for the next few minutes. Refuses with a
    ``DomainError`` at the wrong field."""
    check_credentials(session, gate=gate, password=password, code=code, sealer=sealer, now=now)
    _succeeded(session, gate)
    if token:
        session.execute(
            update(LoginSession)
            .where(LoginSession.token_hash == token_digest(token))
            .values(authenticated_at=now)
            .execution_options(synchronize_session=False)
        )


def failed(session: Session, gate: Gate, now: datetime) -> None:
    """Mark the attempt ``gate`` let through as failed at ``now`` (already counted; the
    wait before the next one runs from now)."""
    for c in gate.counters:
        throttling.touch(session, c, now)


def succeeded(session: Session, gate: Gate) -> None:
    """Mark the attempt ``gate`` let through as a success (its counters cleared)."""
    _succeeded(session, gate)


def authenticated_within(
    session: Session, token: str | None, window: timedelta, now: datetime
) -> bool:
    """Whether the session ``token`` gave its password (and code) within ``window``."""
    if not token:
        return False
    at = session.scalar(
        select(LoginSession.authenticated_at).where(LoginSession.token_hash == token_digest(token))
    )
    return at is not None and now - at <= window
