"""The authoring use-cases: a bank's draft (created, items added, edited, retired, details),
published versions left untouched and immutable, publishing refused while a rule is broken
or an assessment could no longer draw, stale edits refused; GIFT imported into a new bank
or a draft; assessments built section by section, with stale edits refused and every
change checked against the banks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.assessment import authoring
from app.assessment import authoring_queries as queries
from app.assessment.bank_queries import bank_by_code, content_of, published_bank_version
from app.assessment.banks import write_bank_version
from app.assessment.content import (
    BankContent,
    Choice,
    ItemContent,
    Option,
    ScenarioContent,
    Step,
)
from app.assessment.definition import SectionDefinition
from app.assessment.gift import bank_to_gift, parse_gift
from app.assessment.models import (
    BankEntry,
    BankStatus,
    BankVersion,
    ImmutableVersionError,
    ItemVersion,
)
from app.errors import DomainError
from tests.factories import make_user
from tests.shipped import load_shipped_content

ROOT = Path(__file__).resolve().parents[2]
CURRICULA = ROOT / "curricula"
GIFT_FILES = Path(__file__).parent / "gift_files"
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


# --- a small bank with every item type ---------------------------------------------------------


def single(ident: str, topic: str = "A", competency: str = "GOV-01", **changes) -> ItemContent:
    item = ItemContent(
        id=ident,
        type="single",
        topic=topic,
        competency=competency,
        level=2,
        stem=f"Which statement about {ident} is right?",
        author="Test author",
        options=(
            Option("The right one", "Because it is right.", True),
            Option("A wrong one", "The misconception it catches."),
            Option("Another wrong one", "Another misconception."),
            Option("A third wrong one", "A third misconception."),
        ),
    )
    return replace(item, **changes)


def every_type(prefix: str = "TST") -> tuple[ItemContent, ...]:
    base = {"topic": "B", "competency": "GOV-05", "level": 2, "author": "Test author"}
    return (
        ItemContent(
            id=f"{prefix}-M-01",
            type="multiple",
            stem="Which two are logs?",
            options=(
                Option("Risk log", "A log.", True),
                Option("Issue log", "A log.", True),
                Option("Business case", "Not a log."),
                Option("Mandate", "Not a log."),
            ),
            select=2,
            **base,
        ),
        ItemContent(
            id=f"{prefix}-T-01",
            type="true-false",
            statement="A risk has not happened yet.",
            answer=True,
            rationale_true="Right: a risk is uncertain.",
            rationale_false="Wrong: that describes an issue.",
            **base,
        ),
        ItemContent(
            id=f"{prefix}-X-01",
            type="matching",
            stem="Match each log to what it records.",
            premises=(Choice("P1", "Risk log"), Choice("P2", "Issue log"), Choice("P3", "Lessons")),
            responses=(
                Choice("R1", "Uncertain events"),
                Choice("R2", "Events that happened"),
                Choice("R3", "What we learned"),
            ),
            pairs=(("P1", "R1"), ("P2", "R2"), ("P3", "R3")),
            rationales=(("P1", "Uncertain."), ("P2", "Happened."), ("P3", "Learned.")),
            **base,
        ),
        ItemContent(
            id=f"{prefix}-Q-01",
            type="sequencing",
            stem="Put the change steps in order.",
            steps=(
                Step("Log the request", "First it is recorded."),
                Step("Assess the impact", "Then assessed."),
                Step("Decide", "Then decided."),
                Step("Implement", "Last, implemented."),
            ),
            **base,
        ),
        ItemContent(
            id=f"{prefix}-R-01",
            type="assertion-reason",
            assertion="A PMO keeps the risk log.",
            reason="Risks need an owner.",
            answer="B",
            rationales=tuple((k, f"Why {k}.") for k in "ABCDE"),
            **base,
        ),
    )


def small_bank(code: str = "TST-BANK", **changes) -> BankContent:
    content = BankContent(
        code=code,
        title="A test bank",
        format="role",
        author="Test author",
        original_work=True,
        topics=(("A", "Topic A"), ("B", "Topic B")),
        items=tuple(single(f"{code[:3]}-S-{n:02d}") for n in range(1, 7)) + every_type(code[:3]),
    )
    return replace(content, **changes)


def shipped_framework(session) -> None:
    load_shipped_content(session)


@pytest.fixture
def trainer(app, session):
    shipped_framework(session)
    user = make_user(Permission.TRAINER)
    session.commit()
    return user


@pytest.fixture
def bank(session, trainer):
    """TST-BANK, published as version 1."""
    write_bank_version(session, small_bank(), actor_id=trainer.id, publish=True)
    session.commit()
    return bank_by_code(session, "TST-BANK")


def draft_of(session, bank) -> BankVersion:
    return queries.draft_of(session, bank.id)


# --- bank drafts ---------------------------------------------------------------------------------


def test_a_new_bank_starts_as_an_empty_draft(session, trainer):
    draft = authoring.create_bank(
        session,
        code="risk-bank",
        title="Risk",
        format="role",
        author="Me",
        topics=authoring.parse_topics("RSK: Risk logs\nISS: Issue logs"),
        original_work=True,
        actor_id=trainer.id,
    )
    assert (draft.bank.code, draft.number, draft.status) == ("RISK-BANK", 1, BankStatus.DRAFT)
    assert draft.topics == [["RSK", "Risk logs"], ["ISS", "Issue logs"]]
    with pytest.raises(DomainError, match="already a bank RISK-BANK") as caught:
        authoring.create_bank(
            session,
            code="RISK-BANK",
            title="Again",
            format="role",
            author="Me",
            topics=(("A", "a"),),
            original_work=True,
            actor_id=trainer.id,
        )
    assert caught.value.field == "code"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("RSK Risk", "Line 1: write each topic as CODE: name."),
        ("rsk: fine\n9X: bad", "Line 2: topic code '9X'"),
        ("A: one\nA: two", "Line 2: topic A is given twice."),
        ("   \n", "Give at least one topic."),
    ],
)
def test_topics_are_read_one_per_line(text, message):
    with pytest.raises(DomainError, match=message.replace("(", r"\(")):
        authoring.parse_topics(text)


def test_editing_an_item_makes_a_new_item_version_and_leaves_the_published_one(
    session, trainer, bank
):
    published = published_bank_version(session, bank.id)
    draft = authoring.open_draft(session, bank, actor_id=trainer.id)
    session.commit()
    assert content_of(session, draft).digest() == content_of(session, published).digest()
    with pytest.raises(DomainError, match="already has an open draft"):
        authoring.open_draft(session, bank, actor_id=trainer.id)
    shown = queries.item_in_version(session, draft, "TST-S-01")
    edited = replace(shown.item, stem="A clearer stem?")
    authoring.save_item(
        session, bank, edited, expected_version_id=shown.version_id, actor_id=trainer.id
    )
    session.commit()
    now = queries.item_in_version(session, draft, "TST-S-01")
    assert now.item.stem == "A clearer stem?" and now.number == 2
    old = queries.item_in_version(session, published, "TST-S-01")
    assert old.item.stem.startswith("Which statement") and old.version_id == shown.version_id
    # the other items kept their item versions
    assert session.scalar(select(func.count()).select_from(ItemVersion)) == 12
    # a second edit from the page read before the first is refused
    with pytest.raises(DomainError, match="TST-S-01 was changed by someone else"):
        authoring.save_item(
            session,
            bank,
            replace(shown.item, stem="Stale"),
            expected_version_id=shown.version_id,
            actor_id=trainer.id,
        )
    session.rollback()
    assert queries.item_in_version(session, draft, "TST-S-01").item.stem == "A clearer stem?"


def test_an_item_that_breaks_a_rule_is_refused_with_each_problem(session, trainer, bank):
    draft = authoring.open_draft(session, bank, actor_id=trainer.id)
    session.commit()
    broken = single("TST-NEW-01", topic="ZZZ", competency="NOPE-99")
    broken = replace(
        broken,
        options=tuple(replace(o, correct=True, rationale="") for o in broken.options[:2]),
    )
    with pytest.raises(authoring.ItemInvalid) as caught:
        authoring.save_item(session, bank, broken, expected_version_id=None, actor_id=trainer.id)
    keys = {p.key for p in caught.value.problems}
    assert {"options", "options[0].rationale", "topic", "competency"} <= keys
    session.rollback()
    assert queries.item_in_version(session, draft, "TST-NEW-01") is None


def test_new_items_need_an_unused_id_and_can_join_a_scenario(session, trainer):
    content = small_bank(
        scenarios=(
            ScenarioContent(
                "TST-SC1", "A case", "The case.", tuple(single(f"TST-C-{n}") for n in range(5))
            ),
        )
    )
    write_bank_version(session, content, actor_id=trainer.id)
    write_bank_version(session, small_bank("OTH-BANK"), actor_id=trainer.id, publish=True)
    session.commit()
    bank = bank_by_code(session, "TST-BANK")
    with pytest.raises(DomainError, match="Id OTH-S-01 is already used \\(bank OTH-BANK\\)"):
        authoring.save_item(
            session, bank, single("OTH-S-01"), expected_version_id=None, actor_id=trainer.id
        )
    session.rollback()
    authoring.save_item(
        session,
        bank,
        single("TST-C-9"),
        expected_version_id=None,
        scenario="TST-SC1",
        actor_id=trainer.id,
    )
    session.commit()
    scenario = content_of(session, draft_of(session, bank)).scenarios[0]
    assert [i.id for i in scenario.items][-1] == "TST-C-9"
    suggested = authoring.suggested_item_id(
        session, bank, content_of(session, draft_of(session, bank))
    )
    assert suggested.startswith("TST-BANK-")


def test_retiring_an_item_leaves_the_published_version_and_the_id_taken(session, trainer, bank):
    draft = authoring.open_draft(session, bank, actor_id=trainer.id)
    session.commit()
    token = queries.entry_version_id(session, draft, "TST-M-01")
    authoring.retire_item(session, bank, "TST-M-01", expected_version_id=token, actor_id=trainer.id)
    session.commit()
    assert queries.item_in_version(session, draft, "TST-M-01") is None
    published = published_bank_version(session, bank.id)
    assert queries.item_in_version(session, published, "TST-M-01") is not None
    with pytest.raises(DomainError, match="already used"):
        authoring.save_item(
            session,
            bank,
            replace(every_type()[0]),
            expected_version_id=None,
            actor_id=trainer.id,
        )


def test_publishing_is_refused_while_a_rule_is_broken_or_the_draft_changed(session, trainer, bank):
    draft = authoring.open_draft(session, bank, actor_id=trainer.id)
    session.commit()
    seen = draft.content_hash
    authoring.update_draft_details(
        session,
        bank,
        expected_hash=seen,
        title="A test bank, revised",
        author="Test author",
        original_work=False,
        topics=(("A", "Topic A"), ("B", "Topic B")),
        actor_id=trainer.id,
    )
    session.commit()
    with pytest.raises(DomainError, match="changed by someone else"):
        authoring.publish_draft(session, bank, expected_hash=seen, actor_id=trainer.id)
    session.rollback()
    fresh = draft_of(session, bank).content_hash
    with pytest.raises(DomainError, match="original_work"):
        authoring.publish_draft(session, bank, expected_hash=fresh, actor_id=trainer.id)
    session.rollback()
    with pytest.raises(DomainError, match="still used by items"):
        authoring.update_draft_details(
            session,
            bank,
            expected_hash=fresh,
            title="x",
            author="x",
            original_work=True,
            topics=(("A", "Topic A"),),
            actor_id=trainer.id,
        )
    session.rollback()
    authoring.update_draft_details(
        session,
        bank,
        expected_hash=fresh,
        title="A test bank, revised",
        author="Test author",
        original_work=True,
        topics=(("A", "Topic A"), ("B", "Topic B")),
        actor_id=trainer.id,
    )
    session.commit()
    version = authoring.publish_draft(
        session, bank, expected_hash=draft_of(session, bank).content_hash, actor_id=trainer.id
    )
    session.commit()
    versions = [(v.number, v.status) for v in queries.versions_of(session, bank.id)]
    assert versions == [(1, BankStatus.RETIRED), (2, BankStatus.PUBLISHED)]
    # published versions never change
    entry = session.scalars(
        select(BankEntry).where(BankEntry.bank_version_id == version.id)
    ).first()
    session.delete(entry)
    with pytest.raises(ImmutableVersionError):
        session.flush()
    session.rollback()


def test_publishing_is_refused_when_an_assessment_could_no_longer_draw(session, trainer, bank):
    assessment = authoring.create_assessment(
        session, code="TST-CHECK", title="Check", actor_id=trainer.id, now=NOW
    )
    authoring.save_section(
        session,
        assessment,
        SectionDefinition("TST-BANK", 6, topics=("A",)),
        position=None,
        expected_version=assessment.row_version,
        now=NOW,
    )
    authoring.open_draft(session, bank, actor_id=trainer.id)
    session.commit()
    draft = draft_of(session, bank)
    token = queries.entry_version_id(session, draft, "TST-S-01")
    authoring.retire_item(session, bank, "TST-S-01", expected_version_id=token, actor_id=trainer.id)
    session.commit()
    problems = authoring.publish_problems(session, bank, draft_of(session, bank))
    assert problems == [
        "Assessment TST-CHECK could no longer be drawn: section 1, count: the section asks 6 "
        "items, but bank TST-BANK holds 5 items admitted by topic A"
    ]
    with pytest.raises(DomainError, match="TST-CHECK could no longer be drawn"):
        authoring.publish_draft(
            session, bank, expected_hash=draft_of(session, bank).content_hash, actor_id=trainer.id
        )


def test_discarding_a_draft_keeps_the_published_version(session, trainer, bank):
    authoring.open_draft(session, bank, actor_id=trainer.id)
    session.commit()
    number = authoring.discard_draft(
        session, bank, expected_hash=draft_of(session, bank).content_hash
    )
    session.commit()
    assert number == 2 and draft_of(session, bank) is None
    assert published_bank_version(session, bank.id).number == 1


# --- GIFT import ---------------------------------------------------------------------------------


def defaults(**changes) -> authoring.ItemDefaults:
    return replace(authoring.ItemDefaults("GEN", "General", "INF-01", 2), **changes)


def test_a_moodle_export_imports_into_a_new_bank_with_one_message_per_question_left_out(
    session, trainer
):
    parsed = parse_gift((GIFT_FILES / "moodle_export.txt").read_bytes(), skip_unsupported=True)
    target = authoring.GiftTarget(
        code="MOODLE-RPT", title="Reporting", format="role", author="Me", original_work=True
    )
    plan = authoring.plan_gift_import(session, parsed, target=target, defaults=defaults())
    assert session.scalar(select(func.count()).select_from(BankVersion)) == 0  # nothing saved
    assert plan.new_bank and plan.added == len(parsed.questions)
    ids = [p.item.id for p in plan.items]
    assert "RPT-RAG-01" in ids  # the file's own [id:...]
    assert all(i == "RPT-RAG-01" or i.startswith("MOODLE-RPT-") for i in ids)
    assert {p.item.topic for p in plan.items} == {"GEN"}
    assert {p.item.competency for p in plan.items} == {"INF-01"}
    draft, made = authoring.import_gift(
        session, parsed, target=target, defaults=defaults(), actor_id=trainer.id
    )
    session.commit()
    assert (draft.bank.code, draft.status, draft.number) == ("MOODLE-RPT", BankStatus.DRAFT, 1)
    content = content_of(session, draft)
    assert len(list(content.all_items())) == len(made.items)
    assert content.topics == (("GEN", "General"),)
    rag = next(i for i in content.items if i.id == "RPT-RAG-01")
    assert rag.tags == ("rag", "reporting") and rag.name == "RAG status meaning"


def test_importing_a_banks_own_export_into_its_draft_changes_nothing(session, trainer, bank):
    published = published_bank_version(session, bank.id)
    text = bank_to_gift(content_of(session, published))
    parsed = parse_gift(text)
    draft, plan = authoring.import_gift(
        session,
        parsed,
        target=authoring.GiftTarget(bank="TST-BANK"),
        defaults=defaults(),
        actor_id=trainer.id,
    )
    session.commit()
    assert plan.replaced == 11 and plan.added == 0
    assert all(not p.notes and not p.problems for p in plan.items)
    assert draft.content_hash == published.content_hash
    assert session.scalar(select(func.count()).select_from(ItemVersion)) == 11


def test_an_import_into_another_bank_gives_ids_another_bank_holds_new_ones(session, trainer, bank):
    text = bank_to_gift(content_of(session, published_bank_version(session, bank.id)))
    target = authoring.GiftTarget(
        code="COPY-BANK", title="Copy", format="role", author="Me", original_work=True
    )
    plan = authoring.plan_gift_import(session, parse_gift(text), target=target, defaults=defaults())
    assert all(p.item.id.startswith("COPY-BANK-") for p in plan.items)
    assert "id TST-S-01 belongs to bank TST-BANK: imported as COPY-BANK-001" in plan.items[0].notes
    # the file's topics, competencies and levels are kept
    assert plan.items[0].item.topic == "A" and plan.items[0].item.competency == "GOV-01"


def test_a_plain_gift_item_without_rationales_is_imported_to_be_fixed_before_publishing(
    session, trainer
):
    parsed = parse_gift("::Q1::Which log records risks?{=Risk log ~Issue log ~Daily log ~Lessons}")
    target = authoring.GiftTarget(
        code="PLAIN-BANK", title="Plain", format="role", author="Me", original_work=True
    )
    draft, plan = authoring.import_gift(
        session, parsed, target=target, defaults=defaults(), actor_id=trainer.id
    )
    session.commit()
    (planned,) = plan.items
    assert any("every option needs a rationale" in p for p in planned.problems)
    problems = authoring.publish_problems(session, draft.bank, draft)
    assert any(p.startswith("Item PLAIN-BANK-001: options[0].rationale:") for p in problems)


def test_import_checks_the_target_and_the_defaults(session, trainer, bank):
    parsed = parse_gift("::Q1::A?{=a ~b ~c}")
    with pytest.raises(DomainError, match="already a bank TST-BANK"):
        authoring.plan_gift_import(
            session,
            parsed,
            target=authoring.GiftTarget(code="TST-BANK", title="x"),
            defaults=defaults(),
        )
    with pytest.raises(DomainError, match="competency of the framework") as caught:
        authoring.plan_gift_import(
            session,
            parsed,
            target=authoring.GiftTarget(bank="TST-BANK"),
            defaults=defaults(competency="NOPE-01"),
        )
    assert caught.value.field == "competency"


# --- assessments ---------------------------------------------------------------------------------


def test_an_assessment_is_built_and_every_change_checked_against_the_bank(session, trainer, bank):
    a = authoring.create_assessment(
        session, code="tst-check", title="A check", actor_id=trainer.id, now=NOW
    )
    session.commit()
    assert (a.code, a.status.value, a.attempt_limit, a.wait_minutes) == (
        "TST-CHECK",
        "draft",
        3,
        1440,
    )
    v = a.row_version
    with pytest.raises(authoring.DefinitionInvalid, match="holds 6 items admitted by topic A"):
        authoring.save_section(
            session,
            a,
            SectionDefinition("TST-BANK", 7, topics=("A",)),
            position=None,
            expected_version=v,
            now=NOW,
        )
    session.rollback()
    authoring.save_section(
        session,
        a,
        SectionDefinition("TST-BANK", 5, topics=("A",), unscored=1),
        position=None,
        expected_version=v,
        now=NOW,
    )
    session.commit()
    assert a.row_version == v + 1
    with pytest.raises(authoring.DefinitionInvalid, match="no form can certify GOV-01"):
        authoring.save_certification(
            session, a, "GOV-01", 2, expected_version=a.row_version, now=NOW
        )
    session.rollback()
    authoring.save_section(
        session,
        a,
        SectionDefinition("TST-BANK", 6, topics=("A",)),
        position=0,
        expected_version=a.row_version,
        now=NOW,
    )
    authoring.save_certification(session, a, "GOV-01", 2, expected_version=a.row_version, now=NOW)
    authoring.update_settings(
        session,
        a,
        expected_version=a.row_version,
        now=NOW,
        status="published",
        time_limit_minutes=20,
    )
    session.commit()
    d = queries.definition_of(a)
    assert d.sections == (SectionDefinition("TST-BANK", 6, topics=("A",)),)
    assert (d.certifies, d.status, d.time_limit_minutes) == ((("GOV-01", 2),), "published", 20)


def test_a_stale_builder_form_is_refused(session, trainer, bank):
    a = authoring.create_assessment(session, code="TST-A", title="A", actor_id=trainer.id, now=NOW)
    session.commit()
    seen = a.row_version
    authoring.update_settings(session, a, expected_version=seen, now=NOW, pass_percent=70)
    session.commit()
    with pytest.raises(DomainError, match="changed by someone else since you opened") as caught:
        authoring.update_settings(session, a, expected_version=seen, now=NOW, pass_percent=40)
    assert caught.value.current()["pass_percent"] == 70  # the saved value, for the form
    session.rollback()
    assert a.pass_percent == 70


def test_settings_are_refused_out_of_bounds_and_published_needs_a_section(session, trainer):
    a = authoring.create_assessment(session, code="TST-B", title="B", actor_id=trainer.id, now=NOW)
    session.commit()
    with pytest.raises(authoring.DefinitionInvalid) as caught:
        authoring.update_settings(
            session,
            a,
            expected_version=a.row_version,
            now=NOW,
            status="published",
            pass_percent=0,
            feedback="after_close",
        )
    keys = [p.key for p in caught.value.problems]
    assert keys == ["pass_percent", "feedback", "sections"]
    session.rollback()
    assert a.status.value == "draft"


def test_removing_sections_and_certifications(session, trainer, bank):
    a = authoring.create_assessment(session, code="TST-C", title="C", actor_id=trainer.id, now=NOW)
    for section in (
        SectionDefinition("TST-BANK", 6, topics=("A",)),
        SectionDefinition("TST-BANK", 2, topics=("B",)),
    ):
        authoring.save_section(
            session, a, section, position=None, expected_version=a.row_version, now=NOW
        )
    authoring.save_certification(session, a, "GOV-01", 2, expected_version=a.row_version, now=NOW)
    session.commit()
    ids = [s.id for s in a.sections]
    authoring.remove_certification(session, a, "GOV-01", expected_version=a.row_version, now=NOW)
    authoring.remove_section(session, a, 0, expected_version=a.row_version, now=NOW)
    session.commit()
    d = queries.definition_of(a)
    assert d.sections == (SectionDefinition("TST-BANK", 2, topics=("B",)),) and d.certifies == ()
    assert [s.id for s in a.sections] == ids[:1]  # updated in place
