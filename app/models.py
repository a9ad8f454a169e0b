"""Imports every model so that the metadata (and Alembic) sees them all."""

from app.accounts.models import LoginSession, PasswordToken, Permission, User, UserPermission
from app.capability.models import Calibration, Evidence, ValidationDecision
from app.framework.models import (
    Certificate,
    Competency,
    CompetencyGroup,
    EvidenceCap,
    Framework,
    FrameworkVersion,
    ProficiencyLevel,
    RoleRequirement,
)
from app.learning.models import (
    Booking,
    ClassSession,
    CompletionCertificate,
    CpdRecord,
    Enrolment,
    EnrolmentRule,
    ExternalCertificate,
    LearningPath,
    ModuleCompletion,
    ModuleEvidence,
    PathChange,
    PathModule,
    PathPrerequisite,
    PathVersion,
    ReminderLog,
)
from app.learning.models.paths import PathAudience
from app.org import tree  # noqa: F401  (keeps the org-unit closure table in step)
from app.org.models import Office, OrgUnit, OrgUnitPath, Person, Role, RoleAssignment
from app.staff_import.models import ImportBatch, ImportMapping

__all__ = [
    "Booking",
    "ClassSession",
    "CompletionCertificate",
    "CpdRecord",
    "Enrolment",
    "EnrolmentRule",
    "ExternalCertificate",
    "LearningPath",
    "ModuleCompletion",
    "ModuleEvidence",
    "PathAudience",
    "PathChange",
    "PathModule",
    "PathPrerequisite",
    "PathVersion",
    "ReminderLog",
    "Calibration",
    "Certificate",
    "Competency",
    "CompetencyGroup",
    "Evidence",
    "EvidenceCap",
    "Framework",
    "FrameworkVersion",
    "ProficiencyLevel",
    "RoleRequirement",
    "ValidationDecision",
    "ImportBatch",
    "ImportMapping",
    "LoginSession",
    "Office",
    "OrgUnit",
    "OrgUnitPath",
    "PasswordToken",
    "Permission",
    "Person",
    "Role",
    "RoleAssignment",
    "User",
    "UserPermission",
]
