"""Two-step log-in: a TOTP authenticator app (RFC 6238) and single-use recovery codes.

Offered to administrators and trainers, who can change what everyone else sees, and
required of the permissions PMO_TWO_STEP_REQUIRED_FOR names (administrators by default):
a holder who has not set it up reaches nothing but the set-up (accounts.views). Enrolling
is two steps: a secret is made and shown once (QR code and text), then a first code from
the app proves it was set up; only then is it required at log-in, and ten recovery codes
are made and shown once. A code works once: the time step of the last accepted code is
kept and an UPDATE accepts only a later one, so a code seen over a shoulder (or sent twice
at once) cannot be replayed. Recovery codes are kept as SHA-256 digests (each carries ~50
random bits, so a fast digest is enough) and are spent by a conditional UPDATE.

Use-cases take a session and explicit values, flush when needed, never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import cast

import pyotp
import segno
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import Session

from app.accounts.models import Permission, RecoveryCode, TwoFactor, User
from app.accounts.sealing import Sealer
from app.errors import DomainError

ISSUER = "PMO Pathways"
RECOVERY_CODES = 10
#: Letters and digits that cannot be mistaken for one another when copied by hand.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 10
#: Codes one time step either side of now are accepted (clocks drift; ASVS allows 30 s steps).
_DRIFT = 1

OFFERED_TO = frozenset({Permission.ADMIN, Permission.TRAINER})


def offered_to(user: User) -> bool:
    """Whether ``user`` may set up two-step log-in (administrators and trainers)."""
    return bool(user.permissions & OFFERED_TO)


@cache
def required_permissions(setting: str | None) -> frozenset[Permission]:
    """The permissions whose holders must use two-step log-in, from the setting
    PMO_TWO_STEP_REQUIRED_FOR: comma-separated names ("admin", "admin,trainer"); empty
    requires it of nobody. A ValueError names a word that is not a permission it is
    offered to (a holder could not set it up, and could reach no page at all)."""
    names = [n.strip().lower() for n in (setting or "").split(",") if n.strip()]
    offered = {p.value: p for p in OFFERED_TO}
    unknown = [n for n in names if n not in offered]
    if unknown:
        raise ValueError(
            f"PMO_TWO_STEP_REQUIRED_FOR names {', '.join(unknown)}: it may name only "
            f"{' and '.join(sorted(offered))} (the permissions two-step log-in is offered to), "
            "comma-separated, or be empty."
        )
    return frozenset(offered[n] for n in names)


def must_enrol(session: Session, user: User, required: frozenset[Permission]) -> bool:
    """Whether ``user`` holds a permission in ``required`` and has not turned on two-step
    log-in (a started, unconfirmed set-up does not count): until they do, they may reach
    nothing but the set-up. Costs a query only for holders of those permissions."""
    return bool(user.permissions & required) and not is_enabled(session, user.id)


@dataclass(frozen=True)
class Status:
    enabled: bool
    pending: bool
    recovery_codes_left: int


def status(session: Session, user_id: int) -> Status:
    row = session.get(TwoFactor, user_id)
    left = session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return Status(
        enabled=row is not None and row.confirmed_at is not None,
        pending=row is not None and row.confirmed_at is None,
        recovery_codes_left=left or 0,
    )


def is_enabled(session: Session, user_id: int) -> bool:
    return (
        session.scalar(
            select(TwoFactor.user_id).where(
                TwoFactor.user_id == user_id, TwoFactor.confirmed_at.is_not(None)
            )
        )
        is not None
    )


# --- enrolling --------------------------------------------------------------------------------


def begin(session: Session, *, user: User, sealer: Sealer) -> None:
    """Make a new secret for ``user`` to enrol (replacing an unfinished enrolment)."""
    if not offered_to(user):
        raise DomainError("Two-step log-in is offered to administrators and trainers.")
    row = session.get(TwoFactor, user.id)
    if row is not None and row.confirmed_at is not None:
        raise DomainError("Two-step log-in is already on for your account.")
    sealed = sealer.seal(pyotp.random_base32())
    if row is None:
        session.add(TwoFactor(user_id=user.id, secret_sealed=sealed))
    else:
        row.secret_sealed = sealed
        row.last_step = None
    session.flush()


@dataclass(frozen=True)
class Enrolment:
    """What the set-up page shows while enrolling: the secret as text and as a URI."""

    secret: str
    uri: str


def pending_enrolment(session: Session, *, user: User, sealer: Sealer) -> Enrolment | None:
    row = session.get(TwoFactor, user.id)
    if row is None or row.confirmed_at is not None:
        return None
    secret = sealer.open(row.secret_sealed)
    if secret is None:
        return None
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return Enrolment(secret=secret, uri=uri)


def confirm(session: Session, *, user: User, code: str, sealer: Sealer, now: datetime) -> list[str]:
    """Finish enrolling with a first code from the app; returns the recovery codes (shown
    once, kept only as digests)."""
    row = session.get(TwoFactor, user.id)
    if row is None or row.confirmed_at is not None:
        raise DomainError("Start setting up two-step log-in again.")
    secret = sealer.open(row.secret_sealed)
    step = _matching_step(secret, code, now) if secret else None
    if step is None:
        raise DomainError(
            "That code does not match. Check the app shows PMO Pathways, wait for a new "
            "code and type the six digits.",
            field="code",
        )
    row.confirmed_at = now
    row.last_step = step
    codes = _new_recovery_codes(session, user.id)
    session.flush()
    return codes


def new_recovery_codes(session: Session, *, user_id: int) -> list[str]:
    """Replace every recovery code of the user (the old ones stop working)."""
    if not is_enabled(session, user_id):
        raise DomainError("Two-step log-in is not on for this account.")
    codes = _new_recovery_codes(session, user_id)
    session.flush()
    return codes


def _new_recovery_codes(session: Session, user_id: int) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(user_id=user_id, code_hash=_digest(raw)))
    return codes


def turn_off(session: Session, *, user_id: int) -> bool:
    """Remove the authenticator and the recovery codes; whether there was one."""
    had = session.get(TwoFactor, user_id) is not None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.execute(delete(TwoFactor).where(TwoFactor.user_id == user_id))
    return had


# --- checking a code --------------------------------------------------------------------------


def verify(session: Session, *, user_id: int, code: str, sealer: Sealer, now: datetime) -> str:
    """Check a code given at log-in or re-authentication: "app" for an authenticator code,
    "recovery" for a recovery code (now spent), "" when it is not valid (wrong, used
    before, or two-step log-in is not on)."""
    row = session.get(TwoFactor, user_id)
    if row is None or row.confirmed_at is None:
        return ""
    cleaned = re.sub(r"[\s-]", "", code or "").lower()
    if cleaned.isdigit():
        secret = sealer.open(row.secret_sealed)
        step = _matching_step(secret, cleaned, now) if secret else None
        if step is None:
            return ""
        # Only a later step than the last accepted one: the same code never works twice.
        spent = session.execute(
            update(TwoFactor)
            .where(
                TwoFactor.user_id == user_id,
                (TwoFactor.last_step.is_(None)) | (TwoFactor.last_step < step),
            )
            .values(last_step=step)
            .execution_options(synchronize_session=False)
        )
        return "app" if _rows(spent) == 1 else ""
    if len(cleaned) != _RECOVERY_LENGTH:
        return ""
    used = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == _digest(cleaned),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return "recovery" if _rows(used) == 1 else ""


def _matching_step(secret: str | None, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is (now or one step either side), or None."""
    code = re.sub(r"\s", "", code or "")
    if not secret or len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    here = totp.timecode(now)
    found = None
    for offset in range(-_DRIFT, _DRIFT + 1):
        if hmac.compare_digest(totp.at(now, counter_offset=offset), code):
            found = here + offset
    return found


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def qr_code(uri: str) -> str:
    """The enrolment URI as an inline ``<svg>`` for the app to scan (drawn locally, with
    presentation attributes only, as the Content-Security-Policy asks)."""
    return segno.make(uri, error="m", micro=False).svg_inline(
        scale=4,
        border=3,
        omitsize=True,
        title="QR code to scan with your authenticator app",
        svgclass="qr-code",
        lineclass=None,
        dark="#000",
        light="#fff",
    )


def _rows(result: Result) -> int:
    """The rows an UPDATE or DELETE matched (a CursorResult's rowcount)."""
    return int(cast(CursorResult, result).rowcount or 0)
