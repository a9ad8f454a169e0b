"""Reading question banks: find a bank and its versions, and read a version back as its
canonical content (``app.assessment.content.BankContent``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.assessment.content import (
    BankContent,
    DataPackContent,
    ItemContent,
    ScenarioContent,
    item_from_data,
)
from app.assessment.models import (
    BankEntry,
    BankStatus,
    BankStimulus,
    BankVersion,
    Item,
    ItemVersion,
    QuestionBank,
    Stimulus,
    StimulusKind,
    StimulusVersion,
)
from app.framework.models import Competency
from app.framework.versions import published_version as published_framework


def bank_by_code(session: Session, code: str) -> QuestionBank | None:
    return session.scalar(select(QuestionBank).where(QuestionBank.code == code))


def published_bank_version(session: Session, bank_id: int) -> BankVersion | None:
    """The bank's published version (the one assessments draw from), or None."""
    return session.scalar(
        select(BankVersion)
        .where(BankVersion.bank_id == bank_id, BankVersion.status == BankStatus.PUBLISHED)
        .order_by(BankVersion.number.desc())
        .limit(1)
    )


def latest_bank_number(session: Session, bank_id: int) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.max(BankVersion.number), 0)).where(
                BankVersion.bank_id == bank_id
            )
        )
        or 0
    )


def published_banks(session: Session) -> list[tuple[QuestionBank, BankVersion]]:
    """Every bank with a published version, by code."""
    rows = session.execute(
        select(QuestionBank, BankVersion)
        .join(BankVersion)
        .where(BankVersion.status == BankStatus.PUBLISHED)
        .order_by(QuestionBank.code)
    )
    return [(bank, version) for bank, version in rows]


def latest_item_versions(session: Session, codes: Iterable[str]) -> dict[str, ItemVersion]:
    """Item id -> its newest item version, for the ids that have one."""
    codes = list(codes)
    if not codes:
        return {}
    newest = (
        select(ItemVersion.item_id, func.max(ItemVersion.number).label("number"))
        .group_by(ItemVersion.item_id)
        .subquery()
    )
    rows = session.execute(
        select(Item.code, ItemVersion)
        .join(ItemVersion, ItemVersion.item_id == Item.id)
        .join(
            newest,
            (newest.c.item_id == ItemVersion.item_id) & (newest.c.number == ItemVersion.number),
        )
        .where(Item.code.in_(codes))
    )
    return {code: version for code, version in rows}


def latest_stimulus_versions(session: Session, codes: Iterable[str]) -> dict[str, StimulusVersion]:
    """Scenario or data pack id -> its newest version, for the ids that have one."""
    codes = list(codes)
    if not codes:
        return {}
    newest = (
        select(StimulusVersion.stimulus_id, func.max(StimulusVersion.number).label("number"))
        .group_by(StimulusVersion.stimulus_id)
        .subquery()
    )
    rows = session.execute(
        select(Stimulus.code, StimulusVersion)
        .join(StimulusVersion, StimulusVersion.stimulus_id == Stimulus.id)
        .join(
            newest,
            (newest.c.stimulus_id == StimulusVersion.stimulus_id)
            & (newest.c.number == StimulusVersion.number),
        )
        .where(Stimulus.code.in_(codes))
    )
    return {code: version for code, version in rows}


@dataclass(frozen=True)
class Owner:
    """The bank an item id, scenario id or data pack id already belongs to."""

    code: str
    bank_code: str


def owners(session: Session, item_ids: Iterable[str], stimulus_ids: Iterable[str]) -> list[Owner]:
    """Which of these ids already belong to a bank (items and stimuli alike)."""
    item_ids, stimulus_ids = list(item_ids), list(stimulus_ids)
    out: list[Owner] = []
    if item_ids:
        rows = session.execute(
            select(Item.code, QuestionBank.code).join(QuestionBank).where(Item.code.in_(item_ids))
        )
        out += [Owner(a, b) for a, b in rows]
    if stimulus_ids:
        rows = session.execute(
            select(Stimulus.code, QuestionBank.code)
            .join(QuestionBank)
            .where(Stimulus.code.in_(stimulus_ids))
        )
        out += [Owner(a, b) for a, b in rows]
    return out


def framework_codes(session: Session) -> frozenset[str] | None:
    """The competency codes of the published framework, or None when none is published."""
    framework = published_framework(session)
    if framework is None:
        return None
    return frozenset(
        session.scalars(select(Competency.code).where(Competency.version_id == framework.id))
    )


def content_of(session: Session, version: BankVersion) -> BankContent:
    """A bank version read back as its canonical content (its digest equals the version's
    ``content_hash`` when the version was written from content)."""
    bank = session.get(QuestionBank, version.bank_id)
    assert bank is not None
    stimuli = session.scalars(
        select(BankStimulus)
        .where(BankStimulus.bank_version_id == version.id)
        .order_by(BankStimulus.position)
        .options(joinedload(BankStimulus.stimulus_version).joinedload(StimulusVersion.stimulus))
    ).all()
    entries = session.scalars(
        select(BankEntry)
        .where(BankEntry.bank_version_id == version.id)
        .order_by(BankEntry.position)
        .options(selectinload(BankEntry.item_version))
    ).all()
    items: list[ItemContent] = []
    by_scenario: dict[int, list[ItemContent]] = {}
    for entry in entries:
        item = item_from_data(entry.item_version.content)
        scenario_id = entry.item_version.scenario_version_id
        if scenario_id is None:
            items.append(item)
        else:
            by_scenario.setdefault(scenario_id, []).append(item)
    scenarios, packs = [], []
    for row in stimuli:
        sv = row.stimulus_version
        if sv.stimulus.kind == StimulusKind.SCENARIO:
            scenarios.append(
                ScenarioContent(
                    sv.stimulus.code, sv.title, sv.body, tuple(by_scenario.get(sv.id, ()))
                )
            )
        else:
            packs.append(DataPackContent(sv.stimulus.code, sv.title, sv.body))
    return BankContent(
        code=bank.code,
        title=version.title,
        format=version.format.value,
        author=version.author,
        original_work=version.original_work,
        topics=tuple((str(code), str(name)) for code, name in version.topics),
        items=tuple(items),
        scenarios=tuple(scenarios),
        data_packs=tuple(packs),
    )
