"""The trainer's authoring pages: only trainers reach them; a path is created, its draft
built through the forms (modules with evidence rows, a lesson preview, move up/down,
details and target roles, prerequisites), published after a confirmation showing what
changed, edited as a new draft, compared, retired; enrolment rules kept; bad input comes
back with a message at its field and saves nothing."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.learning import authoring
from app.learning.models import EnrolmentRule, PathModule, PathStatus, PathVersion
from app.learning.path_queries import current_draft, path_by_code, published_version
from tests.factories import make_user
from tests.learning.test_authoring import LESSON, fields, shipped_framework

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
BASE = "/authoring/paths"


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def token(client, url: str = BASE) -> str:
    page = client.get(url)
    assert page.status_code == 200, url
    match = CSRF.search(page.text)
    assert match, f"no csrf_token on {url}"
    return match.group(1) or match.group(2)


def post(client, url: str, data: dict, page: str = BASE):
    return client.post(url, data={"csrf_token": token(client, page), **data})


def module_form_data(**changes) -> dict:
    data = {
        "title": "Keeping a risk register",
        "type": "e-learning",
        "hours": "1.5",
        "outcomes": "Explain what a register is for.\nApply the weekly review.\n",
        "evidences-0-competency": "CTL-04",
        "evidences-0-level": "2",
        "evidences-1-competency": "",
        "evidences-1-level": "1",
        "lesson": LESSON,
        "submit": "Save",
    }
    data.update(changes)
    return data


@pytest.fixture
def trainer(app, session):
    shipped_framework(session)
    user = make_user(Permission.TRAINER)
    session.commit()
    return user


@pytest.fixture
def signed_in(client, login, trainer):
    login(trainer)
    return client


@pytest.fixture
def draft(session, trainer) -> PathVersion:
    version = authoring.create_path(
        session, code="RISK", title="Risk basics", summary="For PMO staff.", actor_id=trainer.id
    )
    authoring.add_module(session, version, fields(title="Registers"), actor_id=trainer.id)
    authoring.add_module(session, version, fields(title="Reviews"), actor_id=trainer.id)
    session.commit()
    return version


@pytest.fixture
def published(session, trainer, draft) -> PathVersion:
    authoring.publish(session, draft, actor_id=trainer.id, note="First version.")
    session.commit()
    return draft


# --- who may reach the pages ----------------------------------------------------------------------


@pytest.mark.parametrize("permission", [Permission.LEARNER, Permission.MANAGER, Permission.ADMIN])
def test_only_trainers_reach_authoring(client, login, session, published, permission):
    login(make_user(permission))
    session.commit()
    for url in (
        BASE,
        f"{BASE}/new",
        f"{BASE}/RISK",
        f"{BASE}/RISK/versions/1",
        f"{BASE}/RISK/diff",
    ):
        assert client.get(url).status_code == 403, url
    for url in (f"{BASE}/RISK/retire", f"{BASE}/RISK/draft", f"{BASE}/RISK/rules"):
        assert post(client, url, {"confirmed": "1"}, page="/").status_code == 403, url
    assert published_version(session, published.path_id) is not None


# --- building and publishing a path -------------------------------------------------------------


def test_a_trainer_creates_builds_and_publishes_a_path(signed_in, session, trainer):
    client = signed_in
    assert "No learning path yet" in text_of(client.get(BASE).text)
    created = post(
        client,
        f"{BASE}/new",
        {"code": "coord", "title": "Coordinator essentials", "summary": "For new coordinators."},
        page=f"{BASE}/new",
    )
    assert created.status_code == 302 and created.location.endswith(f"{BASE}/COORD/draft")
    page = text_of(client.get(f"{BASE}/COORD/draft").text)
    assert "No module yet" in page and "The path has no module" in page

    for title in ("Registers", "Reviews"):
        added = post(client, f"{BASE}/COORD/draft/modules/new", module_form_data(title=title))
        assert added.status_code == 302, text_of(added.text)
    rows = session.scalars(select(PathModule).order_by(PathModule.position)).all()
    assert [(m.code, m.title, m.minutes) for m in rows] == [
        ("COORD-01", "Registers", 90),
        ("COORD-02", "Reviews", 90),
    ]
    assert {e.competency_code: e.level for e in rows[0].evidences} == {"CTL-04": 2}
    assert rows[0].outcomes == ["Explain what a register is for.", "Apply the weekly review."]

    moved = post(client, f"{BASE}/COORD/draft/modules/COORD-02/move", {"direction": "up"})
    assert moved.status_code == 302
    page = client.get(f"{BASE}/COORD/draft").text
    assert page.index("COORD-02") < page.index("COORD-01")
    assert "The draft keeps every rule" in text_of(page)

    asked = post(client, f"{BASE}/COORD/draft/publish", {"note": "First version."})
    assert asked.status_code == 200
    shown = text_of(asked.text)
    assert "Publish COORD version 1?" in shown and "first published version" in shown
    assert "COORD-01 Registers" in shown and "COORD-02 Reviews" in shown
    assert current_draft(session, path_by_code(session, "COORD").id) is not None

    done = post(client, f"{BASE}/COORD/draft/publish", {"note": "First version.", "confirmed": "1"})
    assert done.status_code == 302 and done.location.endswith(f"{BASE}/COORD")
    version = published_version(session, path_by_code(session, "COORD").id)
    assert version.number == 1 and version.note == "First version."
    page = text_of(client.get(f"{BASE}/COORD").text)
    assert trainer.person.full_name in page and "published" in page
    assert "Published" in text_of(client.get(BASE).text)


def test_a_module_with_a_level_above_its_cap_is_refused_and_nothing_saved(
    signed_in, session, draft
):
    reply = post(
        signed_in,
        f"{BASE}/RISK/draft/modules/new",
        module_form_data(**{"evidences-0-level": "3"}),
    )
    assert reply.status_code == 200
    assert "Level 3 is above what completing a module of type e-learning can evidence (2)." in (
        text_of(reply.text)
    )
    assert 'class="invalid-feedback d-block">Level 3' in reply.text
    assert session.scalar(select(func.count()).select_from(PathModule)) == 2


def test_the_lesson_preview_is_sanitised_and_saves_nothing(signed_in, session, draft):
    lesson = LESSON + "\n\n<script>alert(1)</script> [x](javascript:alert(1))\n"
    reply = post(
        signed_in,
        f"{BASE}/RISK/draft/modules/RISK-01",
        module_form_data(lesson=lesson, preview="Preview the lesson", submit=""),
    )
    assert reply.status_code == 200
    preview = reply.text[reply.text.index('data-testid="lesson-preview"') :]
    assert "<h2>Key ideas</h2>" in preview
    assert "<script>" not in preview and 'href="javascript' not in preview.lower()
    assert (
        session.scalar(select(PathModule.title).where(PathModule.code == "RISK-01")) == "Registers"
    )


def test_editing_a_module_through_its_form(signed_in, session, draft):
    page = signed_in.get(f"{BASE}/RISK/draft/modules/RISK-02")
    assert re.search(r'<option selected value="CTL-04">', page.text)
    reply = post(
        signed_in,
        f"{BASE}/RISK/draft/modules/RISK-02",
        module_form_data(
            title="Weekly reviews",
            type="on-the-job",
            hours="3",
            requires="RISK-01",
            **{"evidences-1-competency": "GOV-01", "evidences-1-level": "4"},
        ),
    )
    assert reply.status_code == 302
    row = session.scalar(select(PathModule).where(PathModule.code == "RISK-02"))
    assert (row.title, row.type.value, row.minutes, row.requires) == (
        "Weekly reviews",
        "on-the-job",
        180,
        ["RISK-01"],
    )
    assert {e.competency_code: e.level for e in row.evidences} == {"CTL-04": 2, "GOV-01": 4}


def test_details_target_roles_and_prerequisites(signed_in, session, draft):
    saved = post(
        signed_in,
        f"{BASE}/RISK/draft/details",
        {
            "title": "Risk for coordinators",
            "summary": "For coordinators.",
            "audience": ["R04", "R03"],
        },
    )
    assert saved.status_code == 302
    version = session.get(PathVersion, draft.id)
    assert (version.title, version.open_enrolment) == ("Risk for coordinators", False)
    assert [r.code for r in version.audience] == ["R03", "R04"]

    added = post(
        signed_in, f"{BASE}/RISK/draft/prerequisites", {"certificates": ["P3O-F", "P3O-P"]}
    )
    assert added.status_code == 302
    page = text_of(signed_in.get(f"{BASE}/RISK/draft").text)
    assert "certificate P3O-F or certificate P3O-P" in page

    empty = post(signed_in, f"{BASE}/RISK/draft/prerequisites", {})
    assert empty.status_code == 200
    assert "Choose at least one path or certificate." in text_of(empty.text)

    removed = post(signed_in, f"{BASE}/RISK/draft/prerequisites/0/remove", {})
    assert removed.status_code == 302
    assert session.get(PathVersion, draft.id).prerequisites == []


def test_publishing_a_draft_that_breaks_a_rule_is_refused(signed_in, session, draft, trainer):
    authoring.update_module(
        session, draft, "RISK-02", fields(lesson="## Key ideas\n\nTo do."), actor_id=trainer.id
    )
    session.commit()
    reply = post(signed_in, f"{BASE}/RISK/draft/publish", {"note": "Try."})
    assert reply.status_code == 200
    page = text_of(reply.text)
    assert "not ready to publish" in page
    assert "RISK-02 Keeping a risk register: the lesson has 4 words" in page
    assert session.get(PathVersion, draft.id).status == PathStatus.DRAFT


# --- published versions, new drafts, diff, retire -----------------------------------------


def test_a_published_version_is_shown_without_edit_controls(signed_in, published):
    page = signed_in.get(f"{BASE}/RISK/versions/1").text
    assert "Add a module" not in page and "Edit details" not in page and "↑ Up" not in page
    assert "<h2>Key ideas</h2>" in page  # the lesson, rendered
    gone = signed_in.get(f"{BASE}/RISK/draft/modules/new")
    assert gone.status_code == 302 and gone.location.endswith(f"{BASE}/RISK")
    refused = post(signed_in, f"{BASE}/RISK/draft/modules/RISK-01/move", {"direction": "down"})
    assert refused.status_code == 302
    assert "has no open draft" in text_of(signed_in.get(f"{BASE}/RISK").text)


def test_edit_opens_a_draft_copy_and_the_diff_shows_what_changed(signed_in, session, published):
    opened = post(signed_in, f"{BASE}/RISK/draft", {}, page=f"{BASE}/RISK")
    assert opened.status_code == 302
    draft = current_draft(session, published.path_id)
    assert draft.number == 2
    again = post(signed_in, f"{BASE}/RISK/draft", {}, page=f"{BASE}/RISK")
    assert again.status_code == 302
    assert "Draft version 2 is already open" in text_of(signed_in.get(f"{BASE}/RISK").text)

    post(
        signed_in,
        f"{BASE}/RISK/draft/modules/RISK-01",
        module_form_data(title="Registers, properly"),
    )
    page = text_of(signed_in.get(f"{BASE}/RISK/diff").text)
    assert "From v1 (published) to v2 (draft)" in page
    assert "RISK-01 Registers, properly title Before: Registers After: Registers, properly" in page

    asked = post(signed_in, f"{BASE}/RISK/draft/publish", {"note": "Retitled."})
    shown = text_of(asked.text)
    assert "version 1 is retired" in shown and "0 learner(s) enrolled on version 1 keep it" in shown
    post(signed_in, f"{BASE}/RISK/draft/publish", {"note": "Retitled.", "confirmed": "1"})
    assert session.get(PathVersion, published.id).status == PathStatus.RETIRED
    assert published_version(session, published.path_id).number == 2
    old = text_of(signed_in.get(f"{BASE}/RISK/diff?from=1&to=2").text)
    assert "Registers, properly" in old


def test_discard_and_retire_ask_first(signed_in, session, published):
    post(signed_in, f"{BASE}/RISK/draft", {}, page=f"{BASE}/RISK")
    asked = post(signed_in, f"{BASE}/RISK/draft/discard", {})
    assert asked.status_code == 200 and "The published version stays as it is" in text_of(
        asked.text
    )
    assert current_draft(session, published.path_id) is not None
    post(signed_in, f"{BASE}/RISK/draft/discard", {"confirmed": "1"})
    assert current_draft(session, published.path_id) is None

    asked = post(signed_in, f"{BASE}/RISK/retire", {})
    assert "Learners already enrolled keep their version" in text_of(asked.text)
    assert published_version(session, published.path_id) is not None
    done = post(signed_in, f"{BASE}/RISK/retire", {"confirmed": "1"})
    assert done.status_code == 302
    assert published_version(session, published.path_id) is None
    assert "Retired" in text_of(signed_in.get(BASE).text)


def test_discarding_a_never_published_draft_deletes_the_path(signed_in, session, draft):
    asked = post(signed_in, f"{BASE}/RISK/draft/discard", {})
    assert "was never published, so the path goes with it" in text_of(asked.text)
    done = post(signed_in, f"{BASE}/RISK/draft/discard", {"confirmed": "1"})
    assert done.location.endswith(BASE)
    assert path_by_code(session, "RISK") is None


# --- enrolment rules ----------------------------------------------------------------------------


def test_enrolment_rules_on_the_path_page(signed_in, session, published):
    bad = post(
        signed_in, f"{BASE}/RISK/rules", {"role": "R04", "due_days": "0"}, page=f"{BASE}/RISK"
    )
    assert bad.status_code == 200
    assert session.scalar(select(func.count()).select_from(EnrolmentRule)) == 0
    added = post(
        signed_in, f"{BASE}/RISK/rules", {"role": "R04", "due_days": "90"}, page=f"{BASE}/RISK"
    )
    assert added.status_code == 302
    rule = session.scalar(select(EnrolmentRule))
    assert (rule.role.code, rule.due_days, rule.active) == ("R04", 90, True)
    twice = post(
        signed_in, f"{BASE}/RISK/rules", {"role": "R04", "due_days": "30"}, page=f"{BASE}/RISK"
    )
    assert "already has a rule for R04" in text_of(twice.text)

    edited = post(
        signed_in,
        f"{BASE}/RISK/rules/{rule.id}",
        {"due_days": "60"},
        page=f"{BASE}/RISK/rules/{rule.id}",
    )
    assert edited.status_code == 302
    post(signed_in, f"{BASE}/RISK/rules/{rule.id}/active", {"active": "0"})
    rule = session.get(EnrolmentRule, rule.id)
    assert (rule.due_days, rule.active) == (60, False)
    page = text_of(signed_in.get(f"{BASE}/RISK").text)
    assert "R04" in page and "due 60 days" in page and "Inactive" in page
    assert "rule deactivated" in page and "rule edited" in page
