"""The learning domain's tables, one module per area (see docs/architecture.md)."""

from app.learning.models.certificates import (
    CompletionCertificate,
    CpdRecord,
    ExternalCertificate,
    ExternalStatus,
)
from app.learning.models.enrolment import (
    CompletionMethod,
    Enrolment,
    EnrolmentRule,
    EnrolmentSource,
    EnrolmentStatus,
    ModuleCompletion,
)
from app.learning.models.paths import (
    LearningPath,
    ModuleEvidence,
    ModuleType,
    PathChange,
    PathModule,
    PathPrerequisite,
    PathStatus,
    PathVersion,
)
from app.learning.models.reminders import ReminderLog
from app.learning.models.sessions import Booking, BookingStatus, ClassSession

__all__ = [
    "Booking",
    "BookingStatus",
    "ClassSession",
    "CompletionCertificate",
    "CompletionMethod",
    "CpdRecord",
    "Enrolment",
    "EnrolmentRule",
    "EnrolmentSource",
    "EnrolmentStatus",
    "ExternalCertificate",
    "ExternalStatus",
    "LearningPath",
    "ModuleCompletion",
    "ModuleEvidence",
    "ModuleType",
    "PathChange",
    "PathModule",
    "PathPrerequisite",
    "PathStatus",
    "PathVersion",
    "ReminderLog",
]
