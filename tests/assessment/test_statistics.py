"""Item statistics: facility, rest-score point-biserial, upper-lower, Cronbach's alpha
(KR-20), answer counts, flags, the tables by competency and by org unit, and the CSV and
XLSX exports — checked against an independent computation (numpy) on hand-made attempts."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import openpyxl
import pytest
from sqlalchemy import func, literal, select

from app.assessment import statistics as stats
from app.assessment import statistics_tables as tables
from app.assessment.banks import write_bank_version
from app.assessment.content import (
    BankContent,
    Choice,
    ItemContent,
    Option,
    Step,
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
    Item,
    ItemVersion,
)
from tests.factories import make_person, make_unit

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_numbers = itertools.count(1)


# --- building blocks (also used by test_statistics_views.py) -----------------------------------


def single(code: str, key: int, *, options: int = 4, competency: str = "GOV-01", texts=None):
    texts = texts or [f"Option {i + 1} of {code}" for i in range(options)]
    return ItemContent(
        id=code,
        type="single",
        topic="T1",
        competency=competency,
        level=2,
        stem=f"Which is right for {code}?",
        options=tuple(
            Option(text=t, rationale=f"Why {t}", correct=i == key) for i, t in enumerate(texts)
        ),
    )


def multiple(code: str, key: list[int], competency: str = "GOV-05"):
    return ItemContent(
        id=code,
        type="multiple",
        topic="T1",
        competency=competency,
        level=2,
        stem="Choose two.",
        select=2,
        options=tuple(
            Option(text=f"Choice {i}", rationale=f"Why {i}", correct=i in key) for i in range(4)
        ),
    )


def true_false(code: str, answer: bool, competency: str = "GOV-05"):
    return ItemContent(
        id=code,
        type="true-false",
        topic="T1",
        competency=competency,
        level=1,
        statement="An office may be virtual.",
        answer=answer,
        rationale_true="It may.",
        rationale_false="It may not.",
    )


def matching(code: str, competency: str = "GOV-05"):
    return ItemContent(
        id=code,
        type="matching",
        topic="T1",
        competency=competency,
        level=2,
        stem="Match them.",
        premises=(Choice("P1", "First"), Choice("P2", "Second"), Choice("P3", "Third")),
        responses=(Choice("R1", "One"), Choice("R2", "Two"), Choice("R3", "Three")),
        pairs=(("P1", "R1"), ("P2", "R2"), ("P3", "R3")),
        rationales=(("P1", "a"), ("P2", "b"), ("P3", "c")),
    )


def sequencing(code: str, competency: str = "GOV-05"):
    return ItemContent(
        id=code,
        type="sequencing",
        topic="T1",
        competency=competency,
        level=2,
        stem="Put them in order.",
        steps=tuple(Step(f"Step {i}", f"Because {i}") for i in range(4)),
    )


def make_bank(session, items, code: str | None = None) -> dict[str, int]:
    """Publish a bank of ``items``; item id -> item version id."""
    code = code or f"STAT-{next(_numbers)}"
    content = BankContent(
        code=code,
        title=f"Statistics bank {code}",
        format="foundation",
        author="Tests",
        topics=(("T1", "Topic one"),),
        items=tuple(items),
    )
    write_bank_version(session, content, publish=True)
    rows = session.execute(
        select(Item.code, ItemVersion.id)
        .join(ItemVersion, ItemVersion.item_id == Item.id)
        .where(Item.code.in_([i.id for i in items]))
    )
    return {c: i for c, i in rows}


def make_assessment(session, bank_code: str | None = None, *, title=None, code=None, count=1):
    from app.assessment.bank_queries import bank_by_code

    n = next(_numbers)
    assessment = Assessment(
        code=code or f"STATS-{n}",
        title=title or f"Statistics test {n}",
        status=AssessmentStatus.PUBLISHED,
        pass_percent=50,
    )
    if bank_code:
        bank = bank_by_code(session, bank_code)
        assert bank is not None
        assessment.sections = [AssessmentSection(position=0, bank_id=bank.id, count=count)]
    session.add(assessment)
    session.flush()
    return assessment


def make_attempt(
    session,
    assessment: Assessment,
    person,
    answers: dict[int, object],
    *,
    status: AttemptStatus = AttemptStatus.SUBMITTED,
    unscored: frozenset[int] = frozenset(),
) -> Attempt:
    """A finished attempt (or one in progress) answering ``answers`` (item version id ->
    answer), marked by ``score_item`` as the engine marks it."""
    number = 1 + (
        session.scalar(
            select(func.count()).where(
                Attempt.person_id == person.id, Attempt.assessment_id == assessment.id
            )
        )
        or 0
    )
    contents = {
        iv.id: item_from_data(iv.content)
        for iv in session.scalars(select(ItemVersion).where(ItemVersion.id.in_(answers)))
    }
    finished = status != AttemptStatus.IN_PROGRESS
    attempt = Attempt(
        assessment_id=assessment.id,
        person_id=person.id,
        number=number,
        status=status,
        started_at=T0 + timedelta(days=number),
        pass_percent=assessment.pass_percent,
    )
    total = top = 0
    for position, (iv_id, answer) in enumerate(answers.items()):
        marks, max_marks = score_item(contents[iv_id], answer)
        scored = iv_id not in unscored
        attempt.items.append(
            AttemptItem(
                position=position,
                item_version_id=iv_id,
                scored=scored,
                answer=answer,
                marks=marks if finished else None,
                max_marks=max_marks,
            )
        )
        if scored:
            total, top = total + marks, top + max_marks
    if finished:
        attempt.finished_at = attempt.started_at + timedelta(minutes=30)
        attempt.submitted_at = attempt.finished_at
        attempt.marks, attempt.max_marks = total, top
        attempt.passed = passed(total, top, assessment.pass_percent)
    session.add(attempt)
    session.flush()
    return attempt


# --- an independent computation --------------------------------------------------------------


def reference(matrix: np.ndarray) -> dict:
    """Facility, rest-score point-biserial and KR-20 of a complete 0/1 matrix (attempts x
    items), computed directly."""
    totals = matrix.sum(axis=1)
    k = matrix.shape[1]
    facility = matrix.mean(axis=0)
    disc = []
    for j in range(k):
        rest = totals - matrix[:, j]
        disc.append(float(np.corrcoef(matrix[:, j], rest)[0, 1]))
    alpha = k / (k - 1) * (1 - matrix.var(axis=0).sum() / totals.var())
    return {"facility": facility, "discrimination": disc, "alpha": alpha}


#: 8 attempts x 4 items (S1, S2, M1, T1): 1 = right.
PATTERN = np.array(
    [
        [1, 1, 1, 1],
        [1, 1, 1, 0],
        [1, 1, 0, 1],
        [1, 0, 1, 1],
        [0, 1, 1, 0],
        [1, 0, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 0],
    ]
)
RIGHT = {"S1": 1, "S2": 0, "M1": [0, 2], "T1": True}
WRONG = {"S1": 3, "S2": 2, "M1": [0, 1], "T1": False}


@pytest.fixture
def world(session):
    """A bank of four items, an assessment, eight people answering by PATTERN."""
    ids = make_bank(
        session,
        [
            single("S1", 1),
            single("S2", 0, options=3),
            multiple("M1", [0, 2]),
            true_false("T1", True),
        ],
    )
    assessment = make_assessment(session)
    people = [make_person() for _ in PATTERN]
    for person, row in zip(people, PATTERN, strict=True):
        answers = {
            ids[code]: (RIGHT if right else WRONG)[code]
            for code, right in zip(("S1", "S2", "M1", "T1"), row, strict=True)
        }
        make_attempt(session, assessment, person, answers)
    return ids, assessment, people


def by_code(result: stats.AssessmentStats) -> dict[str, stats.ItemStats]:
    return {i.code: i for i in result.items}


# --- the figures ---------------------------------------------------------------------------------


def test_facility_discrimination_and_alpha_match_an_independent_computation(session, world):
    _, assessment, _ = world
    result = stats.assessment_statistics(session, assessment.id, min_attempts=1)
    ref = reference(PATTERN)
    items = by_code(result)
    for j, code in enumerate(("S1", "S2", "M1", "T1")):
        assert items[code].responses == 8
        assert items[code].facility == pytest.approx(ref["facility"][j])
        assert items[code].discrimination == pytest.approx(ref["discrimination"][j])
    assert result.alpha == pytest.approx(ref["alpha"])
    assert (result.attempts, result.people) == (8, 8)
    assert result.mean_percent == pytest.approx(PATTERN.mean() * 100)


def test_discrimination_uses_the_rest_score_not_the_total(session, world):
    _, assessment, _ = world
    item = by_code(stats.assessment_statistics(session, assessment.id))["S1"]
    with_itself = float(np.corrcoef(PATTERN[:, 0], PATTERN.sum(axis=1))[0, 1])
    assert item.discrimination is not None
    assert item.discrimination < with_itself - 0.05


def test_upper_lower_compares_the_top_and_bottom_27_percent(session, world):
    _, assessment, _ = world
    items = by_code(stats.assessment_statistics(session, assessment.id))
    # 8 respondents: groups of round(8 x 0.27) = 2, by rest score (ties by attempt order)
    for j, code in enumerate(("S1", "S2", "M1", "T1")):
        rest = PATTERN.sum(axis=1) - PATTERN[:, j]
        order = sorted(range(8), key=lambda a, rest=rest: (rest[a], a))
        lower, upper = order[:2], order[-2:]
        expected = PATTERN[upper, j].mean() - PATTERN[lower, j].mean()
        assert items[code].upper_lower == pytest.approx(expected)


def test_only_finished_attempts_and_scored_items_count(session, world):
    ids, assessment, _ = world
    before = stats.assessment_statistics(session, assessment.id)
    late = make_person()
    answers = {ids[c]: RIGHT[c] for c in ("S1", "S2", "M1", "T1")}
    make_attempt(session, assessment, late, answers, status=AttemptStatus.IN_PROGRESS)
    # a finished attempt whose items are all unscored trial items adds no response
    make_attempt(session, assessment, make_person(), answers, unscored=frozenset(ids.values()))
    after = stats.assessment_statistics(session, assessment.id)
    assert [(i.code, i.responses, i.facility) for i in after.items] == [
        (i.code, i.responses, i.facility) for i in before.items
    ]
    assert after.alpha == before.alpha
    # a timed-out attempt is finished: it counts
    make_attempt(session, assessment, make_person(), answers, status=AttemptStatus.TIMED_OUT)
    assert by_code(stats.assessment_statistics(session, assessment.id))["S1"].responses == 9


def test_alpha_in_the_database_equals_alpha_from_pandas(session, world):
    _, assessment, _ = world
    summary = next(s for s in stats.assessment_summaries(session) if s.id == assessment.id)
    result = stats.assessment_statistics(session, assessment.id)
    assert summary.alpha == pytest.approx(result.alpha)
    assert (summary.attempts, summary.people) == (8, 8)
    assert summary.passed == sum(1 for row in PATTERN if row.sum() * 100 >= 50 * 4)


def test_sparse_forms_average_the_item_variances_over_attempts(session):
    """Attempts drawing different items: k is the mean items per attempt and the item
    variances are averaged over the attempts (the same in SQL and in pandas)."""
    ids = make_bank(session, [single(f"X{i}", 0) for i in range(5)])
    assessment = make_assessment(session)
    forms = [
        {"X0": 1, "X1": 1, "X2": 0},
        {"X0": 1, "X1": 0, "X3": 0},
        {"X1": 1, "X2": 1, "X4": 1},
        {"X0": 0, "X3": 1, "X4": 0, "X2": 1},
        {"X0": 1, "X1": 1, "X2": 1, "X3": 1},
        {"X4": 0, "X3": 0, "X1": 0},
    ]
    for form in forms:
        make_attempt(
            session,
            assessment,
            make_person(),
            {ids[c]: 0 if right else 1 for c, right in form.items()},
        )
    p = {c: np.mean([f[c] for f in forms if c in f]) for c in ids}
    var = {c: p[c] * (1 - p[c]) for c in ids}
    totals = np.array([sum(f.values()) for f in forms])
    k = np.mean([len(f) for f in forms])
    mean_item_var = np.mean([sum(var[c] for c in f) for f in forms])
    expected = k / (k - 1) * (1 - mean_item_var / totals.var())
    assert stats.assessment_statistics(session, assessment.id).alpha == pytest.approx(expected)
    summary = next(s for s in stats.assessment_summaries(session) if s.id == assessment.id)
    assert summary.alpha == pytest.approx(expected)


def test_no_attempts_gives_no_figures(session):
    assessment = make_assessment(session)
    result = stats.assessment_statistics(session, assessment.id)
    assert (result.attempts, result.items, result.alpha) == (0, (), None)
    summary = next(s for s in stats.assessment_summaries(session) if s.id == assessment.id)
    assert (summary.attempts, summary.alpha) == (0, None)


# --- the answers chosen --------------------------------------------------------------------------


def test_answers_chosen_for_each_item_type(session):
    items = [single("C1", 1), multiple("C2", [0, 2]), true_false("C3", False), matching("C4")]
    items.append(sequencing("C5"))
    ids = make_bank(session, items)
    assessment = make_assessment(session)
    key_match = {"P1": "R1", "P2": "R2", "P3": "R3"}
    swapped = {"P1": "R2", "P2": "R1", "P3": "R3"}
    responses = [
        (1, [0, 2], False, key_match, [0, 1, 2, 3]),
        (1, [0, 1], True, swapped, [1, 0, 2, 3]),
        (3, [2], False, swapped, [0, 1, 2, 3]),
        (None, None, None, None, None),
    ]
    for answers in responses:
        make_attempt(
            session,
            assessment,
            make_person(),
            {ids[c]: a for c, a in zip(("C1", "C2", "C3", "C4", "C5"), answers, strict=True)},
        )
    got = {i.code: i for i in stats.assessment_statistics(session, assessment.id).items}

    def counts(code):
        return [(a.label, a.key, a.chosen) for a in got[code].answers]

    assert counts("C1") == [
        ("A. Option 1 of C1", False, 0),
        ("B. Option 2 of C1", True, 2),
        ("C. Option 3 of C1", False, 0),
        ("D. Option 4 of C1", False, 1),
        ("No answer", False, 1),
    ]
    assert counts("C2") == [
        ("A. Choice 0", True, 2),
        ("B. Choice 1", False, 1),
        ("C. Choice 2", True, 2),
        ("D. Choice 3", False, 0),
        ("No answer", False, 1),
    ]
    assert counts("C3") == [("True", False, 1), ("False", True, 2), ("No answer", False, 1)]
    assert counts("C4") == [
        ("P1→R2, P2→R1, P3→R3", False, 2),
        ("P1→R1, P2→R2, P3→R3", True, 1),
        ("No answer", False, 1),
    ]
    assert counts("C5")[:2] == [("1, 2, 3, 4", True, 2), ("2, 1, 3, 4", False, 1)]
    assert got["C1"].facility == pytest.approx(0.5)


# --- the flags ------------------------------------------------------------------------------------


def test_flags_need_enough_responses():
    args = (0.99, -0.3, (), "single")
    assert stats.item_flags(49, *args, min_attempts=50) == ()
    assert stats.item_flags(50, *args, min_attempts=50) == (
        stats.MISKEYED,
        stats.TOO_EASY,
        stats.LOW_DISCRIMINATION,
    )


@pytest.mark.parametrize(
    ("facility", "discrimination", "flags"),
    [
        (0.24, 0.3, (stats.TOO_HARD,)),
        (0.25, 0.3, ()),
        (0.90, 0.3, ()),
        (0.91, 0.3, (stats.TOO_EASY,)),
        (0.6, 0.14, (stats.LOW_DISCRIMINATION,)),
        (0.6, 0.15, ()),
        (0.6, -0.01, (stats.MISKEYED, stats.LOW_DISCRIMINATION)),
        (1.0, None, (stats.TOO_EASY,)),
    ],
)
def test_flag_bounds(facility, discrimination, flags):
    assert stats.item_flags(60, facility, discrimination, (), "single", 50) == flags


def test_a_wrong_option_the_stronger_half_prefers_flags_the_key():
    key = stats.AnswerCount("1", "B", True, chosen=30, strong=10)
    lure = stats.AnswerCount("2", "C", False, chosen=25, strong=14)
    other = stats.AnswerCount("0", "A", False, chosen=5, strong=1)
    assert stats.item_flags(60, 0.5, 0.3, (key, lure, other), "single", 50) == (stats.MISKEYED,)
    fair = stats.AnswerCount("2", "C", False, chosen=25, strong=9)
    assert stats.item_flags(60, 0.5, 0.3, (key, fair, other), "single", 50) == ()


def test_an_item_the_stronger_candidates_get_wrong_is_flagged_miskeyed(session):
    """Weaker candidates choose the key (B), the stronger ones option C: negative
    discrimination, and the stronger half prefers a distractor."""
    ids = make_bank(session, [single("K1", 1)] + [single(f"G{i}", 0) for i in range(4)])
    assessment = make_assessment(session)
    for n in range(10):
        strong = n >= 5
        answers = {ids[f"G{i}"]: 0 if (strong or i < n % 2) else 1 for i in range(4)}
        answers[ids["K1"]] = 2 if strong else 1
        make_attempt(session, assessment, make_person(), answers)
    item = by_code(stats.assessment_statistics(session, assessment.id, min_attempts=10))["K1"]
    assert item.discrimination is not None and item.discrimination < 0
    assert stats.MISKEYED in item.flags
    c = next(a for a in item.answers if a.label.startswith("C."))
    b = next(a for a in item.answers if a.key)
    assert (c.strong, b.strong) == (5, 0)


def test_items_sort_flagged_first(session, world):
    _, assessment, _ = world
    result = stats.assessment_statistics(session, assessment.id, min_attempts=1)
    table = tables.items_table(result, "flag")
    flags = [len(row["flags"]) for row in table.rows]
    assert flags == sorted(flags, reverse=True) and flags[0] > 0
    by_facility = [row["facility"] for row in tables.items_table(result, "facility").rows]
    assert by_facility == sorted(by_facility)


# --- by competency and by org unit ---------------------------------------------------------------


@pytest.fixture
def org(session):
    """Group > North > North East; Group > South; one person placed in Group itself."""
    group = make_unit("Group")
    north = make_unit("North", parent=group)
    north_east = make_unit("North East", parent=north)
    south = make_unit("South", parent=group)
    ids = make_bank(
        session, [single("U1", 0, competency="GOV-01"), single("U2", 0, competency="STR-01")]
    )
    assessment = make_assessment(session)
    people = {
        "ne": [make_person(unit=north_east) for _ in range(3)],
        "s": [make_person(unit=south) for _ in range(2)],
        "g": [make_person(unit=group)],
    }
    # North East: U1 right 3/3, U2 right 1/3; South: U1 0/2, U2 2/2; Group: both right.
    for n, person in enumerate(people["ne"]):
        make_attempt(session, assessment, person, {ids["U1"]: 0, ids["U2"]: 0 if n == 0 else 1})
    for person in people["s"]:
        make_attempt(session, assessment, person, {ids["U1"]: 1, ids["U2"]: 0})
    make_attempt(session, assessment, people["g"][0], {ids["U1"]: 0, ids["U2"]: 0})
    return {"group": group, "north": north, "ne": north_east, "south": south}, assessment, people


def test_by_competency_gives_the_share_correct_weakest_first(session, org):
    _, assessment, _ = org
    table = tables.competency_table(session, assessment_id=assessment.id)
    rows = [(r["code"], r["responses"], r["people"], r["correct"]) for r in table.rows]
    assert rows == [("GOV-01", 6, 6, 67), ("STR-01", 6, 6, 67)]  # a tie: by code


def test_by_org_unit_top_level_then_a_units_children(session, org, monkeypatch):
    monkeypatch.setattr(tables, "MIN_CELL_RESPONSES", 1)
    units, assessment, _ = org
    scope = tables.unit_scope(session, unit=None)
    assert scope is not None
    table = tables.unit_table(session, scope, assessment_id=assessment.id)
    rows = {r["unit"]: r for r in table.rows}
    assert set(rows) == {"North", "South", "Group (placed directly)"}
    assert (rows["North"]["people"], rows["North"]["c:GOV-01"], rows["North"]["c:STR-01"]) == (
        3,
        100,
        33,
    )
    assert (rows["South"]["c:GOV-01"], rows["South"]["c:STR-01"], rows["South"]["correct"]) == (
        0,
        100,
        50,
    )
    assert rows["North"]["drill"] and not rows["South"]["drill"]
    inner = tables.unit_scope(session, unit=units["north"])
    assert inner is not None
    child_rows = tables.unit_table(session, inner, assessment_id=assessment.id).rows
    assert [r["unit"] for r in child_rows] == ["North East"]


def test_a_cell_needs_enough_responses(session, org):
    _, assessment, _ = org
    scope = tables.unit_scope(session, unit=None)
    assert scope is not None
    table = tables.unit_table(session, scope, assessment_id=assessment.id)
    assert all(r["c:GOV-01"] is None for r in table.rows)  # under MIN_CELL_RESPONSES
    assert {r["unit"]: r["correct"] for r in table.rows}["North"] == 67


def test_a_managers_units_and_people(session, org):
    units, assessment, people = org
    boss = make_person(unit=units["north"])
    units["north"].head_id = boss.id
    session.flush()
    scope = tables.unit_scope(session, unit=None, manager_person_id=boss.id)
    assert scope is not None and [u[1] for u in scope.units] == ["North"]
    assert tables.unit_scope(session, unit=units["ne"], manager_person_id=boss.id) is not None
    assert tables.unit_scope(session, unit=units["south"], manager_person_id=boss.id) is None
    mine = select(literal(people["ne"][0].id))
    table = tables.competency_table(session, assessment_id=assessment.id, people=mine)
    assert {r["code"]: (r["responses"], r["correct"]) for r in table.rows} == {
        "GOV-01": (1, 100),
        "STR-01": (1, 100),
    }


# --- exports --------------------------------------------------------------------------------------

HOSTILE = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTab", "\rReturn", '=HYPERLINK("x")']


def hostile_table() -> tables.StatTable:
    return tables.StatTable(
        name="t",
        title="Test",
        columns=(
            tables.Column("text", "Text"),
            tables.Column("n", "N", tables.COUNT),
            tables.Column("r", "R", tables.RATIO),
            tables.Column("p", "P", tables.PERCENT),
            tables.Column("f", "Flags", tables.FLAG_LIST),
        ),
        rows=tuple(
            {"text": text, "n": 3, "r": -0.25, "p": 40, "f": ("=bad",) if i == 0 else ()}
            for i, text in enumerate(HOSTILE)
        )
        + ({"text": "plain", "n": None, "r": None, "p": None, "f": ()},),
    )


def test_csv_quotes_formula_text_and_keeps_numbers():
    rows = list(csv.reader(io.StringIO(tables.table_csv(hostile_table()))))
    assert rows[0] == ["Text", "N", "R", "P (%)", "Flags"]
    assert [r[0] for r in rows[1:-1]] == ["'" + t for t in HOSTILE]
    assert rows[1][1:] == ["3", "-0.25", "40", "'=bad"]
    assert rows[-1] == ["plain", "", "", "", ""]


def test_xlsx_holds_no_formula_and_the_same_figures():
    book = openpyxl.load_workbook(io.BytesIO(tables.table_xlsx(hostile_table())))
    sheet = book.active
    cells = list(sheet.iter_rows(values_only=False))
    assert [c.value for c in cells[0]] == ["Text", "N", "R", "P (%)", "Flags"]
    for row, text in zip(cells[1:], HOSTILE, strict=False):
        # (XML keeps a carriage return as a line feed)
        assert row[0].data_type == "s" and row[0].value == "'" + text.replace("\r", "\n")
        assert [c.value for c in row[1:4]] == [3, -0.25, 40]
    assert cells[1][4].value == "'=bad" and cells[1][4].data_type == "s"
    assert all(c.data_type != "f" for row in cells for c in row)
    assert [c.value for c in cells[-1]] == ["plain", None, None, None, None]


def test_xlsx_drops_characters_a_workbook_cannot_hold():
    table = tables.StatTable("t", "Test", (tables.Column("text", "Text"),), ({"text": "a\x01b"},))
    sheet = openpyxl.load_workbook(io.BytesIO(tables.table_xlsx(table))).active
    assert sheet.cell(row=2, column=1).value == "ab"


def test_display_matches_the_csv_figures():
    for kind, value, shown, written in [
        (tables.RATIO, 0.5, "0.50", "0.50"),
        (tables.RATIO, -0.04, "-0.04", "-0.04"),
        (tables.PERCENT, 62, "62%", "62"),
        (tables.COUNT, 7, "7", "7"),
        (tables.RATIO, None, "–", ""),
    ]:
        assert tables.display(value, kind) == shown
        assert tables.csv_value(value, kind) == written
