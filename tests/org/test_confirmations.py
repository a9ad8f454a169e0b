"""Deactivating a person and ending a role assignment ask first, on a page of their own that
says what will happen; nothing changes until it is confirmed."""

from __future__ import annotations

from datetime import date

from app.accounts.models import Permission
from app.extensions import db
from app.org.models import Person, RoleAssignment
from tests.factories import assign, make_person, make_role, make_unit, make_user
from tests.test_forms import csrf_token


def test_deactivating_a_person_shows_the_impact_then_does_it_once_confirmed(client, login):
    login(make_user(Permission.ADMIN))
    team = make_unit("Delivery Team")
    leaver = make_person("Lena", "Moss", unit=team)
    team.head_id = leaver.id
    make_person("Rae", "Report", manager=leaver)
    make_user(Permission.LEARNER, person=leaver, email="lena.moss@example.org")
    token = csrf_token(client, "/admin/people")

    asked = client.post(
        f"/admin/people/{leaver.id}/active", data={"active": "0", "csrf_token": token}
    )
    assert asked.status_code == 200
    page = asked.text
    assert "Deactivate Lena Moss?" in page
    assert "lena.moss@example.org is disabled" in page
    assert "1 active people report to them" in page
    assert "They head Delivery Team" in page
    assert 'name="confirmed" value="1"' in page and 'name="active" value="0"' in page
    assert db.session.get(Person, leaver.id).active is True

    done = client.post(
        f"/admin/people/{leaver.id}/active",
        data={"active": "0", "confirmed": "1", "csrf_token": token},
    )
    assert done.status_code == 302
    assert db.session.get(Person, leaver.id).active is False


def test_reactivating_needs_no_confirmation(client, login):
    login(make_user(Permission.ADMIN))
    back = make_person("Bo", "Back")
    back.active = False
    token = csrf_token(client, "/admin/people")
    response = client.post(
        f"/admin/people/{back.id}/active", data={"active": "1", "csrf_token": token}
    )
    assert response.status_code == 302
    assert db.session.get(Person, back.id).active is True


def test_ending_an_assignment_asks_first(client, login):
    login(make_user(Permission.ADMIN))
    person = make_person("Ana", "Lyst")
    assignment = assign(person, make_role("PMOA", "PMO Analyst"), start=date(2024, 1, 1))
    url = f"/admin/assignments/{assignment.id}/end"
    token = csrf_token(client, f"/people/{person.id}")

    asked = client.post(url, data={"csrf_token": token})
    assert asked.status_code == 200
    assert "End Ana Lyst&#39;s role as PMO Analyst?" in asked.text
    assert db.session.get(RoleAssignment, assignment.id).end_date is None

    done = client.post(url, data={"csrf_token": token, "confirmed": "1"})
    assert done.status_code == 302
    assert db.session.get(RoleAssignment, assignment.id).end_date == date.today()
