"""What the demo's capability reports show on a fresh install, chosen on purpose.

The generated evidence is drawn near each person's requirement, and most of the gaps that
leaves are closed since (evidence.py), so the organisation mostly meets its roles; against
that a few findings are shaped in, so that every report has something worth looking at:

- **A unit short in risk management.** Digital Delivery's people mostly fall short of their
  roles' level in risk management (CTL-04): the weakest cell of that column in the org unit
  heatmap (its directorate the weakest directorate), while most other units meet it.
- **A single point of failure, and a gap.** In the Customer Portal Programme Office exactly
  one member can run the board secretariat (the SECRETARIAT function: GOV-04 at level 3 in
  curricula/office-functions.yaml), while two solid programme people cover everything else
  a programme office needs; the Operations Portfolio Hub, with the Net Zero Estates
  programme office that reports into it, has no one for capacity and resource management
  (CAPACITY: FIN-02 and STR-04 at level 3).
- **A bench.** A few people meet the whole profile of their next career step
  (``structure.CAREER_STEP``) without holding it, and several are one level short on one or
  two of its competencies; most of them have that role as a live target, their stated aim.
- **Movement.** Some of the demo manager's people closed gaps in the last three months, so
  a report as at three months ago differs from today for his subtree (evidence.py).

Data and pure choices only: ``plan_stories`` picks the people from the organisation the
builder made; evidence.py shapes their evidence and organisation.py adds the targets. The
competencies are read by the product's reports through their own rules; the tests in
tests/demo/test_demo_reports.py run those reports.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.demo.structure import CAREER_STEP

#: The demo logins' own gaps that a walkthrough closes, by their seat in
#: structure.DEMO_USERS: competency -> the highest level their evidence proves. The demo
#: trainer's role (R10) asks for PMO/P3O model & service design (GOV-05) at 2; the practice
#: assessment on it closes her gap (tests/browser/test_assessment_walkthrough.py).
LOGIN_GAPS: dict[str, dict[str, int]] = {"learning-member": {"GOV-05": 1}}

#: The department short in risk management, and the competency.
RISK_UNIT = "DT-DDL"
RISK_COMPETENCY = "CTL-04"
#: How far below their requirement its people are (drawn per person).
RISK_SHORTFALL = (1, 1, 2)
#: Elsewhere it is met, but for one in seven of a department's people (in departments of
#: four or more), one level short.
RISK_SLIP_EVERY = 7

#: The office where one member alone covers a function, and that function's competency
#: and level (SECRETARIAT in curricula/office-functions.yaml). Neither an assessment nor a
#: module nor a certificate proves GOV-04 at 3, so only the evidence shaped here covers it.
SINGLE_OFFICE = "CPP"
SINGLE_COMPETENCY = "GOV-04"
SINGLE_LEVEL = 3
#: Roles that need the function themselves come first when choosing who covers it.
SINGLE_PREFERRED = ("R07", "P06", "R04")
#: Who in that office covers every other function a programme office needs: two of its
#: senior people, programme managers first.
ALL_ROUNDERS = 2
ALL_ROUNDER_PREFERRED = ("R06", "R08", "R05", "P05")

#: The hub (and the office reporting into it) with no one for capacity management
#: (CAPACITY: FIN-02 and STR-04 at 3); STR-04 is held below 3 by all their members.
UNCOVERED_OFFICES = ("OPH", "NZE")
UNCOVERED_COMPETENCY = "STR-04"
UNCOVERED_LEVEL = 3

#: The career steps the bench is drawn from (current role -> the next one): every step of
#: structure.CAREER_STEP but into the roles that ask for level 5 somewhere.
BENCH_STEPS = {
    role: step for role, step in CAREER_STEP.items() if step not in ("R01", "R08", "P07")
}
#: The demo manager's department: part of his bench is his own people.
MANAGER_UNIT = "ST-EPO"
#: Departments and offices whose people carry another story and stay off the bench.
BENCH_EXCLUDED_UNITS = (RISK_UNIT,)
BENCH_EXCLUDED_OFFICES = (SINGLE_OFFICE, *UNCOVERED_OFFICES)


@dataclass(frozen=True)
class Holder:
    """Someone holding a current role, as the builder placed them."""

    person_id: int
    role: str
    department: str  # the department code their team sits in
    office: str | None  # the office code of their role, if any
    head: bool = False  # the head of a department
    #: a fixed demo login (their seat in structure.DEMO_USERS, "epo-member" …), whose own
    #: stories stay as they are
    login: str | None = None

    @property
    def fixed(self) -> bool:
        return self.login is not None


@dataclass(frozen=True)
class BenchPick:
    """A person placed on the bench of their next role: ready now (``short`` 0) or short by
    one level on ``short`` of its competencies; ``target`` when it is their stated aim."""

    person_id: int
    role: str
    next_role: str
    short: int
    target: bool


@dataclass
class StoryPlan:
    """Who carries which story (person ids), for evidence.py and the target assignments."""

    #: people whose risk management level falls short of their requirement: in the unit
    #: short of it, and the few elsewhere one level short
    risk_short: set[int] = field(default_factory=set)
    risk_slip: set[int] = field(default_factory=set)
    #: person -> competency -> the highest level their evidence may prove
    caps: dict[int, dict[str, int]] = field(default_factory=dict)
    #: person -> competency -> the lowest level their evidence proves
    floors: dict[int, dict[str, int]] = field(default_factory=dict)
    bench: list[BenchPick] = field(default_factory=list)
    #: the fixed demo logins: their own evidence is drawn as it always was, no gap closed
    #: since (their pages, and the walkthroughs that use them, rest on its gaps)
    logins: set[int] = field(default_factory=set)

    def cap(self, person_id: int, code: str, level: int) -> None:
        mine = self.caps.setdefault(person_id, {})
        mine[code] = min(level, mine.get(code, level))

    def floor(self, person_id: int, code: str, level: int) -> None:
        mine = self.floors.setdefault(person_id, {})
        mine[code] = max(level, mine.get(code, level))


def bench_sizes(people: int) -> tuple[int, int]:
    """(ready now, within reach): a few and several, growing with the organisation."""
    return max(3, people // 100), max(6, people // 50)


def plan_stories(
    holders: Sequence[Holder],
    *,
    seed: int,
    people: int,
    programme_needs: Mapping[str, int] | None = None,
) -> StoryPlan:
    """Choose the people of each story from the organisation's role holders.
    ``programme_needs`` is competency -> level: what covering every function a programme
    office needs takes (from the loaded office functions; the secretariat aside)."""
    plan = StoryPlan()
    rng = random.Random(seed * 7919 + 5)
    ordered = sorted(holders, key=lambda h: h.person_id)
    by_department: dict[str, list[Holder]] = {}
    for h in ordered:
        by_department.setdefault(h.department, []).append(h)
        if h.fixed:
            plan.logins.add(h.person_id)
        for code, level in LOGIN_GAPS.get(h.login or "", {}).items():
            plan.cap(h.person_id, code, level)
        if h.office in UNCOVERED_OFFICES:
            plan.cap(h.person_id, UNCOVERED_COMPETENCY, UNCOVERED_LEVEL - 1)
    for department, members in by_department.items():
        if department == RISK_UNIT:
            plan.risk_short.update(h.person_id for h in members)
        elif len(members) >= 4:
            plan.risk_slip.update(
                h.person_id
                for i, h in enumerate(members)
                if i % RISK_SLIP_EVERY == RISK_SLIP_EVERY // 2
            )
    _single_point(plan, [h for h in ordered if h.office == SINGLE_OFFICE], programme_needs or {})
    plan.bench = _bench(ordered, rng, people)
    return plan


def _single_point(plan: StoryPlan, office: list[Holder], needs: Mapping[str, int]) -> None:
    """One member covers the secretariat, the others stay below it; two senior members
    cover everything else the office needs."""
    if not office:
        return
    rank = {r: i for i, r in enumerate(SINGLE_PREFERRED)}
    covering = min(office, key=lambda h: (rank.get(h.role, len(rank)), h.person_id))
    for h in office:
        if h.person_id == covering.person_id:
            plan.floor(h.person_id, SINGLE_COMPETENCY, SINGLE_LEVEL)
        else:
            plan.cap(h.person_id, SINGLE_COMPETENCY, SINGLE_LEVEL - 1)
    senior = {r: i for i, r in enumerate(ALL_ROUNDER_PREFERRED)}
    for h in sorted(office, key=lambda h: (senior.get(h.role, len(senior)), h.person_id))[
        :ALL_ROUNDERS
    ]:
        for code, level in needs.items():
            if code != SINGLE_COMPETENCY:
                plan.floor(h.person_id, code, level)


def _bench(holders: Sequence[Holder], rng: random.Random, people: int) -> list[BenchPick]:
    """The ready and the nearly ready: one or two of them the demo manager's own people,
    the rest from across the organisation (never people carrying another story)."""
    eligible = [
        h
        for h in holders
        if h.role in BENCH_STEPS
        and not h.fixed
        and not h.head
        and h.department not in BENCH_EXCLUDED_UNITS
        and h.office not in BENCH_EXCLUDED_OFFICES
    ]
    rng.shuffle(eligible)
    own = [h for h in eligible if h.department == MANAGER_UNIT]
    others = [h for h in eligible if h.department != MANAGER_UNIT]
    ready_n, near_n = bench_sizes(people)
    ready = _take(own, others, 1, ready_n)
    # one of his people nearly ready too, when that leaves one of them off the bench
    near = _take(own, others, 1 if len(own) >= 2 else 0, near_n)
    picks = [BenchPick(h.person_id, h.role, BENCH_STEPS[h.role], 0, True) for h in ready]
    picks += [
        BenchPick(h.person_id, h.role, BENCH_STEPS[h.role], 1 + i % 2, i % 3 != 2)
        for i, h in enumerate(near)
    ]
    return picks


def _take(own: list[Holder], others: list[Holder], from_own: int, n: int) -> list[Holder]:
    """``n`` people, ``from_own`` of them from ``own`` when there are enough (either list
    makes up for the other); the people taken leave the lists."""
    first = min(from_own, len(own), n)
    taken = own[:first]
    del own[:first]
    rest = min(n - len(taken), len(others))
    taken += others[:rest]
    del others[:rest]
    more = min(n - len(taken), len(own))
    taken += own[:more]
    del own[:more]
    return taken
