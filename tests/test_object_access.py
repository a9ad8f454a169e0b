"""Whose records a signed-in user may read: /people/<id> and the manager's /team list.
(Learning records — enrolments, certificates, external certificates and their copies —
follow the same scope: see tests/learning/test_learning_access.py; so do the capability
reports, their exports and drill-downs: see tests/reports/test_report_scope.py.)

The organisation used here (unit heads and line managers drive a manager's scope):

    Enterprise                 Pat Parentunit
    ├── Delivery  (head: Mo)   Mo Manager, Uma Unitmember, Lou Leaver (inactive)
    │   └── Delivery North     Cara Childunit
    │       └── North East     Gina Grandchild
    └── Finance   (head: Max)  Max Otherhead, Otto Outsider,
                               Dee Directreport (line manager: Mo),
                               Ian Indirectreport (line manager: Dee)
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.accounts.models import Permission
from app.extensions import db
from app.org.models import Person
from tests.factories import make_person, make_unit, make_user
from tests.pages import normalised

NO_SUCH_PERSON = 987654


@dataclass
class Org:
    mo: Person
    uma: Person
    lou: Person
    cara: Person
    gina: Person
    dee: Person
    ian: Person
    pat: Person
    max: Person
    otto: Person

    @property
    def in_mos_scope(self) -> list[Person]:
        return [self.uma, self.cara, self.gina, self.dee, self.ian]

    @property
    def outside_mos_scope(self) -> list[Person]:
        return [self.pat, self.max, self.otto]


@pytest.fixture
def org(app) -> Org:
    enterprise = make_unit("Enterprise")
    delivery = make_unit("Delivery", parent=enterprise)
    north = make_unit("Delivery North", parent=delivery)
    north_east = make_unit("Delivery North East", parent=north)
    finance = make_unit("Finance", parent=enterprise)

    mo = make_person("Mo", "Manager", unit=delivery)
    max_ = make_person("Max", "Otherhead", unit=finance)
    delivery.head_id, finance.head_id = mo.id, max_.id
    dee = make_person("Dee", "Directreport", unit=finance, manager=mo)
    org = Org(
        mo=mo,
        uma=make_person("Uma", "Unitmember", unit=delivery),
        lou=make_person("Lou", "Leaver", unit=delivery, active=False),
        cara=make_person("Cara", "Childunit", unit=north),
        gina=make_person("Gina", "Grandchild", unit=north_east),
        dee=dee,
        ian=make_person("Ian", "Indirectreport", unit=finance, manager=dee),
        pat=make_person("Pat", "Parentunit", unit=enterprise),
        max=max_,
        otto=make_person("Otto", "Outsider", unit=finance),
    )
    db.session.flush()
    return org


def assert_refused_without_leak(client, person: Person):
    page = client.get(f"/people/{person.id}")
    assert page.status_code == 403, person.full_name
    assert "Not yours to see" in page.text
    assert person.last_name not in page.text
    assert person.email not in page.text
    assert person.employee_number not in page.text


def assert_shown(client, person: Person):
    page = client.get(f"/people/{person.id}")
    assert page.status_code == 200, person.full_name
    assert person.full_name in page.text
    assert person.employee_number in page.text


# --- learner ---------------------------------------------------------------------------


def test_learner_sees_their_own_page(client, login, org):
    learner = make_user(Permission.LEARNER, person=org.uma)
    login(learner)
    page = client.get(f"/people/{org.uma.id}")
    assert page.status_code == 200
    assert "Uma Unitmember" in page.text
    assert "My roles" in page.text


@pytest.mark.parametrize("whom", ["mo", "cara", "otto", "pat"])
def test_learner_is_refused_anyone_elses_page_without_seeing_their_name(client, login, org, whom):
    login(make_user(Permission.LEARNER, person=org.uma))
    assert_refused_without_leak(client, getattr(org, whom))


def test_learner_cannot_tell_a_missing_person_from_a_hidden_one(client, login, org):
    login(make_user(Permission.LEARNER, person=org.uma))
    hidden = client.get(f"/people/{org.otto.id}")
    missing = client.get(f"/people/{NO_SUCH_PERSON}")
    assert hidden.status_code == missing.status_code == 403
    assert normalised(hidden.text) == normalised(missing.text)


# --- manager ---------------------------------------------------------------------------


def test_manager_sees_their_units_subtree_and_reporting_line(client, login, org):
    login(make_user(Permission.MANAGER, person=org.mo))
    assert_shown(client, org.mo)
    for person in org.in_mos_scope:
        assert_shown(client, person)


def test_manager_sees_a_leaver_in_their_unit(client, login, org):
    """Deactivated people keep their history, and their manager can still read it."""
    login(make_user(Permission.MANAGER, person=org.mo))
    assert_shown(client, org.lou)


def test_manager_is_refused_people_outside_their_units_and_line(client, login, org):
    login(make_user(Permission.MANAGER, person=org.mo))
    for person in org.outside_mos_scope:
        assert_refused_without_leak(client, person)


def test_manager_cannot_tell_a_missing_person_from_a_hidden_one(client, login, org):
    login(make_user(Permission.MANAGER, person=org.mo))
    hidden = client.get(f"/people/{org.otto.id}")
    missing = client.get(f"/people/{NO_SUCH_PERSON}")
    assert hidden.status_code == missing.status_code == 403
    assert normalised(hidden.text) == normalised(missing.text)


def test_other_manager_sees_their_unit_but_not_mos(client, login, org):
    """Max heads Finance: Dee and Ian sit in Finance, so Max sees them too, but not
    Delivery."""
    login(make_user(Permission.MANAGER, person=org.max))
    for person in (org.otto, org.dee, org.ian):
        assert_shown(client, person)
    for person in (org.mo, org.uma, org.cara, org.pat):
        assert_refused_without_leak(client, person)


def test_manager_heading_nothing_with_no_reports_sees_only_themselves(client, login, org):
    lone = make_person("Lena", "Loneleader", unit=org.uma.org_unit)
    login(make_user(Permission.MANAGER, person=lone))
    assert_shown(client, lone)
    assert_refused_without_leak(client, org.uma)
    assert_refused_without_leak(client, org.mo)
    page = client.get("/team")
    assert page.status_code == 200
    assert "Unitmember" not in page.text


def test_team_lists_exactly_the_managers_people(client, login, org):
    login(make_user(Permission.MANAGER, person=org.mo))
    page = client.get("/team")
    assert page.status_code == 200
    for person in org.in_mos_scope:
        assert f"{person.last_name}, {person.first_name}" in page.text
    for person in org.outside_mos_scope:
        assert person.last_name not in page.text
    assert "Leaver" not in page.text  # the list shows active people only
    assert "5 people in the units you head and your reporting line" in page.text


def test_team_filters_cannot_widen_the_managers_scope(client, login, org):
    """Asking for another unit, or searching for someone outside, shows nobody new."""
    login(make_user(Permission.MANAGER, person=org.mo))
    finance = org.otto.org_unit_id
    page = client.get(f"/team?unit={finance}")
    assert page.status_code == 200
    assert "Outsider" not in page.text and "Otherhead" not in page.text
    assert "Directreport, Dee" in page.text  # Mo's own report, who sits in Finance

    page = client.get("/team?q=Otto")
    assert page.status_code == 200
    assert "Outsider" not in page.text
    assert "Nobody matches that search." in page.text


def test_a_reporting_line_loop_does_not_hang_or_widen_the_scope(client, login, org):
    """Bad HR data (Mo reports to Ian, who reports to Dee, who reports to Mo) must not
    send the scope query round in circles."""
    org.mo.line_manager_id = org.ian.id
    db.session.flush()
    login(make_user(Permission.MANAGER, person=org.mo))
    assert_shown(client, org.ian)
    assert_refused_without_leak(client, org.otto)
    assert client.get("/team").status_code == 200


# --- trainer and admin -----------------------------------------------------------------


@pytest.mark.parametrize("permission", [Permission.TRAINER, Permission.ADMIN])
def test_trainer_and_admin_see_anyone(client, login, org, permission):
    login(make_user(permission, person=make_person("Sam", "Seesall")))
    for person in [org.mo, org.pat, org.otto, org.lou, *org.in_mos_scope]:
        assert_shown(client, person)


@pytest.mark.parametrize("permission", [Permission.TRAINER, Permission.ADMIN])
def test_those_who_see_everyone_get_an_honest_404(client, login, org, permission):
    login(make_user(permission))
    page = client.get(f"/people/{NO_SUCH_PERSON}")
    assert page.status_code == 404
    assert "Page not found" in page.text


# --- the capability page of a person follows the same scope ------------------------------


def test_capability_page_of_a_person_follows_the_managers_scope(client, login, org):
    login(make_user(Permission.MANAGER, person=org.mo))
    for person in (org.gina, org.ian):
        assert client.get(f"/people/{person.id}/capability").status_code == 200
    hidden = client.get(f"/people/{org.otto.id}/capability")
    missing = client.get(f"/people/{NO_SUCH_PERSON}/capability")
    assert hidden.status_code == missing.status_code == 403
    assert "Outsider" not in hidden.text
    assert normalised(hidden.text) == normalised(missing.text)


def test_learner_gets_only_their_own_capability_page(client, login, org):
    login(make_user(Permission.LEARNER, person=org.uma))
    own = client.get(f"/people/{org.uma.id}/capability")
    assert own.status_code == 302
    assert own.headers["Location"].endswith("/capability")
    other = client.get(f"/people/{org.cara.id}/capability")
    assert other.status_code == 403
    assert "Childunit" not in other.text
