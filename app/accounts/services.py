"""Use-cases for accounts: login sessions, log-out, passwords and permissions (the log-in
steps themselves, with their throttling, are in ``signin``; two-step log-in in
``two_factor``).

They take a session and explicit inputs, flush when they need ids, and never commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.orm import Session, joinedload

from app import clock, versioning
from app.accounts import throttling, two_factor
from app.accounts.models import LoginSession, PasswordToken, Permission, User, UserPermission
from app.accounts.passwords import hash_password, policy_problem, verify_password
from app.accounts.sealing import Sealer
from app.errors import DomainError
from app.org.models import Person
from app.signals import person_deactivated


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- log-in sessions ----------------------------------------------------------------------


def open_login_session(session: Session, user: User, *, fingerprint: str | None = None) -> str:
    """A new login session for ``user``; returns its token (the cookie carries it).
    ``fingerprint`` binds it to the browser (see ``load_login_session``)."""
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(token_hash=token_digest(token), user_id=user.id, fingerprint=fingerprint)
    )
    user.login_token = token
    return token


def browser_fingerprint(user_agent: str | None) -> str:
    """What a login session is bound to: a digest of the browser's User-Agent. The client
    address is left out on purpose (phones and laptops change networks mid-session)."""
    return hashlib.sha256((user_agent or "").encode()).hexdigest()


@cache
def _login_session_statement() -> Select:
    """Built once: every request runs it, and building it costs more than running it.

    One statement for the session, its user, the user's person and permissions: the
    permissions are joined (not the relationship's own second SELECT), which halves what
    loading a signed-in request costs before its view runs."""
    user = joinedload(LoginSession.user)
    return (
        select(LoginSession)
        .options(user.joinedload(User.person), user.joinedload(User.permission_rows))
        .where(LoginSession.token_hash == bindparam("token_hash"))
    )


def load_login_session(
    session: Session,
    token: str,
    *,
    idle: timedelta,
    absolute: timedelta,
    fingerprint: str | None = None,
) -> User | None:
    """The user behind a session token, if the session is still open, fresh and active,
    and used from the browser that opened it.

    A session's cookie presented by another browser (another ``fingerprint``) ends the
    session for everyone holding it: a copied cookie is worth nothing, and the owner is
    asked to log in again. (Sessions opened without one, by tests and benchmarks or before
    the upgrade, are not bound.) Touches ``last_seen_at`` at most once a minute.
    """
    row = (
        session.scalars(_login_session_statement(), {"token_hash": token_digest(token)})
        .unique()
        .one_or_none()
    )
    if row is None:
        return None
    now = clock.now()
    if now - row.last_seen_at > idle or now - row.created_at > absolute or not row.user.active:
        session.delete(row)
        return None
    if fingerprint is not None and row.fingerprint not in (None, fingerprint):
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


def change_password(
    session: Session,
    *,
    user: User,
    current: str,
    new: str,
    code: str | None = None,
    sealer: Sealer | None = None,
    fingerprint: str | None = None,
) -> str:
    """Change a password, end every session of the user, and open a fresh one (token).

    The current password re-authenticates the user; when two-step log-in is on, ``code``
    (from the app, or a recovery code) must be valid too."""
    if not verify_password(user.password_hash, current):
        raise DomainError("Your current password is not right.", field="current_password")
    if two_factor.is_enabled(session, user.id) and (
        sealer is None
        or not two_factor.verify(
            session, user_id=user.id, code=code or "", sealer=sealer, now=clock.now()
        )
    ):
        raise DomainError(
            "That code is not right, or was used already. Type the code your app shows now, "
            "or a recovery code.",
            field="code",
        )
    _set_password(user, new, field="new_password")
    end_all_sessions(session, user.id)
    return open_login_session(session, user, fingerprint=fingerprint)


def _set_password(user: User, password: str, *, field: str) -> None:
    problem = policy_problem(password)
    if problem:
        raise DomainError(problem, field=field)
    user.password_hash = hash_password(password)


def issue_password_token(session: Session, *, user: User, ttl: timedelta) -> str:
    """A one-time set-password link token; earlier unused tokens of the user stop working."""
    session.execute(
        delete(PasswordToken).where(
            PasswordToken.user_id == user.id, PasswordToken.used_at.is_(None)
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordToken(token_hash=token_digest(token), user_id=user.id, expires_at=clock.now() + ttl)
    )
    return token


def find_password_token(session: Session, token: str) -> PasswordToken | None:
    row = session.scalar(
        select(PasswordToken).where(PasswordToken.token_hash == token_digest(token))
    )
    if (
        row is None
        or row.used_at is not None
        or row.expires_at < clock.now()
        or not row.user.active
    ):
        return None
    return row


def use_password_token(
    session: Session, *, token: str, password: str, pepper: bytes | None = None
) -> User:
    """Set the password through a one-time link and end every session of the user. With
    ``pepper`` (the throttle counters' secret), the log-in delays on the account's email are
    lifted too: the link is how an owner gets in while someone hammers their address."""
    row = find_password_token(session, token)
    if row is None:
        raise DomainError(
            "This link has expired or was already used. Ask an administrator for a new one."
        )
    _set_password(row.user, password, field="password")
    row.used_at = clock.now()
    end_all_sessions(session, row.user_id)
    if pepper is not None:
        throttling.clear_value(session, pepper, throttling.ACCOUNT, row.user.email)
        throttling.clear_value(session, pepper, throttling.REAUTH, str(row.user_id))
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
    seen: str | None = None,
) -> User:
    """Change an account's email, permissions and whether it is active.

    The last active administrator keeps the admin permission and stays active, so that the
    site is never left without anyone who can administer it. An administrator taking the
    permission from their own account must confirm it (``confirmed``). Refused
    (``StaleEdit``) when the account was saved since its form was read at version ``seen``.
    """
    _claim_account(session, user, seen)
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


def account_values(user: User) -> dict:
    """An account as its edit form shows it."""
    return {
        versioning.FIELD: str(user.row_version),
        "email": user.email,
        "permissions": sorted(p.value for p in user.permissions),
        "active": user.active,
    }


def _claim_account(session: Session, user: User, seen: str | None) -> None:
    """Take the account's next version, or refuse a form read at another one.

    A compare-and-set on ``row_version`` rather than SQLAlchemy's version counter, which
    log-ins would raise too (they write the row): a concurrent save of the form raises it
    between this request's read and this statement, and the statement then changes no row.
    """
    what = f"The account {user.email}"
    versioning.check(seen, account_values(user), what)
    claimed = session.execute(
        update(User)
        .where(User.id == user.id, User.row_version == user.row_version)
        .values(row_version=User.row_version + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise versioning.StaleEdit(what, reread=lambda: account_values(user))


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
