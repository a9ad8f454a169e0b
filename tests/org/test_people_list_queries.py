"""The people list stays a fixed number of queries however many people it shows."""

import re

from sqlalchemy import insert

from app.accounts.models import Permission
from app.extensions import db
from app.org.models import Person
from tests.factories import make_person, make_unit, make_user


def _add_people(unit_id: int, manager_id: int, count: int, start: int) -> None:
    db.session.execute(
        insert(Person),
        [
            {
                "employee_number": f"B{start + i:06d}",
                "first_name": f"First{i}",
                "last_name": f"Last{start + i:06d}",
                "email": None,
                "org_unit_id": unit_id,
                "line_manager_id": manager_id,
                "active": True,
            }
            for i in range(count)
        ],
    )
    db.session.commit()


def _statements_for(client, count_queries, url: str) -> int:
    db.session.commit()
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count


def test_admin_people_list_query_count_does_not_grow(client, login, count_queries):
    unit = make_unit("Enterprise PMO")
    boss = make_person("Dana", "Boss", unit=unit)
    login(make_user(Permission.ADMIN, person=make_person("Ada", "Admin", unit=unit)))
    unit_id, boss_id = unit.id, boss.id
    _add_people(unit_id, boss_id, 10, 0)
    small = _statements_for(client, count_queries, "/admin/people?page=2")  # counted, as page 3
    _add_people(unit_id, boss_id, 400, 10)
    page = client.get("/admin/people?page=3")
    assert "of 412 people" in page.text
    # every row shows its org unit and line manager: loaded with the page, not per row
    assert page.text.count("Dana Boss") >= 25
    large = _statements_for(client, count_queries, "/admin/people?page=3")
    assert large == small


def test_manager_team_list_query_count_does_not_grow(client, login, count_queries):
    unit = make_unit("Programme Delivery")
    child = make_unit("Delivery North", parent=unit)
    manager = make_person("Mo", "Manager", unit=unit)
    unit.head_id = manager.id
    db.session.commit()
    login(make_user(Permission.MANAGER, person=manager))
    child_id, manager_id = child.id, manager.id
    _add_people(child_id, manager_id, 5, 0)
    small = _statements_for(client, count_queries, "/team")
    _add_people(child_id, manager_id, 300, 5)
    large = _statements_for(client, count_queries, "/team?page=4")
    assert large == small
    assert re.search(r"of 30[56] people", client.get("/team").text)
