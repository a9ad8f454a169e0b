"""The accounts' piece: the log-in account, its permissions, its log-in sessions, its
set-password links and its second factor. The download never holds the password hash, a
token's hash, the authenticator's secret or a recovery code's digest: the columns it reads
are named one by one, so a secret added later stays out of it too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.accounts.models import (
    LoginSession,
    PasswordToken,
    RecoveryCode,
    TwoFactor,
    User,
    UserPermission,
)
from app.privacy.registry import Provider, Pseudonym, Rows, Subject, row, written


def export(session: Session, subject: Subject, _now: datetime) -> dict[str, Rows]:
    if subject.user_id is None:
        return {}
    account = session.execute(
        select(User.email, User.active, User.created_at, User.last_login_at).where(
            User.id == subject.user_id
        )
    ).one()
    factor = session.execute(
        select(TwoFactor.created_at, TwoFactor.confirmed_at).where(
            TwoFactor.user_id == subject.user_id
        )
    ).one_or_none()
    codes = session.execute(
        select(RecoveryCode.created_at, RecoveryCode.used_at)
        .where(RecoveryCode.user_id == subject.user_id)
        .order_by(RecoveryCode.created_at, RecoveryCode.id)
    ).all()
    permissions = session.scalars(
        select(UserPermission.permission)
        .where(UserPermission.user_id == subject.user_id)
        .order_by(UserPermission.permission)
    ).all()
    sessions = session.execute(
        select(LoginSession.created_at, LoginSession.last_seen_at, LoginSession.authenticated_at)
        .where(LoginSession.user_id == subject.user_id)
        .order_by(LoginSession.created_at)
    ).all()
    links = session.execute(
        select(PasswordToken.created_at, PasswordToken.expires_at, PasswordToken.used_at)
        .where(PasswordToken.user_id == subject.user_id)
        .order_by(PasswordToken.created_at)
    ).all()
    return {
        "accounts": [
            row(
                email=account.email,
                active=account.active,
                permissions=", ".join(str(p.value) for p in permissions),
                created_at=account.created_at,
                last_login_at=account.last_login_at,
                two_factor=(
                    "off" if factor is None else "on" if factor.confirmed_at else "being set up"
                ),
                two_factor_since=factor.confirmed_at if factor else None,
                recovery_codes_unused=sum(1 for c in codes if c.used_at is None),
            )
        ],
        "login_sessions": [
            row(
                started_at=s.created_at,
                last_seen_at=s.last_seen_at,
                password_last_given_at=s.authenticated_at,
            )
            for s in sessions
        ],
        "recovery_codes": [row(created_at=c.created_at, used_at=c.used_at) for c in codes],
        "password_links": [
            row(created_at=t.created_at, expires_at=t.expires_at, used_at=t.used_at) for t in links
        ],
    }


def erase(session: Session, subject: Subject, pseudonym: Pseudonym) -> dict[str, int]:
    """The account is closed for good: its email becomes the pseudonym's undeliverable
    address (freeing the real one), it has no password, no second factor, no permission, no
    session and no set-password link, so nobody can log in to it again."""
    if subject.user_id is None:
        return {}
    user = session.get_one(User, subject.user_id)
    before = (user.email, user.password_hash, user.active, user.last_login_at)
    user.email = pseudonym.email
    user.password_hash = None
    user.active = False
    user.last_login_at = None
    changed = before != (user.email, user.password_hash, user.active, user.last_login_at)
    factor = written(session, delete(TwoFactor).where(TwoFactor.user_id == subject.user_id))
    codes = written(session, delete(RecoveryCode).where(RecoveryCode.user_id == subject.user_id))
    permissions = written(
        session, delete(UserPermission).where(UserPermission.user_id == subject.user_id)
    )
    session.expire(user, ["permission_rows"])
    sessions = written(session, delete(LoginSession).where(LoginSession.user_id == subject.user_id))
    links = written(session, delete(PasswordToken).where(PasswordToken.user_id == subject.user_id))
    return {
        "account": int(changed),
        "permissions": permissions,
        "log-in sessions": sessions,
        "set-password links": links,
        "second factors and recovery codes": factor + codes,
    }


PROVIDER = Provider(
    name="accounts",
    owned={
        "users": "person_id",
        "user_permissions": "user_id",
        "login_sessions": "user_id",
        "password_tokens": "user_id",
        "two_factor": "user_id",
        "recovery_codes": "user_id",
    },
    actions={},
    kinds={
        "accounts": "Your log-in account: email, status, permissions, when it was made and "
        "last used (never the password or its hash)",
        "login_sessions": "The browsers signed in as you: when each session began and was "
        "last used",
        "password_links": "Set-password links issued to you: when, until when, and whether used",
        "recovery_codes": "Your two-factor recovery codes: when made and when used (never "
        "the codes)",
    },
    export=export,
    erase=erase,
    erasure_text="The log-in account is closed for good: no password, second factor, "
    "permissions, sessions or links, and its email address is released.",
)
