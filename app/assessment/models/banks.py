"""Question banks, their versions, items and their versions, scenarios and data packs.

A bank (``QuestionBank``) is the stable identity, named by its code. What it holds lives in
numbered versions (``BankVersion``): a draft is edited, publishing makes it the version
assessments draw from, and a published version never changes — editing a published bank
makes a new draft, and the versions before are kept.

An item (``Item``) is named by its stable id (``P3OF-VOC-01``, never reused). Its content
lives in immutable item versions (``ItemVersion``): a JSON snapshot of the whole item
(``app.assessment.content.ItemContent.as_json``) plus the columns assessments draw by
(type, topic, competency, level, tags). A bank version lists the item versions it holds
(``BankEntry``); an unchanged item keeps its item version from one bank version to the next,
and an attempt keeps the exact item versions it was given, whatever happens to the bank.

Scenarios (a case several items answer from) and data packs (figures several items use)
are shared stimuli (``Stimulus``), versioned the same way (``StimulusVersion``); an item
version points at the scenario and data pack versions it was written against, so an
attempt also keeps the case it was shown.

Immutability is kept by a flush guard (below): changing an item or stimulus version, the
content of a bank version once it has left draft, or the entries of such a version, raises
``ImmutableVersionError``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.db import enum_column, utcnow
from app.extensions import Model
from app.framework.scale import MAX_LEVEL


class BankFormat(StrEnum):
    """How a bank's items are examined (``app.assessment.content.BANK_FORMATS``)."""

    FOUNDATION = "foundation"
    PRACTITIONER = "practitioner"
    ROLE = "role"
    KNOWLEDGE_CHECK = "knowledge-check"


class ItemType(StrEnum):
    """The item types (``app.assessment.content.ITEM_TYPES``)."""

    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUE_FALSE = "true-false"
    MATCHING = "matching"
    SEQUENCING = "sequencing"
    ASSERTION_REASON = "assertion-reason"


class BankStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class StimulusKind(StrEnum):
    SCENARIO = "scenario"
    DATA_PACK = "data_pack"


class ImmutableVersionError(RuntimeError):
    """A published bank version, an item version or a stimulus version was changed."""


class QuestionBank(Model):
    __tablename__ = "question_banks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[BankVersion]] = relationship(
        back_populates="bank", order_by="BankVersion.number", cascade="all, delete-orphan"
    )


class BankVersion(Model):
    __tablename__ = "bank_versions"
    __table_args__ = (UniqueConstraint("bank_id", "number", name="uq_bank_versions_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(
        ForeignKey("question_banks.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    status: Mapped[BankStatus] = mapped_column(enum_column(BankStatus, "bank_status"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    format: Mapped[BankFormat] = mapped_column(enum_column(BankFormat, "bank_format"))
    author: Mapped[str] = mapped_column(String(200), default="")
    #: The attestation that every item is original work.
    original_work: Mapped[bool] = mapped_column(default=True)
    #: [[topic code, name], ...] in the bank's order
    topics: Mapped[list] = mapped_column(JSON, default=list)
    #: SHA-256 of the canonical content; loading identical content twice is a no-op.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    retired_at: Mapped[datetime | None]

    bank: Mapped[QuestionBank] = relationship(back_populates="versions")
    entries: Mapped[list[BankEntry]] = relationship(
        back_populates="bank_version", order_by="BankEntry.position", cascade="all, delete-orphan"
    )
    stimuli: Mapped[list[BankStimulus]] = relationship(
        back_populates="bank_version",
        order_by="BankStimulus.position",
        cascade="all, delete-orphan",
    )

    @property
    def label(self) -> str:
        return f"v{self.number} ({self.status.value})"


#: The columns of a bank version that are its content (frozen once it leaves draft).
BANK_CONTENT_COLUMNS = ("title", "format", "author", "original_work", "topics", "content_hash")


class Stimulus(Model):
    """A scenario or a data pack, named by its stable id (unique across banks)."""

    __tablename__ = "assessment_stimuli"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[StimulusKind] = mapped_column(enum_column(StimulusKind, "stimulus_kind"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("question_banks.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[StimulusVersion]] = relationship(
        back_populates="stimulus", order_by="StimulusVersion.number"
    )


class StimulusVersion(Model):
    """One immutable version of a scenario's case or a data pack's figures (Markdown)."""

    __tablename__ = "stimulus_versions"
    __table_args__ = (
        UniqueConstraint("stimulus_id", "number", name="uq_stimulus_versions_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stimulus_id: Mapped[int] = mapped_column(
        ForeignKey("assessment_stimuli.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    stimulus: Mapped[Stimulus] = relationship(back_populates="versions")


class BankStimulus(Model):
    """The scenarios and data packs a bank version holds, in its order."""

    __tablename__ = "bank_stimuli"
    __table_args__ = (
        UniqueConstraint("bank_version_id", "position", name="uq_bank_stimuli_position"),
    )

    bank_version_id: Mapped[int] = mapped_column(
        ForeignKey("bank_versions.id", ondelete="CASCADE"), primary_key=True
    )
    stimulus_version_id: Mapped[int] = mapped_column(
        ForeignKey("stimulus_versions.id"), primary_key=True, index=True
    )
    position: Mapped[int]

    bank_version: Mapped[BankVersion] = relationship(back_populates="stimuli")
    stimulus_version: Mapped[StimulusVersion] = relationship()


class Item(Model):
    """An item's stable identity: its id, unique across all banks and never reused."""

    __tablename__ = "assessment_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    #: The bank the item belongs to (an id is never moved to another bank).
    bank_id: Mapped[int] = mapped_column(ForeignKey("question_banks.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[ItemVersion]] = relationship(
        back_populates="item", order_by="ItemVersion.number"
    )


class ItemVersion(Model):
    """One immutable version of an item: the whole item as a JSON snapshot, and the
    columns assessments draw by."""

    __tablename__ = "item_versions"
    __table_args__ = (
        UniqueConstraint("item_id", "number", name="uq_item_versions_number"),
        CheckConstraint(f"level BETWEEN 1 AND {MAX_LEVEL}", name="level_on_scale"),
        Index("ix_item_versions_competency_level", "competency_code", "level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("assessment_items.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    type: Mapped[ItemType] = mapped_column(enum_column(ItemType, "item_type"))
    topic: Mapped[str] = mapped_column(String(16))
    competency_code: Mapped[str] = mapped_column(String(16))
    level: Mapped[int]
    tags: Mapped[list] = mapped_column(JSON, default=list)
    #: The whole item (``ItemContent.as_json()``): stem, options, keys, rationales.
    content: Mapped[dict] = mapped_column(JSON)
    #: SHA-256 of ``content``: an unchanged item keeps its version.
    content_hash: Mapped[str] = mapped_column(String(64))
    #: The case the item answers from (scenario items) and the data pack it uses.
    scenario_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("stimulus_versions.id"), index=True
    )
    data_pack_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("stimulus_versions.id"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    item: Mapped[Item] = relationship(back_populates="versions")
    scenario_version: Mapped[StimulusVersion | None] = relationship(
        foreign_keys=[scenario_version_id]
    )
    data_pack_version: Mapped[StimulusVersion | None] = relationship(
        foreign_keys=[data_pack_version_id]
    )


class BankEntry(Model):
    """An item version a bank version holds, at its position (stand-alone items first,
    then each scenario's items in turn)."""

    __tablename__ = "bank_entries"
    __table_args__ = (
        UniqueConstraint("bank_version_id", "position", name="uq_bank_entries_position"),
    )

    bank_version_id: Mapped[int] = mapped_column(
        ForeignKey("bank_versions.id", ondelete="CASCADE"), primary_key=True
    )
    item_version_id: Mapped[int] = mapped_column(
        ForeignKey("item_versions.id"), primary_key=True, index=True
    )
    position: Mapped[int]

    bank_version: Mapped[BankVersion] = relationship(back_populates="entries")
    item_version: Mapped[ItemVersion] = relationship()


# --- the flush guard: versions that have been given out never change --------------------------


def _committed(obj: Any, attr: str) -> Any:
    """The value ``attr`` had when ``obj`` was last loaded or flushed."""
    history = inspect(obj).attrs[attr].history
    if history.deleted:
        return history.deleted[0]
    return getattr(obj, attr)


def _frozen_version(session: Session, version_id: int | None, version: Any) -> bool:
    """Whether the bank version an entry belongs to had left draft before this flush."""
    version = version or (session.get(BankVersion, version_id) if version_id else None)
    if version is None or not inspect(version).persistent or version in session.deleted:
        return False
    return _committed(version, "status") != BankStatus.DRAFT


@event.listens_for(Session, "before_flush")
def _keep_versions_immutable(session: Session, _context: Any, _instances: Any) -> None:
    for obj in session.dirty:
        if isinstance(obj, ItemVersion | StimulusVersion) and session.is_modified(obj):
            raise ImmutableVersionError(
                f"{type(obj).__name__} {obj.id} is immutable: make a new version instead"
            )
        if isinstance(obj, BankVersion) and _committed(obj, "status") != BankStatus.DRAFT:
            changed = [c for c in BANK_CONTENT_COLUMNS if inspect(obj).attrs[c].history.deleted]
            if changed:
                raise ImmutableVersionError(
                    f"bank version {obj.id} has been published; its {', '.join(changed)} "
                    "cannot change: make a new draft instead"
                )
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, BankEntry | BankStimulus) and _frozen_version(
            session, obj.bank_version_id, obj.bank_version
        ):
            raise ImmutableVersionError(
                "a published bank version's items cannot change: make a new draft instead"
            )
