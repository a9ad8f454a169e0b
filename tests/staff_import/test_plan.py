"""Staff import use-cases (app.staff_import.services) against a real database: plan counts,
idempotent re-import, full-file sync, row errors, apply with skipped rows, a failure
mid-apply, and the error report CSV. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.accounts.models import LoginSession, Permission, User
from app.accounts.services import open_login_session
from app.content.roles import load_roles
from app.errors import DomainError
from app.org.models import OrgUnit, Person, Role, RoleAssignment
from app.staff_import import apply as apply_module
from app.staff_import import services
from app.staff_import.models import BatchStatus, ImportBatch, ImportMapping
from app.staff_import.reading import BadFile
from app.staff_import.rows import CREATE, IGNORE
from tests.factories import make_person, make_unit, make_user

ROLES_FILE = Path(__file__).resolve().parents[2] / "curricula" / "roles.yaml"
TODAY = date(2025, 6, 1)
HEAD = [
    "Staff No",
    "Forename",
    "Surname",
    "Work Email",
    "Dept",
    "Job Title",
    "Manager ID",
    "Manager Name",
    "Status",
]


def hr_csv(rows: list[list[str]], head: list[str] = HEAD) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(head)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def people_state(session) -> list[tuple]:
    """Every column a file can change, plus updated_at, for every person."""
    return sorted(
        session.execute(
            select(
                Person.employee_number,
                Person.first_name,
                Person.last_name,
                Person.email,
                Person.job_title,
                Person.org_unit_id,
                Person.line_manager_id,
                Person.active,
                Person.updated_at,
            )
        ).all()
    )


def managers(session) -> dict[str, str | None]:
    boss = aliased(Person)
    rows = session.execute(
        select(Person.employee_number, boss.employee_number).outerjoin(
            boss, Person.line_manager_id == boss.id
        )
    ).all()
    return dict(rows)


def roles_held(session) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for number, code in session.execute(
        select(Person.employee_number, Role.code)
        .join(RoleAssignment, RoleAssignment.person_id == Person.id)
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(RoleAssignment.end_date.is_(None))
    ):
        out.setdefault(number, set()).add(code)
    return out


@pytest.fixture
def roles(session):
    load_roles(session, ROLES_FILE)
    session.commit()


@pytest.fixture
def admin(session):
    user = make_user(Permission.ADMIN, person=make_person("Ada", "Admin", number="ADMIN1"))
    session.commit()
    return user


def start(
    session,
    admin,
    data: bytes,
    *,
    full_sync: bool = False,
    value_maps: dict[str, dict[str, str]] | None = None,
    columns: dict[str, str] | None = None,
) -> ImportBatch:
    """Upload, take the proposed mapping (with the admin's value choices), save it."""
    batch = services.upload(session, data=data, filename="staff.csv", actor_id=admin.id)
    proposal = services.mapping_for(session, batch)
    maps = {field: dict(values) for field, values in proposal.value_maps.items()}
    for field, values in (value_maps or {}).items():
        maps.setdefault(field, {}).update(values)
    services.save_mapping(
        session,
        batch=batch,
        columns=columns or proposal.columns,
        value_maps=maps,
        full_sync=full_sync,
        actor_id=admin.id,
    )
    session.commit()
    return batch


def preview(session, batch, admin):
    return services.preview(session, batch, actor_person_id=admin.person_id, today=TODAY)


def apply(session, batch, admin, *, skip_errors: bool = False):
    plan = services.apply(
        session, batch, skip_errors=skip_errors, actor_person_id=admin.person_id, today=TODAY
    )
    session.commit()
    return plan


def import_file(session, admin, data: bytes, **kwargs):
    batch = start(session, admin, data, **kwargs)
    return batch, apply(session, batch, admin)


# --- a file of new people -------------------------------------------------------------------------

NEW_PEOPLE = [
    # Staff No, Forename, Surname, Work Email, Dept, Job Title, Manager ID, Manager Name, Status
    [
        "00001",
        "Grace",
        "Hopper",
        "Grace.Hopper@Example.com",
        "Portfolio Office",
        "Head of PMO",
        "",
        "",
        "Active",
    ],
    [
        "00002",
        "Alan",
        "Turing",
        "alan.turing@example.com",
        "portfolio office",
        "PMO Analyst",
        "00001",
        "",
        "Active",
    ],
    # Manager by name ("First Last"), on a later row.
    [
        "00003",
        "Ada",
        "Lovelace",
        "ada.lovelace@example.com",
        "Delivery",
        "Project Manager",
        "",
        "Edsger Dijkstra",
        "Active",
    ],
    [
        "00004",
        "Edsger",
        "Dijkstra",
        "edsger.dijkstra@example.com",
        "Delivery",
        "Programme Manager",
        "00001",
        "",
        "Active",
    ],
    # Manager by employee number, on a later row.
    [
        "00005",
        "Barbara",
        "Liskov",
        "barbara.liskov@example.com",
        "DELIVERY",
        "project manager",
        "00008",
        "",
        "Active",
    ],
    # Manager by name ("Last, First").
    [
        "00006",
        "Ken",
        "Thompson",
        "ken.thompson@example.com",
        "Finance",
        "Accountant",
        "",
        "Hopper, Grace",
        "Active",
    ],
    ["00007", "Dennis", "Ritchie", "", "Finance", "", "", "", ""],
    [
        "00008",
        "Donald",
        "Knuth",
        "donald.knuth@example.com",
        "Delivery",
        "Senior PM",
        "",
        "grace  HOPPER",
        "Active",
    ],
]
FIRST_VALUE_MAPS = {"job_title": {"senior pm": "R05"}, "org_unit": {"finance": IGNORE}}


@pytest.fixture
def portfolio_office(session):
    unit = make_unit("Portfolio Office", code="PO")
    session.commit()
    return unit


def test_proposal_suggests_columns_and_values(session, admin, roles, portfolio_office):
    batch = services.upload(
        session, data=hr_csv(NEW_PEOPLE), filename="staff.csv", actor_id=admin.id
    )
    proposal = services.mapping_for(session, batch)
    assert not proposal.saved
    assert proposal.columns == {
        "employee_number": "Staff No",
        "first_name": "Forename",
        "last_name": "Surname",
        "email": "Work Email",
        "org_unit": "Dept",
        "job_title": "Job Title",
        "manager_id": "Manager ID",
        "manager_name": "Manager Name",
        "status": "Status",
    }
    assert proposal.departments == ["Delivery", "Finance", "Portfolio Office"]
    assert proposal.value_maps["org_unit"] == {
        "delivery": CREATE,
        "finance": CREATE,
        "portfolio office": "PO",
    }
    assert proposal.value_maps["job_title"] == {
        "accountant": IGNORE,
        "head of pmo": "R01",
        "pmo analyst": "R03",
        "programme manager": "R06",
        "project manager": "R05",
        "senior pm": IGNORE,
    }


def test_new_people_are_created_with_managers_roles_and_units(
    session, admin, roles, portfolio_office
):
    units_before = count(session, OrgUnit)
    batch = start(session, admin, hr_csv(NEW_PEOPLE), value_maps=FIRST_VALUE_MAPS)
    plan = preview(session, batch, admin)
    assert plan.counts() == {
        "rows": 8,
        "create": 8,
        "update": 0,
        "unchanged": 0,
        "deactivate": 0,
        "leavers": 0,
        "leavers_deactivate": 0,
        "leavers_create": 0,
        "error_rows": 0,
        "errors": 0,
        "warnings": 1,
        "roles": 6,
        "roles_ended": 0,
        "new_units": 1,
    }
    assert [(i.row, i.column, i.message) for i in plan.warnings] == [
        (8, "Work Email", "no email address")
    ]
    assert count(session, Person) == 1  # a preview writes nothing

    apply(session, batch, admin)
    assert count(session, Person) == 9
    assert managers(session) == {
        "ADMIN1": None,
        "00001": None,
        "00002": "00001",
        "00003": "00004",
        "00004": "00001",
        "00005": "00008",
        "00006": "00001",
        "00007": None,
        "00008": "00001",
    }
    assert roles_held(session) == {
        "00001": {"R01"},
        "00002": {"R03"},
        "00003": {"R05"},
        "00004": {"R06"},
        "00005": {"R05"},
        "00008": {"R05"},
    }
    # Only the department mapped to CREATE becomes a unit; Finance was left unmapped.
    assert count(session, OrgUnit) == units_before + 1
    delivery = session.scalar(select(OrgUnit).where(OrgUnit.name == "Delivery"))
    unit_of = dict(session.execute(select(Person.employee_number, Person.org_unit_id)).all())
    assert {n: unit_of[n] for n in ("00001", "00002", "00003", "00005", "00006", "00007")} == {
        "00001": portfolio_office.id,
        "00002": portfolio_office.id,
        "00003": delivery.id,
        "00005": delivery.id,
        "00006": None,
        "00007": None,
    }
    grace = session.scalar(select(Person).where(Person.employee_number == "00001"))
    assert (grace.first_name, grace.last_name, grace.email, grace.job_title, grace.active) == (
        "Grace",
        "Hopper",
        "grace.hopper@example.com",
        "Head of PMO",
        True,
    )
    session.refresh(batch)
    assert batch.status == BatchStatus.APPLIED
    assert batch.counts["create"] == 8
    assert batch.issues == [[8, "Work Email", "warning", "no email address"]]


def test_importing_the_same_file_again_changes_nothing(session, admin, roles, portfolio_office):
    import_file(session, admin, hr_csv(NEW_PEOPLE), value_maps=FIRST_VALUE_MAPS)
    people = people_state(session)
    counts = (count(session, Person), count(session, OrgUnit), count(session, RoleAssignment))

    # Same shape: the saved column and value mapping is proposed again.
    second = services.upload(
        session, data=hr_csv(NEW_PEOPLE), filename="staff again.csv", actor_id=admin.id
    )
    proposal = services.mapping_for(session, second)
    assert proposal.saved
    services.save_mapping(
        session,
        batch=second,
        columns=proposal.columns,
        value_maps=proposal.value_maps,
        full_sync=False,
        actor_id=admin.id,
    )
    plan = preview(session, second, admin)
    assert (
        len(plan.creates),
        len(plan.updates),
        plan.unchanged,
        plan.role_adds,
        plan.new_units,
    ) == (0, 0, 8, [], [])
    apply(session, second, admin)
    session.expire_all()
    assert people_state(session) == people  # updated_at included
    assert (
        count(session, Person),
        count(session, OrgUnit),
        count(session, RoleAssignment),
    ) == counts


def test_emails_differing_in_case_and_spacing_are_the_same(session, admin, roles):
    import_file(session, admin, hr_csv(NEW_PEOPLE))
    people = people_state(session)
    shouting = [row[:3] + [f"  {row[3].upper()} "] + row[4:] for row in NEW_PEOPLE]
    assert shouting[1][3] == "  ALAN.TURING@EXAMPLE.COM "
    batch = start(session, admin, hr_csv(shouting))
    plan = preview(session, batch, admin)
    assert (len(plan.creates), len(plan.updates), plan.unchanged) == (0, 0, 8)
    apply(session, batch, admin)
    session.expire_all()
    assert people_state(session) == people


def test_saved_mapping_is_reused_for_the_same_shape_in_any_case_and_order(session, admin, roles):
    columns = {
        "employee_number": "Staff No",
        "first_name": "Forename",
        "last_name": "Surname",
        "email": "Work Email",
        "job_title": "Job Title",
    }  # the admin left some out
    batch = start(
        session,
        admin,
        hr_csv(NEW_PEOPLE),
        columns=columns,
        value_maps={"job_title": {"senior pm": "R02"}},
    )
    assert count(session, ImportMapping) == 0  # kept only once the import is applied
    apply(session, batch, admin)
    assert count(session, ImportMapping) == 1
    head = [f" {h.upper()} " for h in reversed(HEAD)]
    rows = [list(reversed(r)) for r in NEW_PEOPLE]
    again = services.upload(session, data=hr_csv(rows, head), filename="b.csv", actor_id=admin.id)
    assert again.shape_key == batch.shape_key
    proposal = services.mapping_for(session, again)
    assert proposal.saved
    assert proposal.columns == {
        "employee_number": "STAFF NO",
        "first_name": "FORENAME",
        "last_name": "SURNAME",
        "email": "WORK EMAIL",
        "job_title": "JOB TITLE",
    }
    assert proposal.value_maps["job_title"]["senior pm"] == "R02"


# --- a changed file -----------------------------------------------------------------------------


def base_staff() -> list[list[str]]:
    rows = [
        [
            "E001",
            "Chief",
            "Boss",
            "chief.boss@example.com",
            "Delivery",
            "Head of PMO",
            "",
            "",
            "Active",
        ]
    ]
    for n in range(2, 31):
        rows.append(
            [
                f"E{n:03d}",
                f"First{n}",
                f"Last{n}",
                f"first{n}.last{n}@example.com",
                "Delivery",
                "Project Manager",
                "E001" if n < 10 else "E002",
                "",
                "Active",
            ]
        )
    return rows


def changed_staff() -> tuple[list[list[str]], dict[str, list[str]]]:
    rows = [list(r) for r in base_staff()[:27]]  # E028, E029, E030 are missing
    by_no = {r[0]: r for r in rows}
    by_no["E003"][3] = "new.address@example.com"
    by_no["E004"][3] = "other.address@example.com"
    by_no["E005"][1] = "Renamed"
    by_no["E006"][2] = "Married"
    by_no["E007"][5] = "Programme Manager"
    by_no["E008"][5] = "PMO Analyst"
    by_no["E009"][4] = "Portfolio Office"
    by_no["E010"][6] = "E003"
    by_no["E011"][8] = "Terminated"
    by_no["E015"][6], by_no["E015"][7] = "", "Boss, Chief"  # E002 → E001, by name
    by_no["E012"][3] = "  FIRST12.LAST12@EXAMPLE.COM"  # not a change
    by_no["E013"][6], by_no["E013"][7] = "", "First2 Last2"  # the same manager, by name
    by_no["E014"][1] = " First14 "  # not a change
    rows += [
        [
            f"N{n}",
            f"New{n}",
            f"Starter{n}",
            f"new{n}@example.com",
            "Delivery",
            "PMO Analyst",
            "E002",
            "",
            "Active",
        ]
        for n in range(1, 6)
    ]
    expected = {
        "E003": ["email"],
        "E004": ["email"],
        "E005": ["name"],
        "E006": ["name"],
        "E007": ["job title", "role"],
        "E008": ["job title", "role"],
        "E009": ["org unit"],
        "E010": ["line manager"],
        "E011": ["leaver"],
        "E015": ["line manager"],
        "E012": [],
        "E013": [],
        "E014": [],
    }
    return rows, {k: v for k, v in expected.items() if v}


@pytest.fixture
def base(session, admin, roles, portfolio_office):
    delivery = make_unit("Delivery", code="DEL")
    session.commit()
    import_file(session, admin, hr_csv(base_staff()))
    accounts = {}
    for number in ("E011", "E028", "E029", "E030", "E027"):
        person = session.scalar(select(Person).where(Person.employee_number == number))
        accounts[number] = make_user(person=person)
        open_login_session(session, accounts[number])
    session.commit()
    assert count(session, LoginSession) == 5
    return delivery, accounts


@pytest.mark.parametrize("full_sync", [True, False], ids=["full-sync", "partial"])
def test_changed_file_updates_creates_and_deactivates_exactly(session, admin, base, full_sync):
    delivery, accounts = base
    rows, expected = changed_staff()
    before = {r[0]: r for r in people_state(session)}
    batch = start(session, admin, hr_csv(rows), full_sync=full_sync)
    plan = preview(session, batch, admin)
    assert {c.employee_number: fields for c, _, fields in plan.updates} == expected
    assert sorted(c.employee_number for c in plan.creates) == [f"N{n}" for n in range(1, 6)]
    assert plan.unchanged == 27 - 10
    missing = ["E028", "E029", "E030"] if full_sync else []
    assert sorted(session.get(Person, i).employee_number for i in plan.deactivate) == missing
    assert plan.counts()["update"] == 10 and plan.counts()["create"] == 5

    apply(session, batch, admin)
    session.expire_all()
    after = {r[0]: r for r in people_state(session)}
    assert set(after) == set(before) | {f"N{n}" for n in range(1, 6)}  # nobody deleted
    touched = set(expected) | set(missing)
    assert {n for n in before if after[n] != before[n]} == touched
    assert {n for n in after if not after[n].active} == {"E011", *missing}
    assert after["E003"].email == "new.address@example.com"
    assert (after["E005"].first_name, after["E006"].last_name) == ("Renamed", "Married")
    assert after["E009"].org_unit_id != delivery.id
    assert managers(session)["E010"] == "E003"
    # The new job title's role replaces the one the first import gave (point 8 of issue 8).
    assert roles_held(session)["E007"] == {"R06"}
    assert managers(session)["N3"] == "E002"
    # Leavers and (under a full sync) people missing from the file lose their log-in.
    users = dict(session.execute(select(User.person_id, User.active)).all())
    id_of = dict(session.execute(select(Person.employee_number, Person.id)).all())
    disabled = {n for n, user in accounts.items() if not users[id_of[n]]}
    assert disabled == {"E011", *missing}
    sessions_left = set(session.scalars(select(LoginSession.user_id)))
    assert sessions_left == {accounts[n].id for n in accounts if n not in disabled}
    assert users[admin.person_id] and after["ADMIN1"].active  # the admin is never a leaver


def test_full_sync_skips_people_in_the_file_even_on_rows_in_error(session, admin, base):
    rows = base_staff()
    rows[27][3] = "not-an-email"  # E028: in the file, row in error
    batch = start(session, admin, hr_csv(rows[:29]), full_sync=True)
    plan = preview(session, batch, admin)
    assert [session.get(Person, i).employee_number for i in plan.deactivate] == ["E030"]
    assert [(i.row, i.column) for i in plan.errors] == [(29, "Work Email")]


# --- row errors ---------------------------------------------------------------------------------

ERROR_ROWS = [
    ["00010", "Dup", "One", "dup.one@example.com", "", "", "", "", ""],  # row 2
    ["00010", "Dup", "Two", "dup.two@example.com", "", "", "", "", ""],  # row 3
    ["00011", "Bad", "Email", "not-an-email", "", "", "", "", ""],  # row 4
    ["00012", "Lost", "Soul", "lost@example.com", "", "", "99999", "", ""],  # row 5
    ["00013", "Who", "Knows", "who@example.com", "", "", "", "Sam Jones", ""],  # row 6
    ["00014", "Sam", "Jones", "sam.jones@example.com", "", "", "", "", ""],  # row 7
    ["00020", "Loop", "A", "loop.a@example.com", "", "", "00021", "", ""],  # row 8
    ["00021", "Loop", "B", "loop.b@example.com", "", "", "", "Loop A", ""],  # row 9
    ["00031", "Cycle", "Db", "cycle.db@example.com", "", "", "00030", "", ""],  # row 10
    ["00040", "Self", "Made", "self@example.com", "", "", "00040", "", ""],  # row 11
    ["00050", "Broken", "Boss", "broken@", "", "", "", "", ""],  # row 12
    ["00051", "Under", "Broken", "under@example.com", "", "", "00050", "", ""],  # row 13
    ["00052", "Under", "Under", "under2@example.com", "", "", "00051", "", ""],  # row 14
    ["00053", "Under", "Dup", "under.dup@example.com", "", "", "00010", "", ""],  # row 15
    ["00060", "Good", "Row", "good@example.com", "", "", "00014", "", ""],  # row 16
    ["00061", "No", "Email", "", "", "", "", "Sam Jones", ""],  # row 17
    ["00062", "Also", "Good", "also@example.com", "", "", "", "Row, Good", ""],  # row 18
]
LOOP = "the manager chain goes round in a loop through this person"


@pytest.fixture
def existing_for_errors(session, admin):
    make_person("Sam", "Jones", number="X-SAM")  # makes "Sam Jones" ambiguous
    db_b = make_person("Cycle", "Db", number="00031")
    db_a = make_person("Cyclic", "Partner", number="00030", manager=db_b)
    session.commit()
    return db_a, db_b


def test_row_errors_each_with_row_column_and_reason(session, admin, existing_for_errors):
    batch = start(session, admin, hr_csv(ERROR_ROWS))
    plan = preview(session, batch, admin)
    found = {(i.row, i.column, i.message) for i in plan.errors}
    assert found == {
        (2, "Staff No", "employee number '00010' appears on rows 2, 3"),
        (3, "Staff No", "employee number '00010' appears on rows 2, 3"),
        (
            4,
            "Work Email",
            "'not-an-email' is not a valid email address (An email address must have an @-sign.)",
        ),
        (8, "Manager ID", LOOP),
        (9, "Manager Name", LOOP),
        (10, "Manager ID", LOOP),  # 00031 → 00030 (in the database) → 00031
        (
            12,
            "Work Email",
            "'broken@' is not a valid email address (There must be something after the @-sign.)",
        ),
    }
    assert len(plan.errors) == len(found)  # one message per problem, none repeated
    # Managers that cannot be found are warnings: the person goes in without a manager.
    # Row 11 names themselves as manager: the top of the tree, no message at all.
    ambiguous = "2 people are called 'Sam Jones'; imported without a manager (use the manager's "
    assert [(i.row, i.column, i.message) for i in plan.warnings] == [
        (5, "Manager ID", "manager '99999' not found; imported without a manager"),
        (6, "Manager Name", ambiguous + "employee number)"),
        (
            13,
            "Manager ID",
            "the manager (00050) is on a row with errors; imported without a manager",
        ),
        (
            15,
            "Manager ID",
            "the manager (00010) is on a row with errors; imported without a manager",
        ),
        (17, "Manager Name", ambiguous + "employee number)"),
        (17, "Work Email", "no email address"),
    ]
    assert plan.error_rows == 7
    assert sorted(c.employee_number for c in plan.creates) == [
        "00012",
        "00013",
        "00014",
        "00040",
        "00051",
        "00052",
        "00053",
        "00060",
        "00061",
        "00062",
    ]
    assert [i.row for i in plan.issues] == sorted(i.row for i in plan.issues)


def test_apply_refuses_a_plan_with_errors_and_writes_nothing(session, admin, existing_for_errors):
    before = people_state(session)
    batch = start(session, admin, hr_csv(ERROR_ROWS))
    with pytest.raises(
        DomainError,
        match=r"^7 row\(s\) have errors. Fix the file, or choose "
        "to apply the valid rows and skip those.$",
    ):
        services.apply(
            session, batch, skip_errors=False, actor_person_id=admin.person_id, today=TODAY
        )
    session.rollback()
    assert people_state(session) == before
    assert session.get(ImportBatch, batch.id).status == BatchStatus.UPLOADED


def test_apply_with_skip_errors_writes_only_valid_rows(session, admin, existing_for_errors):
    before = {r[0] for r in people_state(session)}
    batch = start(session, admin, hr_csv(ERROR_ROWS))
    plan = apply(session, batch, admin, skip_errors=True)
    after = {r[0] for r in people_state(session)}
    assert after - before == {
        "00012",
        "00013",
        "00014",
        "00040",
        "00051",
        "00052",
        "00053",
        "00060",
        "00061",
        "00062",
    }
    assert managers(session)["00060"] == "00014"
    assert managers(session)["00062"] == "00060"
    assert managers(session)["00052"] == "00051"
    assert managers(session)["00051"] is None  # its manager's row was in error
    assert managers(session)["00040"] is None  # their own manager: the top of the tree
    session.expire_all()
    batch = session.get(ImportBatch, batch.id)
    assert (batch.status, batch.skip_errors) == (BatchStatus.APPLIED, True)
    assert batch.counts["create"] == 10 and batch.counts["error_rows"] == 7
    assert batch.issues == [
        [i.row, i.column, "error" if i.error else "warning", i.message] for i in plan.issues
    ]
    assert [17, "Work Email", "warning", "no email address"] in batch.issues
    # The cycle through the database person was not written.
    assert managers(session)["00031"] is None
    with pytest.raises(DomainError, match="already been applied"):
        services.apply(session, batch, skip_errors=True, actor_person_id=None, today=TODAY)


# --- a failure mid-apply ------------------------------------------------------------------------


def test_failure_mid_apply_leaves_the_database_as_it_was(session, admin, base, monkeypatch):
    rows, _ = changed_staff()
    rows.append(
        [
            "N9",
            "Nine",
            "Unit",
            "nine@example.com",
            "Brand New Unit",
            "PMO Analyst",
            "E001",
            "",
            "Active",
        ]
    )
    batch = start(
        session,
        admin,
        hr_csv(rows),
        full_sync=True,
        value_maps={
            "org_unit": {"brand new unit": CREATE},
            "org_unit_parent": {"brand new unit": "DEL"},
        },
    )
    snapshot = (
        people_state(session),
        count(session, OrgUnit),
        count(session, RoleAssignment),
        sorted(session.execute(select(User.id, User.active)).all()),
        count(session, LoginSession),
    )
    reached = []

    def explode(session_, person_ids):
        # By now people were inserted, updated, linked to managers and given roles.
        reached.append(session_.scalar(select(func.count()).select_from(Person)))
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(apply_module, "_end_access", explode)
    with pytest.raises(RuntimeError, match="disk on fire"):
        services.apply(
            session, batch, skip_errors=False, actor_person_id=admin.person_id, today=TODAY
        )
    assert reached == [len(snapshot[0]) + 6]  # the failure came after the inserts
    session.rollback()
    assert (
        people_state(session),
        count(session, OrgUnit),
        count(session, RoleAssignment),
        sorted(session.execute(select(User.id, User.active)).all()),
        count(session, LoginSession),
    ) == snapshot
    assert session.get(ImportBatch, batch.id).status == BatchStatus.UPLOADED

    # Once the fault is gone the same batch applies cleanly.
    monkeypatch.undo()
    plan = apply(session, batch, admin)
    assert (len(plan.creates), len(plan.updates), len(plan.deactivate)) == (6, 10, 3)
    assert count(session, OrgUnit) == snapshot[1] + 1


# --- bad uploads and the error report -----------------------------------------------------------


def test_upload_of_a_file_with_no_usable_column_is_kept_to_map_by_hand(session, admin):
    data = b"Colour,Shoe Size,Favourite Film\nred,9,Alien\n"
    batch = services.upload(session, data=data, filename="odd.csv", actor_id=admin.id)
    proposal = services.mapping_for(session, batch)
    assert proposal.columns == {}
    assert proposal.notes == [
        "None of the columns could be recognised. Choose below which column holds what.",
        "This file has no name column. Its columns are: Colour, Shoe Size, Favourite Film. "
        "Choose the columns that hold names below, or export the file again with names.",
    ]
    with pytest.raises(DomainError, match="Choose the column that holds the employee number"):
        services.save_mapping(
            session, batch=batch, columns={}, value_maps={}, full_sync=False, actor_id=admin.id
        )


def test_upload_of_a_binary_file_saves_nothing(session, admin):
    with pytest.raises(BadFile, match="contains binary data"):
        services.upload(
            session, data=b"\x89PNG\r\n\x1a\n\x00\x00", filename="x.csv", actor_id=admin.id
        )
    assert count(session, ImportBatch) == 0


def test_save_mapping_refuses_an_unusable_mapping(session, admin):
    batch = services.upload(session, data=hr_csv(NEW_PEOPLE), filename="s.csv", actor_id=admin.id)
    with pytest.raises(DomainError, match="Choose the column that holds the employee number"):
        services.save_mapping(
            session,
            batch=batch,
            columns={"full_name": "Manager Name"},
            value_maps={},
            full_sync=False,
            actor_id=admin.id,
        )
    with pytest.raises(DomainError, match="Unknown role 'NOPE'"):
        services.save_mapping(
            session,
            batch=batch,
            columns={"employee_number": "Staff No", "full_name": "Forename"},
            value_maps={"job_title": {"x": "NOPE"}},
            full_sync=False,
            actor_id=admin.id,
        )
    assert batch.mapping == {}


def test_issues_csv_neutralises_formulas_and_round_trips():
    issues = [
        [2, '=HYPERLINK("http://evil","x")', "error", "+1+1"],
        [3, "-2", "warning", "@SUM(1)"],
        [4, "Name", "error", '\tTabbed, with "quotes"\nand a newline'],
        [5, "Email", "error", "plain message, with a comma"],
    ]
    text = services.issues_csv(issues)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["row", "column", "severity", "message"],
        ["2", '\'=HYPERLINK("http://evil","x")', "error", "'+1+1"],
        ["3", "'-2", "warning", "'@SUM(1)"],
        ["4", "Name", "error", '\'\tTabbed, with "quotes"\nand a newline'],
        ["5", "Email", "error", "plain message, with a comma"],
    ]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t")) for row in rows for cell in row)
