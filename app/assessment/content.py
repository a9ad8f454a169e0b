"""A question bank's whole content as one plain, canonical value; the item types with their
keys; and the scoring rules — the one place each is written.

A bank version (``BankContent``) holds stand-alone items, scenarios (one case, several
items) and data packs (figures several items use). An item (``ItemContent``) is one of six
types; ``ItemContent.as_json()`` is the immutable snapshot an item version stores, and
``item_from_data`` reads it back (and reads a bank file's item, which has the same shape).
Equal content gives an equal digest, so loading the same file twice is a no-op and an
unchanged item keeps its item version.

The scoring rules (``score_item``, ``passed``, ``competency_scores``, ``certified_levels``)
are stated in their docstrings and on the result page (``CERTIFICATION_RULE``).

Pure: no Flask, no ORM.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeGuard

# --- codes, types and bounds ---------------------------------------------------------------------

#: A bank code, e.g. ``P3OF-BANK``.
BANK_CODE_PATTERN = r"^[A-Z][A-Z0-9-]{1,23}$"
#: An item, scenario or data pack id, e.g. ``P3OF-VOC-01``: unique across all banks and never
#: reused.
ITEM_ID_PATTERN = r"^[A-Z][A-Z0-9-]{2,31}$"
ITEM_ID_RE = re.compile(ITEM_ID_PATTERN)
#: A bank's topic code, e.g. ``VOC``.
TOPIC_CODE_PATTERN = r"^[A-Z][A-Z0-9-]{0,15}$"

SINGLE = "single"
MULTIPLE = "multiple"
TRUE_FALSE = "true-false"
MATCHING = "matching"
SEQUENCING = "sequencing"
ASSERTION_REASON = "assertion-reason"

#: The item types, in the order an editor offers them.
ITEM_TYPES = (SINGLE, MULTIPLE, TRUE_FALSE, MATCHING, SEQUENCING, ASSERTION_REASON)

TYPE_LABELS = {
    SINGLE: "Single choice",
    MULTIPLE: "Multiple response",
    TRUE_FALSE: "True or false",
    MATCHING: "Matching",
    SEQUENCING: "Sequencing",
    ASSERTION_REASON: "Assertion–reason",
}

#: The formats of a bank: how its items are examined.
BANK_FORMATS = ("foundation", "practitioner", "role", "knowledge-check")

#: The fewest items a scenario of a bank of each format has (a practitioner case carries 20
#: one-mark items, a role bank's scenario 5); formats not listed use DEFAULT_SCENARIO_ITEMS.
SCENARIO_MIN_ITEMS = {"practitioner": 20, "role": 5}
DEFAULT_SCENARIO_ITEMS = 5

#: The levels an item can test: what an objective test can show (a pass certifies at most 3).
ITEM_LEVEL_MIN, ITEM_LEVEL_MAX = 1, 3

#: How many options, premises and steps each type has.
SINGLE_OPTIONS = (3, 5)
FOUNDATION_OPTIONS = 4
MULTIPLE_OPTIONS = (4, 6)
MATCHING_PREMISES = (3, 6)
MATCHING_RESPONSES_MAX = 8
SEQUENCING_STEPS = (4, 6)

#: The five fixed options of an assertion-reason item.
ASSERTION_REASON_OPTIONS = {
    "A": "Both are true, and the reason explains the assertion",
    "B": "Both are true, but the reason does not explain the assertion",
    "C": "The assertion is true, the reason is false",
    "D": "The assertion is false, the reason is true",
    "E": "Both are false",
}
AR_LETTERS = tuple(ASSERTION_REASON_OPTIONS)


def one_line(value: object) -> str:
    """Short text as the content holds it (a title, an option, a rationale): whitespace
    runs folded to one space."""
    return " ".join(str(value if value is not None else "").split())


def block_text(value: object) -> str:
    """Markdown as the content holds it (a stem, a case, a data pack): line endings
    unified, trailing spaces and blank lines at either end dropped, so a file's block
    scalar, a form's text and a GIFT stem agree."""
    text = str(value if value is not None else "")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def _digest(doc: object) -> str:
    blob = json.dumps(doc, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


# --- the content value ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """An option of a single-choice or multiple-response item."""

    text: str
    rationale: str
    correct: bool = False


@dataclass(frozen=True)
class Choice:
    """A premise or a response of a matching item."""

    id: str
    text: str


@dataclass(frozen=True)
class Step:
    """A step of a sequencing item; an item lists its steps in the correct order."""

    text: str
    rationale: str


@dataclass(frozen=True)
class ItemContent:
    """One item, canonical. Which fields apply depends on ``type`` (docs/assessment-content.md):

    * ``single``, ``multiple``: ``stem``, ``options`` (the key: the options marked correct),
      ``select`` (multiple: how many to choose, when stated);
    * ``true-false``: ``statement``, ``answer`` (a bool), ``rationale_true``,
      ``rationale_false``;
    * ``matching``: ``stem``, ``premises``, ``responses``, ``pairs`` (premise id -> response
      id, the key) and ``rationales`` (premise id -> why);
    * ``sequencing``: ``stem``, ``steps`` in the correct order;
    * ``assertion-reason``: ``assertion``, ``reason``, ``answer`` (a letter A-E) and
      ``rationales`` (letter -> why).

    Any item may also have a ``name`` (for authors), general ``feedback`` (shown with the
    rationales) and ``notes`` (the author's, never shown to learners) — what a GIFT file's
    question names, general feedback and comments become.
    """

    id: str
    type: str
    topic: str
    competency: str
    level: int
    stem: str = ""
    #: free tags, sorted, each once
    tags: tuple[str, ...] = ()
    author: str = ""
    #: the data pack (of the same bank) the item answers from
    data_pack: str | None = None
    options: tuple[Option, ...] = ()
    select: int | None = None
    statement: str = ""
    answer: bool | str | None = None
    rationale_true: str = ""
    rationale_false: str = ""
    premises: tuple[Choice, ...] = ()
    responses: tuple[Choice, ...] = ()
    #: (premise id, response id), in the premises' order
    pairs: tuple[tuple[str, str], ...] = ()
    #: matching: (premise id, why); assertion-reason: (letter, why)
    rationales: tuple[tuple[str, str], ...] = ()
    steps: tuple[Step, ...] = ()
    assertion: str = ""
    reason: str = ""
    #: optional: a short name for authors (a GIFT question's ``::name::``)
    name: str = ""
    #: optional: general feedback shown with the rationales after submission (Markdown)
    feedback: str = ""
    #: optional: the author's notes, never shown to learners (GIFT ``//`` comments)
    notes: str = ""

    def as_json(self) -> dict:
        """The item as plain JSON, in the shape of a bank file's item (with ``author``
        always given and ``correct`` on every option): the snapshot an item version keeps."""
        doc: dict[str, object] = {
            "id": self.id,
            "type": self.type,
            "topic": self.topic,
            "competency": self.competency,
            "level": self.level,
            "tags": list(self.tags),
            "author": self.author,
        }
        if self.data_pack:
            doc["data_pack"] = self.data_pack
        if self.stem or self.type not in (TRUE_FALSE, ASSERTION_REASON):
            doc["stem"] = self.stem
        doc.update(self._type_json())
        for key in ("name", "feedback", "notes"):
            if getattr(self, key):
                doc[key] = getattr(self, key)
        return doc

    def _type_json(self) -> dict[str, object]:
        """The fields of the item's own type."""
        if self.type in (SINGLE, MULTIPLE):
            options = [
                {"text": o.text, "correct": o.correct, "rationale": o.rationale}
                for o in self.options
            ]
            select = {} if self.select is None else {"select": self.select}
            return {**select, "options": options}
        if self.type == TRUE_FALSE:
            return {
                "statement": self.statement,
                "answer": self.answer,
                "rationale_true": self.rationale_true,
                "rationale_false": self.rationale_false,
            }
        if self.type == MATCHING:
            return {
                "premises": [{"id": p.id, "text": p.text} for p in self.premises],
                "responses": [{"id": r.id, "text": r.text} for r in self.responses],
                "pairs": dict(self.pairs),
                "rationales": dict(self.rationales),
            }
        if self.type == SEQUENCING:
            return {"steps": [{"text": s.text, "rationale": s.rationale} for s in self.steps]}
        if self.type == ASSERTION_REASON:
            return {
                "assertion": self.assertion,
                "reason": self.reason,
                "answer": self.answer,
                "rationales": dict(self.rationales),
            }
        return {}

    def digest(self) -> str:
        return _digest(self.as_json())

    def key(self) -> object:
        """The correct answer, in the shape of an answer (see ``score_item``)."""
        if self.type == SINGLE:
            return next((i for i, o in enumerate(self.options) if o.correct), None)
        if self.type == MULTIPLE:
            return [i for i, o in enumerate(self.options) if o.correct]
        if self.type == MATCHING:
            return dict(self.pairs)
        if self.type == SEQUENCING:
            return list(range(len(self.steps)))
        return self.answer


@dataclass(frozen=True)
class ScenarioContent:
    """One case and the items that answer from it (in the order they are asked)."""

    id: str
    title: str
    case: str
    items: tuple[ItemContent, ...] = ()

    def stimulus_json(self) -> dict:
        """The case without its items: what a scenario version keeps."""
        return {"id": self.id, "title": self.title, "body": self.case}

    def stimulus_digest(self) -> str:
        return _digest(self.stimulus_json())


@dataclass(frozen=True)
class DataPackContent:
    """Figures (Markdown tables) that several items of a bank answer from."""

    id: str
    title: str
    content: str

    def stimulus_json(self) -> dict:
        return {"id": self.id, "title": self.title, "body": self.content}

    def stimulus_digest(self) -> str:
        return _digest(self.stimulus_json())


@dataclass(frozen=True)
class BankContent:
    """A bank version's whole content, canonical: equal content, equal digest. Items,
    scenarios and data packs keep the order the bank gives them."""

    code: str
    title: str
    format: str
    author: str
    original_work: bool = True
    #: (topic code, name), in the bank's order
    topics: tuple[tuple[str, str], ...] = ()
    items: tuple[ItemContent, ...] = ()
    scenarios: tuple[ScenarioContent, ...] = ()
    data_packs: tuple[DataPackContent, ...] = ()

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "title": self.title,
            "format": self.format,
            "author": self.author,
            "original_work": self.original_work,
            "topics": [list(t) for t in self.topics],
            "items": [i.as_json() for i in self.items],
            "scenarios": [
                {**s.stimulus_json(), "items": [i.as_json() for i in s.items]}
                for s in self.scenarios
            ],
            "data_packs": [d.stimulus_json() for d in self.data_packs],
        }

    def digest(self) -> str:
        return _digest(self.as_json())

    def all_items(self) -> Iterator[tuple[str, ItemContent, ScenarioContent | None]]:
        """Every item with its key path in a bank file (``items[3]``,
        ``scenarios[1].items[4]``) and its scenario, stand-alone items first."""
        for i, item in enumerate(self.items):
            yield f"items[{i}]", item, None
        for s, scenario in enumerate(self.scenarios):
            for i, item in enumerate(scenario.items):
                yield f"scenarios[{s}].items[{i}]", item, scenario

    def topic_names(self) -> dict[str, str]:
        return dict(self.topics)


# --- reading plain data (a bank file, a snapshot) ------------------------------------------------


def _tags(value: object) -> tuple[str, ...]:
    given = value if isinstance(value, list | tuple) else ()
    return tuple(sorted({one_line(t) for t in given if one_line(t)}))


def item_from_data(data: Mapping, *, default_author: str = "") -> ItemContent:
    """The canonical item of a bank file's item, or of an item version's snapshot (both
    have this shape; the file's is already schema-checked). ``author`` defaults to the
    bank's."""
    kind = str(data["type"])
    answer = data.get("answer")
    if kind == ASSERTION_REASON and answer is not None:
        answer = one_line(answer).upper()
    return ItemContent(
        id=str(data["id"]),
        type=kind,
        topic=str(data["topic"]),
        competency=str(data["competency"]),
        level=int(data["level"]),
        stem=block_text(data.get("stem")),
        tags=_tags(data.get("tags")),
        author=one_line(data.get("author")) or one_line(default_author),
        data_pack=one_line(data.get("data_pack")) or None,
        options=tuple(
            Option(
                text=one_line(o.get("text")),
                rationale=one_line(o.get("rationale")),
                correct=o.get("correct") is True,
            )
            for o in data.get("options") or ()
        ),
        select=data.get("select"),
        statement=block_text(data.get("statement")),
        answer=answer,
        rationale_true=one_line(data.get("rationale_true")),
        rationale_false=one_line(data.get("rationale_false")),
        premises=tuple(
            Choice(one_line(p.get("id")), one_line(p.get("text")))
            for p in data.get("premises") or ()
        ),
        responses=tuple(
            Choice(one_line(r.get("id")), one_line(r.get("text")))
            for r in data.get("responses") or ()
        ),
        pairs=_pairs(data, kind),
        rationales=_rationales(data, kind),
        steps=tuple(
            Step(one_line(s.get("text")), one_line(s.get("rationale")))
            for s in data.get("steps") or ()
        ),
        assertion=block_text(data.get("assertion")),
        reason=block_text(data.get("reason")),
        name=one_line(data.get("name")),
        feedback=block_text(data.get("feedback")),
        notes=block_text(data.get("notes")),
    )


def _pairs(data: Mapping, kind: str) -> tuple[tuple[str, str], ...]:
    """Matching pairs in the premises' order (pairs naming no premise after them)."""
    if kind != MATCHING:
        return ()
    raw = {one_line(k): one_line(v) for k, v in (data.get("pairs") or {}).items()}
    order = [one_line(p.get("id")) for p in data.get("premises") or ()]
    known = [(p, raw[p]) for p in order if p in raw]
    return tuple(known + sorted((k, v) for k, v in raw.items() if k not in order))


def _rationales(data: Mapping, kind: str) -> tuple[tuple[str, str], ...]:
    if kind not in (MATCHING, ASSERTION_REASON):
        return ()
    raw = {
        one_line(k): one_line(v) for k, v in (data.get("rationales") or {}).items() if one_line(v)
    }
    order = (
        [one_line(p.get("id")) for p in data.get("premises") or ()]
        if kind == MATCHING
        else list(AR_LETTERS)
    )
    known = [(k, raw[k]) for k in order if k in raw]
    return tuple(known + sorted((k, v) for k, v in raw.items() if k not in order))


def bank_from_data(data: Mapping) -> BankContent:
    """The canonical content of a ``question-bank`` document (already schema-checked)."""
    author = one_line(data.get("author"))
    return BankContent(
        code=str(data["code"]),
        title=one_line(data["title"]),
        format=str(data["format"]),
        author=author,
        original_work=data.get("original_work") is True,
        topics=tuple((str(k), one_line(v)) for k, v in (data.get("topics") or {}).items()),
        items=tuple(item_from_data(i, default_author=author) for i in data.get("items") or ()),
        scenarios=tuple(
            ScenarioContent(
                id=str(s["id"]),
                title=one_line(s.get("title")),
                case=block_text(s.get("case")),
                items=tuple(item_from_data(i, default_author=author) for i in s.get("items") or ()),
            )
            for s in data.get("scenarios") or ()
        ),
        data_packs=tuple(
            DataPackContent(
                id=str(d["id"]), title=one_line(d.get("title")), content=block_text(d["content"])
            )
            for d in data.get("data_packs") or ()
        ),
    )


# --- the rules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One broken rule. ``key`` is where, in a bank file's terms: ``options``, ``pairs.P2``
    (inside an item), ``scenarios[1].items`` or ``items[3].topic`` (inside a bank)."""

    key: str
    message: str


def _count_problem(key: str, what: str, n: int, bounds: tuple[int, int]) -> list[Problem]:
    low, high = bounds
    if low <= n <= high:
        return []
    return [Problem(key, f"{n} {what}; give {low} to {high}")]


def item_problems(item: ItemContent, *, bank_format: str | None = None) -> list[Problem]:
    """Every broken rule of one item, keys inside the item: a known type, a level of
    1-3, a stem, and the key of its type —

    * ``single``: 3-5 options (exactly 4 in a foundation-format bank), exactly one correct;
    * ``multiple``: 4-6 options, at least two correct and at least one not, ``select`` (when
      given) equal to the number correct;
    * ``true-false``: a statement, an answer, a rationale for true and for false;
    * ``matching``: 3-6 premises, at least as many responses (at most 8), ids used once,
      every premise matched to exactly one known response, a rationale for every premise;
    * ``sequencing``: 4-6 steps;
    * ``assertion-reason``: an assertion, a reason, an answer of A-E and a rationale for
      each of the five options.

    Every option and step carries a rationale (the file schema asks for them)."""
    problems: list[Problem] = []
    if item.type not in ITEM_TYPES:
        return [Problem("type", f"unknown item type {item.type!r}")]
    if not ITEM_LEVEL_MIN <= item.level <= ITEM_LEVEL_MAX:
        problems.append(
            Problem(
                "level",
                f"level {item.level}: an item tests level {ITEM_LEVEL_MIN} to {ITEM_LEVEL_MAX}",
            )
        )
    if item.type not in (TRUE_FALSE, ASSERTION_REASON) and not item.stem:
        problems.append(Problem("stem", "give the item a stem (the question)"))
    check = {
        SINGLE: _single_problems,
        MULTIPLE: _multiple_problems,
        TRUE_FALSE: _true_false_problems,
        MATCHING: _matching_problems,
        SEQUENCING: _sequencing_problems,
        ASSERTION_REASON: _assertion_reason_problems,
    }[item.type]
    return problems + check(item, bank_format)


def _blank_rationales(item: ItemContent) -> list[Problem]:
    return [
        Problem(f"options[{i}].rationale", "every option needs a rationale")
        for i, o in enumerate(item.options)
        if not o.rationale
    ]


def _single_problems(item: ItemContent, bank_format: str | None) -> list[Problem]:
    n = len(item.options)
    if bank_format == "foundation" and n != FOUNDATION_OPTIONS:
        problems = [
            Problem(
                "options",
                f"{n} options; a foundation-format item has exactly {FOUNDATION_OPTIONS}",
            )
        ]
    else:
        problems = _count_problem("options", "options", n, SINGLE_OPTIONS)
    correct = sum(o.correct for o in item.options)
    if correct != 1:
        problems.append(
            Problem(
                "options",
                f"a single-choice item has exactly one key (one option marked correct: "
                f"true); this one has {correct}",
            )
        )
    return problems + _blank_rationales(item)


def _multiple_problems(item: ItemContent, bank_format: str | None) -> list[Problem]:
    n = len(item.options)
    problems = _count_problem("options", "options", n, MULTIPLE_OPTIONS)
    correct = sum(o.correct for o in item.options)
    if correct < 2:
        problems.append(
            Problem(
                "options",
                f"a multiple-response item has at least two keys (options marked correct: "
                f"true); this one has {correct}",
            )
        )
    elif correct == n:
        problems.append(Problem("options", "every option is marked correct; add a wrong one"))
    if item.select is not None and item.select != correct:
        problems.append(
            Problem(
                "select",
                f"select: {item.select}, but {correct} options are marked correct; the "
                "learner is told how many to choose, so the two must agree",
            )
        )
    return problems + _blank_rationales(item)


def _true_false_problems(item: ItemContent, bank_format: str | None) -> list[Problem]:
    problems = []
    if not item.statement:
        problems.append(Problem("statement", "give the statement to judge true or false"))
    if not isinstance(item.answer, bool):
        problems.append(Problem("answer", "the answer of a true-false item is true or false"))
    for key in ("rationale_true", "rationale_false"):
        if not getattr(item, key):
            problems.append(Problem(key, "give a rationale for each answer"))
    return problems


def _duplicate_ids(key: str, choices: tuple[Choice, ...]) -> list[Problem]:
    ids = [c.id for c in choices]
    return [
        Problem(f"{key}[{i}].id", f"id {c!r} is used twice in the {key}")
        for i, c in enumerate(ids)
        if c in ids[:i]
    ]


def _matching_problems(item: ItemContent, bank_format: str | None) -> list[Problem]:
    problems = _count_problem("premises", "premises", len(item.premises), MATCHING_PREMISES)
    if not len(item.premises) <= len(item.responses) <= MATCHING_RESPONSES_MAX:
        problems.append(
            Problem(
                "responses",
                f"{len(item.responses)} responses; give at least as many as the premises "
                f"({len(item.premises)}) and at most {MATCHING_RESPONSES_MAX}",
            )
        )
    problems += _duplicate_ids("premises", item.premises)
    problems += _duplicate_ids("responses", item.responses)
    premises = {p.id for p in item.premises}
    responses = {r.id for r in item.responses}
    pairs = dict(item.pairs)
    for premise, response in item.pairs:
        if premise not in premises:
            problems.append(
                Problem(f"pairs.{premise}", f"the key pairs {premise!r}, which is not a premise")
            )
        if response not in responses:
            problems.append(
                Problem(
                    f"pairs.{premise}",
                    f"the key names {response!r}, which is not one of the responses",
                )
            )
    unmatched = [p.id for p in item.premises if p.id not in pairs]
    if unmatched:
        problems.append(
            Problem("pairs", "unmatched premise(s): " + ", ".join(unmatched) + "; pair each once")
        )
    rationales = dict(item.rationales)
    missing = [p.id for p in item.premises if not rationales.get(p.id)]
    if missing:
        problems.append(
            Problem("rationales", "rationales missing for premise(s): " + ", ".join(missing))
        )
    for premise in rationales:
        if premise not in premises:
            problems.append(
                Problem(f"rationales.{premise}", f"a rationale for {premise!r}, not a premise")
            )
    return problems


def _sequencing_problems(item: ItemContent, bank_format: str | None) -> list[Problem]:
    problems = _count_problem("steps", "steps", len(item.steps), SEQUENCING_STEPS)
    texts = [s.text for s in item.steps]
    problems += [
        Problem(f"steps[{i}].text", "two steps have the same text; the order would be ambiguous")
        for i, text in enumerate(texts)
        if text in texts[:i]
    ]
    return problems + [
        Problem(f"steps[{i}].rationale", "every step needs a rationale")
        for i, s in enumerate(item.steps)
        if not s.rationale
    ]


def _assertion_reason_problems(item: ItemContent, bank_format: str | None) -> list[Problem]:
    problems = []
    if not item.assertion:
        problems.append(Problem("assertion", "give the assertion"))
    if not item.reason:
        problems.append(Problem("reason", "give the reason"))
    if item.answer not in AR_LETTERS:
        problems.append(
            Problem(
                "answer",
                f"the key {item.answer!r} is not one of the five options A, B, C, D, E",
            )
        )
    rationales = dict(item.rationales)
    missing = [letter for letter in AR_LETTERS if not rationales.get(letter)]
    if missing:
        problems.append(
            Problem("rationales", "rationales missing for option(s): " + ", ".join(missing))
        )
    return problems + [
        Problem(f"rationales.{k}", f"{k!r} is not one of the options A-E")
        for k in rationales
        if k not in AR_LETTERS
    ]


@dataclass(frozen=True)
class BankReferences:
    """What a bank may name; None where it is unknown (the check is skipped)."""

    competencies: frozenset[str] | None = None


def bank_problems(bank: BankContent, refs: BankReferences = BankReferences()) -> list[Problem]:
    """Every broken rule of one bank, keys in the file's terms: a known format, the
    original-work attestation, ids used once within the bank, every item's own rules
    (``item_problems``), a known topic, competency and data pack for every item, and
    enough items in each scenario (``SCENARIO_MIN_ITEMS``)."""
    problems: list[Problem] = []
    if bank.format not in BANK_FORMATS:
        problems.append(Problem("format", f"unknown format {bank.format!r}"))
    if not bank.original_work:
        problems.append(
            Problem(
                "original_work",
                "state original_work: true — every item is our own writing, never taken or "
                "adapted from an exam or a provider's material",
            )
        )
    problems += _duplicate_problems(bank)
    least = SCENARIO_MIN_ITEMS.get(bank.format, DEFAULT_SCENARIO_ITEMS)
    for s, scenario in enumerate(bank.scenarios):
        if len(scenario.items) < least:
            problems.append(
                Problem(
                    f"scenarios[{s}].items",
                    f"scenario {scenario.id} has {len(scenario.items)} item(s); a scenario of "
                    f"a {bank.format} bank has at least {least}",
                )
            )
    for where, item, _scenario in bank.all_items():
        problems += [
            Problem(f"{where}.{p.key}", p.message)
            for p in item_problems(item, bank_format=bank.format)
        ]
        problems += _reference_problems(bank, where, item, refs)
    return problems


def _duplicate_problems(bank: BankContent) -> list[Problem]:
    """Data pack, scenario and item ids each used once in the bank."""
    places = [(f"data_packs[{i}]", d.id) for i, d in enumerate(bank.data_packs)]
    places += [(f"scenarios[{i}]", s.id) for i, s in enumerate(bank.scenarios)]
    places += [(where, item.id) for where, item, _ in bank.all_items()]
    seen: dict[str, str] = {}
    problems = []
    for where, ident in places:
        if ident in seen:
            problems.append(Problem(f"{where}.id", f"duplicate id {ident!r} (also {seen[ident]})"))
        seen.setdefault(ident, where)
    return problems


def _reference_problems(
    bank: BankContent, where: str, item: ItemContent, refs: BankReferences
) -> list[Problem]:
    """An item's topic, competency and data pack known."""
    problems = []
    topics = bank.topic_names()
    if item.topic not in topics:
        problems.append(
            Problem(
                f"{where}.topic",
                f"unknown topic {item.topic!r}; the bank's topics are " + ", ".join(topics),
            )
        )
    if refs.competencies is not None and item.competency not in refs.competencies:
        problems.append(
            Problem(f"{where}.competency", f"unknown competency code {item.competency!r}")
        )
    packs = sorted(d.id for d in bank.data_packs)
    if item.data_pack is not None and item.data_pack not in packs:
        known = f"; the bank's data packs are {', '.join(packs)}" if packs else ""
        problems.append(
            Problem(f"{where}.data_pack", f"unknown data pack {item.data_pack!r}{known}")
        )
    return problems


# --- scoring -------------------------------------------------------------------------------------

#: A competency is certified only when at least this many scored items cover it ...
CERTIFY_MIN_ITEMS = 5
#: ... and the learner scores at least this percentage of their marks.
CERTIFY_MIN_PERCENT = 60

#: The certification rule, as the result page states it.
CERTIFICATION_RULE = (
    f"A pass certifies a competency only when at least {CERTIFY_MIN_ITEMS} scored items "
    f"cover it and you score at least {CERTIFY_MIN_PERCENT}% on those items."
)

#: The scoring rule, as the result and review pages state it.
SCORING_RULE = (
    "Every item is worth one mark, given only for a wholly correct answer: the exact set "
    "of correct options (choosing more or fewer earns nothing), every pair of a matching "
    "item, the whole order of a sequencing item. There is no penalty for a wrong answer."
)


def score_item(item: ItemContent, answer: object) -> tuple[int, int]:
    """(marks, max_marks) for ``answer`` to ``item``: every item is worth ONE mark, given
    only for a wholly correct answer. No negative marks; an unanswered or malformed answer
    scores 0.

    Answers are in the item's own terms (the attempt maps its shuffled display back):

    * ``single``: the index of the chosen option (an int);
    * ``multiple``: the indexes of the chosen options (a list of ints, any order). The mark
      is given only when EXACTLY the correct set is chosen — no partial credit, and choosing
      more options than ``select`` earns nothing. Why: the formats we ship are one-mark
      items (a practitioner-format test is 80 one-mark items, pass 40), and the learner is
      told how many to choose. Proportional credit would reward guessing — picking 3 of 5
      at random where 3 are correct is worth 0.6 of a mark on average, above the 50-60%
      pass marks (0.3 even with a penalty for each wrong pick) — and would make a
      multiple-response item count more towards a pass than a single-choice item testing
      the same competency. Dichotomous marks also keep item statistics (facility,
      point-biserial, Cronbach's alpha) well defined;
    * ``true-false``: True or False;
    * ``matching``: a mapping premise id -> response id. One mark only when EVERY premise
      is matched to its key — same reasons: one decision the item tests (which service
      closes which gap), and two of four pairs is often guessable by elimination;
    * ``sequencing``: the step indexes in the order the learner put them (the item lists
      its steps in the correct order, so the key is 0, 1, 2, ...). One mark only for the
      whole order: a "nearly right" order has no single meaning (how many in place? how
      many adjacent pairs?) and a wrong first step usually means the idea was missed;
    * ``assertion-reason``: a letter A-E.
    """
    if answer is None or answer_problem(item, answer) is not None:
        return 0, 1
    key = item.key()
    if item.type == MULTIPLE:
        assert isinstance(answer, list) and isinstance(key, list)
        right = sorted(answer) == sorted(key)
    elif item.type == MATCHING:
        assert isinstance(answer, Mapping)
        right = dict(answer) == key
    elif item.type == SEQUENCING:
        assert isinstance(answer, list)
        right = answer == key
    elif item.type == ASSERTION_REASON:
        right = str(answer).upper() == key
    else:
        right = answer == key and type(answer) is type(key)
    return (1 if right else 0), 1


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _single_answer(item: ItemContent, answer: object) -> str | None:
    if not _is_int(answer) or not 0 <= answer < len(item.options):
        return "choose one of the options"
    return None


def _multiple_answer(item: ItemContent, answer: object) -> str | None:
    if not isinstance(answer, list) or not all(_is_int(a) for a in answer):
        return "choose from the options"
    if len(set(answer)) != len(answer) or any(not 0 <= a < len(item.options) for a in answer):
        return "choose from the options, each once"
    if item.select is not None and len(answer) > item.select:
        return f"choose at most {item.select} options"
    return None


def _true_false_answer(item: ItemContent, answer: object) -> str | None:
    return None if isinstance(answer, bool) else "answer true or false"


def _matching_answer(item: ItemContent, answer: object) -> str | None:
    premises = {p.id for p in item.premises}
    responses = {r.id for r in item.responses}
    if not isinstance(answer, Mapping) or not all(
        k in premises and v in responses for k, v in answer.items()
    ):
        return "match each premise to one of the responses"
    return None


def _sequencing_answer(item: ItemContent, answer: object) -> str | None:
    if not isinstance(answer, list) or sorted(a if _is_int(a) else -1 for a in answer) != list(
        range(len(item.steps))
    ):
        return "put every step in order, each once"
    return None


def _assertion_reason_answer(item: ItemContent, answer: object) -> str | None:
    if not isinstance(answer, str) or answer.upper() not in AR_LETTERS:
        return "choose one of the options A to E"
    return None


_ANSWER_CHECKS = {
    SINGLE: _single_answer,
    MULTIPLE: _multiple_answer,
    TRUE_FALSE: _true_false_answer,
    MATCHING: _matching_answer,
    SEQUENCING: _sequencing_answer,
    ASSERTION_REASON: _assertion_reason_answer,
}


def answer_problem(item: ItemContent, answer: object) -> str | None:
    """Why ``answer`` cannot be an answer to ``item`` (see ``score_item`` for the shapes),
    or None when it can. None (no answer) is always allowed. The attempt engine refuses
    to save an answer with a problem."""
    if answer is None:
        return None
    check = _ANSWER_CHECKS.get(item.type)
    return check(item, answer) if check else "unknown item type"


def passed(marks: int, max_marks: int, pass_percent: int) -> bool:
    """A pass: at least ``pass_percent`` per cent of the scored marks (35 of 70 at 50%).
    An assessment with no scored marks is never passed."""
    return max_marks > 0 and marks * 100 >= pass_percent * max_marks


@dataclass(frozen=True)
class CompetencyScore:
    """A learner's marks on the scored items of one attempt that cover one competency."""

    code: str
    items: int = 0
    marks: int = 0
    max_marks: int = 0

    @property
    def percent(self) -> int:
        """Whole per cent, rounded down (so 59.9% never shows as 60%)."""
        return self.marks * 100 // self.max_marks if self.max_marks else 0

    @property
    def meets_rule(self) -> bool:
        """The certification rule (``CERTIFICATION_RULE``): at least CERTIFY_MIN_ITEMS
        scored items and at least CERTIFY_MIN_PERCENT per cent of their marks."""
        return (
            self.items >= CERTIFY_MIN_ITEMS
            and self.max_marks > 0
            and self.marks * 100 >= CERTIFY_MIN_PERCENT * self.max_marks
        )


def competency_scores(scored: Iterable[tuple[str, int, int]]) -> dict[str, CompetencyScore]:
    """Competency code -> its score, from (competency code, marks, max marks) of each
    SCORED item of an attempt (unscored trial items are left out by the caller)."""
    out: dict[str, CompetencyScore] = {}
    for code, marks, max_marks in scored:
        was = out.get(code, CompetencyScore(code))
        out[code] = CompetencyScore(
            code, was.items + 1, was.marks + marks, was.max_marks + max_marks
        )
    return dict(sorted(out.items()))


def certified_levels(
    passed_attempt: bool,
    certifies: Mapping[str, int],
    scores: Mapping[str, CompetencyScore],
) -> dict[str, int]:
    """Competency code -> level a finished attempt certifies: nothing unless the attempt
    passed; then each competency the assessment certifies (``certifies``: code -> level)
    whose score meets the rule (``CompetencyScore.meets_rule``)."""
    if not passed_attempt:
        return {}
    return {
        code: level
        for code, level in sorted(certifies.items())
        if code in scores and scores[code].meets_rule
    }


@dataclass(frozen=True)
class SectionDraw:
    """What one section of an assessment draws: ``count`` items (or whole scenarios) from
    a bank, filtered by topic, tag and competency (an empty filter lets all through)."""

    count: int
    topics: frozenset[str] = field(default_factory=frozenset)
    tags: frozenset[str] = field(default_factory=frozenset)
    competencies: frozenset[str] = field(default_factory=frozenset)

    def admits(self, item: ItemContent) -> bool:
        return (
            (not self.topics or item.topic in self.topics)
            and (not self.tags or bool(self.tags & set(item.tags)))
            and (not self.competencies or item.competency in self.competencies)
        )
