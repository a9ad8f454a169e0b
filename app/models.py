"""Imports every model so that the metadata (and Alembic) sees them all."""

from app.accounts.models import LoginSession, PasswordToken, Permission, User, UserPermission
from app.org.models import Office, OrgUnit, Person, Role, RoleAssignment

__all__ = [
    "LoginSession", "Office", "OrgUnit", "PasswordToken", "Permission", "Person", "Role",
    "RoleAssignment", "User", "UserPermission",
]
