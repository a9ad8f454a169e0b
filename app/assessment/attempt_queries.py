"""Reading attempts for the learner's pages: the assessments a person may take, the start
page, the attempt page (the items as shown, never their keys), the result and the review,
and the lists of attempts and results.

What an unfinished attempt's page is built from (``ShownItem``) is copied field by field
from the item's content and holds no key, no rationale and no feedback: a template cannot
show what it is not given. The review (``ReviewItem``), which does hold them, is built only
when the feedback policy allows (``review_open``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from markupsafe import Markup
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload

from app.assessment import attempts as engine
from app.assessment.content import (
    AR_LETTERS,
    ASSERTION_REASON,
    ASSERTION_REASON_OPTIONS,
    CERTIFICATION_RULE,
    MATCHING,
    MULTIPLE,
    SCORING_RULE,
    SEQUENCING,
    SINGLE,
    TRUE_FALSE,
    TYPE_LABELS,
    ItemContent,
    competency_scores,
    item_from_data,
)
from app.assessment.models import (
    Assessment,
    AssessmentStatus,
    Attempt,
    AttemptItem,
    AttemptStatus,
    DrawUnit,
    FeedbackPolicy,
    ItemVersion,
    StimulusVersion,
)
from app.framework.models import Competency
from app.framework.versions import published_version
from app.learning.lessons import render_lesson
from app.org.models import Person

FEEDBACK_TEXT = {
    FeedbackPolicy.NONE: "Your score and its breakdown are shown; the answers are not.",
    FeedbackPolicy.AFTER_SUBMISSION: (
        "After you submit, you can review every question with the correct answer and why."
    ),
    FeedbackPolicy.AFTER_CLOSE: (
        "You can review the questions with the correct answers once the assessment closes."
    ),
}

STATUS_TEXT = {
    AttemptStatus.IN_PROGRESS: "In progress",
    AttemptStatus.SUBMITTED: "Submitted",
    AttemptStatus.TIMED_OUT: "Closed at the deadline",
}


# --- the assessments a person may take, and the start page --------------------------------------


def open_assessments(session: Session, now: datetime) -> list[Assessment]:
    """The published assessments open now, by title."""
    stmt = (
        select(Assessment)
        .where(Assessment.status == AssessmentStatus.PUBLISHED)
        .where((Assessment.opens_at.is_(None)) | (Assessment.opens_at <= now))
        .where((Assessment.closes_at.is_(None)) | (Assessment.closes_at > now))
        .order_by(Assessment.title, Assessment.id)
    )
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class AttemptLine:
    id: int
    assessment_id: int
    assessment_title: str
    number: int
    status: AttemptStatus
    started_at: datetime
    finished_at: datetime | None
    deadline: datetime | None
    marks: int | None
    max_marks: int | None
    passed: bool | None
    person_name: str = ""

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]

    @property
    def percent(self) -> int | None:
        if self.marks is None or not self.max_marks:
            return None
        return self.marks * 100 // self.max_marks


def _lines(rows: Sequence) -> list[AttemptLine]:
    return [
        AttemptLine(
            id=a.id,
            assessment_id=a.assessment_id,
            assessment_title=title,
            number=a.number,
            status=a.status,
            started_at=a.started_at,
            finished_at=a.finished_at,
            deadline=a.deadline,
            marks=a.marks,
            max_marks=a.max_marks,
            passed=a.passed,
            person_name=name,
        )
        for a, title, name in rows
    ]


def _attempt_rows() -> Select:
    """Rows of (attempt, assessment title, person's name)."""
    return (
        select(Attempt, Assessment.title, Person.first_name + " " + Person.last_name)
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .join(Person, Person.id == Attempt.person_id)
    )


def my_attempts(session: Session, person_id: int) -> list[AttemptLine]:
    """A person's attempts, the newest first."""
    rows = session.execute(
        _attempt_rows()
        .where(Attempt.person_id == person_id)
        .order_by(Attempt.started_at.desc(), Attempt.id.desc())
    ).all()
    return _lines(rows)


@dataclass(frozen=True)
class MyAssessment:
    assessment: Assessment
    used: int
    in_progress_id: int | None
    best_percent: int | None
    passed: bool


@dataclass(frozen=True)
class MyAssessmentsPage:
    open: list[MyAssessment]
    attempts: list[AttemptLine]


def my_assessments_page(session: Session, person_id: int, now: datetime) -> MyAssessmentsPage:
    attempts = my_attempts(session, person_id)
    by_assessment: dict[int, list[AttemptLine]] = {}
    for line in attempts:
        by_assessment.setdefault(line.assessment_id, []).append(line)
    out = []
    for assessment in open_assessments(session, now):
        mine = by_assessment.get(assessment.id, [])
        percents = [line.percent for line in mine if line.percent is not None]
        out.append(
            MyAssessment(
                assessment=assessment,
                used=len(mine),
                in_progress_id=next(
                    (line.id for line in mine if line.status == AttemptStatus.IN_PROGRESS), None
                ),
                best_percent=max(percents) if percents else None,
                passed=any(line.passed for line in mine),
            )
        )
    return MyAssessmentsPage(open=out, attempts=attempts)


@dataclass(frozen=True)
class SectionLine:
    title: str
    count: int
    unit: str


@dataclass(frozen=True)
class StartPage:
    assessment: Assessment
    sections: list[SectionLine]
    #: The questions of the item sections (a scenario section's depend on the cases drawn).
    items: int
    #: Whether every section draws items, so that ``items`` is the whole count.
    items_known: bool
    #: The cases (scenarios) the scenario sections draw.
    scenarios: int
    scored: int
    pass_marks: int | None
    used: int
    attempts_left: int | None
    in_progress_id: int | None
    refusal: str | None
    may_start_at: datetime | None
    certifies: list[tuple[str, str, int]]
    certification_rule: str = CERTIFICATION_RULE
    scoring_rule: str = SCORING_RULE

    @property
    def feedback_text(self) -> str:
        return FEEDBACK_TEXT[self.assessment.feedback]


def start_page(
    session: Session, assessment: Assessment, person_id: int, now: datetime
) -> StartPage:
    """What the start page says: the format, the rules, the attempts left, and whether (or
    when) the person may start."""
    past = engine.history(session, assessment_id=assessment.id, person_id=person_id)
    refusal = (
        None if past.in_progress_id is not None else engine.start_refusal(assessment, past, now)
    )
    sections = [
        SectionLine(s.title or f"Section {s.position + 1}", s.count, s.unit.value)
        for s in assessment.sections
    ]
    by_item = [s for s in assessment.sections if s.unit == DrawUnit.ITEM]
    items = sum(s.count for s in by_item)
    scored = sum(s.count - s.unscored for s in by_item)
    known = len(by_item) == len(assessment.sections)
    limit = assessment.attempt_limit
    names = competency_names(session, [c.competency_code for c in assessment.certifies])
    return StartPage(
        assessment=assessment,
        sections=sections,
        items=items,
        items_known=known,
        scenarios=sum(s.count for s in assessment.sections if s.unit == DrawUnit.SCENARIO),
        scored=scored,
        pass_marks=_pass_marks(assessment.pass_percent, scored) if known else None,
        used=past.count,
        attempts_left=None if limit is None else max(limit - past.count, 0),
        in_progress_id=past.in_progress_id,
        refusal=refusal.message if refusal is not None else None,
        may_start_at=getattr(refusal, "until", None),
        certifies=[
            (c.competency_code, names.get(c.competency_code, ""), c.level)
            for c in assessment.certifies
        ],
    )


def _pass_marks(pass_percent: int, max_marks: int) -> int:
    """The fewest marks that pass (``content.passed``: marks * 100 >= percent * max)."""
    return -(-pass_percent * max_marks // 100)


def competency_names(session: Session, codes: Sequence[str]) -> dict[str, str]:
    """Competency code -> name in the published framework (codes it lacks are left out)."""
    framework = published_version(session)
    if framework is None or not codes:
        return {}
    rows = session.execute(
        select(Competency.code, Competency.name).where(
            Competency.version_id == framework.id, Competency.code.in_(list(codes))
        )
    )
    return {code: name for code, name in rows}


# --- the attempt page: items as shown, never their keys -------------------------------------------


@dataclass(frozen=True)
class Shown:
    """A choice as shown: ``value`` is its place on the page (never its place in the bank)."""

    value: str
    text: str


@dataclass(frozen=True)
class Stimulus:
    """A scenario's case or a data pack, as shown above the items that use it."""

    id: int
    title: str
    body: Markup


@dataclass(frozen=True)
class ShownItem:
    """An item as the learner sees it, with their saved answer, and nothing of its key."""

    id: int
    number: int
    section: int
    type: str
    stem: Markup
    statement: Markup
    assertion: Markup
    reason: Markup
    #: single, multiple, true-false, assertion-reason: the options in the order shown
    options: tuple[Shown, ...]
    #: multiple: how many to choose, when the item says
    select: int | None
    #: matching: the premises (value: the premise's place) and the responses as shown
    premises: tuple[Shown, ...]
    responses: tuple[Shown, ...]
    #: sequencing: the steps as shown
    steps: tuple[Shown, ...]
    scenario: Stimulus | None
    data_pack: Stimulus | None
    revision: int
    #: The saved answer in the page's terms (see ``display_answer``); None when unanswered.
    chosen: object
    #: The order the attempt showed the choices in (``AttemptItem.presentation``) and the
    #: premise ids, to read a posted answer back into the item's terms. Never rendered.
    order: tuple = ()
    premise_ids: tuple[str, ...] = ()

    @property
    def type_label(self) -> str:
        return TYPE_LABELS[self.type]

    @property
    def answered(self) -> bool:
        return self.chosen is not None

    @property
    def field(self) -> str:
        """The name of the answer's form field (matching and sequencing add ``-<place>``)."""
        return f"a{self.id}"

    @property
    def positions(self) -> tuple[Shown, ...]:
        """Sequencing: the places a step can take, 1 to n."""
        return tuple(Shown(str(n), str(n)) for n in range(1, len(self.steps) + 1))


@lru_cache(maxsize=4096)
def _markdown(text: str) -> Markup:
    """Markdown as safe HTML; cached, since every learner of an assessment is shown the
    same few hundred stems and cases (a Markup is immutable)."""
    return render_lesson(text) if text else Markup("")


def _plain(text: str) -> Markup:
    """No rendering: for reading a posted answer, where nothing is shown."""
    return Markup("")


def shown_item(
    row: AttemptItem,
    item: ItemContent,
    number: int,
    scenario: Stimulus | None = None,
    data_pack: Stimulus | None = None,
    render: Callable[[str], Markup] = _markdown,
) -> ShownItem:
    """The item of an attempt as shown to its learner: only what the question needs."""
    order = tuple(row.presentation or ())
    options: tuple[Shown, ...] = ()
    premises: tuple[Shown, ...] = ()
    responses: tuple[Shown, ...] = ()
    steps: tuple[Shown, ...] = ()
    if item.type in (SINGLE, MULTIPLE):
        options = tuple(Shown(str(d), item.options[i].text) for d, i in enumerate(order))
    elif item.type == TRUE_FALSE:
        options = (Shown("true", "True"), Shown("false", "False"))
    elif item.type == ASSERTION_REASON:
        options = tuple(Shown(k, f"{k}. {v}") for k, v in ASSERTION_REASON_OPTIONS.items())
    elif item.type == MATCHING:
        text = {r.id: r.text for r in item.responses}
        premises = tuple(Shown(str(p), premise.text) for p, premise in enumerate(item.premises))
        responses = tuple(Shown(str(d), text[rid]) for d, rid in enumerate(order))
    elif item.type == SEQUENCING:
        steps = tuple(Shown(str(d), item.steps[i].text) for d, i in enumerate(order))
    return ShownItem(
        id=row.id,
        number=number,
        section=row.section,
        type=item.type,
        stem=render(item.stem),
        statement=render(item.statement),
        assertion=render(item.assertion),
        reason=render(item.reason),
        options=options,
        select=item.select if item.type == MULTIPLE else None,
        premises=premises,
        responses=responses,
        steps=steps,
        scenario=scenario,
        data_pack=data_pack,
        revision=row.revision,
        chosen=display_answer(item.type, order, [p.id for p in item.premises], row.answer),
        order=order,
        premise_ids=tuple(p.id for p in item.premises),
    )


def display_answer(kind: str, order: Sequence, premise_ids: Sequence[str], answer: object):
    """A saved answer (in the item's terms) in the page's terms: the value shown (single,
    true-false, assertion-reason), the values shown (multiple), premise place -> response
    value (matching), step value -> its position 1..n (sequencing). None when unanswered."""
    if answer is None:
        return None
    place = {v: str(d) for d, v in enumerate(order)}
    if kind == SINGLE:
        return place.get(answer)
    if kind == MULTIPLE and isinstance(answer, list):
        return {place[a] for a in answer if a in place} or None
    if kind == TRUE_FALSE:
        return "true" if answer is True else "false"
    if kind == ASSERTION_REASON:
        return str(answer)
    if kind == MATCHING and isinstance(answer, Mapping):
        where = {pid: str(p) for p, pid in enumerate(premise_ids)}
        return {where[k]: place[v] for k, v in answer.items() if k in where and v in place}
    if kind == SEQUENCING and isinstance(answer, list):
        return {place[step]: str(pos + 1) for pos, step in enumerate(answer) if step in place}
    return None


@dataclass(frozen=True)
class SectionTab:
    position: int
    title: str
    items: int
    answered: int


@dataclass
class AttemptPage:
    attempt: Attempt
    title: str
    sections: list[SectionTab]
    #: The section shown, or None for all on one page.
    section: int | None
    items: list[ShownItem]
    total: int
    answered: int
    deadline: datetime | None
    answers_close_at: datetime | None
    seconds_left: int | None
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def paged(self) -> bool:
        return len(self.sections) > 1

    @property
    def next_section(self) -> int | None:
        if self.section is None:
            return None
        later = [s.position for s in self.sections if s.position > self.section]
        return later[0] if later else None

    @property
    def previous_section(self) -> int | None:
        if self.section is None:
            return None
        earlier = [s.position for s in self.sections if s.position < self.section]
        return earlier[-1] if earlier else None


def sections_of(session: Session, attempt_id: int) -> list[int]:
    """The sections (positions) an attempt's items were drawn for, in order."""
    return list(
        session.scalars(
            select(AttemptItem.section)
            .where(AttemptItem.attempt_id == attempt_id)
            .distinct()
            .order_by(AttemptItem.section)
        )
    )


def _stimuli(session: Session, version_ids: set[int]) -> dict[int, Stimulus]:
    if not version_ids:
        return {}
    rows = session.scalars(select(StimulusVersion).where(StimulusVersion.id.in_(version_ids)))
    return {sv.id: Stimulus(sv.id, sv.title, _markdown(sv.body)) for sv in rows}


def _item_rows(session: Session, attempt_id: int, section: int | None = None) -> list:
    stmt = (
        select(AttemptItem, ItemVersion)
        .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
        .where(AttemptItem.attempt_id == attempt_id)
        .order_by(AttemptItem.position)
    )
    if section is not None:
        stmt = stmt.where(AttemptItem.section == section)
    return list(session.execute(stmt).all())


def shown_items(session: Session, attempt: Attempt, section: int | None) -> list[ShownItem]:
    """The items of ``attempt`` (of one section, or all) as the learner sees them."""
    rows = _item_rows(session, attempt.id)
    numbers = {row.id: n for n, (row, _v) in enumerate(rows, 1)}
    if section is not None:
        rows = [(row, v) for row, v in rows if row.section == section]
    stimuli = _stimuli(
        session,
        {v.scenario_version_id for _r, v in rows if v.scenario_version_id}
        | {v.data_pack_version_id for _r, v in rows if v.data_pack_version_id},
    )
    return [
        shown_item(
            row,
            item_from_data(v.content),
            numbers[row.id],
            stimuli.get(v.scenario_version_id) if v.scenario_version_id else None,
            stimuli.get(v.data_pack_version_id) if v.data_pack_version_id else None,
        )
        for row, v in rows
    ]


def readable_item(row: AttemptItem, item: ItemContent) -> ShownItem:
    """An item as shown, without rendering its text: for reading a posted answer back."""
    return shown_item(row, item, number=0, render=_plain)


def attempt_page(
    session: Session, attempt: Attempt, section: int | None, now: datetime
) -> AttemptPage:
    """The attempt page: the items of ``section`` (None: all), the sections with how many
    of their items are answered, and the time left by the server's clock."""
    assessment = attempt.assessment
    counts = session.execute(
        select(
            AttemptItem.section,
            func.count(),
            func.count(AttemptItem.answer),
        )
        .where(AttemptItem.attempt_id == attempt.id)
        .group_by(AttemptItem.section)
        .order_by(AttemptItem.section)
    ).all()
    titles = {s.position: s.title or f"Section {s.position + 1}" for s in assessment.sections}
    tabs = [
        SectionTab(pos, titles.get(pos, f"Section {pos + 1}"), n, answered)
        for pos, n, answered in counts
    ]
    closes = engine.answers_close_at(attempt, assessment.grace_seconds)
    left = None
    if attempt.deadline is not None:
        left = max(int((attempt.deadline - now).total_seconds()), 0)
    return AttemptPage(
        attempt=attempt,
        title=assessment.title,
        sections=tabs,
        section=section,
        items=shown_items(session, attempt, section),
        total=sum(t.items for t in tabs),
        answered=sum(t.answered for t in tabs),
        deadline=attempt.deadline,
        answers_close_at=closes,
        seconds_left=left,
    )


# --- the result and the review --------------------------------------------------------------------


def review_open(session: Session, assessment: Assessment, person_id: int, now: datetime) -> bool:
    """Whether the feedback policy lets a finished attempt's learner see the key and the
    rationales now: never (none), at once (after submission), or once the assessment has
    closed — its closing time passed, or it was retired. Never while the same person has
    another attempt in progress on the assessment: the items largely repeat, so the review
    of the last attempt would be the key to the current one."""
    if session.scalar(
        select(Attempt.id).where(
            Attempt.person_id == person_id,
            Attempt.assessment_id == assessment.id,
            Attempt.status == AttemptStatus.IN_PROGRESS,
        )
    ):
        return False
    if assessment.feedback == FeedbackPolicy.AFTER_SUBMISSION:
        return True
    if assessment.feedback == FeedbackPolicy.AFTER_CLOSE:
        closed = assessment.closes_at is not None and now >= assessment.closes_at
        return closed or assessment.status == AssessmentStatus.RETIRED
    return False


def review_note(assessment: Assessment) -> str:
    """Why the review is not shown (for a finished attempt whose review is closed)."""
    if assessment.feedback == FeedbackPolicy.AFTER_CLOSE:
        return "The questions and answers can be reviewed once the assessment closes."
    return "This assessment does not show its answers; your score and breakdown are below."


@dataclass(frozen=True)
class Breakdown:
    label: str
    items: int
    marks: int
    max_marks: int
    name: str = ""
    meets_rule: bool = False
    certifies_level: int | None = None
    certified_level: int | None = None

    @property
    def percent(self) -> int:
        return self.marks * 100 // self.max_marks if self.max_marks else 0


@dataclass(frozen=True)
class ReviewLine:
    """One option, premise, step or fixed option of an item under review."""

    text: str
    chosen: bool = False
    correct: bool = False
    rationale: str = ""
    #: matching: the response chosen and the correct one; sequencing: positions
    chosen_text: str = ""
    correct_text: str = ""


@dataclass(frozen=True)
class ReviewItem:
    number: int
    type: str
    stem: Markup
    statement: Markup
    assertion: Markup
    reason: Markup
    lines: tuple[ReviewLine, ...]
    marks: int
    max_marks: int
    answered: bool
    feedback: Markup
    scenario: Stimulus | None = None

    @property
    def type_label(self) -> str:
        return TYPE_LABELS[self.type]


def review_item(row: AttemptItem, item: ItemContent, number: int, scenario=None) -> ReviewItem:
    """An item with the learner's answer, the key and every rationale: for the review."""
    return ReviewItem(
        number=number,
        type=item.type,
        stem=_markdown(item.stem),
        statement=_markdown(item.statement),
        assertion=_markdown(item.assertion),
        reason=_markdown(item.reason),
        lines=tuple(_review_lines(item, row)),
        marks=row.marks or 0,
        max_marks=row.max_marks,
        answered=row.answer is not None,
        feedback=_markdown(item.feedback),
        scenario=scenario,
    )


def _review_lines(item: ItemContent, row: AttemptItem) -> list[ReviewLine]:
    answer = row.answer
    order = list(row.presentation or ())
    if item.type in (SINGLE, MULTIPLE):
        chosen = set(answer if isinstance(answer, list) else [answer])
        return [
            ReviewLine(
                item.options[i].text,
                i in chosen,
                item.options[i].correct,
                item.options[i].rationale,
            )
            for i in order
        ]
    if item.type == TRUE_FALSE:
        return [
            ReviewLine("True", answer is True, item.answer is True, item.rationale_true),
            ReviewLine("False", answer is False, item.answer is False, item.rationale_false),
        ]
    if item.type == ASSERTION_REASON:
        why = dict(item.rationales)
        return [
            ReviewLine(f"{k}. {ASSERTION_REASON_OPTIONS[k]}", answer == k, item.answer == k, why[k])
            for k in AR_LETTERS
        ]
    if item.type == MATCHING:
        text = {r.id: r.text for r in item.responses}
        pairs, why = dict(item.pairs), dict(item.rationales)
        given = answer if isinstance(answer, Mapping) else {}
        return [
            ReviewLine(
                p.text,
                chosen=p.id in given,
                correct=given.get(p.id) == pairs.get(p.id),
                rationale=why.get(p.id, ""),
                chosen_text=text.get(given.get(p.id, ""), ""),
                correct_text=text.get(pairs.get(p.id, ""), ""),
            )
            for p in item.premises
        ]
    if item.type == SEQUENCING:
        placed = (
            {step: pos + 1 for pos, step in enumerate(answer)} if isinstance(answer, list) else {}
        )
        return [
            ReviewLine(
                s.text,
                chosen=i in placed,
                correct=placed.get(i) == i + 1,
                rationale=s.rationale,
                chosen_text=str(placed.get(i, "")),
                correct_text=str(i + 1),
            )
            for i, s in enumerate(item.steps)
        ]
    return []


@dataclass
class ResultPage:
    attempt: Attempt
    assessment: Assessment
    person_name: str
    status_text: str
    percent: int
    pass_marks: int
    unscored: int
    sections: list[Breakdown]
    competencies: list[Breakdown]
    certified: list[tuple[str, str, int]]
    review: list[ReviewItem] | None
    review_note: str
    certification_rule: str = CERTIFICATION_RULE
    scoring_rule: str = SCORING_RULE


def result_page(
    session: Session, attempt: Attempt, *, show_review: bool, person_name: str = ""
) -> ResultPage:
    """A finished attempt's result: the score against the pass mark, the breakdown by
    section and by competency (scored items only) with the certification rule applied, what
    the attempt certified, and the review when ``show_review`` (the caller applies the
    feedback policy)."""
    assessment = attempt.assessment
    rows = _item_rows(session, attempt.id)
    scored = [(row, v) for row, v in rows if row.scored]
    titles = {s.position: s.title or f"Section {s.position + 1}" for s in assessment.sections}
    by_section: dict[int, list[AttemptItem]] = {}
    for row, _v in scored:
        by_section.setdefault(row.section, []).append(row)
    sections = [
        Breakdown(
            titles.get(pos, f"Section {pos + 1}"),
            len(items),
            sum(r.marks or 0 for r in items),
            sum(r.max_marks for r in items),
        )
        for pos, items in sorted(by_section.items())
    ]
    scores = competency_scores((v.competency_code, r.marks or 0, r.max_marks) for r, v in scored)
    certifies = {c.competency_code: c.level for c in assessment.certifies}
    certified = attempt.certified or {}
    names = competency_names(session, sorted(set(scores) | set(certified)))
    competencies = [
        Breakdown(
            code,
            s.items,
            s.marks,
            s.max_marks,
            name=names.get(code, ""),
            meets_rule=s.meets_rule,
            certifies_level=certifies.get(code),
            certified_level=certified.get(code),
        )
        for code, s in scores.items()
    ]
    review = None
    if show_review:
        numbers = {row.id: n for n, (row, _v) in enumerate(rows, 1)}
        stimuli = _stimuli(
            session, {v.scenario_version_id for _r, v in rows if v.scenario_version_id}
        )
        review = [
            review_item(
                row,
                item_from_data(v.content),
                numbers[row.id],
                stimuli.get(v.scenario_version_id) if v.scenario_version_id else None,
            )
            for row, v in rows
        ]
    max_marks = attempt.max_marks or 0
    return ResultPage(
        attempt=attempt,
        assessment=assessment,
        person_name=person_name,
        status_text=STATUS_TEXT[attempt.status],
        percent=(attempt.marks or 0) * 100 // max_marks if max_marks else 0,
        pass_marks=_pass_marks(attempt.pass_percent, max_marks),
        unscored=len(rows) - len(scored),
        sections=sections,
        competencies=competencies,
        certified=[(code, names.get(code, ""), level) for code, level in sorted(certified.items())],
        review=review,
        review_note="" if show_review else review_note(assessment),
    )


# --- results for managers and trainers ----------------------------------------------------------


def results(session: Session, scope: Select | None, *, assessment_id: int | None = None) -> Select:
    """The finished attempts of the people in ``scope`` (a SELECT of person ids; None:
    everyone), newest first, as rows (attempt, assessment title, person name)."""
    stmt = _attempt_rows().where(Attempt.status != AttemptStatus.IN_PROGRESS)
    if scope is not None:
        stmt = stmt.where(Attempt.person_id.in_(scope))
    if assessment_id is not None:
        stmt = stmt.where(Attempt.assessment_id == assessment_id)
    return stmt.order_by(Attempt.finished_at.desc(), Attempt.id.desc())


def result_lines(rows: Sequence) -> list[AttemptLine]:
    return _lines(rows)


def assessments_with_results(session: Session) -> list[tuple[int, str]]:
    """(id, title) of the assessments that have any finished attempt, for a filter."""
    rows = session.execute(
        select(Assessment.id, Assessment.title)
        .where(
            Assessment.id.in_(
                select(Attempt.assessment_id).where(Attempt.status != AttemptStatus.IN_PROGRESS)
            )
        )
        .order_by(Assessment.title)
    )
    return [(i, t) for i, t in rows]


def attempt_with_assessment(session: Session, attempt_id: int) -> Attempt | None:
    return session.scalar(
        select(Attempt).where(Attempt.id == attempt_id).options(joinedload(Attempt.assessment))
    )
