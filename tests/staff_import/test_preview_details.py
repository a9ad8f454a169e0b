"""What the preview says and what the import keeps sane (issue 9, points 6 and 8): old → new
values for every changed field of an updated person and the unit, role and start of a new one;
a new org unit goes where the admin chooses in the tree; two people never share an email;
the planner statistics are refreshed after an apply. Runs on SQLite and PostgreSQL.

Preview of CHANGED after FIRST (fixture text, for the issue): 4 rows, 1 to create, 1 to
update, 2 unchanged, 1 leaver to deactivate, 0 rows in error, 1 new org unit; the update
reads "Job title: PMO Analyst → Portfolio Manager", "Org unit: Finance → Operations",
"Line manager: A. Bell → C. Dunn", "Active: yes → no", "Leaving date: — → 2025-05-31",
"Role: PMO Analyst → Portfolio Manager"; the new row "Org unit: Brand New Lab (new)",
"Role: PMO Analyst", "Starts: inactive (not started yet)".
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import select

from app.accounts.models import Permission
from app.errors import DomainError
from app.org.models import OrgUnit, OrgUnitPath, Person
from app.staff_import import services
from app.staff_import.rows import TOP
from tests.factories import make_person, make_role, make_unit, make_user

TODAY = date(2025, 6, 1)
HEAD = ["EmpID", "First Name", "Last Name", "Email", "Department", "Job Title", "ManagerID",
        "Status", "Leaving Date"]  # fmt: skip
FIRST = [
    ["A1", "Alice", "Bell", "a.bell@example.com", "Finance", "PMO Analyst", "", "Active", ""],
    ["C1", "Chris", "Dunn", "c.dunn@example.com", "Operations", "PMO Analyst", "", "Active", ""],
    ["P1", "Pat", "Poe", "pat@example.com", "Finance", "PMO Analyst", "A1", "Active", ""],
]
CHANGED = [
    FIRST[0],
    FIRST[1],
    ["P1", "Pat", "Poe", "pat@example.com", "Operations", "Portfolio Manager", "C1",
     "Terminated", "2025-05-31"],
    ["N1", "Nia", "New", "nia@example.com", "Brand New Lab", "PMO Analyst", "A1",
     "Future Start", ""],
]  # fmt: skip


def hr_csv(rows: list[list[str]], head: list[str] = HEAD) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([head, *rows])
    return out.getvalue().encode("utf-8")


@pytest.fixture
def admin(session):
    user = make_user(Permission.ADMIN, person=make_person("Ada", "Admin", number="ADMIN1"))
    group = make_unit("Group", code="GRP")
    make_unit("Finance", code="FIN", parent=group)
    make_unit("Operations", code="OPS", parent=group)
    make_role(code="ANA", name="PMO Analyst")
    make_role(code="MGR", name="Portfolio Manager")
    session.commit()
    return user


def start(session, admin, data: bytes, **value_maps):
    """Upload and save the proposed mapping, with the admin's value choices on top."""
    batch = services.upload(session, data=data, filename="hr.csv", actor_id=admin.id)
    proposal = services.mapping_for(session, batch)
    maps = {k: dict(v) for k, v in proposal.value_maps.items()}
    for key, values in value_maps.items():
        maps.setdefault(key, {}).update(values)
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


def texts(change) -> list[str]:
    return [f"{d.label}: {d.old} → {d.new}" if d.old is not None else f"{d.label}: {d.new}"
            for d in change.details]  # fmt: skip


def test_the_preview_shows_old_and_new_values_and_what_new_rows_start_with(session, admin):
    batch, _ = start(session, admin, hr_csv(FIRST))
    apply(session, batch, admin)
    batch, proposal = start(session, admin, hr_csv(CHANGED))
    assert proposal.value_maps["org_unit"]["brand new lab"] == "__create__"
    assert proposal.value_maps["org_unit_parent"]["brand new lab"] == "GRP"  # the one top unit
    plan = preview(session, batch, admin)
    counts = plan.counts()
    assert {k: counts[k] for k in ("rows", "create", "update", "unchanged", "error_rows")} == {
        "rows": 4,
        "create": 1,
        "update": 1,
        "unchanged": 2,
        "error_rows": 0,
    }
    assert (counts["leavers_deactivate"], counts["new_units"]) == (1, 1)
    new, updated = plan.changes_sample()
    assert (new.employee_number, new.name, new.fields) == ("N1", "Nia New", ["new"])
    assert texts(new) == [
        "Org unit: Brand New Lab (new)",
        "Role: PMO Analyst",
        "Starts: inactive (not started yet)",
    ]
    assert (updated.employee_number, updated.name) == ("P1", "Pat Poe")
    assert texts(updated) == [
        "Job title: PMO Analyst → Portfolio Manager",
        "Org unit: Finance → Operations",
        "Line manager: A. Bell → C. Dunn",
        "Active: yes → no",
        "Leaving date: — → 2025-05-31",
        "Role: PMO Analyst → Portfolio Manager",
    ]
    assert plan.new_unit_parents == {"Brand New Lab": "GRP"}

    apply(session, batch, admin)
    lab = session.scalar(select(OrgUnit).where(OrgUnit.name == "Brand New Lab"))
    assert lab.parent.code == "GRP"
    paths = session.execute(
        select(OrgUnitPath.ancestor_id, OrgUnitPath.depth).where(
            OrgUnitPath.descendant_id == lab.id
        )
    ).all()
    assert sorted(paths, key=lambda p: p.depth) == [(lab.id, 0), (lab.parent_id, 1)]
    again, _ = start(session, admin, hr_csv(CHANGED))
    assert preview(session, again, admin).counts()["unchanged"] == 4


def test_long_values_are_cut_in_the_preview(session, admin):
    rows = [["L1", "N" * 80, "Long", "long@example.com", "D" * 120, "T" * 120, "", "", ""]]
    batch, _ = start(session, admin, hr_csv(rows))
    (change,) = preview(session, batch, admin).changes_sample()
    assert len(change.name) == 40 and change.name.endswith("…")
    assert all(len(d.new) <= 46 for d in change.details)  # 40 and " (new)"


def test_a_new_unit_needs_a_place_when_the_tree_has_several_tops(session, admin):
    make_unit("Other Group", code="OTH")
    session.commit()
    with pytest.raises(DomainError) as refused:
        start(session, admin, hr_csv(CHANGED))
    assert refused.value.field == "parent:brand new lab"
    assert "Choose where the new org unit 'brand new lab' goes" in refused.value.message
    session.rollback()

    batch, proposal = start(
        session, admin, hr_csv(CHANGED), org_unit_parent={"brand new lab": "FIN"}
    )
    assert proposal.default_parent == ""
    assert preview(session, batch, admin).new_unit_parents == {"Brand New Lab": "FIN"}
    apply(session, batch, admin)
    lab = session.scalar(select(OrgUnit).where(OrgUnit.name == "Brand New Lab"))
    ancestors = {
        code: depth
        for code, depth in session.execute(
            select(OrgUnit.code, OrgUnitPath.depth)
            .join(OrgUnitPath, OrgUnitPath.ancestor_id == OrgUnit.id)
            .where(OrgUnitPath.descendant_id == lab.id)
        )
    }
    assert ancestors == {"GRP": 2, "FIN": 1, lab.code: 0}
    # The choice is saved with the mapping: the next file of the shape proposes it again.
    _, proposal = start(session, admin, hr_csv(CHANGED))
    assert proposal.value_maps["org_unit"]["brand new lab"] == lab.code  # made last time


def test_a_new_unit_can_go_at_the_top(session, admin):
    make_unit("Other Group", code="OTH")
    session.commit()
    batch, _ = start(session, admin, hr_csv(CHANGED), org_unit_parent={"brand new lab": TOP})
    apply(session, batch, admin)
    lab = session.scalar(select(OrgUnit).where(OrgUnit.name == "Brand New Lab"))
    assert lab.parent_id is None


def test_an_email_already_another_persons_is_a_row_error_naming_them(session, admin):
    batch, _ = start(session, admin, hr_csv(FIRST))
    apply(session, batch, admin)
    rows = [
        # A1 and C1 swap emails: each is free once the file gives its owner a new one.
        ["A1", "Alice", "Bell", "c.dunn@example.com", "Finance", "", "", "Active", ""],
        ["C1", "Chris", "Dunn", "A.Bell@example.com", "Operations", "", "", "Active", ""],
        ["X1", "Xavi", "One", "pat@example.com", "Finance", "", "", "Active", ""],
        ["X2", "Xena", "Two", "same@example.com", "Finance", "", "", "Active", ""],
        ["X3", "Xu", "Three", "SAME@example.com", "Finance", "", "", "Active", ""],
    ]
    batch, _ = start(session, admin, hr_csv(rows))
    plan = preview(session, batch, admin)
    assert [(i.row, i.column, i.message) for i in plan.errors] == [
        (4, "Email", "'pat@example.com' is already the email of employee P1; two people "
         "cannot share an email"),
        (6, "Email", "'same@example.com' is already the email of employee X2 on an earlier "
         "row; two people cannot share an email"),
    ]  # fmt: skip
    apply(session, batch, admin, skip_errors=True)
    emails = dict(session.execute(select(Person.employee_number, Person.email)).all())
    assert {n: emails.get(n) for n in ("A1", "C1", "P1", "X1", "X2", "X3")} == {
        "A1": "c.dunn@example.com",
        "C1": "a.bell@example.com",
        "P1": "pat@example.com",
        "X1": None,
        "X2": "same@example.com",
        "X3": None,
    }


def test_apply_refreshes_the_planner_statistics(session, admin, monkeypatch):
    calls = []
    monkeypatch.setattr(services, "refresh_planner_statistics", calls.append)
    batch, _ = start(session, admin, hr_csv(FIRST))
    preview(session, batch, admin)
    assert calls == []
    apply(session, batch, admin)
    assert len(calls) == 1
