"""The attempt engine: start (or resume) an attempt, save an answer, submit, and close the
attempts whose time is up.

The server owns the clock and every rule; each use-case takes ``now``. Concurrency is
handled in the database, by conditional statements that hold on SQLite and PostgreSQL
alike, never by a read followed by a write:

* **start** inserts the attempt with one ``INSERT ... SELECT`` that numbers it from the
  person's attempts and inserts nothing when one is in progress or the limit is reached;
  the unique (person, assessment, number) constraint with ``ON CONFLICT DO NOTHING`` lets
  one of several simultaneous starts through (the others find it and resume it). Two
  starts that cannot see each other's attempt compute the same number, so at most one
  attempt is ever in progress and the limit is never passed.
* **save_answer** holds the attempt's row (a no-op UPDATE that succeeds only while the
  attempt is open), then writes the answer with ``UPDATE ... WHERE revision = :seen``: a
  stale tab's save changes nothing and gets the current answer back.
* **submit** and **close_overdue** move the status from ``in_progress`` with a conditional
  UPDATE, so an attempt is finished (and scored, and certified) exactly once.

Answers are stored in the item's own terms (``content.score_item``); the attempt keeps the
exact item versions it drew, and the order it showed them in (``AttemptItem.presentation``).
Use-cases flush and never commit.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Row, case, cast, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload

from app import clock
from app.assessment.bank_queries import published_bank_version
from app.assessment.content import (
    MATCHING,
    MULTIPLE,
    SEQUENCING,
    SINGLE,
    ItemContent,
    SectionDraw,
    answer_problem,
    certified_levels,
    competency_scores,
    item_from_data,
    passed,
    score_item,
)
from app.assessment.models import (
    Assessment,
    AssessmentSection,
    AssessmentStatus,
    Attempt,
    AttemptItem,
    AttemptStatus,
    BankEntry,
    DrawUnit,
    ItemVersion,
)
from app.capability.models import Evidence
from app.capability.services import record_evidence
from app.errors import DomainError
from app.framework.models import Source
from app.learning.progress import Completed, complete_assessment_module

log = logging.getLogger(__name__)

#: How often a start is retried when a simultaneous start of the same person won the race.
START_RETRIES = 3


def _when(moment: datetime) -> str:
    """A time in a refusal message (UTC: the service knows no time zone)."""
    return f"{moment:%H:%M} UTC on {moment.day} {moment:%b %Y}"


# --- the clock ---------------------------------------------------------------------------------


def answers_close_at(attempt: Attempt, grace_seconds: int) -> datetime | None:
    """The last moment an answer is accepted: the deadline plus the grace (None: untimed)."""
    if attempt.deadline is None:
        return None
    return attempt.deadline + timedelta(seconds=grace_seconds)


def is_overdue(attempt: Attempt, grace_seconds: int, now: datetime) -> bool:
    """An attempt in progress whose deadline plus grace has passed: the server closes it."""
    closes = answers_close_at(attempt, grace_seconds)
    return attempt.status == AttemptStatus.IN_PROGRESS and closes is not None and now > closes


def deadline_for(assessment: Assessment, started_at: datetime) -> datetime | None:
    """The deadline of an attempt started at ``started_at``: the time limit after the start,
    and never later than the assessment closes."""
    ends = [
        started_at + timedelta(minutes=assessment.time_limit_minutes)
        if assessment.time_limit_minutes
        else None,
        assessment.closes_at,
    ]
    known = [e for e in ends if e is not None]
    return min(known) if known else None


# --- start -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    attempt: Attempt
    #: True when an attempt in progress was resumed rather than a new one started.
    resumed: bool


@dataclass(frozen=True)
class Drawn:
    """One item drawn for a new attempt."""

    section: int
    item_version_id: int
    scored: bool
    presentation: list


class NotYet(DomainError):
    """The wait between attempts has not passed; ``until`` says when it has."""

    def __init__(self, message: str, until: datetime):
        super().__init__(message)
        self.until = until


@dataclass(frozen=True)
class History:
    """A person's attempts at one assessment, as far as starting another depends on them."""

    count: int
    in_progress_id: int | None
    last_finished_at: datetime | None


def history(session: Session, *, assessment_id: int, person_id: int) -> History:
    rows = session.execute(
        select(Attempt.id, Attempt.status, Attempt.finished_at).where(
            Attempt.person_id == person_id, Attempt.assessment_id == assessment_id
        )
    ).all()
    open_ids = [r.id for r in rows if r.status == AttemptStatus.IN_PROGRESS]
    finished = [r.finished_at for r in rows if r.finished_at is not None]
    return History(
        count=len(rows),
        in_progress_id=open_ids[0] if open_ids else None,
        last_finished_at=max(finished) if finished else None,
    )


def next_start_at(assessment: Assessment, past: History) -> datetime | None:
    """When the wait after the last finished attempt is over (None: no wait applies)."""
    if past.last_finished_at is None or not assessment.wait_minutes:
        return None
    return past.last_finished_at + timedelta(minutes=assessment.wait_minutes)


def start_refusal(assessment: Assessment, past: History, now: datetime) -> DomainError | None:
    """Why ``past``'s person may not start a new attempt now (None: they may). Resuming an
    attempt in progress is always allowed and is not asked here."""
    if assessment.status != AssessmentStatus.PUBLISHED:
        return DomainError(f"{assessment.title} is not open for attempts.")
    if assessment.opens_at is not None and now < assessment.opens_at:
        return DomainError(f"{assessment.title} opens at {_when(assessment.opens_at)}.")
    if assessment.closes_at is not None and now >= assessment.closes_at:
        return DomainError(f"{assessment.title} closed at {_when(assessment.closes_at)}.")
    limit = assessment.attempt_limit
    if limit is not None and past.count >= limit:
        plural = "attempt" if limit == 1 else "attempts"
        return DomainError(f"You have used all {limit} {plural} at {assessment.title}.")
    until = next_start_at(assessment, past)
    if until is not None and now < until:
        return NotYet(
            f"You may start your next attempt at {_when(until)}: {assessment.title} asks for "
            f"{_wait_text(assessment.wait_minutes)} between attempts.",
            until,
        )
    return None


def _wait_text(minutes: int) -> str:
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days * 24} hours" if days == 1 else f"{days} days"
    if minutes % 60 == 0:
        return f"{minutes // 60} hour" + ("" if minutes == 60 else "s")
    return f"{minutes} minutes"


def start(
    session: Session,
    *,
    assessment: Assessment,
    person_id: int,
    now: datetime,
    rng: random.Random | None = None,
) -> Started:
    """Start an attempt at ``assessment`` for ``person_id``, or resume the one in progress.

    Refused (DomainError) when the assessment is not published or not open now, the attempt
    limit is reached, or the wait since the last finished attempt has not passed (NotYet,
    naming the time). A new attempt draws its items from each section's bank's published
    version (``draw``), keeps their exact item versions, and has its deadline fixed now.
    Safe under simultaneous starts (see the module's docstring).
    """
    close_overdue(session, now, person_id=person_id, assessment_id=assessment.id)
    rng = rng or random.SystemRandom()
    for _ in range(START_RETRIES):
        past = history(session, assessment_id=assessment.id, person_id=person_id)
        if past.in_progress_id is not None:
            attempt = session.get(Attempt, past.in_progress_id)
            assert attempt is not None
            return Started(attempt, resumed=True)
        refusal = start_refusal(assessment, past, now)
        if refusal is not None:
            raise refusal
        drawn = draw(session, assessment, rng)
        attempt_id = _insert_attempt(session, assessment, person_id, now)
        if attempt_id is None:
            continue  # a simultaneous start of the same person won: find its attempt
        session.add_all(
            AttemptItem(
                attempt_id=attempt_id,
                position=position,
                section=d.section,
                item_version_id=d.item_version_id,
                scored=d.scored,
                presentation=d.presentation,
                revision=0,
                max_marks=1,
            )
            for position, d in enumerate(drawn)
        )
        session.flush()
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        return Started(attempt, resumed=False)
    raise DomainError("Several starts arrived at once. Reload the page and try again.")


def _insert_attempt(
    session: Session, assessment: Assessment, person_id: int, now: datetime
) -> int | None:
    """Insert the person's next attempt unless one is in progress or the limit is reached,
    in one statement; None when nothing was inserted (the caller reads why)."""
    table = Attempt.__table__
    mine = (Attempt.person_id == person_id) & (Attempt.assessment_id == assessment.id)
    past = (
        select(
            func.coalesce(func.max(Attempt.number), 0).label("last"),
            func.count().label("n"),
            func.coalesce(
                func.sum(case((Attempt.status == AttemptStatus.IN_PROGRESS, 1), else_=0)), 0
            ).label("open"),
        )
        .where(mine)
        .subquery()
    )
    conditions = [past.c.open == 0]
    if assessment.attempt_limit is not None:
        conditions.append(past.c.n < assessment.attempt_limit)
    dialect = session.get_bind().dialect.name

    def value(v: object, column: str) -> ColumnElement:
        # PostgreSQL cannot infer a parameter's type in a SELECT list; SQLite must not
        # cast (CAST(... AS DATETIME) would turn a timestamp into a number).
        kind = table.c[column].type
        return cast(v, kind) if dialect == "postgresql" else literal(v, kind)

    values = {
        "assessment_id": value(assessment.id, "assessment_id"),
        "person_id": value(person_id, "person_id"),
        "number": past.c.last + 1,
        "status": value(AttemptStatus.IN_PROGRESS, "status"),
        "started_at": value(now, "started_at"),
        "deadline": value(deadline_for(assessment, now), "deadline"),
        "pass_percent": value(assessment.pass_percent, "pass_percent"),
        "certified": value({}, "certified"),
    }
    source = select(*values.values()).where(*conditions)
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    stmt = (
        insert(table)
        .from_select(list(values), source)
        .on_conflict_do_nothing(index_elements=["person_id", "assessment_id", "number"])
        .returning(table.c.id)
    )
    return session.execute(stmt).scalar()


# --- drawing the items -------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """An item version a section may draw, with its place in the bank version."""

    item_version_id: int
    position: int
    scenario_version_id: int | None
    item: ItemContent


def _candidates(session: Session, section: AssessmentSection) -> list[Candidate]:
    version = published_bank_version(session, section.bank_id)
    if version is None:
        raise DomainError(
            f"{section.assessment.title} cannot be started: its bank {section.bank.code} has "
            "no published version. Tell the trainer."
        )
    rows = session.execute(
        select(
            ItemVersion.id, BankEntry.position, ItemVersion.scenario_version_id, ItemVersion.content
        )
        .join(BankEntry, BankEntry.item_version_id == ItemVersion.id)
        .where(BankEntry.bank_version_id == version.id)
        .order_by(BankEntry.position)
    ).all()
    return [Candidate(r[0], r[1], r[2], item_from_data(r[3])) for r in rows]


def _section_draw(section: AssessmentSection) -> SectionDraw:
    return SectionDraw(
        count=section.count,
        topics=frozenset(section.topics or ()),
        tags=frozenset(section.tags or ()),
        competencies=frozenset(section.competencies or ()),
    )


def _too_few(section: AssessmentSection, what: str, have: int) -> DomainError:
    return DomainError(
        f"{section.assessment.title} cannot be started: section {section.position + 1} draws "
        f"{section.count} {what} but its bank {section.bank.code} has {have} that fit. "
        "Tell the trainer."
    )


def draw(session: Session, assessment: Assessment, rng: random.Random) -> list[Drawn]:
    """The items of a new attempt, section by section: ``count`` stand-alone items (or
    ``count`` whole scenarios, each with all its items in the bank's order; a scenario's
    items are drawn only with their case) admitted by the section's filters (a scenario
    when any of its items is: ``definition.section_units``), none drawn twice;
    ``unscored`` of them (items or scenarios) chosen at random as unscored trial items.
    Items (or scenarios) are shuffled within their section when the assessment says so,
    else kept in the bank's order."""
    out: list[Drawn] = []
    taken: set[int] = set()
    for section in assessment.sections:
        candidates = [c for c in _candidates(session, section) if c.item_version_id not in taken]
        rule = _section_draw(section)
        if section.unit == DrawUnit.SCENARIO:
            groups = _draw_scenarios(section, candidates, rule, rng, assessment.shuffle_items)
        else:
            groups = _draw_items(section, candidates, rule, rng, assessment.shuffle_items)
        unscored = set(rng.sample(range(len(groups)), section.unscored))
        for g, group in enumerate(groups):
            for c in group:
                taken.add(c.item_version_id)
                out.append(
                    Drawn(
                        section=section.position,
                        item_version_id=c.item_version_id,
                        scored=g not in unscored,
                        presentation=presentation_for(
                            c.item, rng, shuffle=assessment.shuffle_options
                        ),
                    )
                )
    return out


def _draw_items(
    section: AssessmentSection,
    candidates: list[Candidate],
    rule: SectionDraw,
    rng: random.Random,
    shuffle: bool,
) -> list[list[Candidate]]:
    admitted = [c for c in candidates if c.scenario_version_id is None and rule.admits(c.item)]
    if len(admitted) < section.count:
        raise _too_few(section, "items", len(admitted))
    chosen = rng.sample(admitted, section.count)
    if not shuffle:
        chosen.sort(key=lambda c: c.position)
    return [[c] for c in chosen]


def _draw_scenarios(
    section: AssessmentSection,
    candidates: list[Candidate],
    rule: SectionDraw,
    rng: random.Random,
    shuffle: bool,
) -> list[list[Candidate]]:
    """Whole scenarios: a scenario is eligible when any of its items fits the filters."""
    by_scenario: dict[int, list[Candidate]] = {}
    for c in candidates:
        if c.scenario_version_id is not None:
            by_scenario.setdefault(c.scenario_version_id, []).append(c)
    eligible = [s for s, items in by_scenario.items() if any(rule.admits(c.item) for c in items)]
    if len(eligible) < section.count:
        raise _too_few(section, "scenarios", len(eligible))
    chosen = rng.sample(eligible, section.count)
    if not shuffle:
        chosen.sort(key=lambda s: by_scenario[s][0].position)
    return [by_scenario[s] for s in chosen]


def presentation_for(item: ItemContent, rng: random.Random, *, shuffle: bool) -> list:
    """The order an item's choices are shown in: option indexes (single, multiple),
    response ids (matching), step indexes (sequencing); [] for the other types.

    Options are shuffled when the assessment says so. The responses of a matching item and
    the steps of a sequencing item are ALWAYS shuffled, and never shown in the key's order:
    a sequencing item lists its steps in the correct order, and a matching item's responses
    often follow its premises, so showing them as written would give the key away."""
    if item.type in (SINGLE, MULTIPLE):
        order = list(range(len(item.options)))
        if shuffle:
            rng.shuffle(order)
        return order
    if item.type == SEQUENCING:
        return _shuffled_away_from(list(range(len(item.steps))), rng)
    if item.type == MATCHING:
        ids = [r.id for r in item.responses]
        keyed = [response for _premise, response in item.pairs]
        return _shuffled_away_from(ids, rng, avoid_prefix=keyed)
    return []


def _shuffled_away_from(
    values: list, rng: random.Random, avoid_prefix: Sequence | None = None
) -> list:
    """``values`` shuffled, never starting with ``avoid_prefix`` (by default: never in the
    given order), whenever another order exists."""
    avoid = list(avoid_prefix if avoid_prefix is not None else values)
    order = list(values)
    for _ in range(100):
        rng.shuffle(order)
        if order[: len(avoid)] != avoid:
            return order
    return order


# --- answering ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    item_id: int
    revision: int


class AttemptClosed(DomainError):
    """The attempt takes no more answers (submitted, closed, or past its deadline)."""


class StaleAnswer(DomainError):
    """The answer was changed elsewhere (another tab) after the page that sent this save was
    loaded: nothing was written; ``current`` and ``revision`` are what is saved now."""

    def __init__(self, message: str, *, field: str | None, current: object, revision: int):
        super().__init__(message, field=field)
        self.current = current
        self.revision = revision


def item_content(
    session: Session, attempt: Attempt, item_id: int
) -> tuple[AttemptItem, ItemContent]:
    """One item of ``attempt`` with its content (DomainError when it is not the attempt's).
    Read through the identity map: a page that has just read the item costs no query."""
    row = session.get(AttemptItem, item_id, options=[joinedload(AttemptItem.item_version)])
    if row is None or row.attempt_id != attempt.id:
        raise DomainError("That question is not part of this attempt.")
    return row, item_from_data(row.item_version.content)


def _hold_open(session: Session, attempt: Attempt, grace_seconds: int, now: datetime) -> bool:
    """Hold the attempt's row until commit if it is still open for answers (a no-op UPDATE:
    a row lock on PostgreSQL, the write lock on SQLite), so a simultaneous submit or close
    waits for this save or this save sees it finished. False when it is not open."""
    cutoff = now - timedelta(seconds=grace_seconds)
    result = session.execute(
        update(Attempt)
        .where(
            Attempt.id == attempt.id,
            Attempt.status == AttemptStatus.IN_PROGRESS,
            (Attempt.deadline.is_(None)) | (Attempt.deadline >= cutoff),
        )
        .values(status=Attempt.status)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def closed_message(attempt: Attempt) -> str:
    if attempt.status == AttemptStatus.SUBMITTED:
        return "This attempt has been submitted: its answers can no longer change."
    if attempt.status == AttemptStatus.TIMED_OUT:
        return "Time is up: this attempt was closed at its deadline with the answers saved by then."
    return "Time is up: answers are no longer accepted for this attempt."


def save_answer(
    session: Session,
    *,
    attempt: Attempt,
    item_id: int,
    answer: object,
    revision: int,
    now: datetime,
    field: str | None = None,
) -> Saved:
    """Save ``answer`` (in the item's own terms; None clears it) to the attempt's item
    ``item_id``, based on the ``revision`` the learner's page showed.

    Refused when the answer does not fit the item (``content.answer_problem``), when the
    attempt is finished or past its deadline plus grace (AttemptClosed), and when the answer
    was saved again since that revision to something else (StaleAnswer, carrying the current
    answer): a stale tab never overwrites a newer answer. The same answer sent again from an
    older revision is not a conflict: it returns the current revision. ``field`` names the
    form field for the message.
    """
    row, item = item_content(session, attempt, item_id)
    _check_answer(item, answer, field)
    _hold_or_refuse(session, attempt, now)
    return _write(session, row, answer, revision, now, field)


def _check_answer(item: ItemContent, answer: object, field: str | None) -> None:
    problem = answer_problem(item, answer)
    if problem is not None:
        raise DomainError(problem[0].upper() + problem[1:] + ".", field=field)


def _hold_or_refuse(session: Session, attempt: Attempt, now: datetime) -> None:
    if not _hold_open(session, attempt, attempt.assessment.grace_seconds, now):
        session.refresh(attempt)
        raise AttemptClosed(closed_message(attempt))


def _write(
    session: Session,
    row: AttemptItem,
    answer: object,
    revision: int,
    now: datetime,
    field: str | None,
) -> Saved:
    """The conditional write: only over the revision the learner's page showed."""
    saved = session.execute(
        update(AttemptItem)
        .where(AttemptItem.id == row.id, AttemptItem.revision == revision)
        .values(answer=answer, revision=AttemptItem.revision + 1, answered_at=now)
        .returning(AttemptItem.revision)
        .execution_options(synchronize_session=False)
    ).scalar()
    if saved is None:
        session.refresh(row)
        if row.answer == answer:
            # Saved already, from this page's other path (its form and its script raced)
            # or from another tab: nothing would be overwritten, so nothing is refused.
            return Saved(item_id=row.id, revision=row.revision)
        raise StaleAnswer(
            "This answer was changed in another window or tab after this page was loaded, "
            "so it was not overwritten. The page now shows the answer saved there.",
            field=field,
            current=row.answer,
            revision=row.revision,
        )
    item_id = row.id
    session.expire(row)
    return Saved(item_id=item_id, revision=int(saved))


@dataclass(frozen=True)
class Answer:
    """One answer of a page: the item, the answer in its own terms, the revision shown."""

    item_id: int
    answer: object
    revision: int
    field: str | None = None


@dataclass
class PageSaved:
    saved: list[Saved] = field(default_factory=list)
    #: The answers not written because they were changed elsewhere, with what is saved now.
    stale: list[StaleAnswer] = field(default_factory=list)
    #: Answers sent as they are already saved (nothing to write).
    unchanged: int = 0


def save_answers(
    session: Session, *, attempt: Attempt, answers: Sequence[Answer], now: datetime
) -> PageSaved:
    """Save the answers of one page: each answer that differs from the saved one. Every
    answer is checked first, so a page with an answer that does not fit its item saves
    nothing (DomainError naming its field). An answer changed elsewhere since the page was
    loaded is left as it is and reported (``PageSaved.stale``); the others are saved. A
    finished or overdue attempt refuses the page (AttemptClosed)."""
    rows = {
        row.id: row
        for row in session.scalars(
            select(AttemptItem).where(
                AttemptItem.attempt_id == attempt.id,
                AttemptItem.id.in_([a.item_id for a in answers]),
            )
        )
    }
    if any(a.item_id not in rows for a in answers):
        raise DomainError("That question is not part of this attempt.")
    contents = _contents(session, [rows[a.item_id].item_version_id for a in answers])
    for a in answers:
        _check_answer(contents[rows[a.item_id].item_version_id], a.answer, a.field)
    out = PageSaved()
    changed = [a for a in answers if rows[a.item_id].answer != a.answer]
    out.unchanged = len(answers) - len(changed)
    if not changed:
        return out
    _hold_or_refuse(session, attempt, now)
    for a in changed:
        try:
            out.saved.append(_write(session, rows[a.item_id], a.answer, a.revision, now, a.field))
        except StaleAnswer as stale:
            out.stale.append(stale)
    return out


def _contents(session: Session, version_ids: Sequence[int]) -> dict[int, ItemContent]:
    rows = session.execute(
        select(ItemVersion.id, ItemVersion.content).where(ItemVersion.id.in_(version_ids))
    )
    return {vid: item_from_data(content) for vid, content in rows}


# --- finishing: submit, close overdue, score ----------------------------------------------------


@dataclass
class Finished:
    attempt: Attempt
    #: False when the attempt was already finished (another request submitted or closed it).
    first: bool
    #: True when the attempt was closed at its deadline rather than submitted.
    timed_out: bool = False
    evidence: list[Evidence] = field(default_factory=list)
    completed: list[Completed] = field(default_factory=list)


def submit(session: Session, *, attempt: Attempt, now: datetime) -> Finished:
    """Submit the attempt: scored once, whatever the number of simultaneous submits (the
    first moves the status; the others get ``first=False`` and the same result). Finished
    at ``now``, or at the deadline when submitted within the grace. An attempt past its
    deadline plus grace is closed instead, with the answers saved by the deadline."""
    grace = attempt.assessment.grace_seconds
    if is_overdue(attempt, grace, now):
        closed = close_if_overdue(session, attempt, now)
        return closed or Finished(attempt, first=False, timed_out=True)
    finished_at = min(now, attempt.deadline) if attempt.deadline is not None else now
    moved = session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.status == AttemptStatus.IN_PROGRESS)
        .values(status=AttemptStatus.SUBMITTED, submitted_at=now, finished_at=finished_at)
        .execution_options(synchronize_session=False)
    )
    session.refresh(attempt)
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return Finished(attempt, first=False, timed_out=attempt.status == AttemptStatus.TIMED_OUT)
    return _score(session, attempt)


def close_if_overdue(session: Session, attempt: Attempt, now: datetime) -> Finished | None:
    """Close ``attempt`` if its deadline plus grace has passed: finished at the deadline,
    scored on the answers saved by then. None when it is not overdue (or another request
    closed it first)."""
    if not is_overdue(attempt, attempt.assessment.grace_seconds, now):
        return None
    assert attempt.deadline is not None
    moved = session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.status == AttemptStatus.IN_PROGRESS)
        .values(status=AttemptStatus.TIMED_OUT, finished_at=attempt.deadline)
        .execution_options(synchronize_session=False)
    )
    session.refresh(attempt)
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return None
    result = _score(session, attempt)
    result.timed_out = True
    return result


def close_overdue(
    session: Session,
    now: datetime,
    *,
    person_id: int | None = None,
    assessment_id: int | None = None,
) -> list[Finished]:
    """Close every attempt in progress whose deadline plus grace has passed (optionally
    only one person's, or one assessment's), whatever the browser does: each is finished at
    its deadline and scored on the answers saved by then. Run lazily before an attempt is
    read and by ``flask assessment close-overdue``."""
    stmt = select(Attempt).where(
        Attempt.status == AttemptStatus.IN_PROGRESS,
        Attempt.deadline.is_not(None),
        Attempt.deadline < now,
    )
    if person_id is not None:
        stmt = stmt.where(Attempt.person_id == person_id)
    if assessment_id is not None:
        stmt = stmt.where(Attempt.assessment_id == assessment_id)
    out = []
    for attempt in session.scalars(stmt.order_by(Attempt.id)).all():
        closed = close_if_overdue(session, attempt, now)
        if closed is not None:
            out.append(closed)
    return out


def _score(session: Session, attempt: Attempt) -> Finished:
    """Mark every item of a just-finished attempt, set its result, and on a pass record
    the evidence it certifies and complete the learning modules linked to the assessment."""
    rows: list[Row] = list(
        session.execute(
            select(AttemptItem, ItemVersion.content, ItemVersion.competency_code)
            .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
            .where(AttemptItem.attempt_id == attempt.id)
            .order_by(AttemptItem.position)
        ).all()
    )
    scored = []
    for row, content, competency in rows:
        row.marks, row.max_marks = score_item(item_from_data(content), row.answer)
        if row.scored:
            scored.append((competency, row.marks, row.max_marks))
    attempt.marks = sum(m for _, m, _ in scored)
    attempt.max_marks = sum(mx for _, _, mx in scored)
    attempt.passed = passed(attempt.marks, attempt.max_marks, attempt.pass_percent)
    assessment = attempt.assessment
    certifies = {c.competency_code: c.level for c in assessment.certifies}
    levels = certified_levels(attempt.passed, certifies, competency_scores(scored))
    attempt.certified = levels
    session.flush()
    result = Finished(attempt, first=True)
    if not attempt.passed:
        return result
    assert attempt.finished_at is not None
    on = clock.day_of(attempt.finished_at)
    note = (
        f"Passed {assessment.title} (attempt {attempt.number}: "
        f"{attempt.marks} of {attempt.max_marks})"
    )
    for code, level in levels.items():
        try:
            result.evidence.append(
                record_evidence(
                    session,
                    person_id=attempt.person_id,
                    competency_code=code,
                    level=level,
                    source=Source.ASSESSMENT,
                    achieved_on=on,
                    note=note,
                )
            )
        except DomainError as error:  # a code the published framework lacks: skip it
            log.warning("attempt %s: no evidence for %s: %s", attempt.id, code, error.message)
    result.completed = complete_assessment_module(
        session, person_id=attempt.person_id, assessment_code=assessment.code, passed_on=on
    )
    return result
