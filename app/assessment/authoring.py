"""Authoring use-cases: question bank drafts (a new bank, details, items added, edited and
retired, publishing, discarding), importing GIFT into a draft, and assessments (created,
their settings, sections and certified levels edited, and a whole definition applied —
what ``flask content load`` does).

A bank's draft is rewritten from its canonical content (``BankContent``) after each edit:
unchanged items keep their item versions, a changed item gets a new one, so the versions
a published bank version or an attempt holds are never touched. The draft's row is locked
first, and each edit names what it was read at — an item edit the item version it showed,
details, publishing and discarding the draft's content hash — so a stale form is refused
rather than overwriting a newer change. An assessment carries ``row_version``: a builder
form names the version it was read at; a stale one is refused the same way. A stale edit
form's save raises ``versioning.StaleEdit`` with the values saved now, as the form shows
them (``*_values``, also what the forms open with).

Use-cases take the session and plain values (the actor and ``now`` passed in), raise
DomainError for a broken rule, flush, and never commit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from app import versioning
from app.assessment import authoring_queries as queries
from app.assessment import banks as writing
from app.assessment.bank_queries import (
    bank_by_code,
    content_of,
    framework_codes,
    owners,
    published_bank_version,
)
from app.assessment.content import (
    ASSERTION_REASON,
    BANK_CODE_PATTERN,
    BANK_FORMATS,
    ITEM_ID_RE,
    ITEM_LEVEL_MAX,
    ITEM_LEVEL_MIN,
    MATCHING,
    MULTIPLE,
    SEQUENCING,
    SINGLE,
    TOPIC_CODE_PATTERN,
    TRUE_FALSE,
    BankContent,
    BankReferences,
    DataPackContent,
    ItemContent,
    Problem,
    ScenarioContent,
    bank_problems,
    item_problems,
    one_line,
)
from app.assessment.definition import (
    AssessmentDefinition,
    DefinitionReferences,
    SectionDefinition,
    definition_findings,
)
from app.assessment.gift import GiftImport, GiftProblem
from app.assessment.models import (
    Assessment,
    AssessmentCertification,
    AssessmentSection,
    AssessmentStatus,
    BankFormat,
    BankStimulus,
    BankVersion,
    DrawUnit,
    FeedbackPolicy,
    QuestionBank,
)
from app.errors import DomainError

BANK_CODE_RE = re.compile(BANK_CODE_PATTERN)
TOPIC_CODE_RE = re.compile(TOPIC_CODE_PATTERN)

STALE_DRAFT = (
    "The draft was changed by someone else since you opened this page. Nothing was saved: "
    "reload the page to see the draft as it is now, then make your change again."
)
STALE_ITEM = (
    "Item {code} was changed (or retired) by someone else since you opened it. Your edit was "
    "not saved: reload the item to see it as it is now, then make your change again."
)
STALE_ASSESSMENT = (
    "Assessment {code} was changed by someone else since you opened this page (it is now "
    "at version {now}). Your change was not saved: reload the page and make it again."
)


# --- bank drafts -------------------------------------------------------------------------------


def parse_topics(text: str) -> tuple[tuple[str, str], ...]:
    """Topics from a text area: one per line, ``CODE: name``. DomainError (field
    ``topics``) for a line that is not, a bad code, or a code given twice."""
    out: list[tuple[str, str]] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        code, sep, name = line.partition(":")
        code, name = code.strip().upper(), one_line(name)
        if not sep or not name:
            raise DomainError(f"Line {n}: write each topic as CODE: name.", field="topics")
        if not TOPIC_CODE_RE.match(code):
            raise DomainError(
                f"Line {n}: topic code {code!r} is a capital letter then up to 15 capitals, "
                "digits or dashes.",
                field="topics",
            )
        if code in dict(out):
            raise DomainError(f"Line {n}: topic {code} is given twice.", field="topics")
        out.append((code, name))
    if not out:
        raise DomainError("Give at least one topic.", field="topics")
    return tuple(out)


def _bank_code_problem(session: Session, code: str) -> str | None:
    if not BANK_CODE_RE.match(code):
        return (
            "A bank code is a capital letter then 1 to 23 capitals, digits or dashes, "
            "e.g. RISK-BANK."
        )
    if bank_by_code(session, code) is not None:
        return f"There is already a bank {code}."
    return None


def _check_bank_fields(title: str, fmt: str) -> None:
    if not one_line(title):
        raise DomainError("Give the bank a title.", field="title")
    if fmt not in BANK_FORMATS:
        raise DomainError(f"Choose a format: {', '.join(BANK_FORMATS)}.", field="format")


def create_bank(
    session: Session,
    *,
    code: str,
    title: str,
    format: str,
    author: str,
    topics: Iterable[tuple[str, str]],
    original_work: bool,
    actor_id: int | None,
) -> BankVersion:
    """A new bank with an empty draft (version 1)."""
    code = one_line(code).upper()
    problem = _bank_code_problem(session, code)
    if problem:
        raise DomainError(problem, field="code")
    _check_bank_fields(title, format)
    content = BankContent(
        code=code,
        title=one_line(title),
        format=format,
        author=one_line(author),
        original_work=original_work,
        topics=tuple(topics),
    )
    return writing.write_bank_version(
        session, content, actor_id=actor_id, note="Created in the bank editor."
    ).version


def _bank(session: Session, code: str) -> QuestionBank:
    bank = bank_by_code(session, code)
    if bank is None:
        raise DomainError(f"There is no bank {code}.")
    return bank


def _draft(session: Session, bank: QuestionBank) -> BankVersion:
    """The bank's draft, locked for this transaction; DomainError when none is open."""
    draft = queries.locked_draft(session, bank.id)
    if draft is None:
        raise DomainError(
            f"Bank {bank.code} has no open draft: open one from its published version first."
        )
    return draft


def open_draft(session: Session, bank: QuestionBank, *, actor_id: int | None) -> BankVersion:
    """A new draft, a copy of the bank's published version (else its newest): the published
    version stays as it is, immutable, and assessments keep drawing from it."""
    if queries.draft_of(session, bank.id) is not None:
        raise DomainError(f"Bank {bank.code} already has an open draft.")
    source = published_bank_version(session, bank.id)
    versions = queries.versions_of(session, bank.id)
    source = source or (versions[-1] if versions else None)
    if source is None:
        raise DomainError(f"Bank {bank.code} has no version to copy.")
    content = content_of(session, source)
    return writing.write_bank_version(
        session, content, actor_id=actor_id, note=f"Draft opened from version {source.number}."
    ).version


def _rewrite(
    session: Session, draft: BankVersion, content: BankContent, *, actor_id: int | None
) -> None:
    """Make ``draft`` hold exactly ``content``: unchanged items and stimuli keep their
    versions, changed ones get new versions (``app.assessment.banks``)."""
    writing._check_ownership(session, content)
    bank = session.get(QuestionBank, draft.bank_id)
    assert bank is not None
    draft.entries.clear()
    draft.stimuli.clear()
    session.flush()
    write = writing.BankWrite(draft)
    stimuli = writing._write_stimuli(session, bank, content, actor_id, write)
    for position, sv in enumerate(stimuli.values()):
        draft.stimuli.append(BankStimulus(stimulus_version=sv, position=position))
    writing._write_items(session, bank, content, stimuli, actor_id, write)
    draft.title = content.title
    draft.format = BankFormat(content.format)
    draft.author = content.author
    draft.original_work = content.original_work
    draft.topics = [list(t) for t in content.topics]
    draft.content_hash = content.digest()
    session.flush()


def _require_hash(draft: BankVersion, expected_hash: str | None) -> None:
    if expected_hash is not None and expected_hash != draft.content_hash:
        raise DomainError(STALE_DRAFT)


def topics_text(topics: Sequence[Sequence[str]]) -> str:
    """Topics as the text area shows them: ``CODE: name`` per line."""
    return "\n".join(f"{code}: {name}" for code, name in topics)


def draft_details_values(draft: BankVersion) -> dict[str, Any]:
    """A bank draft's details as their form shows them; its content hash is the version."""
    return {
        "draft_hash": draft.content_hash,
        "title": draft.title,
        "author": draft.author,
        "original_work": draft.original_work,
        "topics": topics_text(draft.topics),
    }


def update_draft_details(
    session: Session,
    bank: QuestionBank,
    *,
    expected_hash: str | None,
    title: str,
    author: str,
    original_work: bool,
    topics: Iterable[tuple[str, str]],
    actor_id: int | None,
) -> BankVersion:
    """A draft's title, author, original-work attestation and topics. A topic an item
    still uses cannot be removed. Refused when the draft changed since the form was read
    (its content hash ``expected_hash``)."""
    draft = _draft(session, bank)
    versioning.check(
        expected_hash,
        draft_details_values(draft),
        f"The draft of bank {bank.code}",
        field="draft_hash",
    )
    content = content_of(session, draft)
    _check_bank_fields(title, content.format)
    topics = tuple(topics)
    used = sorted({i.topic for _, i, _ in content.all_items()} - {c for c, _ in topics})
    if used:
        raise DomainError(
            f"Topic(s) {', '.join(used)} are still used by items of the draft: move those "
            "items to another topic first.",
            field="topics",
        )
    new = replace(
        content,
        title=one_line(title),
        author=one_line(author),
        original_work=original_work,
        topics=topics,
    )
    _rewrite(session, draft, new, actor_id=actor_id)
    return draft


def _item_reference_problems(
    item: ItemContent, content: BankContent, competencies: frozenset[str] | None
) -> list[Problem]:
    problems = []
    topics = content.topic_names()
    if item.topic not in topics:
        problems.append(Problem("topic", f"choose one of the bank's topics: {', '.join(topics)}"))
    if competencies is not None and item.competency not in competencies:
        problems.append(Problem("competency", f"unknown competency code {item.competency!r}"))
    packs = [d.id for d in content.data_packs]
    if item.data_pack and item.data_pack not in packs:
        problems.append(Problem("data_pack", f"unknown data pack {item.data_pack!r}"))
    return problems


def item_errors(session: Session, content: BankContent, item: ItemContent) -> list[Problem]:
    """Every rule ``item`` breaks as an item of a bank with ``content`` (its type's rules,
    its topic, competency and data pack), keys inside the item (``options[2].rationale``)."""
    return item_problems(item, bank_format=content.format) + _item_reference_problems(
        item, content, framework_codes(session)
    )


class ItemInvalid(DomainError):
    """An item breaks the rules; ``problems`` names each at its key."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.key}: {p.message}" for p in problems))
        self.problems = problems


def _replace_item(content: BankContent, item: ItemContent) -> BankContent | None:
    """``content`` with the item of the same id replaced (None when it holds none)."""
    if any(i.id == item.id for i in content.items):
        return replace(content, items=tuple(item if i.id == item.id else i for i in content.items))
    scenarios = []
    found = False
    for s in content.scenarios:
        if any(i.id == item.id for i in s.items):
            found = True
            s = replace(s, items=tuple(item if i.id == item.id else i for i in s.items))
        scenarios.append(s)
    return replace(content, scenarios=tuple(scenarios)) if found else None


def _add_item(content: BankContent, item: ItemContent, scenario: str | None) -> BankContent:
    if scenario is None:
        return replace(content, items=(*content.items, item))
    if scenario not in {s.id for s in content.scenarios}:
        raise DomainError(f"The draft has no scenario {scenario}.", field="scenario")
    return replace(
        content,
        scenarios=tuple(
            replace(s, items=(*s.items, item)) if s.id == scenario else s for s in content.scenarios
        ),
    )


def save_item(
    session: Session,
    bank: QuestionBank,
    item: ItemContent,
    *,
    expected_version_id: int | None,
    scenario: str | None = None,
    actor_id: int | None,
) -> ItemContent:
    """Save ``item`` in the bank's draft: an edit of the item with its id when
    ``expected_version_id`` names the item version the editor showed (refused when the
    draft now holds another), else a new item (its id unused in every bank), stand-alone or
    in ``scenario``. ItemInvalid when the item breaks a rule."""
    draft = _draft(session, bank)
    content = content_of(session, draft)
    current = queries.entry_version_id(session, draft, item.id)
    if expected_version_id is not None:
        if current != expected_version_id:
            saved = _item_in(content, item.id)
            raise versioning.StaleEdit(
                f"Item {item.id}",
                item_form_values(saved) | {"version_id": str(current)} if saved else None,
            )
    else:
        if not ITEM_ID_RE.match(item.id):
            raise DomainError(
                "An item id is a capital letter then 2 to 31 capitals, digits or dashes.",
                field="id",
            )
        taken = owners(session, [item.id], [item.id])
        if current is not None or taken or item.id in _all_ids(content):
            where = f" (bank {taken[0].bank_code})" if taken else ""
            raise DomainError(
                f"Id {item.id} is already used{where}; an id is never reused.", field="id"
            )
    problems = item_errors(session, content, item)
    if problems:
        raise ItemInvalid(problems)
    new = _replace_item(content, item) if expected_version_id is not None else None
    if new is None:
        new = _add_item(content, item, scenario)
    _rewrite(session, draft, new, actor_id=actor_id)
    return item


def _item_in(content: BankContent, code: str) -> ItemContent | None:
    return next((i for _, i, _ in content.all_items() if i.id == code), None)


def item_form_values(item: ItemContent) -> dict[str, Any]:
    """An item as the editor shows it."""
    data: dict[str, Any] = {
        "topic": item.topic,
        "competency": item.competency,
        "level": str(item.level),
        "tags": ", ".join(item.tags),
        "name": item.name,
        "feedback": item.feedback,
        "notes": item.notes,
        "data_pack": item.data_pack or "",
        "stem": item.stem,
    }
    if item.type in (SINGLE, MULTIPLE):
        data["options"] = [
            {"text": o.text, "correct": o.correct, "rationale": o.rationale} for o in item.options
        ]
        data["select"] = item.select
    elif item.type == TRUE_FALSE:
        data.update(
            statement=item.statement,
            answer="true" if item.answer else "false",
            rationale_true=item.rationale_true,
            rationale_false=item.rationale_false,
        )
    elif item.type == MATCHING:
        data.update(
            premises="\n".join(f"{p.id}: {p.text}" for p in item.premises),
            responses="\n".join(f"{r.id}: {r.text}" for r in item.responses),
            pairs="\n".join(f"{p} = {r}" for p, r in item.pairs),
            rationales="\n".join(f"{p}: {why}" for p, why in item.rationales),
        )
    elif item.type == SEQUENCING:
        data["steps"] = "\n".join(f"{s.text} | {s.rationale}" for s in item.steps)
    elif item.type == ASSERTION_REASON:
        data.update(
            assertion=item.assertion,
            reason=item.reason,
            answer=str(item.answer or "A"),
            rationales="\n".join(f"{k}: {why}" for k, why in item.rationales),
        )
    return data


def _all_ids(content: BankContent) -> set[str]:
    ids = {i.id for _, i, _ in content.all_items()}
    return ids | {s.id for s in content.scenarios} | {d.id for d in content.data_packs}


def retire_item(
    session: Session,
    bank: QuestionBank,
    code: str,
    *,
    expected_version_id: int | None,
    actor_id: int | None,
) -> None:
    """Take item ``code`` out of the draft. The item and its versions stay (published
    versions and attempts keep them); its id is never reused."""
    draft = _draft(session, bank)
    current = queries.entry_version_id(session, draft, code)
    if current is None or current != expected_version_id:
        raise DomainError(STALE_ITEM.format(code=code))
    content = content_of(session, draft)
    new = replace(
        content,
        items=tuple(i for i in content.items if i.id != code),
        scenarios=tuple(
            replace(s, items=tuple(i for i in s.items if i.id != code)) for s in content.scenarios
        ),
    )
    _rewrite(session, draft, new, actor_id=actor_id)


def suggested_item_id(session: Session, bank: QuestionBank, content: BankContent) -> str:
    """A free item id for a new item of the bank: ``<bank code>-NNN``."""
    used = _all_ids(content)
    n = len(list(content.all_items())) + 1
    while True:
        candidate = f"{bank.code}-{n:03d}"[:32]
        if candidate not in used and not owners(session, [candidate], [candidate]):
            return candidate
        n += 1


def publish_problems(session: Session, bank: QuestionBank, draft: BankVersion) -> list[str]:
    """Why the draft cannot be published, in words: the bank's rules (every item's, the
    attestation, scenario sizes), and every assessment drawing from the bank that the draft
    could no longer serve."""
    content = content_of(session, draft)
    refs = BankReferences(competencies=framework_codes(session))
    where = {key: item.id for key, item, _ in content.all_items()}
    out = []
    if not any(True for _ in content.all_items()):
        out.append("The draft holds no items.")
    for problem in bank_problems(content, refs):
        head = re.match(r"^(items\[\d+\]|scenarios\[\d+\]\.items\[\d+\])\.?(.*)$", problem.key)
        if head and head.group(1) in where:
            key = head.group(2)
            out.append(f"Item {where[head.group(1)]}: {key + ': ' if key else ''}{problem.message}")
        else:
            out.append(f"{problem.key}: {problem.message}")
    for assessment in queries.assessments_drawing_from(session, bank.id):
        d = queries.definition_of(assessment)
        if assessment.status == AssessmentStatus.RETIRED:
            continue
        banks = queries.published_contents(session, {s.bank for s in d.sections})
        banks[bank.code] = content
        findings = definition_findings(d, DefinitionReferences(banks=banks))
        for problem in findings.errors:
            if problem.key.startswith(("sections", "certifies")):
                out.append(
                    f"Assessment {assessment.code} could no longer be drawn: "
                    f"{_readable(problem.key)}: {problem.message}"
                )
    return out


def _readable(key: str) -> str:
    """``sections[2].count`` -> ``section 3, count``."""
    found = re.match(r"^sections\[(\d+)\]\.?(.*)$", key)
    if found:
        rest = found.group(2)
        return f"section {int(found.group(1)) + 1}" + (f", {rest}" if rest else "")
    return key.replace("certifies.", "certifies ")


def publish_draft(
    session: Session, bank: QuestionBank, *, expected_hash: str | None, actor_id: int | None
) -> BankVersion:
    """Publish the draft exactly as the trainer reviewed it (``expected_hash``): the
    version before is retired (kept), and from now on this version is immutable."""
    draft = _draft(session, bank)
    _require_hash(draft, expected_hash)
    problems = publish_problems(session, bank, draft)
    if problems:
        raise DomainError(
            "The draft cannot be published yet: "
            + " ".join(p if p.endswith(".") else p + "." for p in problems)
        )
    return writing.publish_bank_version(session, draft, actor_id=actor_id)


def discard_draft(session: Session, bank: QuestionBank, *, expected_hash: str | None) -> int:
    """Delete the draft (items first created in it keep their ids, never reused). Returns
    the draft's number."""
    draft = _draft(session, bank)
    _require_hash(draft, expected_hash)
    if len(queries.versions_of(session, bank.id)) == 1:
        raise DomainError(
            "This draft is the bank's only version; a bank that was never published keeps it."
        )
    number = draft.number
    session.delete(draft)
    session.flush()
    return number


# --- GIFT import -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemDefaults:
    """What imported items get where the file says nothing (plain GIFT never does)."""

    topic: str
    topic_name: str
    competency: str
    level: int


@dataclass(frozen=True)
class GiftTarget:
    """Where the items go: an existing bank's draft (``bank``), or a new bank."""

    bank: str | None = None
    code: str = ""
    title: str = ""
    format: str = "role"
    author: str = ""
    original_work: bool = False


@dataclass
class PlannedItem:
    line: int
    item: ItemContent
    scenario: str | None
    #: replaced: an item of the draft with this id is replaced
    replaces: bool = False
    #: what the import changed (a new id, a default topic ...)
    notes: list[str] = field(default_factory=list)
    #: the rules it breaks (fix them in the editor before publishing)
    problems: list[str] = field(default_factory=list)


@dataclass
class GiftPlan:
    """What importing a file would do, before anything is saved."""

    bank_code: str
    new_bank: bool
    content: BankContent
    items: list[PlannedItem] = field(default_factory=list)
    skipped: list[GiftProblem] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(1 for p in self.items if not p.replaces)

    @property
    def replaced(self) -> int:
        return sum(1 for p in self.items if p.replaces)


def _check_defaults(defaults: ItemDefaults, competencies: frozenset[str] | None) -> None:
    if not TOPIC_CODE_RE.match(defaults.topic):
        raise DomainError(
            "A topic code is a capital letter then up to 15 capitals, digits or dashes.",
            field="topic",
        )
    if competencies is not None and defaults.competency not in competencies:
        raise DomainError("Choose a competency of the framework.", field="competency")
    if not ITEM_LEVEL_MIN <= defaults.level <= ITEM_LEVEL_MAX:
        raise DomainError(f"Choose a level of {ITEM_LEVEL_MIN} to {ITEM_LEVEL_MAX}.", field="level")


def _target_content(session: Session, target: GiftTarget) -> BankContent:
    if target.bank is None:
        code = one_line(target.code).upper()
        problem = _bank_code_problem(session, code)
        if problem:
            raise DomainError(problem, field="code")
        _check_bank_fields(target.title, target.format)
        return BankContent(
            code=code,
            title=one_line(target.title),
            format=target.format,
            author=one_line(target.author),
            original_work=target.original_work,
        )
    bank = bank_by_code(session, target.bank)
    if bank is None:
        raise DomainError(f"There is no bank {target.bank}.", field="bank")
    source = queries.draft_of(session, bank.id) or published_bank_version(session, bank.id)
    versions = queries.versions_of(session, bank.id)
    source = source or versions[-1]
    return content_of(session, source)


class _Ids:
    """Hands out item, scenario and data pack ids: the file's own where they are free
    (or already this bank's), else new ones of the form ``<bank code>-NNN``."""

    def __init__(self, session: Session, content: BankContent, wanted: list[str]):
        self.session = session
        self.code = content.code
        self.used = _all_ids(content)
        self.foreign = {
            o.code: o.bank_code for o in owners(session, wanted, wanted) if o.bank_code != self.code
        }
        self.given: set[str] = set()
        self.n = len(self.used)

    def take(self, wanted: str | None) -> tuple[str, str | None]:
        """(the id, a note when it is not the one the file gave)."""
        if wanted and ITEM_ID_RE.match(wanted) and wanted not in self.foreign:
            if wanted not in self.given:
                self.given.add(wanted)
                return wanted, None
        while True:
            self.n += 1
            candidate = f"{self.code}-{self.n:03d}"[:32]
            if (
                candidate not in self.used
                and candidate not in self.given
                and not owners(self.session, [candidate], [candidate])
            ):
                self.given.add(candidate)
                if not wanted:
                    return candidate, None
                why = (
                    f"belongs to bank {self.foreign[wanted]}"
                    if wanted in self.foreign
                    else "is used twice in the file"
                    if wanted in self.given
                    else "is not a valid id"
                )
                return candidate, f"id {wanted} {why}: imported as {candidate}"


def _fitted(
    item: ItemContent,
    topics: dict[str, str],
    competencies: frozenset[str] | None,
    defaults: ItemDefaults,
) -> tuple[ItemContent, list[str]]:
    """The item with the file's topic, competency and level where they fit the bank and
    the framework, else the defaults; and a note for each the file gave that did not fit."""
    notes = []
    topic = item.topic if item.topic in topics else defaults.topic
    if item.topic and item.topic != topic:
        notes.append(f"topic {item.topic} is not one of the bank's: given {topic}")
    competency = item.competency
    if not competency or (competencies is not None and competency not in competencies):
        if competency:
            notes.append(f"unknown competency {competency}: given {defaults.competency}")
        competency = defaults.competency
    level = item.level if ITEM_LEVEL_MIN <= item.level <= ITEM_LEVEL_MAX else defaults.level
    return replace(item, topic=topic, competency=competency, level=level), notes


def plan_gift_import(
    session: Session, parsed: GiftImport, *, target: GiftTarget, defaults: ItemDefaults
) -> GiftPlan:
    """What importing ``parsed`` into ``target`` would do (nothing is written): every item
    with its id, topic, competency and level (the file's where it gives them and they fit,
    else ``defaults``), what the import changed, and the rules each still breaks."""
    competencies = framework_codes(session)
    _check_defaults(defaults, competencies)
    content = _target_content(session, target)
    topics = dict(content.topics)
    for code, name in (parsed.bank or {}).get("topics", []) if target.bank is None else []:
        topics.setdefault(str(code), str(name))
    wanted = [q.item.id for q in parsed.questions if q.item.id]
    wanted += [s.id for s in parsed.scenarios] + [d.id for d in parsed.data_packs]
    ids = _Ids(session, content, wanted)
    renamed: dict[str, str] = {}
    packs = []
    for pack in parsed.data_packs:
        new_id, _ = ids.take(pack.id)
        renamed[pack.id] = new_id
        packs.append(replace(pack, id=new_id))
    scenarios = []
    for scenario in parsed.scenarios:
        new_id, _ = ids.take(scenario.id)
        renamed[scenario.id] = new_id
        scenarios.append(replace(scenario, id=new_id, items=()))
    existing = {i.id for _, i, _ in content.all_items()}
    plan = GiftPlan(content.code, target.bank is None, content, skipped=list(parsed.skipped))
    for q in parsed.questions:
        item, notes = _fitted(q.item, topics, competencies, defaults)
        new_id, note = ids.take(item.id or None)
        item = replace(
            item,
            id=new_id,
            author=item.author or content.author,
            data_pack=renamed.get(item.data_pack, item.data_pack) if item.data_pack else None,
        )
        in_scenario = renamed.get(q.scenario) if q.scenario else None
        plan.items.append(
            PlannedItem(
                q.line,
                item,
                in_scenario,
                replaces=new_id in existing,
                notes=([note] if note else []) + notes,
            )
        )
    if any(p.item.topic == defaults.topic for p in plan.items):
        topics.setdefault(defaults.topic, one_line(defaults.topic_name) or defaults.topic)
    plan.content = _merged(content, topics, plan.items, scenarios, packs)
    for planned in plan.items:
        planned.problems = [
            f"{p.key}: {p.message}"
            for p in item_problems(planned.item, bank_format=plan.content.format)
            + _item_reference_problems(planned.item, plan.content, competencies)
        ]
    return plan


def _merged(
    content: BankContent,
    topics: dict[str, str],
    planned: list[PlannedItem],
    scenarios: list[ScenarioContent],
    packs: list[DataPackContent],
) -> BankContent:
    """The target's content with the imported items, scenarios and data packs: the same id
    replaces, a new id is added at the end."""
    new = replace(content, topics=tuple(topics.items()))
    for pack in packs:
        if pack.id in {d.id for d in new.data_packs}:
            new = replace(
                new, data_packs=tuple(pack if d.id == pack.id else d for d in new.data_packs)
            )
        else:
            new = replace(new, data_packs=(*new.data_packs, pack))
    for scenario in scenarios:
        known = {s.id: s for s in new.scenarios}
        if scenario.id in known:
            kept = replace(scenario, items=known[scenario.id].items)
            new = replace(
                new, scenarios=tuple(kept if s.id == scenario.id else s for s in new.scenarios)
            )
        else:
            new = replace(new, scenarios=(*new.scenarios, scenario))
    for p in planned:
        replaced = _replace_item(new, p.item) if p.replaces else None
        new = replaced if replaced is not None else _add_item(new, p.item, p.scenario)
    return new


def import_gift(
    session: Session,
    parsed: GiftImport,
    *,
    target: GiftTarget,
    defaults: ItemDefaults,
    actor_id: int | None,
) -> tuple[BankVersion, GiftPlan]:
    """Import the items of ``parsed`` into a new bank's first draft, or into an existing
    bank's draft (opened from its published version when none is open). Items that break
    a rule are imported all the same, to be fixed in the editor: publishing needs them
    fixed. Returns the draft and the plan it followed."""
    if not parsed.questions:
        raise DomainError("The file holds no question we can import.")
    plan = plan_gift_import(session, parsed, target=target, defaults=defaults)
    if plan.new_bank:
        draft = writing.write_bank_version(
            session, plan.content, actor_id=actor_id, note="Imported from a GIFT file."
        ).version
        return draft, plan
    bank = _bank(session, plan.bank_code)
    if queries.draft_of(session, bank.id) is None:
        open_draft(session, bank, actor_id=actor_id)
    draft = _draft(session, bank)
    # planned again against the draft itself, now that its row is locked
    plan = plan_gift_import(session, parsed, target=target, defaults=defaults)
    _rewrite(session, draft, plan.content, actor_id=actor_id)
    return draft, plan


# --- assessments -------------------------------------------------------------------------------


class DefinitionInvalid(DomainError):
    """An assessment's definition breaks its rules; ``problems`` names each at its key."""

    def __init__(self, problems: list[Problem]):
        # the field a form shows it at: the key's last part (``sections[2].count`` -> count)
        first = problems[0].key.split(".")[-1].split("[")[0] if problems else None
        super().__init__(" ".join(_sentence(p) for p in problems), field=first)
        self.problems = problems


def _sentence(problem: Problem) -> str:
    text = f"{_readable(problem.key)}: {problem.message}"
    return text if text.endswith(".") else text + "."


Values = Callable[[], dict[str, Any]]


def _require_version(
    assessment: Assessment, expected: int | None, values: Values | None = None
) -> None:
    if expected is not None and expected != assessment.row_version:
        raise versioning.StaleEdit(f"Assessment {assessment.code}", values() if values else None)


def settings_values(assessment: Assessment) -> dict[str, Any]:
    """An assessment's settings as their form shows them."""
    d = queries.definition_of(assessment)
    naive = {
        k: getattr(d, k).replace(tzinfo=None) if getattr(d, k) else None
        for k in ("opens_at", "closes_at")
    }
    return {
        "title": d.title,
        "summary": d.summary,
        "status": d.status,
        "module": d.module or "",
        "pass_percent": d.pass_percent,
        "time_limit_minutes": d.time_limit_minutes,
        "grace_seconds": d.grace_seconds,
        "attempt_limit": d.attempt_limit,
        "wait_minutes": d.wait_minutes,
        "shuffle_items": d.shuffle_items,
        "shuffle_options": d.shuffle_options,
        "feedback": d.feedback,
        versioning.FIELD: str(assessment.row_version),
        **naive,
    }


def section_form_values(assessment: Assessment, number: int | None) -> dict[str, Any]:
    """Section ``number`` (1-based; None for a new one) as its form shows it."""
    data: dict[str, Any] = {versioning.FIELD: str(assessment.row_version)}
    sections = queries.definition_of(assessment).sections
    current = sections[number - 1] if number and number <= len(sections) else None
    if current is not None:
        data |= {
            "title": current.title,
            "bank": current.bank,
            "unit": current.unit,
            "count": current.count,
            "unscored": current.unscored,
            "topics": ", ".join(current.topics),
            "tags": ", ".join(current.tags),
            "competencies": ", ".join(current.competencies),
        }
    return data


def _bank_ids(session: Session, definition: AssessmentDefinition) -> dict[str, int]:
    out = {}
    for section in definition.sections:
        bank = bank_by_code(session, section.bank)
        if bank is None:
            raise DomainError(f"There is no bank {section.bank}.", field="bank")
        out[bank.code] = bank.id
    return out


def _write(
    session: Session,
    assessment: Assessment,
    d: AssessmentDefinition,
    *,
    now: datetime,
    reread: Values | None = None,
) -> None:
    """Make the assessment's rows say ``d``. Sections are updated in place by position and
    certified levels by competency, so attempts (which keep the items they drew, their
    deadline and pass mark) are untouched; the row's version goes up."""
    bank_ids = _bank_ids(session, d)
    assessment.title = d.title
    assessment.summary = d.summary
    assessment.status = AssessmentStatus(d.status)
    assessment.module_code = d.module
    assessment.pass_percent = d.pass_percent
    assessment.time_limit_minutes = d.time_limit_minutes
    assessment.grace_seconds = d.grace_seconds
    assessment.attempt_limit = d.attempt_limit
    assessment.wait_minutes = d.wait_minutes
    assessment.shuffle_items = d.shuffle_items
    assessment.shuffle_options = d.shuffle_options
    assessment.feedback = FeedbackPolicy(d.feedback)
    assessment.opens_at = d.opens_at
    assessment.closes_at = d.closes_at
    assessment.updated_at = now
    if inspect(assessment).persistent:
        flag_modified(assessment, "updated_at")  # the row's version goes up on every change
    rows = list(assessment.sections)
    for extra in rows[len(d.sections) :]:
        assessment.sections.remove(extra)
    for extra_cert in [
        c for c in assessment.certifies if c.competency_code not in dict(d.certifies)
    ]:
        assessment.certifies.remove(extra_cert)
    _flush(session, assessment, reread)
    for position, section in enumerate(d.sections):
        values = {
            "title": section.title,
            "bank_id": bank_ids[section.bank],
            "unit": DrawUnit(section.unit),
            "count": section.count,
            "unscored": section.unscored,
            "topics": list(section.topics),
            "tags": list(section.tags),
            "competencies": list(section.competencies),
        }
        if position < len(rows):
            for key, value in values.items():
                setattr(rows[position], key, value)
        else:
            assessment.sections.append(AssessmentSection(position=position, **values))
    have = {c.competency_code: c for c in assessment.certifies}
    for code, level in d.certifies:
        if code in have:
            have[code].level = level
        else:
            assessment.certifies.append(AssessmentCertification(competency_code=code, level=level))
    _flush(session, assessment, reread)


def _flush(session: Session, assessment: Assessment, reread: Values | None = None) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise versioning.StaleEdit(f"Assessment {assessment.code}", reread=reread) from exc


def _checked(
    session: Session, d: AssessmentDefinition, refs: DefinitionReferences | None = None
) -> AssessmentDefinition:
    refs = refs or queries.references(session, {s.bank for s in d.sections})
    findings = definition_findings(d, refs)
    if findings.errors:
        raise DefinitionInvalid(findings.errors)
    return d


def create_assessment(
    session: Session, *, code: str, title: str, actor_id: int | None, now: datetime
) -> Assessment:
    """A new assessment, a draft with the default settings and no section yet."""
    d = AssessmentDefinition(code=one_line(code).upper(), title=one_line(title), status="draft")
    if queries.assessment_by_code(session, d.code) is not None:
        raise DomainError(f"There is already an assessment {d.code}.", field="code")
    _checked(session, d)
    assessment = Assessment(code=d.code, title=d.title, created_by_id=actor_id)
    session.add(assessment)
    _write(session, assessment, d, now=now)
    return assessment


def _change(
    session: Session,
    assessment: Assessment,
    expected_version: int | None,
    new: AssessmentDefinition,
    now: datetime,
    values: Values | None = None,
) -> Assessment:
    """Write ``new``; refused (``StaleEdit``, with the form's ``values`` saved now) when
    the assessment is no longer at ``expected_version``."""
    _require_version(assessment, expected_version, values)
    _checked(session, new)
    _write(session, assessment, new, now=now, reread=values)
    return assessment


def update_settings(
    session: Session,
    assessment: Assessment,
    *,
    expected_version: int | None,
    now: datetime,
    **settings: object,
) -> Assessment:
    """Change settings (any of the definition's fields but its code, sections and
    certified levels)."""
    forbidden = {"code", "sections", "certifies"} & set(settings)
    if forbidden:
        raise ValueError(f"not a setting: {', '.join(sorted(forbidden))}")
    current = queries.definition_of(assessment)
    new = replace(current, **settings)  # type: ignore[arg-type]
    return _change(
        session, assessment, expected_version, new, now, lambda: settings_values(assessment)
    )


def save_section(
    session: Session,
    assessment: Assessment,
    section: SectionDefinition,
    *,
    position: int | None,
    expected_version: int | None,
    now: datetime,
) -> Assessment:
    """Add a section at the end (``position`` None) or replace the one at ``position``."""
    current = queries.definition_of(assessment)
    sections = list(current.sections)
    if position is None:
        sections.append(section)
    elif 0 <= position < len(sections):
        sections[position] = section
    else:
        raise DomainError(STALE_ASSESSMENT.format(code=assessment.code, now=assessment.row_version))
    return _change(
        session,
        assessment,
        expected_version,
        replace(current, sections=tuple(sections)),
        now,
        lambda: section_form_values(assessment, None if position is None else position + 1),
    )


def remove_section(
    session: Session,
    assessment: Assessment,
    position: int,
    *,
    expected_version: int | None,
    now: datetime,
) -> Assessment:
    current = queries.definition_of(assessment)
    if not 0 <= position < len(current.sections):
        raise DomainError(STALE_ASSESSMENT.format(code=assessment.code, now=assessment.row_version))
    sections = current.sections[:position] + current.sections[position + 1 :]
    return _change(session, assessment, expected_version, replace(current, sections=sections), now)


def save_certification(
    session: Session,
    assessment: Assessment,
    competency: str,
    level: int,
    *,
    expected_version: int | None,
    now: datetime,
) -> Assessment:
    """Certify ``competency`` at ``level`` on a pass (replacing its level if already
    certified); refused when no form could cover it well enough."""
    current = queries.definition_of(assessment)
    certifies = dict(current.certifies)
    certifies[one_line(competency).upper()] = level
    new = replace(current, certifies=tuple(sorted(certifies.items())))
    return _change(session, assessment, expected_version, new, now)


def remove_certification(
    session: Session,
    assessment: Assessment,
    competency: str,
    *,
    expected_version: int | None,
    now: datetime,
) -> Assessment:
    current = queries.definition_of(assessment)
    certifies = tuple((c, lv) for c, lv in current.certifies if c != competency)
    return _change(
        session, assessment, expected_version, replace(current, certifies=certifies), now
    )


def apply_definition(
    session: Session,
    d: AssessmentDefinition,
    *,
    refs: DefinitionReferences | None = None,
    actor_id: int | None,
    now: datetime,
) -> str:
    """Create or update the assessment ``d`` defines (what ``content load`` does):
    ``"created"``, ``"updated"`` or ``"unchanged"`` (the same definition). Attempts keep
    what they were given."""
    _checked(session, d, refs)
    assessment = queries.assessment_by_code(session, d.code)
    if assessment is None:
        assessment = Assessment(code=d.code, title=d.title, created_by_id=actor_id)
        session.add(assessment)
        _write(session, assessment, d, now=now)
        return "created"
    if queries.definition_of(assessment).digest() == d.digest():
        return "unchanged"
    _write(session, assessment, d, now=now)
    return "updated"
