"""Authoring learning paths (the use-cases): create, draft edits validated against the
published framework and the module type caps, publishing retires the previous version while
enrolments keep theirs, a published version is immutable, one draft at a time, discard,
retire, enrolment rules, the history; and the two shared reads, ``published_paths`` and
``modules_evidencing``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.errors import DomainError
from app.learning import authoring
from app.learning.authoring import ModuleFields
from app.learning.models import (
    Enrolment,
    EnrolmentRule,
    EnrolmentSource,
    LearningPath,
    ModuleType,
    PathChange,
    PathStatus,
    PathVersion,
)
from app.learning.path_queries import (
    content_of,
    current_draft,
    history,
    modules_evidencing,
    published_paths,
    published_version,
)
from tests.factories import make_person, make_user
from tests.learning.factories import M, make_path
from tests.shipped import load_shipped_content

CURRICULA = Path(__file__).resolve().parents[2] / "curricula"

LESSON = (
    "## Key ideas\n\n"
    + "A risk register earns its keep only when an owner acts on each entry before it bites. " * 14
    + "\n\n## Worked example\n\n"
    + "The office reviews the register each Monday and chases owners of stale entries. " * 6
    + "\n\n## Exercise\n\nReview one register you own and list three stale entries.\n"
)


def shipped_framework(session) -> None:
    load_shipped_content(session)


def fields(**changes) -> ModuleFields:
    values = {
        "title": "Keeping a risk register",
        "type": "e-learning",
        "hours": "1.5",
        "outcomes": ["Explain what a register is for.", "Apply the weekly review."],
        "evidences": {"CTL-04": 2},
        "lesson": LESSON,
        "optional": False,
        "requires": [],
    }
    values.update(changes)
    return ModuleFields(**values)


@pytest.fixture
def framework(app, session):
    shipped_framework(session)


@pytest.fixture
def trainer(framework):
    return make_user(Permission.TRAINER)


def new_path(session, trainer, code="RISK", modules=2) -> PathVersion:
    draft = authoring.create_path(
        session,
        code=code,
        title="Risk basics",
        summary="The basics of risk for PMO staff.",
        actor_id=trainer.id,
    )
    for i in range(modules):
        authoring.add_module(session, draft, fields(title=f"Part {i + 1}"), actor_id=trainer.id)
    session.commit()
    return draft


def published_path(session, trainer, code="RISK", modules=2) -> PathVersion:
    draft = new_path(session, trainer, code, modules)
    authoring.publish(session, draft, actor_id=trainer.id, note="First version.")
    session.commit()
    return draft


def codes(version: PathVersion) -> list[str]:
    return [m.code for m in sorted(version.modules, key=lambda m: m.position)]


# --- creating a path --------------------------------------------------------------------------


def test_create_path_opens_an_empty_draft_and_records_who(session, trainer):
    draft = authoring.create_path(
        session, code=" risk ", title="Risk  basics", summary="For PMO staff.", actor_id=trainer.id
    )
    session.commit()
    assert draft.path.code == "RISK"
    assert (draft.number, draft.status, draft.title) == (1, PathStatus.DRAFT, "Risk basics")
    (change,) = history(session, draft.path_id)
    assert (change.action, change.actor) == ("created", trainer.person.full_name)


@pytest.mark.parametrize(
    ("code", "message"), [("R", "capital letter then 1 to 11"), ("9ABC", "capital letter")]
)
def test_create_path_refuses_a_bad_code(session, trainer, code, message):
    with pytest.raises(DomainError) as caught:
        authoring.create_path(session, code=code, title="T", summary="S", actor_id=trainer.id)
    assert message in caught.value.message and caught.value.field == "code"


def test_create_path_refuses_a_code_in_use(session, trainer):
    new_path(session, trainer, modules=0)
    with pytest.raises(DomainError, match="already a path's code") as caught:
        authoring.create_path(session, code="RISK", title="T", summary="S", actor_id=trainer.id)
    assert caught.value.field == "code"


# --- modules ---------------------------------------------------------------------------------


def test_modules_get_the_next_code_in_order_and_hours_become_minutes(session, trainer):
    draft = new_path(session, trainer, modules=0)
    first = authoring.add_module(session, draft, fields(hours="0.25"), actor_id=trainer.id)
    second = authoring.add_module(
        session,
        draft,
        fields(type="on-the-job", hours=4, evidences={"CTL-04": 4}),
        actor_id=trainer.id,
    )
    assert (first.code, first.position, first.minutes) == ("RISK-01", 1, 15)
    assert (second.code, second.position, second.minutes, second.type) == (
        "RISK-02",
        2,
        240,
        ModuleType.ON_THE_JOB,
    )
    assert {e.competency_code: e.level for e in second.evidences} == {"CTL-04": 4}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"evidences": {"ZZZ-01": 1}}, "evidences", "Unknown competency code 'ZZZ-01'"),
        ({"evidences": {"CTL-04": 3}}, "evidences", "type e-learning can evidence (2)"),
        ({"type": "assessment", "evidences": {"CTL-04": 4}}, "evidences", "(3)"),
        ({"type": "on-the-job", "evidences": {"CTL-04": 5}}, "evidences", "(4)"),
        ({"evidences": {}}, "evidences", "evidences no competency"),
        ({"outcomes": ["Just one."]}, "outcomes", "1 learning outcome(s); give 2 to 4"),
        ({"hours": "1.1"}, "hours", "quarter hours"),
        ({"hours": "41"}, "hours", "quarter hours"),
        ({"hours": "lots"}, "hours", "quarter hours"),
        ({"title": "  "}, "title", "Give the module's title"),
        ({"type": "webinar"}, "type", "Choose the module's type"),
        ({"requires": ["RISK-07"]}, "requires", "RISK-07, which is not in this path"),
    ],
)
def test_a_module_breaking_a_rule_is_refused_at_its_field(session, trainer, changes, field, words):
    draft = new_path(session, trainer, modules=1)
    with pytest.raises(DomainError) as caught:
        authoring.add_module(session, draft, fields(**changes), actor_id=trainer.id)
    assert caught.value.field == field
    assert words in caught.value.message
    session.rollback()
    assert len(session.get(PathVersion, draft.id).modules) == 1


def test_a_short_lesson_may_be_saved_but_not_published(session, trainer):
    draft = new_path(session, trainer, modules=1)
    authoring.add_module(
        session, draft, fields(lesson="## Key ideas\n\nTo do."), actor_id=trainer.id
    )
    session.commit()
    problems = authoring.publish_problems(session, draft)
    assert [p.key for p in problems] == ["modules[1].lesson"]
    expected = (
        r"Not published yet: RISK-02 Keeping a risk register: the lesson has 4 words; "
        r"write 250 to 600\."
    )
    with pytest.raises(DomainError, match=expected):
        authoring.publish(session, draft, actor_id=trainer.id)


def test_update_module_keeps_its_code_and_place(session, trainer):
    draft = new_path(session, trainer)
    row = authoring.update_module(
        session,
        draft,
        "RISK-02",
        fields(title="Reviewing the register", requires=["RISK-01"], evidences={"GOV-01": 1}),
        actor_id=trainer.id,
    )
    session.commit()
    assert (row.code, row.position, row.title, row.requires) == (
        "RISK-02",
        2,
        "Reviewing the register",
        ["RISK-01"],
    )
    assert {e.competency_code: e.level for e in row.evidences} == {"GOV-01": 1}
    assert history(session, draft.path_id)[0].action == "module edited"


def test_a_module_cannot_require_one_that_comes_later(session, trainer):
    draft = new_path(session, trainer)
    with pytest.raises(DomainError, match="RISK-02, which comes later") as caught:
        authoring.update_module(
            session, draft, "RISK-01", fields(requires=["RISK-02"]), actor_id=trainer.id
        )
    assert caught.value.field == "requires"


def test_move_module_up_and_down(session, trainer):
    draft = new_path(session, trainer, modules=3)
    assert authoring.move_module(session, draft, "RISK-03", -1, actor_id=trainer.id) == 2
    assert codes(draft) == ["RISK-01", "RISK-03", "RISK-02"]
    authoring.move_module(session, draft, "RISK-01", 1, actor_id=trainer.id)
    session.commit()
    assert codes(session.get(PathVersion, draft.id)) == ["RISK-03", "RISK-01", "RISK-02"]
    with pytest.raises(DomainError, match="already first"):
        authoring.move_module(session, draft, "RISK-03", -1, actor_id=trainer.id)


def test_a_module_never_moves_above_one_it_requires(session, trainer):
    draft = new_path(session, trainer)
    authoring.update_module(
        session, draft, "RISK-02", fields(requires=["RISK-01"]), actor_id=trainer.id
    )
    with pytest.raises(DomainError, match="RISK-02 requires RISK-01, so it must come after it"):
        authoring.move_module(session, draft, "RISK-02", -1, actor_id=trainer.id)
    with pytest.raises(DomainError, match="RISK-02 requires RISK-01"):
        authoring.move_module(session, draft, "RISK-01", 1, actor_id=trainer.id)


def test_remove_module_refused_while_another_requires_it(session, trainer):
    draft = new_path(session, trainer, modules=3)
    authoring.update_module(
        session, draft, "RISK-02", fields(requires=["RISK-01"]), actor_id=trainer.id
    )
    with pytest.raises(DomainError, match="RISK-02 requires RISK-01"):
        authoring.remove_module(session, draft, "RISK-01", actor_id=trainer.id)
    removed = authoring.remove_module(session, draft, "RISK-02", actor_id=trainer.id)
    assert removed == "Keeping a risk register"
    session.commit()
    draft = session.get(PathVersion, draft.id)
    assert codes(draft) == ["RISK-01", "RISK-03"]
    assert [m.position for m in sorted(draft.modules, key=lambda m: m.position)] == [1, 2]
    added = authoring.add_module(session, draft, fields(), actor_id=trainer.id)
    assert added.code == "RISK-04"  # a removed module's code is never given to another


# --- publishing, drafts, immutability ---------------------------------------------------------


def test_publish_makes_the_draft_current_and_retires_the_previous(session, trainer):
    first = published_path(session, trainer)
    assert first.status == PathStatus.PUBLISHED and first.published_by_id == trainer.id
    assert first.content_hash == content_of(session, first).digest()
    person = make_person()
    session.add(
        Enrolment(
            person_id=person.id,
            path_id=first.path_id,
            version_id=first.id,
            source=EnrolmentSource.HAND,
            due_on=date(2027, 1, 1),
        )
    )
    session.commit()
    draft = authoring.start_draft(session, first.path, actor_id=trainer.id)
    assert (
        draft.number == 2
        and content_of(session, draft).modules == content_of(session, first).modules
    )
    authoring.update_module(session, draft, "RISK-01", fields(title="Renamed"), actor_id=trainer.id)
    assert session.get(PathVersion, first.id).modules[0].title == "Part 1"
    authoring.publish(session, draft, actor_id=trainer.id, note="Renamed the first module.")
    session.commit()
    assert session.get(PathVersion, first.id).status == PathStatus.RETIRED
    assert session.get(PathVersion, first.id).retired_at is not None
    assert published_version(session, first.path_id).id == draft.id
    enrolment = session.scalar(select(Enrolment))
    assert enrolment.version_id == first.id
    assert enrolment.version.modules[0].title == "Part 1"
    actions = [h.action for h in history(session, first.path_id)]
    assert actions[:3] == ["published", "module edited", "draft opened"]
    assert "version 1 retired" in history(session, first.path_id)[0].detail


def test_only_one_draft_per_path(session, trainer):
    version = published_path(session, trainer)
    authoring.start_draft(session, version.path, actor_id=trainer.id)
    with pytest.raises(DomainError, match="Draft version 2 is already open"):
        authoring.start_draft(session, version.path, actor_id=trainer.id)


IMMUTABLE_CASES = {
    "details": lambda s, v, a: authoring.update_details(
        s, v, title="X", summary="Y", open_enrolment=False, audience=[], actor_id=a
    ),
    "add module": lambda s, v, a: authoring.add_module(s, v, fields(), actor_id=a),
    "update module": lambda s, v, a: authoring.update_module(s, v, "RISK-01", fields(), actor_id=a),
    "remove module": lambda s, v, a: authoring.remove_module(s, v, "RISK-02", actor_id=a),
    "move module": lambda s, v, a: authoring.move_module(s, v, "RISK-02", -1, actor_id=a),
    "add prerequisite": lambda s, v, a: authoring.add_prerequisite(
        s, v, certificate_codes=["P3O-F"], actor_id=a
    ),
    "remove prerequisite": lambda s, v, a: authoring.remove_prerequisite(s, v, 0, actor_id=a),
    "publish": lambda s, v, a: authoring.publish(s, v, actor_id=a),
    "discard": lambda s, v, a: authoring.discard_draft(s, v, actor_id=a),
}


@pytest.mark.parametrize("status", [PathStatus.PUBLISHED, PathStatus.RETIRED])
@pytest.mark.parametrize("case", sorted(IMMUTABLE_CASES))
def test_every_use_case_refuses_to_change_a_non_draft(session, trainer, case, status):
    version = published_path(session, trainer)
    if status == PathStatus.RETIRED:
        authoring.retire(session, version.path, actor_id=trainer.id)
        session.commit()
    before = content_of(session, version)
    with pytest.raises(DomainError, match=f"Version 1 is {status.value}: only a draft"):
        IMMUTABLE_CASES[case](session, version, trainer.id)
    session.rollback()
    assert content_of(session, session.get(PathVersion, version.id)) == before
    assert session.get(PathVersion, version.id).status == status


def test_discarding_a_draft_keeps_the_published_version(session, trainer):
    version = published_path(session, trainer)
    draft = authoring.start_draft(session, version.path, actor_id=trainer.id)
    session.commit()
    assert authoring.discard_draft(session, draft, actor_id=trainer.id) is not None
    session.commit()
    assert current_draft(session, version.path_id) is None
    assert published_version(session, version.path_id).id == version.id
    assert history(session, version.path_id)[0].action == "draft discarded"


def test_discarding_a_never_published_path_deletes_it(session, trainer):
    draft = new_path(session, trainer)
    authoring.add_rule(session, draft.path, role_code="R04", due_days=30, actor_id=trainer.id)
    assert authoring.discard_draft(session, draft, actor_id=trainer.id) is None
    session.commit()
    assert session.scalar(select(func.count()).select_from(LearningPath)) == 0
    assert session.scalar(select(func.count()).select_from(EnrolmentRule)) == 0


def test_retire_stops_offering_the_path(session, trainer):
    version = published_path(session, trainer)
    authoring.retire(session, version.path, actor_id=trainer.id)
    session.commit()
    assert published_version(session, version.path_id) is None
    assert published_paths(session) == []
    with pytest.raises(DomainError, match="no published version to retire"):
        authoring.retire(session, version.path, actor_id=trainer.id)
    draft = authoring.start_draft(session, version.path, actor_id=trainer.id)
    authoring.publish(session, draft, actor_id=trainer.id)
    assert [p.number for p in published_paths(session)] == [2]


# --- details and prerequisites ----------------------------------------------------------------


def test_update_details_sets_target_roles(session, trainer):
    draft = new_path(session, trainer)
    authoring.update_details(
        session,
        draft,
        title="Risk for coordinators",
        summary="For PMO coordinators.",
        open_enrolment=False,
        audience=["R04", "R03"],
        actor_id=trainer.id,
    )
    session.commit()
    content = content_of(session, draft)
    assert (content.title, content.open_enrolment, content.audience) == (
        "Risk for coordinators",
        False,
        ("R03", "R04"),
    )
    with pytest.raises(DomainError, match="Unknown roles: R99"):
        authoring.update_details(
            session,
            draft,
            title="T",
            summary="S",
            open_enrolment=True,
            audience=["R99"],
            actor_id=None,
        )


def test_prerequisites_sets_of_alternatives(session, trainer):
    base = published_path(session, trainer, code="BASE")
    draft = new_path(session, trainer, code="NEXT")
    authoring.add_prerequisite(
        session, draft, path_codes=["BASE"], certificate_codes=["P3O-F"], actor_id=trainer.id
    )
    authoring.add_prerequisite(session, draft, certificate_codes=["P3O-P"], actor_id=trainer.id)
    session.commit()
    assert content_of(session, draft).prerequisites == (
        (("certificate", "P3O-F"), ("path", "BASE")),
        (("certificate", "P3O-P"),),
    )
    with pytest.raises(DomainError, match="already has this prerequisite"):
        authoring.add_prerequisite(session, draft, certificate_codes=["P3O-P"], actor_id=None)
    with pytest.raises(DomainError, match="not in the framework's certificate catalogue") as caught:
        authoring.add_prerequisite(session, draft, certificate_codes=["NOPE"], actor_id=None)
    assert caught.value.field == "certificates"
    with pytest.raises(DomainError, match="cannot be a prerequisite of itself"):
        authoring.add_prerequisite(session, draft, path_codes=["NEXT"], actor_id=None)
    with pytest.raises(DomainError, match="Choose at least one"):
        authoring.add_prerequisite(session, draft, actor_id=None)
    assert authoring.remove_prerequisite(session, draft, 1, actor_id=trainer.id) == (
        ("certificate", "P3O-P"),
    )
    session.commit()
    assert len(content_of(session, draft).prerequisites) == 1
    assert base.status == PathStatus.PUBLISHED


def test_a_prerequisite_that_closes_a_circle_is_refused(session, trainer):
    first = published_path(session, trainer, code="AAA")
    second = new_path(session, trainer, code="BBB")
    authoring.add_prerequisite(session, second, path_codes=["AAA"], actor_id=trainer.id)
    authoring.publish(session, second, actor_id=trainer.id)
    draft = authoring.start_draft(session, first.path, actor_id=trainer.id)
    with pytest.raises(DomainError, match="go round in a circle: AAA → BBB → AAA"):
        authoring.add_prerequisite(session, draft, path_codes=["BBB"], actor_id=trainer.id)


def test_a_prerequisite_path_must_be_published(session, trainer):
    new_path(session, trainer, code="DRAFTY")
    draft = new_path(session, trainer, code="NEXT")
    with pytest.raises(DomainError, match="DRAFTY is not a published path"):
        authoring.add_prerequisite(session, draft, path_codes=["DRAFTY"], actor_id=trainer.id)


# --- enrolment rules ---------------------------------------------------------------------------


def test_enrolment_rules_add_edit_deactivate(session, trainer):
    version = published_path(session, trainer)
    rule = authoring.add_rule(
        session, version.path, role_code="R04", due_days=90, actor_id=trainer.id
    )
    with pytest.raises(DomainError, match="already has a rule for R04") as caught:
        authoring.add_rule(session, version.path, role_code="R04", due_days=30, actor_id=None)
    assert caught.value.field == "role"
    with pytest.raises(DomainError, match="from 1 to 730") as caught:
        authoring.add_rule(session, version.path, role_code="R03", due_days=0, actor_id=None)
    assert caught.value.field == "due_days"
    authoring.update_rule(session, rule, due_days=60, actor_id=trainer.id)
    authoring.set_rule_active(session, rule, False, actor_id=trainer.id)
    session.commit()
    rule = session.get(EnrolmentRule, rule.id)
    assert (rule.due_days, rule.active, rule.created_by_id) == (60, False, trainer.id)
    with pytest.raises(DomainError, match=r"\(inactive: reactivate it\)"):
        authoring.add_rule(session, version.path, role_code="R04", due_days=30, actor_id=None)
    actions = [h.action for h in history(session, version.path_id)][:3]
    assert actions == ["rule deactivated", "rule edited", "rule added"]
    assert (
        session.scalar(
            select(func.count()).select_from(PathChange).where(PathChange.actor_id == trainer.id)
        )
        >= 3
    )


# --- published_paths and modules_evidencing -------------------------------------------------------


def test_published_paths_lists_the_current_version_with_hours_and_modules(app, session):
    old = make_path(M(minutes=60), code="PA")
    make_path(M(minutes=30), M(minutes=90), M(minutes=45), path=old.path)
    old.status = PathStatus.RETIRED
    make_path(M(), code="PB", status=PathStatus.DRAFT)
    make_path(M(minutes=120), code="PC", title="Sponsor briefing")
    session.commit()
    found = published_paths(session)
    assert [(p.code, p.number, p.modules, p.minutes) for p in found] == [
        ("PA", 2, 3, 165),
        ("PC", 1, 1, 120),
    ]
    assert found[0].hours == 2.75 and found[1].title == "Sponsor briefing"


def test_modules_evidencing_finds_what_closes_a_gap(app, session):
    make_path(
        M(evidences={"CTL-04": 1}),
        M(evidences={"CTL-04": 2, "GOV-01": 2}, title="Registers in practice"),
        M(type=ModuleType.ON_THE_JOB, evidences={"CTL-04": 4}),
        code="PA",
    )
    make_path(M(evidences={"CTL-04": 2}), code="PB", status=PathStatus.DRAFT)
    retired = make_path(M(evidences={"CTL-04": 3}, type=ModuleType.ASSESSMENT), code="PC")
    retired.status = PathStatus.RETIRED
    make_path(M(evidences={"CTL-04": 3}, type=ModuleType.ASSESSMENT), code="PD")
    session.commit()
    found = modules_evidencing(session, "CTL-04", 2)
    assert [(m.path_code, m.module_code, m.level) for m in found] == [
        ("PA", "PA-02", 2),
        ("PA", "PA-03", 4),
        ("PD", "PD-01", 3),
    ]
    assert found[0].module_title == "Registers in practice" and found[0].module_type == "e-learning"
    assert [m.module_code for m in modules_evidencing(session, "CTL-04", 4)] == ["PA-03"]
    assert modules_evidencing(session, "CTL-04", 5) == []
    assert [m.module_code for m in modules_evidencing(session, "GOV-01", 1)] == ["PA-02"]
