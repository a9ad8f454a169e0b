"""Export: each bank's published version back to the bank file format
(docs/assessment-content.md), so that load → export → load changes nothing (the same
content digest, so no new version and no new item version)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from app.assessment.bank_queries import content_of, published_banks
from app.assessment.content import BankContent, ItemContent
from app.content.yaml_out import Flow, Literal, dump

HEADER = (
    "# Exported by PMO Pathways (flask content export). Edit, check, then load.\n"
    "# Every item is original work, written for this bank; none is taken or adapted from\n"
    "# any exam, sample paper or provider's material.\n"
)


def _block(text: str) -> str:
    return Literal(text + "\n") if text else text


def item_document(item: ItemContent, bank_author: str) -> dict:
    """One item as a bank file writes it: the author only where it is not the bank's,
    ``correct: true`` only on the keys, Markdown as block text."""
    doc = item.as_json()
    out: dict[str, object] = {}
    for key, value in doc.items():
        if key == "author" and value == bank_author:
            continue
        if key == "tags":
            if value:
                out[key] = Flow(value)
            continue
        if key in ("stem", "statement", "assertion", "reason", "feedback", "notes"):
            out[key] = _block(str(value))
        elif key == "options":
            out[key] = [
                {
                    "text": o["text"],
                    **({"correct": True} if o["correct"] else {}),
                    "rationale": o["rationale"],
                }
                for o in value
            ]
        else:
            out[key] = value
    return out


def bank_document(content: BankContent) -> dict:
    """A bank version's content as a file's document."""
    doc: dict[str, object] = {
        "kind": "question-bank",
        "code": content.code,
        "title": content.title,
        "format": content.format,
        "author": content.author,
        "original_work": content.original_work,
        "topics": dict(content.topics),
    }
    if content.data_packs:
        doc["data_packs"] = [
            {"id": d.id, "title": d.title, "content": _block(d.content)} for d in content.data_packs
        ]
    if content.items:
        doc["items"] = [item_document(i, content.author) for i in content.items]
    if content.scenarios:
        doc["scenarios"] = [
            {
                "id": s.id,
                "title": s.title,
                "case": _block(s.case),
                "items": [item_document(i, content.author) for i in s.items],
            }
            for s in content.scenarios
        ]
    return doc


def export_bank(content: BankContent) -> str:
    """The file for one bank, as YAML text."""
    doc = bank_document(content)
    return HEADER + dump(doc)


def export_bank_texts(session: Session) -> dict[str, str]:
    """File name -> YAML text, for every bank that has a published version."""
    return {
        f"{bank.code.lower()}.yaml": export_bank(content_of(session, version))
        for bank, version in published_banks(session)
    }


def export_banks(session: Session, out_folder: Path) -> list[Path]:
    """Write every published bank to ``out_folder`` (created if missing); the files
    written, in name order."""
    out_folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in sorted(export_bank_texts(session).items()):
        path = out_folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
