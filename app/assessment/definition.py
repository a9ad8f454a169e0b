"""An assessment's definition as one plain, canonical value — what an assessment-set file
holds, what the builder edits and what the database keeps — and the rules it must meet
against the banks it draws from.

What a section can draw (``section_pools``), as the attempt engine draws
(``app.assessment.attempts.draw``): an ``item`` section draws items of the bank's published
version admitted by its filters (``content.SectionDraw``: topic, tag, competency — an empty
filter lets all through), a scenario's items among them; a ``scenario`` section draws whole
scenarios, a scenario being admitted when any of its items is. Sections draw in order and
no item is drawn twice, so a section that takes every unit it admits removes those items
from the sections after it, and a section drawing at random from items a later section
also admits may leave that one fewer to choose from.

Which competencies a form is sure to cover (``competency_coverage``): for each competency
the assessment certifies, the fewest and the most SCORED items any form drawn by the
definition can hold (unscored trial items counted against it in the worst case). A
competency is certified only when at least ``CERTIFY_MIN_ITEMS`` scored items cover it
(``content.CERTIFICATION_RULE``): certifying one no form can cover that well is an error;
one that some forms cover too thinly is a warning.

Pure: no Flask, no ORM.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from app.assessment.content import (
    CERTIFY_MIN_ITEMS,
    ITEM_LEVEL_MAX,
    ITEM_LEVEL_MIN,
    BankContent,
    ItemContent,
    Problem,
    SectionDraw,
    one_line,
)
from app.framework.scale import CODE_MAX_LENGTH, CODE_PATTERN, valid_code

#: An assessment code: like a competency code, at most 16 characters, so that a learning
#: module can name it (``assessment:`` in a path file).
ASSESSMENT_CODE_PATTERN = CODE_PATTERN
ASSESSMENT_CODE_MAX = CODE_MAX_LENGTH

STATUSES = ("draft", "published", "retired")
FEEDBACK_POLICIES = ("none", "after_submission", "after_close")
FEEDBACK_LABELS = {
    "none": "Never: the learner sees the score only",
    "after_submission": "After submission: answers, keys and rationales",
    "after_close": "After the assessment closes",
}
UNITS = ("item", "scenario")
UNIT_LABELS = {"item": "Items", "scenario": "Whole scenarios (a case and all its items)"}

TITLE_MAX = 200
SUMMARY_MAX = 2000
TIME_LIMIT_MAX = 1440
GRACE_MAX = 600
#: The longest wait between attempts: 30 days.
WAIT_MAX = 30 * 24 * 60
SECTION_COUNT_MAX = 500

#: The defaults (CURRICULA.md): three attempts, 24 hours apart; feedback after submission.
DEFAULTS: dict[str, object] = {
    "status": "published",
    "pass_percent": 50,
    "time_limit_minutes": None,
    "grace_seconds": 60,
    "attempt_limit": 3,
    "wait_minutes": 24 * 60,
    "shuffle_items": True,
    "shuffle_options": True,
    "feedback": "after_submission",
}


@dataclass(frozen=True)
class SectionDefinition:
    """One section: ``count`` items (or whole scenarios) drawn from ``bank``'s published
    version, ``unscored`` of them trial items that do not count."""

    bank: str
    count: int
    title: str = ""
    unit: str = "item"
    unscored: int = 0
    topics: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    competencies: tuple[str, ...] = ()

    def draw(self) -> SectionDraw:
        return SectionDraw(
            self.count, frozenset(self.topics), frozenset(self.tags), frozenset(self.competencies)
        )

    def as_json(self) -> dict:
        return {
            "title": self.title,
            "bank": self.bank,
            "unit": self.unit,
            "count": self.count,
            "unscored": self.unscored,
            "topics": list(self.topics),
            "tags": list(self.tags),
            "competencies": list(self.competencies),
        }


@dataclass(frozen=True)
class AssessmentDefinition:
    """An assessment's whole definition, canonical: equal definitions, equal digest."""

    code: str
    title: str
    summary: str = ""
    status: str = "published"
    #: the learning module a pass completes (a module of type assessment)
    module: str | None = None
    pass_percent: int = 50
    #: None: untimed
    time_limit_minutes: int | None = None
    grace_seconds: int = 60
    #: None: unlimited
    attempt_limit: int | None = 3
    wait_minutes: int = 24 * 60
    shuffle_items: bool = True
    shuffle_options: bool = True
    feedback: str = "after_submission"
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    sections: tuple[SectionDefinition, ...] = ()
    #: (competency code, level) a pass certifies, in code order
    certifies: tuple[tuple[str, int], ...] = ()

    @property
    def items(self) -> int:
        """How many items a form holds, counting a scenario section's count as scenarios."""
        return sum(s.count for s in self.sections)

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "title": self.title,
            "summary": self.summary,
            "status": self.status,
            "module": self.module,
            "pass_percent": self.pass_percent,
            "time_limit_minutes": self.time_limit_minutes,
            "grace_seconds": self.grace_seconds,
            "attempt_limit": self.attempt_limit,
            "wait_minutes": self.wait_minutes,
            "shuffle_items": self.shuffle_items,
            "shuffle_options": self.shuffle_options,
            "feedback": self.feedback,
            "opens_at": _iso(self.opens_at),
            "closes_at": _iso(self.closes_at),
            "sections": [s.as_json() for s in self.sections],
            "certifies": dict(self.certifies),
        }

    def digest(self) -> str:
        return _digest(self.as_json())


def _digest(doc: object) -> str:
    blob = json.dumps(doc, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


# --- reading plain data ------------------------------------------------------------------------


def _codes(value: object) -> tuple[str, ...]:
    """A filter list, canonical: each entry once, in the order given."""
    given = value if isinstance(value, list | tuple) else ()
    out: list[str] = []
    for entry in given:
        text = one_line(entry)
        if text and text not in out:
            out.append(text)
    return tuple(out)


def parse_moment(value: object) -> datetime | None:
    """A date-time from a file or a form: a datetime (a naive one is taken as UTC), a date
    (its midnight, UTC) or ISO 8601 text. ValueError when it is none of these."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    else:
        raise ValueError(f"{value!r} is not a date and time")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def section_from_data(data: Mapping) -> SectionDefinition:
    return SectionDefinition(
        bank=one_line(data.get("bank")),
        count=int(data.get("count") or 0),
        title=one_line(data.get("title")),
        unit=one_line(data.get("unit")) or "item",
        unscored=int(data.get("unscored") or 0),
        topics=_codes(data.get("topics")),
        tags=_codes(data.get("tags")),
        competencies=_codes(data.get("competencies")),
    )


def definition_from_data(data: Mapping) -> AssessmentDefinition:
    """The canonical definition of one entry of an assessment-set file (schema-checked;
    ValueError when ``opens_at`` or ``closes_at`` is not a date and time). Missing settings
    take their defaults (``DEFAULTS``)."""

    def setting(key: str) -> object:
        return data[key] if key in data else DEFAULTS[key]

    certifies = data.get("certifies") or {}
    return AssessmentDefinition(
        code=one_line(data.get("code")),
        title=one_line(data.get("title")),
        summary=str(data.get("summary") or "").strip(),
        status=str(setting("status")),
        module=one_line(data.get("module")) or None,
        pass_percent=int(setting("pass_percent")),  # type: ignore[call-overload]
        time_limit_minutes=setting("time_limit_minutes"),  # type: ignore[arg-type]
        grace_seconds=int(setting("grace_seconds")),  # type: ignore[call-overload]
        attempt_limit=setting("attempt_limit"),  # type: ignore[arg-type]
        wait_minutes=int(setting("wait_minutes")),  # type: ignore[call-overload]
        shuffle_items=bool(setting("shuffle_items")),
        shuffle_options=bool(setting("shuffle_options")),
        feedback=str(setting("feedback")),
        opens_at=parse_moment(data.get("opens_at")),
        closes_at=parse_moment(data.get("closes_at")),
        sections=tuple(section_from_data(s) for s in data.get("sections") or ()),
        certifies=tuple(sorted((str(k), int(v)) for k, v in certifies.items())),
    )


# --- what a section draws, and what a form covers ----------------------------------------------


def section_units(bank: BankContent, section: SectionDefinition) -> list[tuple[ItemContent, ...]]:
    """The units ``section`` admits in ``bank``, before other sections take any: items
    (one each, a scenario's among them) for an item section, whole scenarios for a
    scenario section."""
    draw = section.draw()
    if section.unit == "scenario":
        return [s.items for s in bank.scenarios if any(draw.admits(i) for i in s.items)]
    return [(item,) for _, item, _ in bank.all_items() if draw.admits(item)]


@dataclass(frozen=True)
class SectionPool:
    """What one section draws from once the sections before it have drawn: ``units`` (the
    items or scenarios left when the earlier sections that take everything they admit
    have), of which earlier sections drawing at random may take up to ``at_risk``."""

    units: list[tuple[ItemContent, ...]]
    at_risk: int = 0

    @property
    def sure(self) -> int:
        """Units left for the section whatever the earlier sections draw."""
        return max(0, len(self.units) - self.at_risk)


def _units_left(
    units: list[tuple[ItemContent, ...]], taken: set[str], unit: str
) -> list[tuple[ItemContent, ...]]:
    if unit == "scenario":
        return [u for u in units if not any(i.id in taken for i in u)]
    return [u for u in units if u[0].id not in taken]


def section_pools(
    definition: AssessmentDefinition, banks: Mapping[str, BankContent | None]
) -> list[SectionPool | None]:
    """Each section's pool, in order (None where its bank is unknown or unpublished)."""
    certain: dict[str, set[str]] = {}
    random_before: list[tuple[str, set[str], int]] = []
    out: list[SectionPool | None] = []
    for section in definition.sections:
        bank = banks.get(section.bank)
        if bank is None:
            out.append(None)
            continue
        taken = certain.setdefault(section.bank, set())
        units = _units_left(section_units(bank, section), taken, section.unit)
        ids = {i.id for u in units for i in u}
        at_risk = 0
        for code, their_ids, take in random_before:
            if code != section.bank:
                continue
            touched = (
                sum(1 for u in units if any(i.id in their_ids for i in u))
                if section.unit == "scenario"
                else len(ids & their_ids)
            )
            at_risk += min(take, touched)
        out.append(SectionPool(units, at_risk))
        if section.count >= len(units):
            taken |= ids
        else:
            sizes = sorted((len(u) for u in units), reverse=True)
            random_before.append((section.bank, ids, sum(sizes[: section.count])))
    return out


@dataclass(frozen=True)
class Coverage:
    """The fewest and the most scored items covering one competency over all forms."""

    least: int = 0
    most: int = 0

    def __add__(self, other: Coverage) -> Coverage:
        return Coverage(self.least + other.least, self.most + other.most)


def _section_coverage(pool: SectionPool, section: SectionDefinition, code: str) -> Coverage:
    units = pool.units
    n = min(section.count, len(units))
    per_unit = sorted(sum(1 for i in unit if i.competency == code) for unit in units)
    if section.unit == "scenario":
        return Coverage(sum(per_unit[:n]), sum(per_unit[len(per_unit) - n :]) if n else 0)
    having = sum(per_unit)
    others = len(units) - having
    drawn_least = max(0, n - others)
    return Coverage(
        max(0, drawn_least - section.unscored), max(0, min(having, n - section.unscored))
    )


def competency_coverage(
    definition: AssessmentDefinition,
    banks: Mapping[str, BankContent | None],
    codes: Iterable[str] | None = None,
) -> dict[str, Coverage]:
    """Competency code -> the fewest and most scored items covering it in any form, for
    ``codes`` (default: the competencies the assessment certifies). Sections whose bank is
    unknown add nothing."""
    wanted = list(codes) if codes is not None else [c for c, _ in definition.certifies]
    out = {code: Coverage() for code in wanted}
    for section, pool in zip(definition.sections, section_pools(definition, banks), strict=True):
        if pool is None:
            continue
        for code in wanted:
            out[code] = out[code] + _section_coverage(pool, section, code)
    return out


def items_per_form(d: AssessmentDefinition, banks: Mapping[str, BankContent | None]) -> int:
    """How many items a form holds (a scenario section counts the items of the scenarios
    it draws: the least such number)."""
    total = 0
    for section, pool in zip(d.sections, section_pools(d, banks), strict=True):
        if section.unit == "item":
            total += section.count
        elif pool is not None:
            total += sum(sorted(len(u) for u in pool.units)[: section.count])
    return total


# --- the rules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleRef:
    """A learning module an assessment may complete: its type and the assessment code its
    ``assessment:`` key names (None when it names none)."""

    code: str
    type: str
    assessment: str | None = None


@dataclass(frozen=True)
class DefinitionReferences:
    """What a definition may name; None where it is unknown (the check is skipped).
    ``banks``: bank code -> its published content, or None for a bank that exists but has
    no published version."""

    banks: Mapping[str, BankContent | None] | None = None
    competencies: frozenset[str] | None = None
    modules: Mapping[str, ModuleRef] | None = None


@dataclass(frozen=True)
class Findings:
    """What the rules found: errors (the definition cannot be used as it is) and
    warnings (it can, but something deserves a look)."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def _range(key: str, label: str, value: int | None, low: int, high: int) -> list[Problem]:
    if value is None or low <= value <= high:
        return []
    return [Problem(key, f"{label} {value}: give {low} to {high}")]


def settings_problems(d: AssessmentDefinition) -> list[Problem]:
    """The settings' own rules (code, title, pass mark, time limit, attempts, wait,
    feedback policy, status, opening and closing)."""
    problems: list[Problem] = []
    if not valid_code(d.code):
        problems.append(
            Problem(
                "code",
                f"code {d.code!r}: capitals and digits in dash-separated parts, starting with "
                f"a letter, at most {ASSESSMENT_CODE_MAX} characters (e.g. P3OF-PRACTICE)",
            )
        )
    if not d.title:
        problems.append(Problem("title", "give the assessment a title"))
    elif len(d.title) > TITLE_MAX:
        problems.append(Problem("title", f"a title of at most {TITLE_MAX} characters"))
    if len(d.summary) > SUMMARY_MAX:
        problems.append(Problem("summary", f"a summary of at most {SUMMARY_MAX} characters"))
    if d.status not in STATUSES:
        problems.append(Problem("status", f"status {d.status!r}: one of {', '.join(STATUSES)}"))
    if d.feedback not in FEEDBACK_POLICIES:
        problems.append(
            Problem(
                "feedback",
                f"feedback {d.feedback!r}: one of {', '.join(FEEDBACK_POLICIES)}",
            )
        )
    problems += _range("pass_percent", "pass mark", d.pass_percent, 1, 100)
    problems += _range("time_limit_minutes", "time limit", d.time_limit_minutes, 1, TIME_LIMIT_MAX)
    problems += _range("grace_seconds", "grace", d.grace_seconds, 0, GRACE_MAX)
    if d.attempt_limit is not None and d.attempt_limit < 1:
        problems.append(
            Problem("attempt_limit", "the attempt limit is at least 1 (leave it empty: no limit)")
        )
    problems += _range("wait_minutes", "wait", d.wait_minutes, 0, WAIT_MAX)
    if d.opens_at and d.closes_at and d.closes_at <= d.opens_at:
        problems.append(Problem("closes_at", "it must close after it opens"))
    if d.feedback == "after_close" and d.closes_at is None:
        problems.append(
            Problem(
                "feedback",
                "feedback after the assessment closes needs a closing date and time",
            )
        )
    return problems


def section_problems(
    section: SectionDefinition, refs: DefinitionReferences, key: str = ""
) -> list[Problem]:
    """One section's rules: a known bank with a published version, counts in range, known
    topics and competencies, and enough items (or scenarios) to draw."""
    where = f"{key}." if key else ""
    problems: list[Problem] = []
    if section.unit not in UNITS:
        problems.append(Problem(f"{where}unit", f"unit {section.unit!r}: item or scenario"))
    if not 1 <= section.count <= SECTION_COUNT_MAX:
        problems.append(
            Problem(f"{where}count", f"count {section.count}: give 1 to {SECTION_COUNT_MAX}")
        )
    if section.unit == "scenario" and section.unscored:
        problems.append(
            Problem(
                f"{where}unscored",
                "a scenario section has no unscored items: trial items are single items",
            )
        )
    elif not 0 <= section.unscored < max(section.count, 1):
        problems.append(
            Problem(
                f"{where}unscored",
                f"unscored {section.unscored}: fewer than the {section.count} drawn",
            )
        )
    if refs.competencies is not None:
        problems += [
            Problem(f"{where}competencies[{i}]", f"unknown competency code {code!r}")
            for i, code in enumerate(section.competencies)
            if code not in refs.competencies
        ]
    if refs.banks is None:
        return problems
    if section.bank not in refs.banks:
        return problems + [Problem(f"{where}bank", f"unknown bank {section.bank!r}")]
    bank = refs.banks[section.bank]
    if bank is None:
        return problems + [
            Problem(
                f"{where}bank",
                f"bank {section.bank} has no published version yet: publish it first",
            )
        ]
    topics = bank.topic_names()
    problems += [
        Problem(
            f"{where}topics[{i}]",
            f"unknown topic {code!r} of bank {bank.code}; its topics are " + ", ".join(topics),
        )
        for i, code in enumerate(section.topics)
        if code not in topics
    ]
    return problems


def _short_pool(section: SectionDefinition, bank: str, pool: SectionPool) -> str:
    what = "scenarios" if section.unit == "scenario" else "items"
    filters = [
        f"{label} {', '.join(values)}"
        for label, values in (
            ("topic", section.topics),
            ("tag", section.tags),
            ("competency", section.competencies),
        )
        if values
    ]
    admitted = f" admitted by {'; '.join(filters)}" if filters else ""
    text = (
        f"the section asks {section.count} {what}, but bank {bank} holds "
        f"{len(pool.units)} {what}{admitted}"
    )
    if pool.at_risk and len(pool.units) >= section.count:
        text += (
            f", and the sections before it may take {pool.at_risk} of them (an item is "
            "never drawn twice): make their filters exclusive"
        )
    elif pool.at_risk:
        text += f" (and the sections before it may take {pool.at_risk} of them)"
    return text


def pool_problems(
    definition: AssessmentDefinition, banks: Mapping[str, BankContent | None]
) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings): a section with too few units to draw from whatever the sections
    before it draw; a section whose units the sections before it may take some of."""
    errors, warnings = [], []
    pools = section_pools(definition, banks)
    for i, (section, pool) in enumerate(zip(definition.sections, pools, strict=True)):
        if pool is None:
            continue
        if pool.sure < section.count:
            errors.append(Problem(f"sections[{i}].count", _short_pool(section, section.bank, pool)))
        elif pool.at_risk:
            warnings.append(
                Problem(
                    f"sections[{i}]",
                    f"the sections before it can draw {pool.at_risk} of the "
                    f"{len(pool.units)} units this section draws from (an item is never "
                    "drawn twice), so its forms vary with theirs; exclusive filters avoid that",
                )
            )
    return errors, warnings


def definition_findings(
    definition: AssessmentDefinition, refs: DefinitionReferences = DefinitionReferences()
) -> Findings:
    """Every broken rule (errors) and every doubt (warnings) of one definition, keys in a
    file entry's terms (``sections[2].count``, ``certifies.GOV-01``, ``module``)."""
    errors = settings_problems(definition)
    warnings: list[Problem] = []
    if not definition.sections and definition.status != "draft":
        errors.append(
            Problem("sections", "give at least one section: a draft may have none, not this")
        )
    for i, section in enumerate(definition.sections):
        errors += section_problems(section, refs, f"sections[{i}]")
    scored = sum(s.count - s.unscored if s.unit == "item" else s.count for s in definition.sections)
    if definition.sections and scored <= 0:
        errors.append(Problem("sections", "every item is unscored: nothing would count"))
    if refs.banks is not None:
        pool_errors, pool_warnings = pool_problems(definition, refs.banks)
        broken = {p.key.split(".")[0] for p in errors if p.key.startswith("sections[")}
        errors += [p for p in pool_errors if p.key.split(".")[0] not in broken]
        warnings += pool_warnings
    errors += _module_problems(definition, refs)
    cert_errors, cert_warnings = _certification_findings(definition, refs)
    return Findings(errors + cert_errors, warnings + cert_warnings)


def _module_problems(d: AssessmentDefinition, refs: DefinitionReferences) -> list[Problem]:
    if d.module is None or refs.modules is None:
        return []
    module = refs.modules.get(d.module)
    if module is None:
        return [Problem("module", f"unknown learning module {d.module!r}")]
    if module.type != "assessment":
        return [
            Problem(
                "module",
                f"module {d.module} is of type {module.type}; a pass completes only a module "
                "of type assessment",
            )
        ]
    if module.assessment is not None and module.assessment != d.code:
        return [
            Problem(
                "module",
                f"module {d.module} names assessment {module.assessment}, not {d.code}: "
                "its path file's `assessment:` key and this must agree",
            )
        ]
    return []


def _certification_findings(
    d: AssessmentDefinition, refs: DefinitionReferences
) -> tuple[list[Problem], list[Problem]]:
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for code, level in d.certifies:
        key = f"certifies.{code}"
        if refs.competencies is not None and code not in refs.competencies:
            errors.append(Problem(key, f"unknown competency code {code!r}"))
        if not ITEM_LEVEL_MIN <= level <= ITEM_LEVEL_MAX:
            errors.append(
                Problem(
                    key,
                    f"level {level}: an objective test certifies level {ITEM_LEVEL_MIN} to "
                    f"{ITEM_LEVEL_MAX}",
                )
            )
    if refs.banks is None or not d.certifies:
        return errors, warnings
    coverage = competency_coverage(d, refs.banks)
    for code, _level in d.certifies:
        span = coverage[code]
        if span.most < CERTIFY_MIN_ITEMS:
            errors.append(
                Problem(
                    f"certifies.{code}",
                    f"no form can certify {code}: at most {span.most} scored item(s) cover it, "
                    f"and certifying needs at least {CERTIFY_MIN_ITEMS}",
                )
            )
        elif span.least < CERTIFY_MIN_ITEMS:
            warnings.append(
                Problem(
                    f"certifies.{code}",
                    f"some forms cannot certify {code}: a form holds {span.least} to "
                    f"{span.most} scored items covering it, and certifying needs at least "
                    f"{CERTIFY_MIN_ITEMS}; draw more of its items in one section",
                )
            )
    return errors, warnings
