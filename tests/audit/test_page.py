"""The audit page: administrators only; filters by who, action, record and dates; pages;
the CSV holds the same events as the page, formula-safe, and is itself recorded."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest

from app.accounts.models import Permission
from app.audit import record
from app.audit.models import AuditEvent
from app.extensions import db
from tests.audit.helpers import acting, trail
from tests.factories import make_person, make_user


@pytest.fixture
def world(app):
    admin = make_user(Permission.ADMIN, person=make_person("Ada", "Admin"))
    manager = make_user(Permission.MANAGER, person=make_person("Max", "Manager"))
    learner = make_user(Permission.LEARNER, person=make_person("Lea", "Learner"))
    db.session.commit()
    with acting(app, admin.id):
        ann = make_person("Ann", "Lee")
        db.session.commit()
        ann.job_title = "Analyst"
        db.session.commit()
    with acting(app, manager.id):
        record(db.session, "export", detail={"what": "heatmap", "format": "csv"})
        record(db.session, "export", table="people", record_id='=HYPERLINK("x")')
        db.session.commit()
    return {"admin": admin, "manager": manager, "learner": learner, "ann": ann}


def shown_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-event-id="(\d+)"', html)]


def csv_ids(client, query: str) -> list[int]:
    response = client.get(f"/admin/audit.csv{query}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:5] == ["id", "at (UTC)", "actor user id", "actor", "action"]
    return [int(r[0]) for r in rows[1:]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [4, 3, 2, 1]),
        ("?action=export", [4, 3]),
        ("?action=update", [2]),
        ("?actor=max", [4, 3]),
        ("?actor=admin", [2, 1]),
        ("?table=people", [4, 2, 1]),
        ("?table=people&record=1", []),
    ],
)
def test_the_page_filters_and_the_csv_holds_the_same_events(client, login, world, query, expected):
    ann_id = world["ann"].id
    query = query.replace("record=1", f"record={ann_id}")
    if query.endswith(f"record={ann_id}"):
        expected = [2, 1]
    login(world["admin"])
    page = client.get(f"/admin/audit{query}")
    assert page.status_code == 200
    assert shown_ids(page.text) == expected
    assert csv_ids(client, query) == expected


def test_the_page_shows_who_did_what_before_and_after(client, login, world):
    login(world["admin"])
    html = client.get("/admin/audit?action=update").text
    assert "Ada Admin (user #" in html
    assert "people #" in html
    assert "job_title" in html and "Analyst" in html
    assert 'href="/admin/audit.csv?action=update"' in html


def test_date_filters(client, login, world):
    login(world["admin"])
    today = date.today()
    tomorrow, yesterday = today + timedelta(days=1), today - timedelta(days=1)
    assert shown_ids(client.get(f"/admin/audit?start={tomorrow}").text) == []
    assert shown_ids(client.get(f"/admin/audit?end={yesterday}").text) == []
    assert len(shown_ids(client.get(f"/admin/audit?start={yesterday}&end={tomorrow}").text)) == 4
    bad = client.get(f"/admin/audit?start={today}&end={yesterday}")
    assert bad.status_code == 400
    assert "Pick a day on or after the first day." in bad.text
    assert client.get("/admin/audit?start=2020-13-45").status_code == 400


def test_the_csv_is_formula_safe_and_its_download_is_recorded(client, login, world):
    login(world["admin"])
    response = client.get("/admin/audit.csv?action=export")
    rows = list(csv.reader(io.StringIO(response.text)))
    record_ids = [r[6] for r in rows[1:]]
    assert '\'=HYPERLINK("x")' in record_ids
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)
    [download] = trail(AuditEvent.id > 4)
    assert (download.action, download.actor_user_id) == ("export", world["admin"].id)
    assert download.detail["what"] == "audit trail" and download.detail["rows"] == 2


def test_pages_of_events(app, client, login, world):
    with acting(app, world["admin"].id):
        for i in range(30):
            record(db.session, "export", detail={"n": i})
        db.session.commit()
    login(world["admin"])
    first = client.get("/admin/audit")
    assert len(shown_ids(first.text)) == 25
    assert "Showing 1–25 of 34 events" in first.text
    second = client.get("/admin/audit?page=2")
    assert shown_ids(second.text) == [9, 8, 7, 6, 5, 4, 3, 2, 1]


@pytest.mark.parametrize("who", ["learner", "manager"])
def test_learners_and_managers_get_403(client, login, world, who):
    login(world[who])
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403
    assert 'href="/admin/audit"' not in client.get("/").text


def test_the_administration_menu_links_the_page(client, login, world):
    login(world["admin"])
    assert 'href="/admin/audit"' in client.get("/").text
