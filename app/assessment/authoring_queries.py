"""Reads for the trainer's authoring pages: banks and their versions with item counts, a
version's items (filtered), assessments as definitions, and what a definition may name
(the banks' published content, the framework's competencies, the learning modules)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.assessment.bank_queries import content_of, framework_codes, published_bank_version
from app.assessment.content import BankContent, ItemContent, ScenarioContent, item_from_data
from app.assessment.definition import (
    AssessmentDefinition,
    DefinitionReferences,
    ModuleRef,
    SectionDefinition,
)
from app.assessment.models import (
    Assessment,
    AssessmentSection,
    Attempt,
    BankEntry,
    BankStatus,
    BankVersion,
    Item,
    ItemVersion,
    QuestionBank,
)
from app.learning.models import PathModule, PathStatus, PathVersion

# --- banks ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BankRow:
    """A bank as the list shows it: the version a trainer works from (its draft when one is
    open, else the published one, else the newest) and its item counts."""

    code: str
    title: str
    format: str
    published: int | None
    draft: int | None
    shown: int
    items: int
    by_type: dict[str, int]
    by_topic: dict[str, int]


def _shown_versions(session: Session) -> dict[int, tuple[BankVersion, int | None, int | None]]:
    """Bank id -> (the version shown, the published number, the draft number)."""
    out: dict[int, tuple[BankVersion, int | None, int | None]] = {}
    versions = session.scalars(
        select(BankVersion).order_by(BankVersion.bank_id, BankVersion.number)
    )
    by_bank: dict[int, list[BankVersion]] = {}
    for version in versions:
        by_bank.setdefault(version.bank_id, []).append(version)
    for bank_id, rows in by_bank.items():
        published = next((v for v in reversed(rows) if v.status == BankStatus.PUBLISHED), None)
        draft = next((v for v in reversed(rows) if v.status == BankStatus.DRAFT), None)
        shown = draft or published or rows[-1]
        out[bank_id] = (
            shown,
            published.number if published else None,
            draft.number if draft else None,
        )
    return out


def item_counts(
    session: Session, version_ids: Iterable[int]
) -> dict[int, tuple[Counter[str], Counter[str]]]:
    """Bank version id -> (items by type, items by topic), in one query."""
    ids = list(version_ids)
    out: dict[int, tuple[Counter[str], Counter[str]]] = {i: (Counter(), Counter()) for i in ids}
    if not ids:
        return out
    rows = session.execute(
        select(BankEntry.bank_version_id, ItemVersion.type, ItemVersion.topic, func.count())
        .join(ItemVersion, ItemVersion.id == BankEntry.item_version_id)
        .where(BankEntry.bank_version_id.in_(ids))
        .group_by(BankEntry.bank_version_id, ItemVersion.type, ItemVersion.topic)
    )
    for version_id, kind, topic, n in rows:
        by_type, by_topic = out[version_id]
        by_type[kind.value] += n
        by_topic[topic] += n
    return out


def _in_topic_order(counts: Counter[str], order: list[str]) -> dict[str, int]:
    known = [t for t in order if counts[t]]
    return {t: counts[t] for t in known + sorted(set(counts) - set(known))}


def bank_rows(session: Session) -> list[BankRow]:
    """Every bank, by code, with the counts of the version shown."""
    shown = _shown_versions(session)
    banks = session.scalars(select(QuestionBank).order_by(QuestionBank.code)).all()
    counts = item_counts(session, [v.id for v, _, _ in shown.values()])
    rows = []
    for bank in banks:
        if bank.id not in shown:
            continue
        version, published, draft = shown[bank.id]
        by_type, by_topic = counts[version.id]
        rows.append(
            BankRow(
                code=bank.code,
                title=version.title,
                format=version.format.value,
                published=published,
                draft=draft,
                shown=version.number,
                items=sum(by_type.values()),
                by_type=dict(by_type),
                by_topic=_in_topic_order(by_topic, [str(code) for code, _ in version.topics]),
            )
        )
    return rows


def versions_of(session: Session, bank_id: int) -> list[BankVersion]:
    return list(
        session.scalars(
            select(BankVersion).where(BankVersion.bank_id == bank_id).order_by(BankVersion.number)
        )
    )


def version_by_number(session: Session, bank_id: int, number: int) -> BankVersion | None:
    return session.scalar(
        select(BankVersion).where(BankVersion.bank_id == bank_id, BankVersion.number == number)
    )


def draft_of(session: Session, bank_id: int) -> BankVersion | None:
    return session.scalar(
        select(BankVersion).where(
            BankVersion.bank_id == bank_id, BankVersion.status == BankStatus.DRAFT
        )
    )


def locked_draft(session: Session, bank_id: int) -> BankVersion | None:
    """The bank's draft, its row locked until the transaction ends (PostgreSQL), so that
    two edits of one draft run one after the other."""
    return session.scalar(
        select(BankVersion)
        .where(BankVersion.bank_id == bank_id, BankVersion.status == BankStatus.DRAFT)
        .with_for_update()
    )


@dataclass(frozen=True)
class ItemRow:
    """One item of a bank version as the bank page lists it."""

    position: int
    code: str
    version_id: int
    number: int
    type: str
    topic: str
    competency: str
    level: int
    scenario: str | None
    text: str


def _excerpt(content: dict, size: int = 140) -> str:
    text = " ".join(
        " ".join(str(content.get(key) or "").split()) for key in ("stem", "statement", "assertion")
    ).strip()
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


def version_items(
    session: Session,
    version: BankVersion,
    *,
    topic: str | None = None,
    competency: str | None = None,
    kind: str | None = None,
) -> list[ItemRow]:
    """The items of ``version`` in its order, filtered by topic, competency and type."""
    stmt = (
        select(BankEntry.position, Item.code, ItemVersion)
        .join(ItemVersion, ItemVersion.id == BankEntry.item_version_id)
        .join(Item, Item.id == ItemVersion.item_id)
        .where(BankEntry.bank_version_id == version.id)
        .order_by(BankEntry.position)
        .options(selectinload(ItemVersion.scenario_version))
    )
    if topic:
        stmt = stmt.where(ItemVersion.topic == topic)
    if competency:
        stmt = stmt.where(ItemVersion.competency_code == competency)
    if kind:
        stmt = stmt.where(ItemVersion.type == kind)
    rows = []
    for position, code, iv in session.execute(stmt):
        scenario = iv.scenario_version.title if iv.scenario_version is not None else None
        rows.append(
            ItemRow(
                position=position,
                code=code,
                version_id=iv.id,
                number=iv.number,
                type=iv.type.value,
                topic=iv.topic,
                competency=iv.competency_code,
                level=iv.level,
                scenario=scenario,
                text=_excerpt(iv.content),
            )
        )
    return rows


@dataclass(frozen=True)
class VersionItem:
    """One item of a bank version in full: its content, its item version, its scenario."""

    item: ItemContent
    version_id: int
    number: int
    scenario: ScenarioContent | None = None


def item_in_version(session: Session, version: BankVersion, code: str) -> VersionItem | None:
    """The item ``code`` as ``version`` holds it, or None."""
    row = session.execute(
        select(ItemVersion)
        .join(BankEntry, BankEntry.item_version_id == ItemVersion.id)
        .join(Item, Item.id == ItemVersion.item_id)
        .where(BankEntry.bank_version_id == version.id, Item.code == code)
    ).scalar_one_or_none()
    if row is None:
        return None
    scenario = None
    if row.scenario_version is not None:
        sv = row.scenario_version
        scenario = ScenarioContent(sv.stimulus.code, sv.title, sv.body)
    return VersionItem(item_from_data(row.content), row.id, row.number, scenario)


def entry_version_id(session: Session, version: BankVersion, code: str) -> int | None:
    """The item version id ``version`` holds for item ``code`` (the edit form's token)."""
    return session.scalar(
        select(ItemVersion.id)
        .join(BankEntry, BankEntry.item_version_id == ItemVersion.id)
        .join(Item, Item.id == ItemVersion.item_id)
        .where(BankEntry.bank_version_id == version.id, Item.code == code)
    )


def bank_choices(session: Session) -> list[tuple[str, str]]:
    """(code, "code — title") of every bank, by code, titled by its newest version."""
    newest = (
        select(BankVersion.bank_id, func.max(BankVersion.number).label("number"))
        .group_by(BankVersion.bank_id)
        .subquery()
    )
    rows = session.execute(
        select(QuestionBank.code, BankVersion.title)
        .join(BankVersion, BankVersion.bank_id == QuestionBank.id)
        .join(
            newest,
            (newest.c.bank_id == BankVersion.bank_id) & (newest.c.number == BankVersion.number),
        )
        .order_by(QuestionBank.code)
    )
    return [(code, f"{code} — {title}") for code, title in rows]


def published_contents(
    session: Session, codes: Iterable[str] | None = None
) -> dict[str, BankContent | None]:
    """Bank code -> its published content (None: the bank exists but has no published
    version), for ``codes`` (default: every bank). Unknown codes are left out."""
    stmt = select(QuestionBank)
    if codes is not None:
        stmt = stmt.where(QuestionBank.code.in_(list(codes)))
    out: dict[str, BankContent | None] = {}
    for bank in session.scalars(stmt):
        version = published_bank_version(session, bank.id)
        out[bank.code] = content_of(session, version) if version is not None else None
    return out


def module_refs(session: Session) -> dict[str, ModuleRef]:
    """Module code -> its type and the assessment it names, from each path's newest
    published version (a module only in a draft path: from that draft)."""
    rows = session.execute(
        select(PathModule.code, PathModule.type, PathModule.assessment_code, PathVersion.status)
        .join(PathVersion, PathVersion.id == PathModule.version_id)
        .order_by(PathVersion.status == PathStatus.PUBLISHED, PathVersion.number)
    )
    out: dict[str, ModuleRef] = {}
    for code, kind, assessment, _status in rows:
        out[code] = ModuleRef(code, kind.value, assessment)
    return out


def assessment_module_choices(session: Session) -> list[tuple[str, str]]:
    """(code, "code — title") of the assessment modules of the paths' published versions."""
    rows = session.execute(
        select(PathModule.code, PathModule.title)
        .join(PathVersion, PathVersion.id == PathModule.version_id)
        .where(PathVersion.status == PathStatus.PUBLISHED, PathModule.type == "assessment")
        .order_by(PathModule.code)
    )
    seen: dict[str, str] = {}
    for code, title in rows:
        seen.setdefault(code, f"{code} — {title}")
    return list(seen.items())


def references(session: Session, bank_codes: Iterable[str] | None = None) -> DefinitionReferences:
    """Everything a definition may name, read from the database."""
    return DefinitionReferences(
        banks=published_contents(session, bank_codes),
        competencies=framework_codes(session),
        modules=module_refs(session),
    )


# --- assessments ---------------------------------------------------------------------------------


def assessment_by_code(session: Session, code: str) -> Assessment | None:
    return session.scalar(
        select(Assessment)
        .where(Assessment.code == code)
        .options(
            selectinload(Assessment.sections).selectinload(AssessmentSection.bank),
            selectinload(Assessment.certifies),
        )
    )


def definition_of(assessment: Assessment) -> AssessmentDefinition:
    """An assessment's rows as its canonical definition."""
    return AssessmentDefinition(
        code=assessment.code,
        title=assessment.title,
        summary=assessment.summary,
        status=assessment.status.value,
        module=assessment.module_code,
        pass_percent=assessment.pass_percent,
        time_limit_minutes=assessment.time_limit_minutes,
        grace_seconds=assessment.grace_seconds,
        attempt_limit=assessment.attempt_limit,
        wait_minutes=assessment.wait_minutes,
        shuffle_items=assessment.shuffle_items,
        shuffle_options=assessment.shuffle_options,
        feedback=assessment.feedback.value,
        opens_at=assessment.opens_at,
        closes_at=assessment.closes_at,
        sections=tuple(
            SectionDefinition(
                bank=s.bank.code,
                count=s.count,
                title=s.title,
                unit=s.unit.value,
                unscored=s.unscored,
                topics=tuple(s.topics),
                tags=tuple(s.tags),
                competencies=tuple(s.competencies),
            )
            for s in assessment.sections
        ),
        certifies=tuple(sorted((c.competency_code, c.level) for c in assessment.certifies)),
    )


def all_definitions(session: Session) -> list[AssessmentDefinition]:
    rows = session.scalars(
        select(Assessment)
        .order_by(Assessment.code)
        .options(
            selectinload(Assessment.sections).selectinload(AssessmentSection.bank),
            selectinload(Assessment.certifies),
        )
    )
    return [definition_of(a) for a in rows]


@dataclass(frozen=True)
class AssessmentRow:
    code: str
    title: str
    status: str
    module: str | None
    sections: int
    banks: list[str]
    certifies: list[tuple[str, int]]
    attempts: int
    time_limit_minutes: int | None
    pass_percent: int


def assessment_rows(session: Session) -> list[AssessmentRow]:
    """Every assessment by code, with its sections' banks and how many attempts it has."""
    attempts = dict(
        session.execute(
            select(Attempt.assessment_id, func.count()).group_by(Attempt.assessment_id)
        ).all()
    )
    rows = session.scalars(
        select(Assessment)
        .order_by(Assessment.code)
        .options(
            selectinload(Assessment.sections).selectinload(AssessmentSection.bank),
            selectinload(Assessment.certifies),
        )
    )
    return [
        AssessmentRow(
            code=a.code,
            title=a.title,
            status=a.status.value,
            module=a.module_code,
            sections=len(a.sections),
            banks=sorted({s.bank.code for s in a.sections}),
            certifies=[(c.competency_code, c.level) for c in a.certifies],
            attempts=int(attempts.get(a.id, 0)),
            time_limit_minutes=a.time_limit_minutes,
            pass_percent=a.pass_percent,
        )
        for a in rows
    ]


def assessments_drawing_from(session: Session, bank_id: int) -> list[Assessment]:
    """The assessments (not retired) with a section drawing from the bank."""
    return list(
        session.scalars(
            select(Assessment)
            .where(Assessment.sections.any(AssessmentSection.bank_id == bank_id))
            .order_by(Assessment.code)
            .options(
                selectinload(Assessment.sections).selectinload(AssessmentSection.bank),
                selectinload(Assessment.certifies),
            )
        )
    )


def attempts_of(session: Session, assessment_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(Attempt).where(Attempt.assessment_id == assessment_id)
        )
        or 0
    )
