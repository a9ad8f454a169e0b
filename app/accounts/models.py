"""User accounts, app permissions, server-side login sessions, one-time password tokens,
log-in throttling counters and two-step log-in (TOTP and recovery codes)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import enum_column, utcnow
from app.extensions import Model
from app.org.models import Person


class Permission(StrEnum):
    """App permissions; a user may hold several. Not the same thing as a job role."""

    LEARNER = "learner"
    MANAGER = "manager"
    TRAINER = "trainer"
    ADMIN = "admin"


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    #: Log-in name, stored lower-case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: None until the person sets a password through their one-time link.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    #: The account form's version (``app.versioning``), raised by each save of the form.
    #: Not SQLAlchemy's version counter: log-ins write this row too, and must neither
    #: make an administrator's open form stale nor fail because one was saved meanwhile.
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")

    person: Mapped[Person] = relationship()
    permission_rows: Mapped[list[UserPermission]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    #: The token of the login session this object was loaded for (not stored on the row).
    if TYPE_CHECKING:
        login_token: str | None
    else:
        login_token = None

    def get_id(self) -> str | None:
        return self.login_token

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def permissions(self) -> frozenset[Permission]:
        return frozenset(Permission(row.permission) for row in self.permission_rows)

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class UserPermission(Model):
    __tablename__ = "user_permissions"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    permission: Mapped[Permission] = mapped_column(
        enum_column(Permission, "permission"), primary_key=True
    )

    user: Mapped[User] = relationship(back_populates="permission_rows")


class LoginSession(Model):
    """One signed-in browser. Deleting the row ends that session at once, whatever cookie
    copies exist: the cookie carries only a random token whose hash is kept here."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the password (and the second factor) was last given for this session: at log-in,
    #: then at each re-authentication. Sensitive changes need it to be recent.
    authenticated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: A digest of the User-Agent of the browser that opened the session; a request with
    #: the session's cookie from another browser ends the session.
    fingerprint: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class PasswordToken(Model):
    """A one-time link to set a password (new accounts, admin resets)."""

    __tablename__ = "password_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class LoginThrottle(Model):
    """One counter of failed log-in attempts, shared by every worker and node.

    ``scope`` says what is counted (an email address typed at log-in, a client address, a
    known device, a second factor, a re-authentication); ``key`` is a keyed digest of what
    it counts, so the table holds no email or address in clear and an email nobody has is
    counted exactly like one that exists. The rule is in ``app.accounts.throttle``.
    """

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_login_throttles_scope_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    #: Failures counted in the current window.
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None] = mapped_column(index=True)
    #: Raised by every change: an update names the value it read, so two workers never
    #: both take the same free attempt (compare-and-set).
    changes: Mapped[int] = mapped_column(default=0)


class TwoFactor(Model):
    """A user's TOTP authenticator (RFC 6238): pending until confirmed with a first code."""

    __tablename__ = "two_factor"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    #: The shared secret, encrypted with a key derived from SECRET_KEY (``sealing.py``).
    secret_sealed: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: None while the user is enrolling; set once a first code has proved the set-up.
    confirmed_at: Mapped[datetime | None]
    #: The TOTP time step of the last code accepted: a code works once.
    last_step: Mapped[int | None]


class RecoveryCode(Model):
    """A single-use code that stands in for the authenticator; only its digest is kept."""

    __tablename__ = "recovery_codes"
    __table_args__ = (
        UniqueConstraint("user_id", "code_hash", name="uq_recovery_codes_user_id_code_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
