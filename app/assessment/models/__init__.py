"""The assessment domain's tables, one module per area (see docs/architecture.md)."""

from app.assessment.models.assessments import (
    Assessment,
    AssessmentCertification,
    AssessmentSection,
    AssessmentStatus,
    DrawUnit,
    FeedbackPolicy,
)
from app.assessment.models.attempts import Attempt, AttemptItem, AttemptStatus, ItemStatistic
from app.assessment.models.banks import (
    BankEntry,
    BankFormat,
    BankStatus,
    BankStimulus,
    BankVersion,
    ImmutableVersionError,
    Item,
    ItemType,
    ItemVersion,
    QuestionBank,
    Stimulus,
    StimulusKind,
    StimulusVersion,
)

__all__ = [
    "Assessment",
    "AssessmentCertification",
    "AssessmentSection",
    "AssessmentStatus",
    "Attempt",
    "AttemptItem",
    "AttemptStatus",
    "BankEntry",
    "BankFormat",
    "BankStatus",
    "BankStimulus",
    "BankVersion",
    "DrawUnit",
    "FeedbackPolicy",
    "ImmutableVersionError",
    "Item",
    "ItemStatistic",
    "ItemType",
    "ItemVersion",
    "QuestionBank",
    "Stimulus",
    "StimulusKind",
    "StimulusVersion",
]
