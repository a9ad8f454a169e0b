"""Use-cases for accounts: log-in, log-out, sessions, passwords and permissions.

They take a session and explicit inputs, flush when they need ids, and never commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import Select, bindparam, delete, func, select
from sqlalchemy.orm import Session, joinedload

from app.accounts.models import LoginSession, PasswordToken, Permission, User, UserPermission
from app.accounts.passwords import hash_password, needs_rehash, policy_problem, verify_password
from app.errors import DomainError
from app.org.models import Person
from app.signals import person_deactivated


def _now() -> datetime:
    return datetime.now(UTC)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- log-in sessions ----------------------------------------------------------------------


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    token: str | None
    locked: bool = False


def authenticate(
    session: Session, *, email: str, password: str, max_failures: int, lockout: timedelta
) -> LoginOutcome:
    """Check credentials and open a login session.

    Unknown account, wrong password, inactive account and locked account all give the same
    outcome to the caller (no token); the hash is verified in every case so the timing
    does not tell them apart either. ``locked`` is set only for a locked, existing account.
    """
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None:
        return LoginOutcome(None, None)
    now = _now()
    if user.locked_until and user.locked_until > now:
        return LoginOutcome(None, None, locked=True)
    if not ok or not user.active:
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + lockout
            user.failed_logins = 0
        return LoginOutcome(None, None)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return LoginOutcome(user, open_login_session(session, user))


def open_login_session(session: Session, user: User) -> str:
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(token_hash=token_digest(token), user_id=user.id))
    user.login_token = token
    return token


@cache
def _login_session_statement() -> Select:
    """Built once: every request runs it, and building it costs more than running it."""
    return (
        select(LoginSession)
        .options(joinedload(LoginSession.user).joinedload(User.person))
        .where(LoginSession.token_hash == bindparam("token_hash"))
    )


def load_login_session(
    session: Session, token: str, *, idle: timedelta, absolute: timedelta
) -> User | None:
    """The user behind a session token, if the session is still open, fresh and active.

    Touches ``last_seen_at`` at most once a minute to keep writes rare.
    """
    row = session.scalar(_login_session_statement(), {"token_hash": token_digest(token)})
    if row is None:
        return None
    now = _now()
    if now - row.last_seen_at > idle or now - row.created_at > absolute or not row.user.active:
        session.delete(row)
        return None
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
    row.user.login_token = token
    return row.user


def close_login_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(LoginSession).where(LoginSession.token_hash == token_digest(token)))


def end_all_sessions(session: Session, user_id: int) -> int:
    """End every login session of a user; returns how many were open."""
    open_sessions = session.scalar(
        select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user_id)
    )
    session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    return open_sessions or 0


# --- passwords ----------------------------------------------------------------------------


def change_password(session: Session, *, user: User, current: str, new: str) -> str:
    """Change a password, end every session of the user, and open a fresh one (token)."""
    if not verify_password(user.password_hash, current):
        raise DomainError("Your current password is not right.", field="current_password")
    _set_password(user, new, field="new_password")
    end_all_sessions(session, user.id)
    return open_login_session(session, user)


def _set_password(user: User, password: str, *, field: str) -> None:
    problem = policy_problem(password)
    if problem:
        raise DomainError(problem, field=field)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None


def issue_password_token(session: Session, *, user: User, ttl: timedelta) -> str:
    """A one-time set-password link token; earlier unused tokens of the user stop working."""
    session.execute(
        delete(PasswordToken).where(
            PasswordToken.user_id == user.id, PasswordToken.used_at.is_(None)
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordToken(token_hash=token_digest(token), user_id=user.id, expires_at=_now() + ttl)
    )
    return token


def find_password_token(session: Session, token: str) -> PasswordToken | None:
    row = session.scalar(
        select(PasswordToken).where(PasswordToken.token_hash == token_digest(token))
    )
    if row is None or row.used_at is not None or row.expires_at < _now() or not row.user.active:
        return None
    return row


def use_password_token(session: Session, *, token: str, password: str) -> User:
    row = find_password_token(session, token)
    if row is None:
        raise DomainError(
            "This link has expired or was already used. Ask an administrator for a new one."
        )
    _set_password(row.user, password, field="password")
    row.used_at = _now()
    end_all_sessions(session, row.user_id)
    return row.user


# --- accounts (admin) -----------------------------------------------------------------------


def create_account(
    session: Session, *, person_id: int, email: str, permissions: set[Permission]
) -> User:
    person = session.get(Person, person_id)
    if person is None:
        raise DomainError("Choose a person.", field="person")
    if session.scalar(select(User.id).where(User.person_id == person_id)) is not None:
        raise DomainError(f"{person.full_name} already has an account.", field="person")
    email = normalise_email(email)
    _check_email_free(session, email)
    user = User(person_id=person_id, email=email, active=True)
    session.add(user)
    _set_permissions(user, permissions)
    session.flush()
    return user


def update_account(
    session: Session,
    *,
    user: User,
    email: str,
    permissions: set[Permission],
    active: bool,
    actor_id: int | None = None,
    confirmed: bool = False,
) -> User:
    """Change an account's email, permissions and whether it is active.

    The last active administrator keeps the admin permission and stays active, so that the
    site is never left without anyone who can administer it. An administrator taking the
    permission from their own account must confirm it (``confirmed``).
    """
    email = normalise_email(email)
    if not permissions:
        raise DomainError("Give the account at least one permission.", field="permissions")
    losing_admin = Permission.ADMIN in user.permissions and (
        Permission.ADMIN not in {Permission(p) for p in permissions} or not active
    )
    if losing_admin and user.active:
        _keep_an_admin(session, user, "permissions" if active else "active")
    if losing_admin and actor_id == user.id and active and not confirmed:
        raise DomainError(
            "You are removing your own admin permission: tick the box to confirm.",
            field="confirm_self_demotion",
        )
    if email != user.email:
        _check_email_free(session, email)
        user.email = email
    _set_permissions(user, permissions)
    if user.active and not active:
        end_all_sessions(session, user.id)
    user.active = active
    session.flush()
    return user


def active_admins(session: Session) -> int:
    """How many active accounts of active people hold the admin permission."""
    return (
        session.scalar(
            select(func.count(func.distinct(User.id)))
            .join(User.person)
            .where(
                User.active.is_(True),
                Person.active.is_(True),
                User.permission_rows.any(permission=Permission.ADMIN),
            )
        )
        or 0
    )


def _keep_an_admin(session: Session, user: User, field: str) -> None:
    """Refuse a change that would leave no active administrator."""
    others = active_admins(session) - (1 if user.active and user.person.active else 0)
    if others <= 0:
        raise DomainError(
            f"{user.email} is the last active administrator. Give another account the admin "
            "permission first, or nobody could administer the site.",
            field=field,
        )


def _check_email_free(session: Session, email: str) -> None:
    taken = session.scalar(select(func.count()).select_from(User).where(User.email == email))
    if taken:
        raise DomainError("Another account already uses this email.", field="email")


def _set_permissions(user: User, permissions: set[Permission]) -> None:
    if not permissions:
        raise DomainError("Give the account at least one permission.", field="permissions")
    wanted = {Permission(p) for p in permissions}
    user.permission_rows = [r for r in user.permission_rows if r.permission in wanted]
    held = {r.permission for r in user.permission_rows}
    user.permission_rows.extend(UserPermission(permission=p) for p in sorted(wanted - held))


@person_deactivated.connect
def _disable_leavers_account(session: Session, *, person_id: int) -> None:
    """A leaver's account is disabled and every session of theirs ended; the last active
    administrator cannot leave this way."""
    user = session.scalar(select(User).where(User.person_id == person_id))
    if user is not None and user.active and Permission.ADMIN in user.permissions:
        _keep_an_admin(session, user, "active")
    if user is not None:
        user.active = False
        end_all_sessions(session, user.id)


def account_of(session: Session, person_id: int) -> User | None:
    return session.scalar(select(User).where(User.person_id == person_id))


@dataclass(frozen=True)
class AdminGrant:
    user: User
    created_person: bool
    created_account: bool


def create_admin(
    session: Session,
    *,
    email: str,
    first_name: str,
    last_name: str,
    employee_number: str,
) -> AdminGrant:
    """The first (or a recovery) administrator: the person with this email — created when
    nobody has it — gets an account with the admin and learner permissions, or their
    existing account gains the admin permission and is made active again."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise DomainError(f"{email!r} is not an email address.", field="email")
    user = session.scalar(select(User).where(User.email == email))
    if user is not None:
        _set_permissions(user, {*user.permissions, Permission.ADMIN})
        user.active = True
        user.person.active = True
        session.flush()
        return AdminGrant(user, created_person=False, created_account=False)
    person = session.scalar(select(Person).where(func.lower(Person.email) == email))
    created_person = person is None
    if person is None:
        if not first_name.strip() or not last_name.strip():
            raise DomainError("Give the administrator's first and last name.", field="name")
        number = employee_number.strip()
        if session.scalar(select(Person.id).where(Person.employee_number == number)):
            raise DomainError(
                f"Employee number {number!r} is taken; choose another.", field="employee_number"
            )
        person = Person(
            employee_number=number,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            email=email,
        )
        session.add(person)
        session.flush()
    user = create_account(
        session,
        person_id=person.id,
        email=email,
        permissions={Permission.ADMIN, Permission.LEARNER},
    )
    return AdminGrant(user, created_person=created_person, created_account=True)


def grant(session: Session, *, email: str, permission: str) -> User:
    """Add one permission to the account with this email."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise DomainError(f"No account has the email {email!r}.", field="email")
    if permission not in {p.value for p in Permission}:
        allowed = ", ".join(p.value for p in Permission)
        raise DomainError(f"{permission!r} is not a permission; use one of: {allowed}.")
    _set_permissions(user, {*user.permissions, Permission(permission)})
    session.flush()
    return user


def account_or_person_exists(session: Session, email: str) -> bool:
    """Whether an account or a person already has this email."""
    email = normalise_email(email)
    return (
        session.scalar(select(User.id).where(User.email == email)) is not None
        or session.scalar(select(Person.id).where(func.lower(Person.email) == email)) is not None
    )
