"""Loading the question bank files (assessments/*.yaml) into the database.

Each file becomes its bank's published version. Loading compares the file's canonical
content with the bank's published version: the same content (the same digest) is a no-op;
different content becomes a new published version and the one before is retired (kept:
attempts drawn from it keep their item versions). Within a new version, an unchanged item
keeps its item version and a changed one gets a new item version (``app.assessment.banks``).

Files are checked against the published framework's competency codes, against each other
and against the ids other banks already hold, before anything is written; nothing is
written unless every file is sound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from app.assessment.bank_queries import (
    bank_by_code,
    framework_codes,
    owners,
    published_bank_version,
)
from app.assessment.banks import write_bank_version
from app.content.bank_schema import BankFile, check_bank_files, read_bank_files
from app.content.files import ContentError, ContentInvalid


@dataclass
class BankLoadReport:
    code: str
    outcome: str  # "created" | "new-version" | "unchanged"
    version: int
    items: int
    new_item_versions: int = 0
    kept_item_versions: int = 0

    def summary(self) -> str:
        words = {
            "created": "created as version",
            "new-version": "changed: published version",
            "unchanged": "unchanged at version",
        }
        text = f"{self.code} {words[self.outcome]} {self.version} ({self.items} items"
        if self.outcome == "new-version":
            text += (
                f"; {self.new_item_versions} new or changed, {self.kept_item_versions} unchanged"
            )
        return text + ")"


@dataclass
class BanksLoadReport:
    banks: list[BankLoadReport] = field(default_factory=list)

    def summary(self) -> str:
        counts = {
            outcome: sum(1 for b in self.banks if b.outcome == outcome)
            for outcome in ("created", "new-version", "unchanged")
        }
        return (
            f"{len(self.banks)} bank(s): {counts['created']} created, "
            f"{counts['new-version']} with a new version, {counts['unchanged']} unchanged"
        )


def read_banks(session: Session, folder: Path) -> list[BankFile]:
    """Read and check the bank files of ``folder`` against the published framework and
    the ids other banks hold; ContentInvalid with every error of every file."""
    codes = framework_codes(session)
    if codes is None:
        raise ContentInvalid(
            [
                ContentError(
                    folder.name,
                    "",
                    None,
                    "no competency framework is published: load framework.yaml first",
                )
            ]
        )
    contents, errors = read_bank_files(folder)
    try:
        checked = check_bank_files(contents, codes)
    except ContentInvalid as exc:
        errors += exc.errors
        checked = []
    by_name = {c.name: c for c in contents}
    for bank_file in checked:
        errors += _taken_ids(session, bank_file, by_name[bank_file.name])
    if errors:
        raise ContentInvalid(errors)
    return checked


def _taken_ids(session: Session, bank_file: BankFile, content) -> list[ContentError]:
    """Ids of this bank that another bank already holds in the database."""
    bank = bank_file.content
    where: dict[str, str] = {}
    for i, pack in enumerate(bank.data_packs):
        where[pack.id] = f"data_packs[{i}].id"
    for i, scenario in enumerate(bank.scenarios):
        where[scenario.id] = f"scenarios[{i}].id"
    for key, item, _ in bank.all_items():
        where[item.id] = f"{key}.id"
    items = [item.id for _, item, _ in bank.all_items()]
    stimuli = [s.id for s in bank.scenarios] + [d.id for d in bank.data_packs]
    return [
        content.error(
            where[owner.code],
            f"id {owner.code!r} already belongs to bank {owner.bank_code}; an id is never reused",
        )
        for owner in owners(session, items, stimuli)
        if owner.bank_code != bank.code
    ]


def load_banks(session: Session, folder: Path, actor_id: int | None = None) -> BanksLoadReport:
    """Load every bank file of ``folder`` (see the module docstring). Flushes, never
    commits."""
    report = BanksLoadReport()
    for bank_file in read_banks(session, folder):
        report.banks.append(_load_one(session, bank_file, actor_id))
    session.flush()
    return report


def _load_one(session: Session, bank_file: BankFile, actor_id: int | None) -> BankLoadReport:
    content = bank_file.content
    count = sum(1 for _ in content.all_items())
    bank = bank_by_code(session, content.code)
    current = published_bank_version(session, bank.id) if bank is not None else None
    if current is not None and current.content_hash == content.digest():
        return BankLoadReport(content.code, "unchanged", current.number, count)
    write = write_bank_version(
        session,
        content,
        actor_id=actor_id,
        note=f"Loaded from {Path(bank_file.name).name}.",
        publish=True,
    )
    return BankLoadReport(
        content.code,
        "created" if current is None else "new-version",
        write.version.number,
        count,
        new_item_versions=write.new_items,
        kept_item_versions=write.kept_items,
    )
