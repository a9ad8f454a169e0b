"""The learning pages through HTTP: my learning, self-enrolment, the path and lesson pages,
marking a module complete (and the capability page showing the evidence at once), a
manager's team learning, assigning a path to a person, bulk enrolment with its confirmation,
sign-off, assessment results and withdrawal — and who may reach whose enrolment.

CSRF protection stays on: every POST sends back a csrf_token from a page of the site.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.extensions import db
from app.learning import enrolment as enrolling
from app.learning.models import (
    CompletionMethod,
    Enrolment,
    EnrolmentStatus,
    ModuleCompletion,
    ModuleType,
    PathPrerequisite,
)
from app.org.models import Role
from tests.factories import assign, make_person, make_unit, make_user
from tests.learning.factories import M, make_path
from tests.shipped import load_shipped_content

CURRICULA = Path(__file__).resolve().parents[2] / "curricula"
TODAY = date.today()


def csrf(client, path: str = "/learning") -> str:
    page = client.get(path)
    assert page.status_code == 200, f"GET {path} gave {page.status_code}"
    tag = re.search(r'<input[^>]*\bname="csrf_token"[^>]*>', page.text)
    assert tag, f"no csrf_token on {path}"
    return re.search(r'\bvalue="([^"]+)"', tag.group(0)).group(1)


def post(client, path: str, data: dict | None = None, token_from: str = "/learning", **kw):
    return client.post(path, data={**(data or {}), "csrf_token": csrf(client, token_from)}, **kw)


def flashes(html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", m).strip()
        for m in re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S)
    ]


class Org:
    """Harbour PMO: Mia (manager, heads the unit) with Lee and Kim in it; Otto elsewhere;
    Tia the trainer. Lee holds PMO Co-ordinator (R04)."""

    def __init__(self, session):
        load_shipped_content(session)
        group = make_unit("Harbourside")
        unit = make_unit("Harbour PMO", parent=group)
        elsewhere = make_unit("Finance", parent=group)
        self.mia = make_person("Mia", "Manager", unit=unit)
        unit.head_id = self.mia.id
        self.manager = make_user(Permission.LEARNER, Permission.MANAGER, person=self.mia)
        self.lee = make_person("Lee", "Learner", unit=unit, manager=self.mia, number="E100")
        self.learner = make_user(Permission.LEARNER, person=self.lee)
        self.kim = make_person("Kim", "Keen", unit=unit, number="E101")
        self.kim_user = make_user(Permission.LEARNER, person=self.kim)
        self.otto = make_person("Otto", "Outsider", unit=elsewhere, number="E200")
        self.trainer = make_user(Permission.TRAINER, person=make_person("Tia", "Trainer"))
        self.unit, self.group = unit, group
        self.r04 = session.scalar(select(Role).where(Role.code == "R04"))
        assign(self.lee, self.r04)
        self.path = make_path(
            M(title="Why a portfolio office", evidences={"FIN-01": 2}),
            M(title="Reading the dashboard", type=ModuleType.READING, requires=["HPO-01"]),
            M(title="Run the monthly pack", type=ModuleType.ON_THE_JOB, evidences={"FIN-01": 3}),
            M(title="Practice test", type=ModuleType.ASSESSMENT),
            code="HPO",
            title="Harbour PMO essentials",
        )
        session.commit()

    def enrol(self, person, version=None, due=TODAY + timedelta(days=30)) -> Enrolment:
        enrolment = enrolling.enrol_person(
            db.session,
            person_id=person.id,
            path_id=(version or self.path).path_id,
            due_on=due,
            actor_id=self.trainer.id,
            today=TODAY,
        )
        db.session.commit()
        return enrolment


@pytest.fixture
def org(session) -> Org:
    return Org(session)


# --- the learner ----------------------------------------------------------------------------


def test_my_learning_lists_paths_by_due_date_with_progress_and_open_paths(client, login, org):
    later = make_path(title="Later path")
    make_path(title="Open to all", code="OPN")
    make_path(title="Closed path", open_enrolment=False)
    org.enrol(org.lee, later, due=TODAY + timedelta(days=90))
    overdue = org.enrol(org.lee, due=TODAY + timedelta(days=1))
    overdue.due_on = TODAY - timedelta(days=2)
    db.session.commit()
    login(org.learner)
    page = client.get("/learning")
    assert page.status_code == 200
    text = page.text
    assert text.index("Harbour PMO essentials") < text.index("Later path")
    assert "Overdue · was due" in text
    assert "0 of 4 · 0%" in text and "Next: <strong>Why a portfolio office</strong>" in text
    open_section = text[text.index('data-testid="open-paths"') :]
    assert "Open to all" in open_section and "Closed path" not in open_section
    assert "Later path" not in open_section


def test_a_learner_enrols_themselves_on_an_open_path(client, login, org):
    open_path = make_path(title="Open to all", code="OPN")
    db.session.commit()
    login(org.learner)
    response = post(client, f"/learning/open/{open_path.path_id}/enrol", follow_redirects=True)
    assert response.status_code == 200
    assert "You are enrolled on Open to all." in " ".join(flashes(response.text))
    db.session.expire_all()
    assert (
        db.session.scalar(select(Enrolment.source).where(Enrolment.person_id == org.lee.id)).value
        == "self"
    )


def test_self_enrolment_names_the_missing_prerequisite(client, login, org):
    advanced = make_path(title="Advanced practice", code="ADV")
    advanced.prerequisites.append(PathPrerequisite(alternative_set=0, path_code="HPO"))
    db.session.commit()
    login(org.learner)
    response = post(client, f"/learning/open/{advanced.path_id}/enrol", follow_redirects=True)
    assert (
        "You cannot enrol on Advanced practice yet: it needs Harbour PMO essentials completed."
        in flashes(response.text)
    )
    assert db.session.scalar(select(func.count(Enrolment.id))) == 0


def test_the_path_page_shows_each_modules_state_and_locks(client, login, org):
    enrolment = org.enrol(org.lee)
    login(org.learner)
    page = client.get(f"/learning/enrolments/{enrolment.id}")
    assert page.status_code == 200
    states = re.findall(r'data-testid="module" data-state="(\w+)"', page.text)
    assert states == ["next", "locked", "open", "open"]
    assert "Complete Why a portfolio office first." in page.text
    assert "Next: <a" in page.text


def test_a_learner_reads_the_lesson_marks_it_complete_and_sees_the_evidence(client, login, org):
    enrolment = org.enrol(org.lee)
    login(org.learner)
    lesson_url = f"/learning/enrolments/{enrolment.id}/modules/HPO-01"
    lesson = client.get(lesson_url)
    assert lesson.status_code == 200
    assert "Key ideas" in lesson.text and "Mark complete" in lesson.text
    # The completion is dated by the app's clock: read today now, not when the module loaded
    # (a run that crosses midnight would otherwise compare two different days).
    today = date.today()
    response = post(
        client,
        f"{lesson_url}/complete",
        {"reflection": "I will review the log every Monday."},
        token_from=lesson_url,
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Why a portfolio office complete. Evidence recorded in 1 competency." in flashes(
        response.text
    )
    states = re.findall(r'data-testid="module" data-state="(\w+)"', response.text)
    assert states[:2] == ["done", "next"]
    completion = db.session.scalars(select(ModuleCompletion)).one()
    assert completion.reflection == "I will review the log every Monday."
    capability = client.get("/capability")
    assert "FIN-01 Financial management &amp; cost control: validated 2 of 3" in capability.text
    rows = re.findall(r"<tr[^>]*>(?:(?!</tr>).)*</tr>", capability.text, re.S)
    fin = [r for r in rows if "FIN-01" in r]
    assert fin and f"Module completed, {today:%d %b %Y}" in fin[0]


def test_a_learner_cannot_see_or_complete_someone_elses_enrolment(client, login, org):
    theirs = org.enrol(org.kim)
    login(org.learner)
    assert client.get(f"/learning/enrolments/{theirs.id}").status_code == 403
    assert client.get(f"/learning/enrolments/{theirs.id}/modules/HPO-01").status_code == 403
    response = post(client, f"/learning/enrolments/{theirs.id}/modules/HPO-01/complete")
    assert response.status_code == 403
    assert client.get("/learning/enrolments/999999").status_code == 403
    assert db.session.scalar(select(func.count(ModuleCompletion.id))) == 0


def test_the_manager_cannot_mark_their_reports_module_complete(client, login, org):
    enrolment = org.enrol(org.lee)
    login(org.manager)
    assert client.get(f"/learning/enrolments/{enrolment.id}").status_code == 200
    response = post(client, f"/learning/enrolments/{enrolment.id}/modules/HPO-01/complete")
    assert response.status_code == 403


# --- the manager ----------------------------------------------------------------------------


def test_the_team_page_shows_the_managers_people_and_filters_overdue(client, login, org):
    lee = org.enrol(org.lee)
    lee.due_on = TODAY - timedelta(days=3)
    org.enrol(org.kim)
    org.enrol(org.otto)
    db.session.commit()
    login(org.manager)
    page = client.get("/learning/team")
    assert page.status_code == 200
    assert "Learner, Lee" in page.text and "Keen, Kim" in page.text
    assert "Outsider" not in page.text
    overdue = client.get("/learning/team?status=overdue")
    assert "Learner, Lee" in overdue.text and "Keen, Kim" not in overdue.text
    assert "Overdue" in overdue.text


def test_a_manager_assigns_a_path_from_a_persons_page(client, login, org):
    login(org.manager)
    form = f"/people/{org.kim.id}/learning/enrol"
    response = post(
        client,
        form,
        {"path": str(org.path.path_id), "due_on": (TODAY + timedelta(days=45)).isoformat()},
        token_from=form,
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert any("Kim Keen enrolled on Harbour PMO essentials" in f for f in flashes(response.text))
    assert client.get(f"/people/{org.otto.id}/learning/enrol").status_code == 403
    db.session.expire_all()
    assert db.session.scalar(select(Enrolment.person_id)) == org.kim.id


def test_assigning_a_path_twice_shows_the_message_at_the_field(client, login, org):
    org.enrol(org.kim)
    login(org.manager)
    form = f"/people/{org.kim.id}/learning/enrol"
    response = post(
        client,
        form,
        {"path": str(org.path.path_id), "due_on": (TODAY + timedelta(days=45)).isoformat()},
        token_from=form,
    )
    assert response.status_code == 200
    assert "Kim Keen is already on Harbour PMO essentials." in response.text
    assert db.session.scalar(select(func.count(Enrolment.id))) == 1


def test_bulk_enrolment_confirms_the_counts_then_enrols(client, login, org):
    org.enrol(org.lee)
    login(org.trainer)
    data = {
        "path": str(org.path.path_id),
        "who": "unit",
        "unit": str(org.unit.id),
        "role": "",
        "numbers": "",
        "due_on": (TODAY + timedelta(days=60)).isoformat(),
    }
    confirm = post(client, "/learning/enrol", data, token_from="/learning/enrol")
    assert confirm.status_code == 200
    assert "Enrol 2 on Harbour PMO essentials?" in confirm.text
    assert "1 person skipped: already enrolled on this path." in confirm.text
    assert db.session.scalar(select(func.count(Enrolment.id))) == 1  # nothing yet
    done = post(
        client, "/learning/enrol", {**data, "confirmed": "1"}, token_from="/learning/enrol",
        follow_redirects=True,
    )  # fmt: skip
    assert "2 people enrolled on Harbour PMO essentials." in " ".join(flashes(done.text))
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Enrolment.id))) == 3


def test_bulk_enrolment_by_employee_numbers_names_unknown_ones(client, login, org):
    login(org.trainer)
    data = {
        "path": str(org.path.path_id),
        "who": "people",
        "numbers": "E101, E999",
        "due_on": (TODAY + timedelta(days=60)).isoformat(),
    }
    response = post(client, "/learning/enrol", data, token_from="/learning/enrol")
    assert response.status_code == 400
    assert "No person has the employee number E999." in response.text
    assert db.session.scalar(select(func.count(Enrolment.id))) == 0


def test_a_manager_enrolling_a_role_reaches_only_their_people(client, login, org):
    assign(org.otto, org.r04)
    db.session.commit()
    login(org.manager)
    data = {
        "path": str(org.path.path_id),
        "who": "role",
        "role": str(org.r04.id),
        "due_on": (TODAY + timedelta(days=60)).isoformat(),
        "confirmed": "1",
    }
    post(client, "/learning/enrol", data, token_from="/learning/enrol")
    db.session.expire_all()
    assert set(db.session.scalars(select(Enrolment.person_id))) == {org.lee.id}


def test_a_learner_cannot_reach_the_enrolment_pages(client, login, org):
    login(org.learner)
    assert client.get("/learning/enrol").status_code == 403
    assert client.get("/learning/team").status_code == 403
    assert client.get(f"/people/{org.lee.id}/learning").status_code == 403


# --- sign-off, results, withdrawal -----------------------------------------------------------


def test_the_manager_signs_off_an_on_the_job_task(client, login, org):
    enrolment = org.enrol(org.lee)
    login(org.manager)
    url = f"/learning/enrolments/{enrolment.id}/modules/HPO-03/sign-off"
    empty = post(client, url, {"comment": ""}, token_from=url)
    assert empty.status_code == 200
    assert "Say what you saw that shows the task was done." in empty.text
    response = post(
        client, url, {"comment": "Ran the March pack; accurate and on time."}, token_from=url,
        follow_redirects=True,
    )  # fmt: skip
    assert "Run the monthly pack complete." in " ".join(flashes(response.text))
    completion = db.session.scalars(select(ModuleCompletion)).one()
    assert completion.method == CompletionMethod.SIGN_OFF
    assert completion.recorded_by_id == org.manager.id


def test_only_a_manager_who_sees_the_person_or_a_trainer_signs_off(client, login, org):
    enrolment = org.enrol(org.otto)
    login(org.manager)
    url = f"/learning/enrolments/{enrolment.id}/modules/HPO-03/sign-off"
    assert client.get(url).status_code == 403
    own = org.enrol(org.mia)
    assert client.get(f"/learning/enrolments/{own.id}/modules/HPO-03/sign-off").status_code == 403


def test_a_trainer_records_an_assessment_pass(client, login, org):
    enrolment = org.enrol(org.lee)
    # Passed today, which must not be before the enrolment (stamped by the app's clock): read
    # now, after enrolling, not when the module loaded (stale in a run crossing midnight).
    today = date.today()
    login(org.trainer)
    url = f"/learning/enrolments/{enrolment.id}/modules/HPO-04/result"
    response = post(
        client, url, {"passed_on": today.isoformat(), "comment": "82%"}, token_from=url,
        follow_redirects=True,
    )  # fmt: skip
    assert "Practice test complete." in " ".join(flashes(response.text))
    assert db.session.scalar(select(ModuleCompletion.method)) == CompletionMethod.ASSESSMENT


def test_withdrawing_asks_first_then_withdraws(client, login, org):
    enrolment = org.enrol(org.lee)
    login(org.manager)
    url = f"/learning/enrolments/{enrolment.id}/withdraw"
    ask = post(client, url)
    assert ask.status_code == 200
    assert str(escape("Withdraw Lee Learner from Harbour PMO essentials?")) in ask.text
    assert db.session.get(Enrolment, enrolment.id).status == EnrolmentStatus.ACTIVE
    done = post(client, url, {"confirmed": "1"}, follow_redirects=True)
    assert "Lee Learner withdrawn from Harbour PMO essentials." in flashes(done.text)
    db.session.expire_all()
    assert db.session.get(Enrolment, enrolment.id).status == EnrolmentStatus.WITHDRAWN


def test_a_person_page_lists_their_learning_for_managers_and_trainers(client, login, org):
    org.enrol(org.lee)
    login(org.trainer)
    page = client.get(f"/people/{org.lee.id}/learning")
    assert page.status_code == 200
    assert "Harbour PMO essentials" in page.text and "Assign a path" in page.text
