"""The use-cases of app.org.services and app.accounts.services, called directly.

Each refuses a broken rule with a DomainError naming the form field it concerns, and
changes nothing it should not.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.accounts import services as accounts
from app.accounts.models import LoginSession, PasswordToken, Permission, User
from app.accounts.passwords import verify_password
from app.errors import DomainError
from app.org import queries, services
from app.org.models import (
    AssignmentKind,
    Office,
    OrgUnit,
    P3Level,
    Permanence,
    Person,
    Role,
    RoleAssignment,
    RoleFamily,
    RoleLevel,
)
from app.org.queries import PeopleFilter
from app.org.services import (
    AssignmentData,
    OfficeData,
    OrgUnitData,
    PersonData,
    RoleData,
)
from tests.factories import (
    PASSWORD,
    assign,
    make_office,
    make_person,
    make_role,
    make_unit,
    make_user,
)

CURRENT, TARGET = AssignmentKind.CURRENT, AssignmentKind.TARGET


@contextmanager
def refused(field: str | None, message: str):
    """Expect a DomainError at ``field`` whose message contains ``message``."""
    with pytest.raises(DomainError, match=re.escape(message)) as info:
        yield info
    assert info.value.field == field, info.value.field


def rows(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --- org units --------------------------------------------------------------------------------


@pytest.fixture
def tree(session):
    """Head Office → Delivery → Projects, and Finance beside them."""
    root = make_unit("Head Office", code="HO")
    child = make_unit("Delivery", parent=root, code="DEL")
    grandchild = make_unit("Projects", parent=child, code="PRJ")
    finance = make_unit("Finance", code="FIN")
    return root, child, grandchild, finance


def test_save_org_unit_creates_with_upper_case_code_and_trimmed_name(session, tree):
    root = tree[0]
    head = make_person("Hana", "Head", unit=root)
    unit = services.save_org_unit(
        session,
        OrgUnitData(code=" ops-1 ", name="  Operations ", parent_id=root.id, head_id=head.id),
    )
    assert unit.id is not None
    assert (unit.code, unit.name, unit.parent_id, unit.head_id) == (
        "OPS-1",
        "Operations",
        root.id,
        head.id,
    )


@pytest.mark.parametrize("code", ["DEL", "del", " Del "])
def test_save_org_unit_refuses_a_taken_code_whatever_its_case(session, tree, code):
    before = rows(session, OrgUnit)
    with refused("code", "Another org unit already uses 'DEL'"):
        services.save_org_unit(session, OrgUnitData(code=code, name="Other"))
    assert rows(session, OrgUnit) == before


def test_save_org_unit_keeps_its_own_code_on_edit(session, tree):
    child = tree[1]
    services.save_org_unit(
        session, OrgUnitData(code="del", name="Delivery Group", parent_id=child.parent_id), child
    )
    assert (child.code, child.name) == ("DEL", "Delivery Group")


def test_save_org_unit_refuses_unknown_head_and_parent(session, tree):
    with refused("head", "That person does not exist."):
        services.save_org_unit(session, OrgUnitData(code="X1", name="X", head_id=99999))
    with refused("parent", "That org unit does not exist."):
        services.save_org_unit(session, OrgUnitData(code="X1", name="X", parent_id=99999))


@pytest.mark.parametrize("new_parent", [0, 1, 2], ids=["itself", "child", "grandchild"])
def test_save_org_unit_refuses_a_parent_cycle(session, tree, new_parent):
    root = tree[0]
    with refused("parent", "cannot sit under itself or one of its own sub-units"):
        services.save_org_unit(
            session, OrgUnitData(code="HO", name="Head Office", parent_id=tree[new_parent].id), root
        )
    session.expire_all()
    assert session.get(OrgUnit, root.id).parent_id is None


def test_save_org_unit_moves_a_unit_under_a_sibling_tree(session, tree):
    root, child, grandchild, finance = tree
    services.save_org_unit(
        session, OrgUnitData(code="DEL", name="Delivery", parent_id=finance.id), child
    )
    assert child.parent_id == finance.id
    assert queries.subtree_unit_ids(session, finance.id) == {finance.id, child.id, grandchild.id}
    assert queries.subtree_unit_ids(session, root.id) == {root.id}


def test_subtree_unit_ids(session, tree):
    root, child, grandchild, finance = tree
    assert queries.subtree_unit_ids(session, root.id) == {root.id, child.id, grandchild.id}
    assert queries.subtree_unit_ids(session, grandchild.id) == {grandchild.id}


def test_set_org_unit_active_refuses_while_active_people_remain(session, tree):
    child = tree[1]
    make_person("Ann", unit=child)
    make_person("Old", unit=child, active=False)
    with refused(None, "Delivery still has 1 active people; move them first."):
        services.set_org_unit_active(session, child, False)
    assert child.active is True


def test_set_org_unit_active_deactivates_an_empty_unit_and_brings_it_back(session, tree):
    finance = tree[3]
    make_person("Old", unit=finance, active=False)
    services.set_org_unit_active(session, finance, False)
    assert finance.active is False
    services.set_org_unit_active(session, finance, True)
    assert finance.active is True


def test_org_unit_choices_in_tree_order_without_inactive_units(session, tree):
    root, child, grandchild, finance = tree
    archive = make_unit("Archive", parent=root, code="ARC")
    archive.active = False
    orphan = make_unit("Orphaned", parent=archive, code="ORP")
    session.flush()
    em = "\u2003"
    assert queries.org_unit_choices(session) == [
        (finance.id, "Finance"),
        (root.id, "Head Office"),
        (child.id, f"{em}Delivery"),
        (grandchild.id, f"{em}{em}Projects"),
        (orphan.id, "Orphaned"),  # its parent is hidden, so it shows at the top
    ]


# --- offices ----------------------------------------------------------------------------------


def office(**kw) -> OfficeData:
    base = dict(
        code="pmo",
        name=" Programme Office ",
        p3_level=P3Level.PROGRAMME,
        permanence=Permanence.TEMPORARY,
        start_date=date(2025, 1, 1),
    )
    return OfficeData(**{**base, **kw})


def test_save_office_creates(session, tree):
    hub = make_office("HUB")
    made = services.save_office(
        session,
        office(hub_id=hub.id, org_unit_id=tree[1].id, is_coe=True, end_date=date(2026, 1, 1)),
    )
    assert (made.code, made.name, made.hub_id, made.org_unit_id, made.is_coe) == (
        "PMO",
        "Programme Office",
        hub.id,
        tree[1].id,
        True,
    )
    assert (made.start_date, made.end_date) == (date(2025, 1, 1), date(2026, 1, 1))


@pytest.mark.parametrize(
    "data, field, message",
    [
        pytest.param(dict(code="hub"), "code", "Another office already uses 'HUB'", id="dup-code"),
        pytest.param(
            dict(org_unit_id=99999), "org_unit", "That org unit does not exist.", id="unknown-unit"
        ),
        pytest.param(
            dict(start_date=None),
            "start_date",
            "A temporary office needs the date it opened.",
            id="temporary-no-start",
        ),
        pytest.param(
            dict(permanence=Permanence.PERMANENT, end_date=date(2030, 1, 1)),
            "end_date",
            "A permanent office has no end date",
            id="permanent-with-end",
        ),
        pytest.param(
            dict(end_date=date(2024, 12, 31)),
            "end_date",
            "The end date must be on or after the start date.",
            id="end-before-start",
        ),
        pytest.param(dict(hub_id=99999), "hub", "That office does not exist.", id="unknown-hub"),
        pytest.param(
            "temporary-hub", "hub", "A hub must be a permanent office.", id="temporary-hub"
        ),
    ],
)
def test_save_office_refuses(session, data, field, message):
    make_office("HUB")
    temp = make_office("TMP", permanence=Permanence.TEMPORARY, start_date=date(2024, 1, 1))
    if data == "temporary-hub":
        data = dict(hub_id=temp.id)
    before = rows(session, Office)
    with refused(field, message):
        services.save_office(session, office(**data))
    assert rows(session, Office) == before


def test_save_office_end_on_the_start_date_is_fine(session):
    made = services.save_office(session, office(end_date=date(2025, 1, 1)))
    assert made.end_date == made.start_date


@pytest.mark.parametrize("depth", [0, 1, 2], ids=["itself", "spoke", "spoke-of-spoke"])
def test_save_office_refuses_a_hub_cycle(session, depth):
    top = make_office("TOP")
    spoke = make_office("SPK", hub_id=top.id)
    leaf = make_office("LEAF", hub_id=spoke.id)
    new_hub = [top, spoke, leaf][depth]
    with refused("hub", "cannot be a spoke of itself or of its own spokes"):
        services.save_office(
            session, office(code="TOP", permanence=Permanence.PERMANENT, hub_id=new_hub.id), top
        )
    session.expire_all()
    assert session.get(Office, top.id).hub_id is None


# --- people -----------------------------------------------------------------------------------


def person(**kw) -> PersonData:
    base = dict(
        employee_number=" N100 ",
        first_name=" Nia ",
        last_name=" New ",
        email=" Nia@Example.ORG ",
        org_unit_id=None,
        line_manager_number=None,
        job_title="  ",
    )
    return PersonData(**{**base, **kw})


def test_save_person_creates_with_clean_values(session, tree):
    boss = make_person("Bea", "Boss", number="B001")
    made = services.save_person(
        session, person(org_unit_id=tree[0].id, line_manager_number=" B001 ")
    )
    assert (made.employee_number, made.first_name, made.last_name, made.email) == (
        "N100",
        "Nia",
        "New",
        "nia@example.org",
    )
    assert (made.job_title, made.org_unit_id, made.line_manager_id) == (None, tree[0].id, boss.id)


def test_save_person_blank_email_is_none(session):
    assert services.save_person(session, person(email="   ")).email is None


@pytest.mark.parametrize(
    "data, field, message",
    [
        pytest.param(
            dict(employee_number="b001"),
            "employee_number",
            "Another person already uses 'b001'",
            id="dup-number",
        ),
        pytest.param(
            dict(org_unit_id=99999), "org_unit", "That org unit does not exist.", id="unknown-unit"
        ),
        pytest.param(
            dict(line_manager_number="NOPE"),
            "line_manager",
            "No person has that employee number.",
            id="unknown-manager",
        ),
    ],
)
def test_save_person_refuses(session, data, field, message):
    make_person("Bea", "Boss", number="B001")
    before = rows(session, Person)
    with refused(field, message):
        services.save_person(session, person(**data))
    assert rows(session, Person) == before


@pytest.mark.parametrize("levels", [0, 1, 3], ids=["self", "direct-report", "deep-report"])
def test_save_person_refuses_a_manager_cycle(session, levels):
    top = make_person("Tia", "Top", number="T0")
    chain = [top]
    for i in range(levels):
        chain.append(make_person("Rep", f"Level{i + 1}", manager=chain[-1], number=f"R{i + 1}"))
    below = chain[-1]
    expected = (
        "A person cannot be their own line manager."
        if levels == 0
        else f"{below.full_name} reports to Tia Top"
    )
    with refused("line_manager", expected):
        services.save_person(
            session,
            PersonData(
                employee_number="T0",
                first_name="Tia",
                last_name="Top",
                email=None,
                org_unit_id=None,
                line_manager_number=below.employee_number,
            ),
            top,
        )
    session.expire_all()
    assert session.get(Person, top.id).line_manager_id is None


def test_save_person_can_change_manager_to_a_peer(session):
    boss = make_person("Bea", "Boss", number="B001")
    a = make_person("Al", "A", manager=boss, number="A1")
    b = make_person("Bo", "B", manager=boss, number="B2")
    services.save_person(
        session,
        PersonData(
            employee_number="A1",
            first_name="Al",
            last_name="A",
            email=None,
            org_unit_id=None,
            line_manager_number="B2",
        ),
        a,
    )
    assert a.line_manager_id == b.id


def test_set_person_active_false_disables_the_account_and_ends_its_sessions(session):
    leaver = make_person("Lee", "Leaver")
    user = make_user(Permission.LEARNER, person=leaver)
    other = make_user(Permission.LEARNER)
    accounts.open_login_session(session, user)
    accounts.open_login_session(session, user)
    kept = accounts.open_login_session(session, other)
    session.flush()

    services.set_person_active(session, leaver, False)
    session.flush()

    assert leaver.active is False
    assert user.active is False
    assert session.scalars(select(LoginSession.user_id)).all() == [other.id]
    assert (
        accounts.load_login_session(
            session, kept, idle=timedelta(hours=1), absolute=timedelta(hours=12)
        )
        == other
    )
    # bringing the person back does not silently re-open their account
    services.set_person_active(session, leaver, True)
    assert leaver.active is True
    assert user.active is False


def test_set_person_active_without_an_account(session):
    p = make_person("Nadia", "NoAccount")
    services.set_person_active(session, p, False)
    assert p.active is False


# --- people_query -----------------------------------------------------------------------------


@pytest.fixture
def staff(session, tree):
    root, child, grandchild, finance = tree
    ann = make_person("Ann", "Able", unit=root, number="E-ANN")
    ben = make_person("Ben", "Baker", unit=child, number="E-BEN")
    cat = make_person("Cat", "Carter", unit=grandchild, number="E-CAT", active=False)
    dan = make_person("Dan", "Dunn", unit=finance, number="E-DAN")
    eve = make_person("Eve", "Baker", number="E-EVE")
    ben.email = "ben.baker@corp.example"
    session.flush()
    return dict(ann=ann, ben=ben, cat=cat, dan=dan, eve=eve)


def names(session, **kw) -> list[str]:
    return [p.first_name for p in session.execute(queries.people_query(PeopleFilter(**kw)))]


def test_people_query_status(session, staff):
    assert names(session) == ["Ann", "Ben", "Eve", "Dan"]  # by last name, then first name
    assert names(session, status="inactive") == ["Cat"]
    assert names(session, status="all") == ["Ann", "Ben", "Eve", "Cat", "Dan"]


@pytest.mark.parametrize(
    "q, expected",
    [
        ("bak", ["Ben", "Eve"]),
        ("  BEN BAK  ", ["Ben"]),  # full name, any case, trimmed
        ("e-dan", ["Dan"]),  # employee number
        ("corp.example", ["Ben"]),  # email
        ("zzz", []),
        ("", ["Ann", "Ben", "Eve", "Dan"]),
    ],
)
def test_people_query_text_search(session, staff, q, expected):
    assert names(session, q=q) == expected


def test_people_query_org_unit_takes_the_whole_subtree(session, staff, tree):
    root, child, grandchild, finance = tree
    assert names(session, org_unit_id=root.id) == ["Ann", "Ben"]
    assert names(session, org_unit_id=root.id, status="all") == ["Ann", "Ben", "Cat"]
    assert names(session, org_unit_id=child.id, status="all") == ["Ben", "Cat"]
    assert names(session, org_unit_id=finance.id) == ["Dan"]
    assert names(session, org_unit_id=grandchild.id) == []


def test_people_query_role_takes_current_and_target_holders(session, staff):
    analyst, manager = make_role("PMOA"), make_role("PM")
    assign(staff["ann"], analyst)
    assign(staff["dan"], analyst, kind=TARGET)
    assign(staff["ben"], manager)
    assert names(session, role_id=analyst.id) == ["Ann", "Dan"]
    assert names(session, role_id=manager.id) == ["Ben"]


def test_people_query_filters_combine(session, staff, tree):
    analyst = make_role("PMOA")
    for key in ("ann", "ben", "eve"):
        assign(staff[key], analyst)
    assert names(session, role_id=analyst.id, org_unit_id=tree[0].id, q="baker") == ["Ben"]


# --- roles ------------------------------------------------------------------------------------


def test_save_role_creates_and_edits(session):
    role = services.save_role(
        session,
        RoleData(
            code=" pmoa ",
            name=" PMO Analyst ",
            p3_level=RoleLevel.PROGRAMME,
            family=RoleFamily.PMO,
            description=" Reports. ",
        ),
    )
    assert (role.code, role.name, role.description) == ("PMOA", "PMO Analyst", "Reports.")
    services.save_role(
        session,
        RoleData(
            code="PMOA", name="pmo analyst", p3_level=RoleLevel.ANY, family=RoleFamily.SUPPORT
        ),
        role,
    )
    assert (role.name, role.p3_level, role.family) == (
        "pmo analyst",
        RoleLevel.ANY,
        RoleFamily.SUPPORT,
    )


@pytest.mark.parametrize(
    "code, name, field, message",
    [
        ("pm", "Another", "code", "Another role already uses 'PM'"),
        ("NEW", " PROJECT manager ", "name", "Another role already uses 'PROJECT manager'"),
    ],
)
def test_save_role_refuses_duplicates(session, code, name, field, message):
    make_role("PM", "Project Manager")
    with refused(field, message):
        services.save_role(
            session, RoleData(code=code, name=name, p3_level=RoleLevel.ANY, family=RoleFamily.PMO)
        )
    assert rows(session, Role) == 1


# --- role assignments -------------------------------------------------------------------------


@pytest.fixture
def holder(session):
    """Wes holds PMO Analyst through the first half of 2024 and again from 2025."""
    wes = make_person("Wes", "Worker")
    analyst = make_role("PMOA", "PMO Analyst")
    first = assign(wes, analyst, start=date(2024, 1, 1), end=date(2024, 6, 30))
    second = assign(wes, analyst, start=date(2025, 1, 1))
    return wes, analyst, first, second


def spell(role, start, end=None, kind=CURRENT, office_id=None) -> AssignmentData:
    return AssignmentData(
        role_id=role.id, kind=kind, start_date=start, end_date=end, office_id=office_id
    )


def test_save_assignment_creates(session, holder):
    wes, analyst, *_ = holder
    pm = make_role("PM")
    office_ = make_office("PMO")
    made = services.save_assignment(session, wes, spell(pm, date(2024, 3, 1), office_id=office_.id))
    assert (made.person_id, made.role_id, made.office_id, made.kind) == (
        wes.id,
        pm.id,
        office_.id,
        CURRENT,
    )


@pytest.mark.parametrize(
    "start, end",
    [
        (date(2024, 6, 30), date(2024, 8, 1)),  # starts on the last day of the first spell
        (date(2023, 1, 1), date(2024, 1, 1)),  # ends on the first day of the first spell
        (date(2023, 1, 1), None),  # open-ended, so it runs into both spells
        (date(2026, 1, 1), None),  # inside the open second spell
        (date(2024, 2, 1), date(2024, 3, 1)),  # inside the first spell
    ],
    ids=["touch-end", "touch-start", "open-before", "inside-open", "inside"],
)
def test_save_assignment_refuses_overlapping_dates(session, holder, start, end):
    wes, analyst, *_ = holder
    with refused("role", "Wes Worker already has this role as current for overlapping dates."):
        services.save_assignment(session, wes, spell(analyst, start, end))
    assert rows(session, RoleAssignment) == 2


@pytest.mark.parametrize(
    "start, end, kind",
    [
        (date(2024, 7, 1), date(2024, 12, 31), CURRENT),  # the gap between the spells
        (date(2023, 1, 1), date(2023, 12, 31), CURRENT),  # before both
        (date(2024, 2, 1), None, TARGET),  # another kind never clashes
    ],
    ids=["gap", "before", "target"],
)
def test_save_assignment_allows_non_overlapping_spells(session, holder, start, end, kind):
    wes, analyst, *_ = holder
    services.save_assignment(session, wes, spell(analyst, start, end, kind))
    assert rows(session, RoleAssignment) == 3


def test_save_assignment_other_person_never_clashes(session, holder):
    _, analyst, *_ = holder
    services.save_assignment(session, make_person("Other"), spell(analyst, date(2024, 2, 1)))
    assert rows(session, RoleAssignment) == 3


def test_save_assignment_edit_does_not_clash_with_itself(session, holder):
    wes, analyst, first, _ = holder
    services.save_assignment(
        session, wes, spell(analyst, date(2024, 1, 1), date(2024, 12, 31)), first
    )
    assert first.end_date == date(2024, 12, 31)
    with refused("role", "overlapping dates"):
        services.save_assignment(session, wes, spell(analyst, date(2024, 1, 1), None), first)


@pytest.mark.parametrize(
    "case, field, message",
    [
        ("unknown-role", "role", "That role does not exist."),
        ("unknown-office", "office", "That office does not exist."),
        ("end-before-start", "end_date", "The end date must be on or after the start date."),
        ("office-closed", "office", "Closed PMO closed on 31 Dec 2022."),
    ],
)
def test_save_assignment_refuses(session, holder, case, field, message):
    wes, analyst, *_ = holder
    pm = make_role("PM")
    closed = make_office(
        "OLD",
        name="Closed PMO",
        permanence=Permanence.TEMPORARY,
        start_date=date(2020, 1, 1),
        end_date=date(2022, 12, 31),
    )
    data = {
        "unknown-role": AssignmentData(role_id=99999, kind=CURRENT, start_date=date(2024, 1, 1)),
        "unknown-office": spell(pm, date(2024, 1, 1), office_id=99999),
        "end-before-start": spell(pm, date(2024, 1, 2), date(2024, 1, 1)),
        "office-closed": spell(pm, date(2023, 1, 1), office_id=closed.id),
    }[case]
    with refused(field, message):
        services.save_assignment(session, wes, data)
    assert rows(session, RoleAssignment) == 2


def test_save_assignment_in_an_office_before_it_closed(session, holder):
    wes, *_ = holder
    closed = make_office(
        "OLD",
        permanence=Permanence.TEMPORARY,
        start_date=date(2020, 1, 1),
        end_date=date(2022, 12, 31),
    )
    made = services.save_assignment(
        session, wes, spell(make_role("PM"), date(2022, 12, 31), office_id=closed.id)
    )
    assert made.office_id == closed.id


@pytest.mark.parametrize(
    "start, end, on, expected",
    [
        (date(2024, 1, 1), None, date(2024, 5, 1), date(2024, 5, 1)),  # open: ends today
        (date(2024, 1, 1), date(2025, 1, 1), date(2024, 5, 1), date(2024, 5, 1)),  # brought forward
        (date(2024, 1, 1), date(2024, 3, 1), date(2024, 5, 1), date(2024, 3, 1)),  # already over
        (date(2024, 6, 1), None, date(2024, 5, 1), date(2024, 6, 1)),  # not begun: its start
    ],
)
def test_end_assignment(session, start, end, on, expected):
    a = assign(make_person(), make_role(), start=start, end=end)
    services.end_assignment(a, on)
    session.flush()
    assert a.end_date == expected


# --- accounts ---------------------------------------------------------------------------------


def test_create_account(session):
    p = make_person("Ada", "Account")
    user = accounts.create_account(
        session,
        person_id=p.id,
        email="  Ada@Example.ORG ",
        permissions={Permission.LEARNER, Permission.MANAGER},
    )
    assert (user.email, user.active, user.password_hash) == ("ada@example.org", True, None)
    assert user.permissions == {Permission.LEARNER, Permission.MANAGER}


@pytest.mark.parametrize(
    "case, field, message",
    [
        ("no-person", "person", "Choose a person."),
        ("has-account", "person", "Bea Boss already has an account."),
        ("email-taken", "email", "Another account already uses this email."),
        ("no-permissions", "permissions", "Give the account at least one permission."),
    ],
)
def test_create_account_refuses(session, case, field, message):
    bea = make_person("Bea", "Boss")
    make_user(Permission.LEARNER, person=bea, email="bea@example.org")
    newcomer = make_person("Nia", "New")
    kwargs = {
        "person_id": newcomer.id,
        "email": "nia@example.org",
        "permissions": {Permission.LEARNER},
    }
    kwargs.update(
        {
            "no-person": {"person_id": 99999},
            "has-account": {"person_id": bea.id},
            "email-taken": {"email": " BEA@example.org"},
            "no-permissions": {"permissions": set()},
        }[case]
    )
    session.commit()
    with refused(field, message):
        accounts.create_account(session, **kwargs)
    session.rollback()  # as the views do on a DomainError
    assert rows(session, User) == 1


def test_update_account_changes_email_and_permissions(session):
    user = make_user(Permission.LEARNER, Permission.ADMIN, email="old@example.org")
    make_user(Permission.ADMIN)  # another administrator, so this one may give up the role
    token = accounts.open_login_session(session, user)
    accounts.update_account(
        session,
        user=user,
        email="New@Example.org",
        permissions={Permission.TRAINER, Permission.LEARNER},
        active=True,
    )
    assert user.email == "new@example.org"
    assert user.permissions == {Permission.TRAINER, Permission.LEARNER}
    assert (
        session.scalar(
            select(LoginSession).where(LoginSession.token_hash == accounts.token_digest(token))
        )
        is not None
    )


def test_update_account_deactivating_ends_sessions(session):
    user = make_user(Permission.LEARNER)
    accounts.open_login_session(session, user)
    session.flush()
    accounts.update_account(
        session, user=user, email=user.email, permissions={Permission.LEARNER}, active=False
    )
    assert user.active is False
    assert rows(session, LoginSession) == 0


def test_update_account_refuses_a_taken_email(session):
    make_user(email="taken@example.org")
    user = make_user(email="mine@example.org")
    with refused("email", "Another account already uses this email."):
        accounts.update_account(
            session,
            user=user,
            email="TAKEN@example.org",
            permissions={Permission.LEARNER},
            active=True,
        )


def test_update_account_refuses_no_permissions(session):
    user = make_user(Permission.ADMIN)
    with refused("permissions", "at least one permission"):
        accounts.update_account(
            session, user=user, email=user.email, permissions=set(), active=True
        )


def test_change_password_ends_every_session_and_opens_one(session):
    user = make_user(Permission.LEARNER)
    accounts.open_login_session(session, user)
    accounts.open_login_session(session, user)
    session.flush()
    token = accounts.change_password(
        session, user=user, current=PASSWORD, new="a much better passphrase"
    )
    session.flush()
    assert verify_password(user.password_hash, "a much better passphrase")
    assert session.scalars(select(LoginSession.token_hash)).all() == [accounts.token_digest(token)]


@pytest.mark.parametrize(
    "current, new, field, message",
    [
        (
            "wrong password!",
            "a much better passphrase",
            "current_password",
            "Your current password is not right.",
        ),
        (PASSWORD, "too short", "new_password", "Use at least 12 characters."),
        (PASSWORD, "x" * 129, "new_password", "Use at most 128 characters."),
        (PASSWORD, "Password1234", "new_password", "too easy to guess"),
        (PASSWORD, "121212121212", "new_password", "too easy to guess"),
    ],
)
def test_change_password_refuses(session, current, new, field, message):
    user = make_user(Permission.LEARNER)
    old_hash = user.password_hash
    accounts.open_login_session(session, user)
    session.flush()
    with refused(field, message):
        accounts.change_password(session, user=user, current=current, new=new)
    assert user.password_hash == old_hash
    assert rows(session, LoginSession) == 1


def test_password_token_sets_the_password_once(session):
    user = make_user(Permission.LEARNER)
    accounts.open_login_session(session, user)
    token = accounts.issue_password_token(session, user=user, ttl=timedelta(hours=1))
    session.flush()
    assert accounts.use_password_token(session, token=token, password="a brand new phrase") is user
    session.flush()
    assert verify_password(user.password_hash, "a brand new phrase")
    assert rows(session, LoginSession) == 0
    assert accounts.find_password_token(session, token) is None
    with refused(None, "expired or was already used"):
        accounts.use_password_token(session, token=token, password="another new phrase")


def test_password_token_refuses_a_weak_password_and_stays_usable(session):
    user = make_user(Permission.LEARNER)
    token = accounts.issue_password_token(session, user=user, ttl=timedelta(hours=1))
    session.flush()
    with refused("password", "Use at least 12 characters."):
        accounts.use_password_token(session, token=token, password="short")
    assert accounts.find_password_token(session, token) is not None


def test_a_new_password_token_cancels_the_earlier_one(session):
    user = make_user(Permission.LEARNER)
    first = accounts.issue_password_token(session, user=user, ttl=timedelta(hours=1))
    session.flush()
    second = accounts.issue_password_token(session, user=user, ttl=timedelta(hours=1))
    session.flush()
    assert accounts.find_password_token(session, first) is None
    assert accounts.find_password_token(session, second) is not None
    assert rows(session, PasswordToken) == 1


def test_expired_password_token_does_not_work(session):
    user = make_user(Permission.LEARNER)
    token = accounts.issue_password_token(session, user=user, ttl=timedelta(hours=1))
    session.flush()
    row = session.scalar(select(PasswordToken))
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.flush()
    assert accounts.find_password_token(session, token) is None
    with refused(None, "expired or was already used"):
        accounts.use_password_token(session, token=token, password="a brand new phrase")


# Logging in (the password step, its throttling, opening the session) is tested with the
# use-cases of app.accounts.signin in tests/accounts/test_throttle.py.
