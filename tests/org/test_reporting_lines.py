"""The reporting-line closure table (``app.org.lines``) follows every way a line changes.

A manager's reach (their team page, home figures, validation queue, reports) reads the
table instead of walking ``line_manager_id`` down on every page, so a row missed or left
behind would hide a report from their manager, or show a person to a manager they left.
Each test changes the line one way and compares the table with the walk worked out in
Python from ``line_manager_id`` alone (``expected_lines``), and checks what a manager sees.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts.models import Permission
from app.extensions import db
from app.org import lines
from app.org.lines import expected_lines, line_differences, refresh_lines
from app.org.models import Person, ReportingLine
from app.org.queries import managed_people_ids
from app.reports.cli import reports_cli
from tests.conftest import BACKENDS
from tests.factories import make_person, make_unit, make_user


def stored(session) -> set[tuple[int, int, int]]:
    return {
        (m, p, d)
        for m, p, d in session.execute(
            select(ReportingLine.manager_id, ReportingLine.person_id, ReportingLine.depth)
        )
    }


def in_step(session) -> None:
    session.flush()
    assert stored(session) == expected_lines(session.connection())


def reach(session, manager: Person) -> set[int]:
    return set(session.scalars(managed_people_ids(manager.id))) - {manager.id}


@pytest.fixture
def line(session):
    """ceo <- director <- (lead <- (ana, ben), cai); eve alone."""
    ceo = make_person("Cleo", "Chief")
    director = make_person("Dev", "Director", manager=ceo)
    lead = make_person("Lea", "Lead", manager=director)
    ana = make_person("Ana", "Analyst", manager=lead)
    ben = make_person("Ben", "Analyst", manager=lead)
    cai = make_person("Cai", "Officer", manager=director)
    eve = make_person("Eve", "Elsewhere")
    session.commit()
    return {p.first_name.lower(): p for p in (ceo, director, lead, ana, ben, cai, eve)}


def test_people_added_through_the_orm_have_their_whole_line(session, line):
    in_step(session)
    assert (line["cleo"].id, line["ana"].id, 3) in stored(session)
    assert reach(session, line["dev"]) == {p.id for k, p in line.items() if k in "lea ana ben cai"}
    assert reach(session, line["eve"]) == set()


def test_a_manager_moved_takes_everyone_below_them(session, line):
    line["lea"].line_manager_id = line["eve"].id
    in_step(session)
    assert reach(session, line["eve"]) == {line["lea"].id, line["ana"].id, line["ben"].id}
    assert reach(session, line["dev"]) == {line["cai"].id}
    assert reach(session, line["cleo"]) == {line["dev"].id, line["cai"].id}


def test_a_manager_set_through_the_relationship_and_cleared_are_followed(session, line):
    line["cai"].line_manager = line["ana"]
    in_step(session)
    assert line["cai"].id in reach(session, line["lea"])
    line["lea"].line_manager = None
    in_step(session)
    assert reach(session, line["cleo"]) == {line["dev"].id}


def test_moves_in_one_flush_that_swap_a_manager_and_their_report(session, line):
    # Lea now reports to Ana, who reports to Eve: Lea's old report is now above her.
    line["ana"].line_manager_id = line["eve"].id
    line["lea"].line_manager_id = line["ana"].id
    in_step(session)
    assert reach(session, line["eve"]) == {line["ana"].id, line["lea"].id, line["ben"].id}


def test_a_person_deleted_leaves_their_reports_at_the_top(session, line):
    session.delete(line["lea"])
    in_step(session)
    assert reach(session, line["dev"]) == {line["cai"].id}
    session.expire_all()
    assert session.get(Person, line["ana"].id).line_manager_id is None


def test_a_change_rolled_back_leaves_the_table_as_it_was(session, line):
    before = stored(session)
    line["lea"].line_manager_id = line["eve"].id
    session.flush()
    session.rollback()
    assert stored(session) == before
    in_step(session)


def test_a_large_change_rebuilds_the_whole_table(session, line, monkeypatch):
    monkeypatch.setattr(lines, "WHOLE_ABOVE", 2)
    session.execute(
        update(Person)
        .values(line_manager_id=line["eve"].id)
        .where(Person.id.in_([line["dev"].id, line["ana"].id, line["ben"].id]))
    )
    refresh_lines(session.connection(), [line["dev"].id, line["ana"].id, line["ben"].id])
    in_step(session)
    assert reach(session, line["eve"]) == {
        p.id for k, p in line.items() if k in "dev lea ana ben cai"
    }


def test_the_staff_import_brings_the_lines_in_step(app, session, line, tmp_path):
    """New people on the file, one of them managing another new person, and an existing
    person moved under a new manager: one import, and the reach follows."""
    make_user(Permission.ADMIN, person=make_person("Ida", "Admin", number="ADM1"))
    make_unit("Delivery", code="DEL")
    session.commit()
    ben = line["ben"]
    path = tmp_path / "staff.csv"
    path.write_text(
        "Employee Number,First Name,Last Name,Email,Department,Manager ID\n"
        "N1,Nia,New,nia@example.com,Delivery,\n"
        "N2,Noor,New,noor@example.com,Delivery,N1\n"
        f"{ben.employee_number},Ben,Analyst,{ben.email},Delivery,N2\n",
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["import", "people", str(path)])
    assert result.exit_code == 0, result.output
    session.expire_all()
    in_step(session)
    n1, n2 = (
        session.scalar(select(Person).where(Person.employee_number == number))
        for number in ("N1", "N2")
    )
    assert reach(session, n1) == {n2.id, ben.id}
    assert ben.id not in reach(session, line["lea"])


def test_check_reports_a_tampered_line_and_refresh_mends_it(app, session, line):
    runner = app.test_cli_runner()
    assert runner.invoke(reports_cli, ["check"]).exit_code == 0
    session.execute(
        ReportingLine.__table__.delete().where(ReportingLine.person_id == line["ana"].id)
    )
    session.commit()
    result = runner.invoke(reports_cli, ["check"])
    assert result.exit_code == 1
    assert "reporting lines" in result.output and "4 missing" in result.output
    assert line_differences(session.connection()) == (4, 0)
    assert runner.invoke(reports_cli, ["refresh"]).exit_code == 0
    assert runner.invoke(reports_cli, ["check"]).exit_code == 0
    in_step(session)


def test_a_manager_sees_a_report_moved_to_them_on_their_team_page(client, login, session, line):
    manager = make_user(Permission.MANAGER, person=line["eve"])
    session.commit()
    login(manager)
    assert "Analyst, Ana" not in client.get("/team").text
    line["ana"].line_manager_id = line["eve"].id
    session.commit()
    page = client.get("/team").text
    assert "Analyst, Ana" in page and "1 person in the units you head" in page


def test_a_loop_in_the_line_stops_and_reaches_no_one_outside_it(session, line):
    """Bad data from outside (Cleo made to report to Ana, three levels below her): the
    walks stop, each pair is kept once, and the loop's people reach each other and those
    below them, no one else."""
    session.execute(
        update(Person).where(Person.id == line["cleo"].id).values(line_manager_id=line["ana"].id)
    )
    refresh_lines(session.connection(), [line["cleo"].id])
    in_step(session)
    everyone_but_eve = {p.id for k, p in line.items() if k != "eve"}
    assert reach(session, line["ben"]) == set()
    assert reach(session, line["ana"]) == everyone_but_eve - {line["ana"].id}
    assert line["eve"].id not in reach(session, line["cleo"])


@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgresql"], indirect=True)
def test_two_moves_at_once_leave_the_table_in_step(session, line):
    """Lea moved under Eve in one transaction while, in another, Cai is moved under Lea:
    Cai's walk must end at Eve, not at Lea's old managers. The second waits for the first
    (PostgreSQL; SQLite has one writer at a time)."""
    lea, cai, eve = line["lea"].id, line["cai"].id, line["eve"].id
    engine = db.engine
    failures: list[BaseException] = []

    def second() -> None:
        with Session(engine) as other:
            try:
                other.get(Person, cai).line_manager_id = lea
                other.commit()
            except BaseException as exc:  # noqa: BLE001 (reported below)
                failures.append(exc)

    with Session(engine) as first:
        first.get(Person, lea).line_manager_id = eve
        first.flush()  # its upkeep ran and holds the lock until commit
        worker = threading.Thread(target=second)
        worker.start()
        worker.join(timeout=1.0)
        waited = worker.is_alive()  # waiting for the first move's upkeep to commit
        first.commit()
    worker.join(timeout=30)
    assert not failures
    session.expire_all()
    assert cai in reach(session, session.get(Person, eve))
    assert cai not in reach(session, line["dev"])
    in_step(session)
    assert waited
