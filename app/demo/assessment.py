"""The demo organisation's assessment attempts: a few hundred finished attempts on the
shipped assessments, with score patterns real item statistics would show.

Who: for each published assessment (knowledge checks aside), the current holders of the
roles its learning path is meant for (the audience of the path whose module the
assessment completes); the attempts scale with the organisation (about one per person,
at most ``MAX_ATTEMPTS``) and are shared out by how many people each assessment concerns,
the exam-format practice tests counting double. An assessment that is not loaded, or whose
bank has no published version, is simply skipped.

How they answer: every person has an ability and every item a difficulty, a
discrimination and a guessing floor (a three-parameter logistic model). A handful of items
per assessment are far too easy (facility above 0.9); one single-choice item looks
miskeyed — the stronger candidates pick one particular wrong option, the weaker ones the
key; abilities are shifted per assessment so that about 60–75% of first attempts pass.
Some who fail sit again (after the assessment's wait), better prepared; some who pass a
practice test sit it again to do better. The items a pattern is given to are among those
the assessment draws most often, so that they reach the responses a flag needs first.

The learning modules a pass completes are left as the learning demo set them (the demo's
enrolments decide which modules are complete); the evidence a pass certifies is recorded.

What is stored is what the attempt engine stores: the drawn item versions with their
display order and the answer in the item's own terms (``app.assessment.content.score_item``
shapes), each item's marks from ``score_item``, the attempt's marks, max marks and pass
(``content.passed``); a pass records ASSESSMENT evidence at the levels the certification
rule allows (``content.competency_scores`` and ``certified_levels``). The demo learner
(Priya Shah) has one failed and one passed attempt on the Foundation-format practice test.
Everything is drawn from the seed; rows go in with bulk inserts.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from app.assessment.attempts import presentation_for
from app.assessment.bank_queries import published_bank_version
from app.assessment.content import (
    AR_LETTERS,
    ASSERTION_REASON,
    MATCHING,
    MULTIPLE,
    SEQUENCING,
    SINGLE,
    TRUE_FALSE,
    ItemContent,
    SectionDraw,
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
    BankFormat,
    DrawUnit,
    ItemVersion,
)
from app.capability.models import Evidence
from app.framework.models import Competency, Source
from app.framework.versions import published_version
from app.learning.models import PathModule, PathStatus, PathVersion
from app.learning.models.paths import PathAudience
from app.org.models import AssignmentKind, Person, RoleAssignment

#: At most this many attempts, whatever the size of the organisation (20,000 people still
#: build in seconds).
MAX_ATTEMPTS = 1000
#: The share of first attempts that pass, aimed at ...
TARGET_PASS_RATE = 0.68
#: ... and the range it is kept within.
PASS_RATES = (0.6, 0.75)
#: The chance that someone who failed sits again (while attempts remain).
RETAKE_CHANCE = 0.6
#: The chance that someone who passed a practice test sits it again to do better.
PRACTICE_CHANCE = 0.3
#: How much more a practice test's audience counts when the attempts are shared out.
PRACTICE_WEIGHT = 2
#: How much better prepared someone is when they sit again.
RETAKE_GAIN = 0.7
#: Items per assessment made far too easy.
EASY_ITEMS = 5
#: The chance of leaving an item unanswered, for the weakest (less for the stronger).
SKIP_CHANCE = 0.03
#: The chance that a timed attempt is closed by the server at its deadline.
TIMEOUT_CHANCE = 0.04
#: Items' guessing floors by type (single: 0.6 over the number of options, since a
#: plausible wrong option draws those who do not know more than a blind guess would).
GUESS = {MULTIPLE: 0.05, TRUE_FALSE: 0.5, ASSERTION_REASON: 0.2, MATCHING: 0.05, SEQUENCING: 0.03}


@dataclass
class DemoAssessmentReport:
    assessments: int = 0
    attempts: int = 0
    passed: int = 0
    evidence: int = 0
    #: assessment code -> (attempts, passed)
    by_assessment: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Item:
    """A drawable item version with the parameters of the demo's response model."""

    id: int
    content: ItemContent
    scenario: int | None
    difficulty: float
    slope: float
    guess: float
    #: the wrong option the stronger candidates choose (the miskeyed-looking item)
    trap: int | None = None
    #: the wrong option most often chosen
    lure: int = 0


@dataclass
class _Form:
    """What one assessment needs to draw and mark an attempt."""

    assessment: Assessment
    sections: list[tuple[AssessmentSection, list[_Item]]]
    certifies: dict[str, int]
    foundation: bool
    #: an exam-format practice test (foundation or practitioner format): people sit it
    #: again to do better even after a pass, and it concerns more people
    practice: bool = False
    shift: float = 0.0
    #: per section, the units it may draw (``_units``), worked out once
    units: list[list[list[_Item]]] = field(default_factory=list)

    def prepare(self) -> None:
        self.units = [_units(section, items) for section, items in self.sections]


@dataclass
class _Sitting:
    person_id: int
    number: int
    ability: float
    started_at: datetime


def seed_assessment_attempts(
    session: Session,
    *,
    seed: int,
    now: datetime,
    people: int,
    learner_person_id: int | None,
) -> DemoAssessmentReport:
    """Finished attempts on the published assessments (see the module docstring)."""
    report = DemoAssessmentReport()
    rng = random.Random(seed * 7919 + 11)
    forms = _forms(session, rng)
    if not forms:
        return report
    audience = _audiences(session, [f.assessment for f in forms])
    abilities: dict[int, float] = {}
    comp_ids = _competency_ids(session)
    budget = max(1, min(people, MAX_ATTEMPTS))
    weights = [
        len(audience.get(f.assessment.id, ())) * (PRACTICE_WEIGHT if f.practice else 1)
        for f in forms
    ]
    total_weight = sum(weights) or 1
    learner_form = _learner_form(forms, audience, learner_person_id)
    writer = _Writer(session, comp_ids)
    for form, weight in zip(forms, weights, strict=True):
        candidates = sorted(audience.get(form.assessment.id, set()) - {learner_person_id})
        quota = min(
            len(candidates), round(budget / (1 + RETAKE_CHANCE / 3) * weight / total_weight)
        )
        takers = rng.sample(candidates, quota) if quota else []
        for pid in takers:
            abilities.setdefault(pid, rng.gauss(0.0, 1.0))
        form.shift = _calibrate(form, [abilities[p] for p in takers], rng)
        _sit_all(form, [(p, abilities[p]) for p in takers], now, rng, writer)
        if form is learner_form and learner_person_id is not None:
            _learner_attempts(form, learner_person_id, now, rng, writer)
    writer.flush(report)
    return report


# --- the assessments and their items --------------------------------------------------------


def _forms(session: Session, rng: random.Random) -> list[_Form]:
    """The published assessments that draw from published banks, knowledge checks aside,
    each with the items its sections may draw and their response-model parameters."""
    assessments = session.scalars(
        select(Assessment)
        .where(Assessment.status == AssessmentStatus.PUBLISHED)
        .options(selectinload(Assessment.sections), selectinload(Assessment.certifies))
        .order_by(Assessment.code)
    ).all()
    pools: dict[int, tuple[BankFormat, list[_Item]]] = {}
    forms = []
    for assessment in assessments:
        sections = []
        formats = set()
        for section in assessment.sections:
            if section.bank_id not in pools:
                pool = _pool(session, section.bank_id, rng)
                if pool is None:
                    break
                pools[section.bank_id] = pool
            bank_format, items = pools[section.bank_id]
            formats.add(bank_format)
            sections.append((section, items))
        else:
            form = _Form(
                assessment,
                sections,
                {c.competency_code: c.level for c in assessment.certifies},
                BankFormat.FOUNDATION in formats,
                bool(formats & {BankFormat.FOUNDATION, BankFormat.PRACTITIONER}),
            )
            if sections and formats != {BankFormat.KNOWLEDGE_CHECK} and _drawable(form):
                forms.append(form)
    for form in forms:
        _make_patterns(form, rng)
    for form in forms:
        form.prepare()
    return forms


def _pool(
    session: Session, bank_id: int, rng: random.Random
) -> tuple[BankFormat, list[_Item]] | None:
    version = published_bank_version(session, bank_id)
    if version is None:
        return None
    rows = session.execute(
        select(ItemVersion.id, ItemVersion.content, ItemVersion.scenario_version_id)
        .join(BankEntry, BankEntry.item_version_id == ItemVersion.id)
        .where(BankEntry.bank_version_id == version.id)
        .order_by(BankEntry.position)
    ).all()
    items = []
    for iv_id, content, scenario in rows:
        item = item_from_data(content)
        options = len(item.options)
        items.append(
            _Item(
                id=iv_id,
                content=item,
                scenario=scenario,
                difficulty=min(rng.gauss(-0.6, 0.8), 0.5),
                slope=rng.uniform(1.3, 2.5),
                guess=0.6 / options
                if item.type == SINGLE and options
                else GUESS.get(item.type, 0.1),
                lure=rng.randrange(max(options, 1)),
            )
        )
    return version.format, items


def _make_patterns(form: _Form, rng: random.Random) -> None:
    """A handful of items far too easy and one single-choice item that looks miskeyed,
    among the items the assessment draws most often (so that they reach the responses a
    flag needs soonest). A bank's pool is shared: set once per item."""
    chance = _draw_chances(form)
    if not chance:
        return
    pool = {i.id: i for _, items in form.sections for i in items if i.id in chance}
    likely = sorted(pool.values(), key=lambda i: -chance[i.id])
    likely = [i for i in likely if chance[i.id] >= 0.9 * chance[likely[0].id]] or likely
    easy = rng.sample(likely, min(EASY_ITEMS, max(1, len(pool) // 10), len(likely)))
    replace = {i.id: dc_replace(i, difficulty=-2.8 - rng.random() / 2, slope=2.2) for i in easy}
    singles = [
        i
        for i in sorted(pool.values(), key=lambda i: -chance[i.id])
        if i.content.type == SINGLE and len(i.content.options) >= 3 and i.id not in replace
    ]
    if singles:
        odd = rng.choice([i for i in singles if chance[i.id] >= 0.9 * chance[singles[0].id]])
        key = odd.content.key()
        trap = next(n for n in range(len(odd.content.options)) if n != key)
        replace[odd.id] = dc_replace(odd, trap=trap)
    for _section, items in form.sections:
        items[:] = [replace.get(i.id, i) for i in items]


def _draw_chances(form: _Form) -> dict[int, float]:
    """Item id -> about how likely a form is to draw it (its section's count over the
    units the section admits)."""
    chance: dict[int, float] = {}
    for section, items in form.sections:
        units = _units(section, items)
        share = min(1.0, section.count / len(units)) if units else 0.0
        for unit in units:
            for item in unit:
                chance[item.id] = max(chance.get(item.id, 0.0), share)
    return chance


def _admits(section: AssessmentSection, item: _Item) -> bool:
    return SectionDraw(
        count=section.count,
        topics=frozenset(section.topics or ()),
        tags=frozenset(section.tags or ()),
        competencies=frozenset(section.competencies or ()),
    ).admits(item.content)


def _audiences(session: Session, assessments: Sequence[Assessment]) -> dict[int, set[int]]:
    """Assessment id -> the active people holding a role its path is meant for (everyone
    with a current role when no path names the assessment)."""
    holders: dict[int, set[int]] = defaultdict(set)
    for person_id, role_id in session.execute(
        select(RoleAssignment.person_id, RoleAssignment.role_id)
        .join(Person, Person.id == RoleAssignment.person_id)
        .where(
            RoleAssignment.kind == AssignmentKind.CURRENT,
            RoleAssignment.end_date.is_(None),
            Person.active.is_(True),
        )
    ):
        holders[role_id].add(person_id)
    modules = session.execute(
        select(PathModule.code, PathModule.assessment_code, PathAudience.role_id)
        .join(PathVersion, PathVersion.id == PathModule.version_id)
        .join(PathAudience, PathAudience.version_id == PathVersion.id)
        .where(PathVersion.status == PathStatus.PUBLISHED)
    ).all()
    everyone = set().union(*holders.values()) if holders else set()
    out = {}
    for a in assessments:
        roles = {
            role
            for code, assessment_code, role in modules
            if assessment_code == a.code or (a.module_code and code == a.module_code)
        }
        out[a.id] = set().union(*(holders[r] for r in roles)) if roles else set(everyone)
    return out


def _competency_ids(session: Session) -> dict[str, int]:
    framework = published_version(session)
    if framework is None:
        return {}
    return dict(
        session.execute(
            select(Competency.code, Competency.id).where(Competency.version_id == framework.id)
        ).all()
    )


def _learner_form(
    forms: list[_Form], audience: dict[int, set[int]], learner: int | None
) -> _Form | None:
    """The demo learner's assessment: the Foundation-format practice test (she has finished
    that path), else the first she is in the audience of."""
    if learner is None:
        return None
    mine = [f for f in forms if learner in audience.get(f.assessment.id, set())]
    return next((f for f in mine if f.foundation), mine[0] if mine else None)


# --- drawing and answering --------------------------------------------------------------------


def _draw(form: _Form, rng: random.Random) -> list[tuple[int, _Item, bool]]:
    """(section position, item, scored) as the attempt engine draws them
    (``app.assessment.attempts.draw``): section by section, ``count`` stand-alone items or
    whole scenarios admitted by the filters, none twice, ``unscored`` units chosen as
    unscored trial items, shuffled within the section when the assessment says so."""
    out: list[tuple[int, _Item, bool]] = []
    taken: set[int] = set()
    shuffle = form.assessment.shuffle_items
    for (section, _items), units in zip(form.sections, form.units, strict=True):
        groups = [g for g in units if not any(i.id in taken for i in g)] if taken else units
        chosen = rng.sample(groups, min(section.count, len(groups)))
        if not shuffle:
            chosen.sort(key=units.index)
        trial = set(rng.sample(range(len(chosen)), min(section.unscored, len(chosen))))
        for g, group in enumerate(chosen):
            for item in group:
                taken.add(item.id)
                out.append((section.position, item, g not in trial))
    return out


def _units(section: AssessmentSection, items: list[_Item]) -> list[list[_Item]]:
    """What a section draws from: admitted stand-alone items, or whole scenarios of which
    any item is admitted (their items in the bank's order)."""
    if section.unit == DrawUnit.SCENARIO:
        groups: dict[int, list[_Item]] = defaultdict(list)
        for item in items:
            if item.scenario is not None:
                groups[item.scenario].append(item)
        return [g for g in groups.values() if any(_admits(section, i) for i in g)]
    return [[i] for i in items if i.scenario is None and _admits(section, i)]


def _drawable(form: _Form) -> bool:
    """Whether every section finds as many units as it draws (else the engine would
    refuse to start the assessment, and the demo leaves it alone)."""
    taken: set[int] = set()
    for section, items in form.sections:
        groups = _units(section, [i for i in items if i.id not in taken])
        if len(groups) < section.count:
            return False
        taken |= {i.id for group in groups[: section.count] for i in group}
    return True


def _p_correct(item: _Item, ability: float) -> float:
    z = max(-30.0, min(30.0, item.slope * (ability - item.difficulty)))
    return item.guess + (1 - item.guess) / (1 + math.exp(-z))


def _answer(item: _Item, ability: float, centre: float, rng: random.Random) -> object:
    """A response in the item's own terms (``score_item``'s shapes); ``centre`` is the
    ability of a middling candidate on this form."""
    if rng.random() < SKIP_CHANCE / (1 + math.exp(ability)):
        return None
    content = item.content
    key = content.key()
    if item.trap is not None:  # the stronger (above the form's centre) choose the trap
        strong = 1 / (1 + math.exp(-2.5 * (ability - centre)))
        if rng.random() < 0.9 * strong:
            return item.trap
        return key if rng.random() < 0.6 else _wrong(item, rng)
    if rng.random() < _p_correct(item, ability):
        return list(key) if isinstance(key, list) else dict(key) if isinstance(key, dict) else key
    return _wrong(item, rng)


def _wrong(item: _Item, rng: random.Random) -> object:
    content = item.content
    key = content.key()
    if content.type == SINGLE:
        others = [n for n in range(len(content.options)) if n != key]
        lure = others[item.lure % len(others)]
        return lure if rng.random() < 0.35 else rng.choice(others)
    if content.type == MULTIPLE:
        return _wrong_multiple(content, rng)
    if content.type == TRUE_FALSE:
        return not key
    if content.type == ASSERTION_REASON:
        return rng.choice([letter for letter in AR_LETTERS if letter != key])
    if content.type == MATCHING and isinstance(key, dict) and len(key) >= 2:
        answer = dict(key)
        a, b = rng.sample(sorted(answer), 2)
        answer[a], answer[b] = answer[b], answer[a]
        return answer
    if content.type == SEQUENCING and isinstance(key, list) and len(key) >= 2:
        order = list(key)
        n = rng.randrange(len(order) - 1)
        order[n], order[n + 1] = order[n + 1], order[n]
        return order
    return None


def _wrong_multiple(content: ItemContent, rng: random.Random) -> list[int]:
    keyed = content.key()
    assert isinstance(keyed, list)
    key = list(keyed)
    wrong = [n for n in range(len(content.options)) if n not in key]
    roll = rng.random()
    if roll < 0.5 or not wrong:
        return sorted(rng.sample(key, len(key) - 1))
    answer = list(key)
    if roll < 0.8 or (content.select is not None and len(key) >= content.select):
        answer.remove(rng.choice(key))
    answer.append(rng.choice(wrong))
    return sorted(answer)


# --- attempts -------------------------------------------------------------------------------


def _calibrate(form: _Form, abilities: list[float], rng: random.Random) -> float:
    """The shift of abilities at which about TARGET_PASS_RATE of these people would pass
    (bisection; each person's chance of reaching the pass mark on a drawn form by the
    normal approximation of their score)."""
    sample = abilities[:100]
    if not sample:
        return 0.0
    draws = [[i for _, i, scored in _draw(form, rng) if scored] for _ in sample]
    percent = form.assessment.pass_percent

    def rate(shift: float) -> float:
        total = 0.0
        for ability, items in zip(sample, draws, strict=True):
            p = [_p_correct(i, ability + shift) for i in items]
            need = math.ceil(percent * len(items) / 100) - 0.5
            sd = math.sqrt(sum(x * (1 - x) for x in p)) or 1e-9
            total += 0.5 * math.erfc((need - sum(p)) / (sd * math.sqrt(2)))
        return total / len(sample)

    low, high = -4.0, 4.0
    for _ in range(14):
        mid = (low + high) / 2
        low, high = (low, mid) if rate(mid) >= TARGET_PASS_RATE else (mid, high)
    return (low + high) / 2


def _sit(
    form: _Form,
    person_id: int,
    ability: float,
    now: datetime,
    rng: random.Random,
    writer: _Writer,
) -> None:
    """A person's attempts: a first one, then (after a fail, sometimes; after a pass of
    a practice test, now and then) more, while the attempt limit allows and before today."""
    limit = form.assessment.attempt_limit or 3
    wait = timedelta(minutes=form.assessment.wait_minutes)
    started = now - timedelta(days=rng.uniform(20, 240))
    gain = 0.0
    for number in range(1, limit + 1):
        result = writer.attempt(form, _Sitting(person_id, number, ability + gain, started), rng)
        again = PRACTICE_CHANCE if result and form.practice else 0 if result else RETAKE_CHANCE
        if rng.random() >= again:
            return
        started = writer.last_finished + max(wait, timedelta(days=rng.uniform(1, 21)))
        gain += RETAKE_GAIN
        if started > now - timedelta(days=1):
            return


def _sit_all(
    form: _Form,
    takers: list[tuple[int, float]],
    now: datetime,
    rng: random.Random,
    writer: _Writer,
) -> None:
    """Everyone's attempts on one assessment; drawn again with abilities shifted (a few
    times at most) while the share of first attempts passed falls outside ``PASS_RATES``."""
    low, high = PASS_RATES
    for _ in range(8):
        mark = writer.mark()
        for person_id, ability in takers:
            _sit(form, person_id, ability, now, rng, writer)
        rate = writer.pass_rate(form.assessment.code, since=mark)
        if rate is None or low <= rate <= high:
            return
        writer.undo(mark)
        form.shift += 0.2 if rate < low else -0.2
    for person_id, ability in takers:
        _sit(form, person_id, ability, now, rng, writer)


def _learner_attempts(
    form: _Form, person_id: int, now: datetime, rng: random.Random, writer: _Writer
) -> None:
    """The demo learner: a failed attempt, then a passed one at least the wait later."""
    wait = max(timedelta(minutes=form.assessment.wait_minutes), timedelta(days=12))
    started = now - timedelta(days=40)
    for number, ability, wanted in ((1, -1.8, False), (2, 2.2, True)):
        sitting = _Sitting(person_id, number, ability - form.shift, started)
        for _ in range(50):
            if writer.attempt(form, sitting, rng, must_pass=wanted) is wanted:
                break
        started = writer.last_finished + wait


def _times(
    a: Assessment, sitting: _Sitting, rng: random.Random, may_time_out: bool
) -> tuple[datetime, datetime | None, datetime, bool]:
    """(started, deadline, finished, timed out): most submit well within the time; a few
    timed attempts are closed by the server at the deadline."""
    minutes = a.time_limit_minutes or 45
    started = sitting.started_at.replace(microsecond=0)
    deadline = started + timedelta(minutes=minutes) if a.time_limit_minutes else None
    if deadline is not None and may_time_out and rng.random() < TIMEOUT_CHANCE:
        return started, deadline, deadline, True
    return started, deadline, started + timedelta(minutes=minutes * rng.uniform(0.45, 0.95)), False


#: The attempt items' table: a Core insert of many rows skips the ORM's per-row work.
attempt_items = Attempt.metadata.tables[AttemptItem.__tablename__]


class _Writer:
    """Builds attempt, item and evidence rows, and inserts them in bulk."""

    def __init__(self, session: Session, comp_ids: dict[str, int]):
        self.session, self.comp_ids = session, comp_ids
        self.attempts: list[dict] = []
        self.items: list[list[dict]] = []
        self.evidence: list[dict] = []
        self.marks_cache: dict[tuple[int, str], int] = {}
        self.counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        #: when the attempt made last finished
        self.last_finished = datetime.min.replace(tzinfo=UTC)

    def mark(self) -> tuple[int, int]:
        return len(self.attempts), len(self.evidence)

    def undo(self, mark: tuple[int, int]) -> None:
        """Forget the attempts (and their evidence) made since ``mark``."""
        for row in self.attempts[mark[0] :]:
            counts = self.counts[row["code"]]
            counts[0] -= 1
            counts[1] -= row["passed"]
        del self.attempts[mark[0] :], self.items[mark[0] :], self.evidence[mark[1] :]

    def pass_rate(self, code: str, since: tuple[int, int]) -> float | None:
        """The share of first attempts at ``code`` made since ``since`` that passed."""
        made = [
            row["passed"]
            for row in self.attempts[since[0] :]
            if row["code"] == code and row["number"] == 1
        ]
        return sum(made) / len(made) if made else None

    def _marks(self, item: _Item, answer: object) -> int:
        key = (item.id, repr(answer))
        if key not in self.marks_cache:
            self.marks_cache[key] = score_item(item.content, answer)[0]
        return self.marks_cache[key]

    def attempt(
        self, form: _Form, sitting: _Sitting, rng: random.Random, must_pass: bool | None = None
    ) -> bool | None:
        """Draw, answer and mark one attempt; keep it unless ``must_pass`` is given and the
        result differs (the caller tries again). Returns whether it passed (None when
        discarded)."""
        a = form.assessment
        rows, scored = self._respond(form, sitting.ability + form.shift, rng)
        total, top = sum(m for _, m, _ in scored), len(scored)
        ok = passed(total, top, a.pass_percent)
        if must_pass is not None and ok is not must_pass:
            return None
        levels = certified_levels(ok, form.certifies, competency_scores(scored))
        started, deadline, finished, timed_out = _times(a, sitting, rng, must_pass is None)
        for row in rows:
            share = (row["position"] + 1) / len(rows)
            row["answered_at"] = (
                None if row["answer"] is None else started + (finished - started) * share
            )
        self.attempts.append(
            {
                "assessment_id": a.id,
                "person_id": sitting.person_id,
                "number": sitting.number,
                "status": AttemptStatus.TIMED_OUT if timed_out else AttemptStatus.SUBMITTED,
                "started_at": started,
                "deadline": deadline,
                "submitted_at": None if timed_out else finished,
                "finished_at": finished,
                "pass_percent": a.pass_percent,
                "marks": total,
                "max_marks": top,
                "passed": ok,
                "certified": levels,
                "code": a.code,  # not a column: dropped before the insert
            }
        )
        self.items.append(rows)
        counts = self.counts[a.code]
        counts[0] += 1
        counts[1] += ok
        note = f"Passed {a.title} (attempt {sitting.number}: {total} of {top})"
        self._evidence(sitting.person_id, levels, finished, note)
        self.last_finished = finished
        return ok

    def _respond(
        self, form: _Form, ability: float, rng: random.Random
    ) -> tuple[list[dict], list[tuple[str, int, int]]]:
        """The attempt's item rows, answered and marked by ``score_item``, and (competency,
        marks, max marks) of its scored items."""
        rows, scored = [], []
        for position, (section, item, is_scored) in enumerate(_draw(form, rng)):
            answer = _answer(item, ability, form.shift, rng)
            marks = self._marks(item, answer)
            rows.append(
                {
                    "position": position,
                    "section": section,
                    "item_version_id": item.id,
                    "scored": is_scored,
                    "presentation": presentation_for(
                        item.content, rng, shuffle=form.assessment.shuffle_options
                    ),
                    "answer": answer,
                    "revision": 0 if answer is None else 1,
                    "marks": marks,
                    "max_marks": 1,
                }
            )
            if is_scored:
                scored.append((item.content.competency, marks, 1))
        return rows, scored

    def _evidence(
        self, person_id: int, levels: dict[str, int], finished: datetime, note: str
    ) -> None:
        """ASSESSMENT evidence at the levels a pass certified, as the engine records it."""
        for code, level in levels.items():
            if code not in self.comp_ids:
                continue
            self.evidence.append(
                {
                    "person_id": person_id,
                    "competency_id": self.comp_ids[code],
                    "competency_code": code,
                    "source": Source.ASSESSMENT,
                    "level": level,
                    "achieved_on": finished.date(),
                    "expires_on": None,
                    "validated": True,
                    "status": None,
                    "note": note,
                    "link": None,
                    "certificate_code": None,
                    "recorded_by_id": None,
                    "responds_to_id": None,
                }
            )

    def flush(self, report: DemoAssessmentReport) -> None:
        if not self.attempts:
            return
        ids: list[int] = []
        rows = [{k: v for k, v in row.items() if k != "code"} for row in self.attempts]
        for chunk in _chunks(rows):
            ids += self.session.scalars(
                insert(Attempt)
                .returning(Attempt.id, sort_by_parameter_order=True)
                .execution_options(render_nulls=True),
                chunk,
            ).all()
        item_rows = [
            {**row, "attempt_id": attempt_id}
            for attempt_id, rows in zip(ids, self.items, strict=True)
            for row in rows
        ]
        for chunk in _chunks(item_rows, 5000):
            self.session.execute(insert(attempt_items), chunk)
        for chunk in _chunks(self.evidence):
            self.session.execute(insert(Evidence).execution_options(render_nulls=True), chunk)
        report.assessments = len(self.counts)
        report.attempts = len(self.attempts)
        report.passed = sum(1 for a in self.attempts if a["passed"])
        report.evidence = len(self.evidence)
        report.by_assessment = {code: (n, p) for code, (n, p) in sorted(self.counts.items())}


def _chunks(rows: list[dict], size: int = 2000):
    for i in range(0, len(rows), size):
        yield rows[i : i + size]
