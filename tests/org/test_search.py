"""Search boxes take the user's % and _ literally: "50%" finds "50%", not "500"."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import Permission, User
from app.accounts.queries import accounts_query
from app.org import queries
from app.org.models import Person
from tests.factories import make_person, make_role, make_unit, make_user


def _names(session, stmt, attr: str) -> list[str]:
    rows = session.execute(stmt) if len(stmt.column_descriptions) > 1 else session.scalars(stmt)
    return sorted(getattr(row, attr) for row in rows)


def test_people_search_takes_percent_and_underscore_literally(session):
    make_person("Kit", "a_b")
    make_person("Kim", "axb")
    make_person("Lou", "Hale 50%")
    make_person("Lee", "Hale 500")

    def found(q: str) -> list[str]:
        return _names(session, queries.people_query(queries.PeopleFilter(q=q)), "last_name")

    assert found("a_b") == ["a_b"]
    assert found("50%") == ["Hale 50%"]
    assert found("%") == ["Hale 50%"]
    assert found("hale 5") == ["Hale 50%", "Hale 500"]


@pytest.mark.parametrize("what", ["unit", "role"])
def test_unit_and_role_search_take_percent_and_underscore_literally(session, what):
    make = (lambda name: make_unit(name)) if what == "unit" else (lambda name: make_role(name=name))
    query = queries.org_units_query if what == "unit" else queries.roles_query
    for suffix in ("a_b", "axb", "50%", "500"):
        make(f"{what} {suffix}")
    assert _names(session, query("a_b"), "name") == [f"{what} a_b"]
    assert _names(session, query("50%"), "name") == [f"{what} 50%"]


def test_account_search_takes_percent_and_underscore_literally(session):
    make_user(Permission.LEARNER, person=make_person("Ann", "Ward"), email="a_b@example.org")
    make_user(Permission.LEARNER, person=make_person("Bob", "Ward"), email="axb@example.org")
    emails = sorted(u.email for u in session.scalars(accounts_query("a_b")))
    assert emails == ["a_b@example.org"]
    assert session.scalars(select(User)).all()  # both exist: the filter, not the data, decides


def test_the_people_page_finds_fifty_percent_and_not_five_hundred(client, login, session):
    login(make_user(Permission.ADMIN))
    make_person("Lou", "Hale 50%", number="P50")
    make_person("Lee", "Hale 500", number="P500")
    page = client.get("/admin/people", query_string={"q": "50%"}).get_data(as_text=True)
    assert "Hale 50%" in page
    assert "Hale 500" not in page
    assert session.scalar(select(Person).where(Person.last_name == "Hale 500")) is not None
