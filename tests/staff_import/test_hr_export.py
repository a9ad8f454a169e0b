"""A real-shaped HR export goes in without editing (issue 8): status wording mapped to
active / leaver / not started, a month-first termination date column, manager ids in another
numbering beside manager names, a top person whose manager is "Board of Directors", managers
missing from the file. Shows the suggested mapping, the preview counts, what is stored and
that a second import changes nothing.

Preview counts of HR_EXPORT on an empty organisation (the admin only), for the issue:
before this work: 9 rows, 0 to create, 9 rows in error (every manager id unknown, "Board of
Directors" not a person) and 3 status values "not recognised; treated as active": nothing
could be imported without editing the file. Now: 9 to create, 0 rows in error, 3 leavers
created inactive (plus one future starter stored inactive), 3 warnings, 2 new org units; a
second import: 9 unchanged.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.accounts.models import Permission
from app.org.models import AssignmentSource, Person, RoleAssignment
from app.staff_import import services
from app.staff_import.mapping import (
    DAY_FIRST,
    MONTH_FIRST,
    date_order,
    parse_date,
    suggest_mapping,
    suggest_status,
)
from app.staff_import.models import ImportMapping
from tests.factories import assign, make_person, make_role, make_user

TODAY = date(2025, 6, 1)
HEAD = [
    "Employee_Name",
    "EmpID",
    "Email",
    "Department",
    "Position",
    "ManagerName",
    "ManagerID",
    "EmploymentStatus",
    "DateofTermination",
]
HR_EXPORT = [
    # The top of the tree: the board is "no manager", without a warning.
    ["Hopper, Grace", "10001", "grace@example.com", "Executive Office", "Head of Portfolio Office",
     "Board of Directors", "", "Active", ""],
    # Manager ids are a different, small numbering: the name finds the manager.
    ["Turing, Alan", "10002", "alan@example.com", "Delivery", "PMO Analyst",
     "Grace Hopper", "1", "Active", ""],
    ["Lovelace, Ada", "10003", "ada@example.com", "Delivery", "PMO Analyst",
     "Hopper, Grace", "1", "Voluntarily Terminated", "4/15/2024"],  # settles month-first
    ["Dijkstra, Edsger", "10004", "edsger@example.com", "Delivery", "PMO Analyst",
     "  alan   TURING ", "2", "Terminated for Cause", "11/3/2024"],  # 3 November
    ["Knuth, Donald", "10005", "donald@example.com", "Delivery", "PMO Analyst",
     "Alan Turing", "2", "Leave of Absence", ""],
    ["Liskov, Barbara", "10006", "barbara@example.com", "Delivery", "PMO Analyst",
     "Ghost Manager", "99", "Future Start", ""],
    # Status says Active but the end date has passed: a leaver.
    ["Hamilton, Margaret", "10007", "margaret@example.com", "Delivery", "PMO Analyst",
     "Grace Hopper", "1", "Active", "1/20/2025"],
    ["Ritchie, Dennis", "10008", "dennis@example.com", "Delivery", "PMO Analyst",
     "Alan Turing", "2", "Active", "not known"],
    ["Kay, Alan", "10009", "kay@example.com", "Delivery", "PMO Analyst",
     "Missing Person", "77", "Active", ""],
]  # fmt: skip


def hr_csv(rows: list[list[str]], head: list[str] = HEAD) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([head, *rows])
    return out.getvalue().encode("utf-8")


@pytest.fixture
def admin(session):
    user = make_user(Permission.ADMIN, person=make_person("Ada", "Admin", number="ADMIN1"))
    session.commit()
    return user


def start(session, admin, data: bytes, **value_maps):
    """Upload and save the proposed mapping unchanged (what an admin does who only looks)."""
    batch = services.upload(session, data=data, filename="hr.csv", actor_id=admin.id)
    proposal = services.mapping_for(session, batch)
    maps = {k: dict(v) for k, v in proposal.value_maps.items()} | value_maps
    services.save_mapping(
        session,
        batch=batch,
        columns=proposal.columns,
        value_maps=maps,
        full_sync=False,
        actor_id=admin.id,
    )
    session.commit()
    return batch, proposal


def preview(session, batch, admin):
    return services.preview(session, batch, actor_person_id=admin.person_id, today=TODAY)


def apply(session, batch, admin, *, skip_errors: bool = False):
    plan = services.apply(
        session, batch, skip_errors=skip_errors, actor_person_id=admin.person_id, today=TODAY
    )
    session.commit()
    return plan


def stored(session) -> dict[str, tuple]:
    boss = aliased(Person)
    rows = session.execute(
        select(Person.employee_number, Person.first_name, Person.last_name, Person.active,
               boss.employee_number)
        .outerjoin(boss, Person.line_manager_id == boss.id)
        .where(Person.employee_number != "ADMIN1")
    ).all()  # fmt: skip
    return {r[0]: tuple(r[1:]) for r in rows}


def test_the_export_is_mapped_by_suggestion_with_status_values_and_a_manager_note(session, admin):
    batch, proposal = start(session, admin, hr_csv(HR_EXPORT))
    assert proposal.columns == {
        "employee_number": "EmpID",
        "full_name": "Employee_Name",
        "email": "Email",
        "org_unit": "Department",
        "job_title": "Position",
        "manager_id": "ManagerID",
        "manager_name": "ManagerName",
        "status": "EmploymentStatus",
        "end_date": "DateofTermination",
    }
    assert proposal.statuses == [
        ("Active", 5),
        ("Future Start", 1),
        ("Leave of Absence", 1),
        ("Terminated for Cause", 1),
        ("Voluntarily Terminated", 1),
    ]
    assert proposal.value_maps["status"] == {
        "active": "active",
        "future start": "not_started",
        "leave of absence": "active",
        "terminated for cause": "leaver",
        "voluntarily terminated": "leaver",
    }
    assert not proposal.date_order_open  # 4/15/2024 settles month-first
    assert len(proposal.notes) == 1
    assert proposal.notes[0].startswith(
        "Only 0 of the 4 values in 'ManagerID' match an employee number"
    )
    assert "Map the manager-name column (ManagerName) too" in proposal.notes[0]


def test_preview_counts_leavers_and_warns_about_unknown_managers(session, admin):
    batch, _ = start(session, admin, hr_csv(HR_EXPORT))
    plan = preview(session, batch, admin)
    counts = plan.counts()
    assert {k: counts[k] for k in ("rows", "create", "update", "unchanged", "error_rows")} == {
        "rows": 9,
        "create": 9,
        "update": 0,
        "unchanged": 0,
        "error_rows": 0,
    }
    assert (counts["leavers"], counts["leavers_create"], counts["leavers_deactivate"]) == (3, 3, 0)
    assert [(i.row, i.column, i.message) for i in plan.warnings] == [
        (7, "ManagerName", "manager 'Ghost Manager' not found; imported without a manager"),
        (9, "DateofTermination", "'not known' is not a date; the end date is ignored"),
        (10, "ManagerName", "manager 'Missing Person' not found; imported without a manager"),
    ]


def test_the_export_is_stored_with_leavers_inactive_and_every_known_manager(session, admin):
    batch, _ = start(session, admin, hr_csv(HR_EXPORT))
    apply(session, batch, admin)
    assert stored(session) == {
        "10001": ("Grace", "Hopper", True, None),
        "10002": ("Alan", "Turing", True, "10001"),
        "10003": ("Ada", "Lovelace", False, "10001"),
        "10004": ("Edsger", "Dijkstra", False, "10002"),
        "10005": ("Donald", "Knuth", True, "10002"),
        "10006": ("Barbara", "Liskov", False, None),  # not started yet; manager unknown
        "10007": ("Margaret", "Hamilton", False, "10001"),
        "10008": ("Dennis", "Ritchie", True, "10002"),
        "10009": ("Alan", "Kay", True, None),
    }
    assert session.scalar(select(ImportMapping.value_maps))["status"]["future start"] == (
        "not_started"
    )

    again, proposal = start(session, admin, hr_csv(HR_EXPORT))
    assert proposal.saved
    plan = preview(session, again, admin)
    assert (plan.counts()["unchanged"], plan.counts()["create"], plan.counts()["update"]) == (
        9,
        0,
        0,
    )
    before = stored(session)
    apply(session, again, admin)
    assert stored(session) == before


def test_a_later_file_deactivates_a_leaver_and_counts_them(session, admin):
    batch, _ = start(session, admin, hr_csv(HR_EXPORT))
    apply(session, batch, admin)
    rows = [list(r) for r in HR_EXPORT]
    rows[4][7] = "Resigned"  # Donald Knuth leaves; a value the saved mapping has not seen
    later, proposal = start(session, admin, hr_csv(rows))
    assert proposal.value_maps["status"]["resigned"] == "leaver"
    plan = preview(session, later, admin)
    assert (plan.counts()["leavers_deactivate"], plan.counts()["update"]) == (1, 1)
    apply(session, later, admin)
    assert stored(session)["10005"][2] is False


def test_a_manager_id_is_used_first_and_the_name_when_the_id_matches_no_one(session, admin):
    head = ["EmpID", "First Name", "Last Name", "ManagerID", "ManagerName"]
    rows = [
        ["E1", "Sam", "Jones", "", ""],
        ["E2", "Sam", "Jones", "", ""],  # two people called Sam Jones
        ["E3", "Kim", "Lee", "E2", "Sam Jones"],  # the id settles it
        ["E4", "Pat", "Poe", "X9", "Sam Jones"],  # the id matches no one: ambiguous name
        ["E5", "Lou", "Low", "E5", ""],  # their own id: the top of the tree
        ["E6", "Max", "Moe", "N/A", "none"],
    ]
    batch, _ = start(session, admin, hr_csv(rows, head))
    plan = preview(session, batch, admin)
    assert plan.errors == []
    assert [(i.row, i.message) for i in plan.warnings] == [
        (
            5,
            "2 people are called 'Sam Jones'; imported without a manager (use the manager's "
            "employee number)",
        )
    ]
    apply(session, batch, admin)
    assert {n: s[3] for n, s in stored(session).items()} == {
        "E1": None,
        "E2": None,
        "E3": "E2",
        "E4": None,
        "E5": None,
        "E6": None,
    }


def test_an_ambiguous_date_column_is_read_the_way_the_admin_chooses(session, admin):
    head = ["EmpID", "First Name", "Last Name", "Leaving Date"]
    rows = [["D1", "Dee", "One", "06/05/2025"], ["D2", "Dee", "Two", "01/02/25"]]
    batch, proposal = start(session, admin, hr_csv(rows, head))
    assert proposal.columns["end_date"] == "Leaving Date"
    assert proposal.date_order_open
    # Day-first by default: 6 May 2025 is before TODAY, a leaver.
    assert [c.active for c in preview(session, batch, admin).candidates] == [False, False]
    batch, _ = start(session, admin, hr_csv(rows, head), end_date={"order": MONTH_FIRST})
    # Month-first: 5 June 2025 is after TODAY; D2 (2 January 2025) left either way.
    assert [c.active for c in preview(session, batch, admin).candidates] == [True, False]


@pytest.mark.parametrize(
    "value, meaning",
    [
        ("Active", "active"),
        ("Voluntarily Terminated", "leaver"),
        ("Terminated for Cause", "leaver"),
        ("TERMINATED", "leaver"),
        ("Left the company", "leaver"),
        ("Resigned", "leaver"),
        ("Retired", "leaver"),
        ("Inactive", "leaver"),
        ("Contract ended", "leaver"),
        ("Dismissed", "leaver"),
        ("Leave of Absence", "active"),
        ("On Leave", "active"),
        ("Sabbatical", "active"),
        ("Future Start", "not_started"),
        ("Seconded to Mars", "ignore"),
    ],
)
def test_status_suggestions_understand_common_phrasings(value, meaning):
    assert suggest_status(value, "Employment Status") == meaning


@pytest.mark.parametrize(
    "value, order, parsed",
    [
        ("2024-03-01", DAY_FIRST, date(2024, 3, 1)),
        ("2024/03/01", MONTH_FIRST, date(2024, 3, 1)),
        ("01/03/2024", DAY_FIRST, date(2024, 3, 1)),
        ("01/03/2024", MONTH_FIRST, date(2024, 1, 3)),
        ("1.3.24", DAY_FIRST, date(2024, 3, 1)),
        ("3-15-99", MONTH_FIRST, date(1999, 3, 15)),
        ("45383", DAY_FIRST, date(2024, 4, 1)),  # an Excel serial number
        ("Mar 1, 2024", DAY_FIRST, date(2024, 3, 1)),
        ("13/13/2024", DAY_FIRST, None),
        ("12345", DAY_FIRST, None),  # a number, but no plausible date
    ],
)
def test_dates_as_hr_files_write_them(value, order, parsed):
    assert parse_date(value, order) == parsed


def test_a_column_decides_day_or_month_first_as_a_whole():
    assert date_order(["01/02/2024", "13/02/2024"]) == DAY_FIRST
    assert date_order(["01/02/2024", "02/13/2024"]) == MONTH_FIRST
    assert date_order(["01/02/2024", "2024-05-30"]) is None
    assert date_order(["13/01/2024", "01/13/2024"]) is None  # contradictory: the admin chooses


def test_end_date_spellings_are_suggested():
    for header in ("Termination Date", "DateofTermination", "Leaving Date", "Separation Date"):
        assert suggest_mapping(["Employee Number", header]).get("end_date") == header


def test_sanity_notes_before_the_preview(session, admin):
    head = ["EmpID", "Full Name", "Email", "Status"]
    rows = [
        ["S1", "Unknown", "s1", "Terminated"],
        ["S2", "Unknown", "s2@example.com", "Terminated"],
        ["S3", "Ann Other", "s3", "Active"],
    ]
    _, proposal = start(session, admin, hr_csv(rows, head))
    assert proposal.notes == [
        "'Full Name' is probably not a name column: 2 of 3 rows hold 'unknown'.",
        "The status mapping makes 2 of the 3 rows leavers: they would be made inactive and "
        "lose their log-in. Check the status values below.",
        "Most values in 'Email' are not email addresses; is it the email column?",
    ]


def test_a_file_with_no_name_column_says_so_and_lists_its_columns(session, admin):
    data = hr_csv([["N1", "n1@example.com", "Delivery"]], ["EmpID", "Email", "Department"])
    batch = services.upload(session, data=data, filename="hr.csv", actor_id=admin.id)
    notes = services.mapping_for(session, batch).notes
    assert notes == [
        "This file has no name column. Its columns are: EmpID, Email, Department. Choose the "
        "columns that hold names below, or export the file again with names."
    ]


def test_values_over_the_column_limits_are_row_errors_never_stored(session, admin):
    head = ["EmpID", "First Name", "Last Name"]
    rows = [
        ["9" * 60, "Long", "Number"],
        ["L2", "N" * 300, "Name"],
        ["L3", "Big", "L" * 9_000_000],  # 9 MB in one cell: just under the file size limit
        ["L4", "Fine", "Row"],
    ]
    batch, _ = start(session, admin, hr_csv(rows, head))
    plan = preview(session, batch, admin)
    assert [(i.row, i.column, i.message.split("' is ")[1]) for i in plan.errors] == [
        (2, "EmpID", "60 characters; the limit is 32"),
        (3, "First Name", "300 characters; the limit is 80"),
        (4, "Last Name", "9,000,000 characters; the limit is 80"),
    ]
    assert max(len(i.message) for i in plan.issues) < 150  # values are cut for display
    apply(session, batch, admin, skip_errors=True)
    assert set(stored(session)) == {"L4"}


def test_a_new_job_title_ends_the_import_made_role_and_keeps_hand_made_ones(session, admin):
    lead = make_role(code="LEAD", name="PMO Lead")
    make_role(code="ANA", name="PMO Analyst")
    make_role(code="MGR", name="Portfolio Manager")
    person = make_person("Hal", "Hand", number="H1")
    assign(person, lead)  # made by hand (the default source)
    session.commit()
    head = ["EmpID", "First Name", "Last Name", "Job Title"]
    batch, _ = start(session, admin, hr_csv([["H1", "Hal", "Hand", "PMO Analyst"]], head))
    apply(session, batch, admin)
    assert current_roles(session) == {
        ("LEAD", AssignmentSource.HAND),
        ("ANA", AssignmentSource.IMPORT),
    }

    batch, _ = start(session, admin, hr_csv([["H1", "Hal", "Hand", "Portfolio Manager"]], head))
    plan = preview(session, batch, admin)
    assert (plan.counts()["roles"], plan.counts()["roles_ended"]) == (1, 1)
    apply(session, batch, admin)
    assert current_roles(session) == {
        ("LEAD", AssignmentSource.HAND),
        ("MGR", AssignmentSource.IMPORT),
    }
    ended = session.scalars(select(RoleAssignment).where(RoleAssignment.end_date.is_not(None)))
    assert [(a.role.code, a.end_date) for a in ended] == [("ANA", TODAY)]

    again, _ = start(session, admin, hr_csv([["H1", "Hal", "Hand", "Portfolio Manager"]], head))
    assert preview(session, again, admin).counts()["unchanged"] == 1


def current_roles(session) -> set[tuple[str, AssignmentSource]]:
    return {
        (a.role.code, a.source)
        for a in session.scalars(select(RoleAssignment).where(RoleAssignment.end_date.is_(None)))
    }


def leaving_dates(session) -> dict[str, date | None]:
    return dict(
        session.execute(
            select(Person.employee_number, Person.leaving_date).where(
                Person.employee_number != "ADMIN1"
            )
        ).all()
    )


def test_leaving_dates_are_stored_and_a_second_import_changes_nothing(session, admin):
    batch, _ = start(session, admin, hr_csv(HR_EXPORT))
    apply(session, batch, admin)
    stored_dates = leaving_dates(session)
    assert {n: d for n, d in stored_dates.items() if d} == {
        "10003": date(2024, 4, 15),
        "10004": date(2024, 11, 3),  # month-first, as the column settles
        "10007": date(2025, 1, 20),
    }
    assert stored_dates["10008"] is None  # "not known": a warning, nothing stored

    again, _ = start(session, admin, hr_csv(HR_EXPORT))
    assert preview(session, again, admin).counts()["unchanged"] == 9
    apply(session, again, admin)
    assert leaving_dates(session) == stored_dates


def test_a_future_end_date_is_stored_and_the_person_stays_active(session, admin):
    head = ["EmpID", "First Name", "Last Name", "Leaving Date"]
    rows = [
        ["F1", "Fay", "Future", "2025-09-30"],  # after TODAY: still employed
        ["F2", "Ola", "Oddyear", "0202-03-01"],  # a typing slip: not stored
        ["F3", "Pam", "Past", "2025-05-01"],
    ]
    batch, _ = start(session, admin, hr_csv(rows, head))
    plan = preview(session, batch, admin)
    assert [(i.row, i.message) for i in plan.warnings] == [
        (3, "'0202-03-01' is not a date between 1900 and 2100; the end date is ignored")
    ]
    assert [(c.employee_number, c.active) for c in plan.candidates] == [
        ("F1", True),
        ("F2", True),
        ("F3", False),
    ]
    apply(session, batch, admin)
    assert leaving_dates(session) == {
        "F1": date(2025, 9, 30),
        "F2": None,
        "F3": date(2025, 5, 1),
    }
    assert {n: s[2] for n, s in stored(session).items()} == {"F1": True, "F2": True, "F3": False}

    again, _ = start(session, admin, hr_csv(rows, head))
    assert preview(session, again, admin).counts()["unchanged"] == 3

    rows[0][3] = "2025-10-31"  # HR moves the last day
    rows[2][3] = ""  # and takes back a leaving date: cleared, the person is active again
    later, _ = start(session, admin, hr_csv(rows, head))
    changes = {c.employee_number: c for c in preview(session, later, admin).changes_sample()}
    assert [(d.label, d.old, d.new) for d in changes["F1"].details] == [
        ("Leaving date", "2025-09-30", "2025-10-31")
    ]
    assert [(d.label, d.old, d.new) for d in changes["F3"].details] == [
        ("Active", "no", "yes"),
        ("Leaving date", "2025-05-01", "—"),
    ]
    apply(session, later, admin)
    assert leaving_dates(session) == {"F1": date(2025, 10, 31), "F2": None, "F3": None}
