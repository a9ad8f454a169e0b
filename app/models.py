"""Imports every model so that the metadata (and Alembic) sees them all."""

from app.accounts.models import LoginSession, PasswordToken, Permission, User, UserPermission
from app.framework.models import (
    Calibration,
    Competency,
    CompetencyGroup,
    Evidence,
    EvidenceCap,
    Framework,
    FrameworkVersion,
    ProficiencyLevel,
    RoleRequirement,
    ValidationDecision,
)
from app.imports.models import ImportBatch, ImportMapping
from app.org.models import Office, OrgUnit, Person, Role, RoleAssignment

__all__ = [
    "Calibration", "Competency", "CompetencyGroup", "Evidence", "EvidenceCap", "Framework",
    "FrameworkVersion", "ProficiencyLevel", "RoleRequirement", "ValidationDecision",
    "ImportBatch", "ImportMapping", "LoginSession", "Office", "OrgUnit", "PasswordToken",
    "Permission", "Person", "Role",
    "RoleAssignment", "User", "UserPermission",
]
