"""User accounts, app permissions, server-side login sessions and one-time password tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
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
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

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
