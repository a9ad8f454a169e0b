"""Writing question bank versions: from canonical content to a draft version, and
publishing a draft.

Writing a version reuses what has not changed: an item whose content (and whose scenario
and data pack versions) equal its newest item version keeps that item version; a changed
item gets a new one; scenarios and data packs likewise. Item, scenario and data pack ids
belong to one bank for good: an id another bank holds is refused.

Use-cases take the session and plain values, raise DomainError for a broken rule, flush,
and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.assessment.bank_queries import (
    bank_by_code,
    latest_bank_number,
    latest_item_versions,
    latest_stimulus_versions,
    owners,
    published_bank_version,
)
from app.assessment.content import BankContent, DataPackContent, ScenarioContent
from app.assessment.models import (
    BankEntry,
    BankFormat,
    BankStatus,
    BankStimulus,
    BankVersion,
    Item,
    ItemType,
    ItemVersion,
    QuestionBank,
    Stimulus,
    StimulusKind,
    StimulusVersion,
)
from app.db import utcnow
from app.errors import DomainError


@dataclass
class BankWrite:
    """A written version, and how much of it is new."""

    version: BankVersion
    new_items: int = 0
    kept_items: int = 0
    new_stimuli: int = 0
    kept_stimuli: int = 0


def _check_ownership(session: Session, bank: BankContent) -> None:
    items = [item.id for _, item, _ in bank.all_items()]
    stimuli = [s.id for s in bank.scenarios] + [d.id for d in bank.data_packs]
    taken = [o for o in owners(session, items, stimuli) if o.bank_code != bank.code]
    if taken:
        raise DomainError(
            "; ".join(f"{o.code} already belongs to bank {o.bank_code}" for o in taken)
            + ". An id is never reused: give a new one."
        )


def write_bank_version(
    session: Session,
    content: BankContent,
    *,
    actor_id: int | None = None,
    note: str = "",
    publish: bool = False,
) -> BankWrite:
    """Write ``content`` as the bank's next version (a draft, or published when
    ``publish``), creating the bank the first time. The caller has checked the content
    (``content.bank_problems``)."""
    _check_ownership(session, content)
    bank = bank_by_code(session, content.code)
    if bank is None:
        bank = QuestionBank(code=content.code)
        session.add(bank)
        session.flush()
    version = BankVersion(
        bank_id=bank.id,
        number=latest_bank_number(session, bank.id) + 1,
        status=BankStatus.DRAFT,
        title=content.title,
        format=BankFormat(content.format),
        author=content.author,
        original_work=content.original_work,
        topics=[list(t) for t in content.topics],
        content_hash=content.digest(),
        note=note,
        created_by_id=actor_id,
    )
    session.add(version)
    write = BankWrite(version)
    stimuli = _write_stimuli(session, bank, content, actor_id, write)
    for position, sv in enumerate(stimuli.values()):
        version.stimuli.append(BankStimulus(stimulus_version=sv, position=position))
    _write_items(session, bank, content, stimuli, actor_id, write)
    session.flush()
    if publish:
        publish_bank_version(session, version, actor_id=actor_id)
    return write


def _write_stimuli(
    session: Session,
    bank: QuestionBank,
    content: BankContent,
    actor_id: int | None,
    write: BankWrite,
) -> dict[str, StimulusVersion]:
    """Id -> the stimulus version the new bank version holds (data packs, then
    scenarios), reusing unchanged ones. Flushed, so every one has an id."""
    given: list[tuple[StimulusKind, DataPackContent | ScenarioContent]] = [
        (StimulusKind.DATA_PACK, d) for d in content.data_packs
    ] + [(StimulusKind.SCENARIO, s) for s in content.scenarios]
    latest = latest_stimulus_versions(session, [s.id for _, s in given])
    out: dict[str, StimulusVersion] = {}
    for kind, stimulus in given:
        doc, digest = stimulus.stimulus_json(), stimulus.stimulus_digest()
        current = latest.get(stimulus.id)
        if current is not None and current.content_hash == digest:
            out[stimulus.id] = current
            write.kept_stimuli += 1
            continue
        if current is None:
            row = Stimulus(code=stimulus.id, kind=kind, bank_id=bank.id)
            session.add(row)
            number = 1
        else:
            row = current.stimulus
            if row.kind != kind:
                raise DomainError(
                    f"{stimulus.id} is a {row.kind.value.replace('_', ' ')}; it cannot "
                    f"become a {kind.value.replace('_', ' ')}: give a new id"
                )
            number = current.number + 1
        out[stimulus.id] = StimulusVersion(
            stimulus=row,
            number=number,
            title=doc["title"],
            body=doc["body"],
            content_hash=digest,
            created_by_id=actor_id,
        )
        session.add(out[stimulus.id])
        write.new_stimuli += 1
    session.flush()
    return out


def _write_items(
    session: Session,
    bank: QuestionBank,
    content: BankContent,
    stimuli: dict[str, StimulusVersion],
    actor_id: int | None,
    write: BankWrite,
) -> None:
    every = list(content.all_items())
    latest = latest_item_versions(session, [item.id for _, item, _ in every])
    for position, (_, item, scenario) in enumerate(every):
        scenario_version = stimuli[scenario.id] if scenario is not None else None
        pack_version = stimuli.get(item.data_pack) if item.data_pack else None
        digest = item.digest()
        current = latest.get(item.id)
        if (
            current is not None
            and current.content_hash == digest
            and current.scenario_version_id == (scenario_version.id if scenario_version else None)
            and current.data_pack_version_id == (pack_version.id if pack_version else None)
        ):
            item_version = current
            write.kept_items += 1
        else:
            if current is None:
                row = Item(code=item.id, bank_id=bank.id)
                session.add(row)
            else:
                row = current.item
            item_version = ItemVersion(
                item=row,
                number=(current.number + 1) if current is not None else 1,
                type=ItemType(item.type),
                topic=item.topic,
                competency_code=item.competency,
                level=item.level,
                tags=list(item.tags),
                content=item.as_json(),
                content_hash=digest,
                scenario_version=scenario_version,
                data_pack_version=pack_version,
                created_by_id=actor_id,
            )
            session.add(item_version)
            write.new_items += 1
        write.version.entries.append(BankEntry(item_version=item_version, position=position))


def publish_bank_version(
    session: Session, version: BankVersion, *, actor_id: int | None = None
) -> BankVersion:
    """Make a draft the bank's published version; the one before is retired (kept, and
    still read by the attempts that drew from it)."""
    if version.status != BankStatus.DRAFT:
        raise DomainError(f"Version {version.number} is {version.status.value}, not a draft.")
    current = published_bank_version(session, version.bank_id)
    now = utcnow()
    if current is not None:
        current.status = BankStatus.RETIRED
        current.retired_at = now
    version.status = BankStatus.PUBLISHED
    version.published_at = now
    version.published_by_id = actor_id
    session.flush()
    return version
