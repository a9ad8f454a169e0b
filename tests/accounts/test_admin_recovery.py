"""A new install gets its first administrator from the command line, and the site is never
left without one: the last active admin cannot lose the permission or be deactivated, and
an admin removing their own admin permission is asked to confirm."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Permission, User
from app.extensions import db
from app.org.models import Person
from tests.factories import make_person, make_user
from tests.test_forms import assert_field_error, post_form

LAST_ADMIN = (
    "root@example.org is the last active administrator. Give another account the admin "
    "permission first, or nobody could administer the site."
)


def _admin_data(user: User, **overrides) -> dict:
    data = {"email": user.email, "permissions": [p.value for p in user.permissions], "active": "y"}
    return {**data, **overrides}


# --- the command line --------------------------------------------------------------------------


def test_create_admin_on_an_empty_install_gives_a_link_that_leads_to_an_admin_login(app, client):
    result = app.test_cli_runner().invoke(
        args=[
            "accounts",
            "create-admin",
            "Ops@Example.org",
            "--first-name",
            "Oona",
            "--last-name",
            "Park",
        ]
    )
    assert result.exit_code == 0, result.output
    link = re.search(r"(/account/set-password/\S+)", result.output).group(1)
    user = db.session.scalar(select(User).where(User.email == "ops@example.org"))
    assert user.person.full_name == "Oona Park"
    assert user.permissions == {Permission.ADMIN, Permission.LEARNER}

    page = client.get(link)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    new_password = "a long enough passphrase 2026"
    done = client.post(
        link, data={"password": new_password, "confirm": new_password, "csrf_token": token}
    )
    assert done.status_code == 302
    login_page = client.get("/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page.text).group(1)
    client.post(
        "/login", data={"email": "ops@example.org", "password": new_password, "csrf_token": token}
    )
    assert client.get("/admin/people").status_code == 200


def test_create_admin_uses_the_person_an_import_brought_and_prompts_for_nothing(app):
    person = make_person("Ines", "Hart")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["accounts", "create-admin", person.email])
    assert result.exit_code == 0, result.output
    assert "person record was created" not in result.output
    user = db.session.scalar(select(User).where(User.person_id == person.id))
    assert Permission.ADMIN in user.permissions
    assert db.session.scalar(select(func.count()).select_from(Person)) == 1


def test_create_admin_asks_for_the_names_of_a_new_person(app):
    result = app.test_cli_runner().invoke(
        args=["accounts", "create-admin", "new@example.org"], input="Nia\nLowe\n"
    )
    assert result.exit_code == 0, result.output
    assert (
        db.session.scalar(select(Person).where(Person.email == "new@example.org")).full_name
        == "Nia Lowe"
    )


def test_create_admin_brings_back_a_disabled_admin_account(app):
    user = make_user(Permission.LEARNER, email="lost@example.org", active=False)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["accounts", "create-admin", "lost@example.org"])
    assert result.exit_code == 0, result.output
    db.session.refresh(user)
    assert user.active and Permission.ADMIN in user.permissions
    assert "now holds the admin permission" in result.output


def test_create_admin_refuses_a_taken_employee_number_and_writes_nothing(app):
    make_person("Ann", "Other", number="ADMIN-1")
    db.session.commit()
    result = app.test_cli_runner().invoke(
        args=["accounts", "create-admin", "x@example.org", "--first-name", "X", "--last-name", "Y"]
    )
    assert result.exit_code == 1
    assert "ADMIN-1" in result.output and "Nothing was changed" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_grant_adds_a_permission_and_refuses_an_unknown_account(app):
    user = make_user(Permission.LEARNER, email="t@example.org")
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["accounts", "grant", "t@example.org", "trainer"])
    assert result.exit_code == 0 and "learner, trainer" in result.output
    db.session.refresh(user)
    assert user.permissions == {Permission.LEARNER, Permission.TRAINER}
    missing = runner.invoke(args=["accounts", "grant", "nobody@example.org", "admin"])
    assert missing.exit_code == 1 and "No account has the email" in missing.output


# --- the last administrator ----------------------------------------------------------------


@pytest.fixture
def sole_admin(login):
    admin = make_user(Permission.ADMIN, Permission.LEARNER, email="root@example.org")
    login(admin)
    return admin


def test_the_last_admin_cannot_lose_the_admin_permission(client, sole_admin):
    response = post_form(
        client,
        f"/admin/accounts/{sole_admin.id}/edit",
        _admin_data(sole_admin, permissions=["learner"], confirm_self_demotion="y"),
    )
    assert_field_error(response, "permissions", LAST_ADMIN)
    db.session.refresh(sole_admin)
    assert Permission.ADMIN in sole_admin.permissions


def test_the_last_admin_cannot_be_deactivated(client, sole_admin):
    data = _admin_data(sole_admin)
    del data["active"]
    response = post_form(client, f"/admin/accounts/{sole_admin.id}/edit", data)
    assert_field_error(response, "active", LAST_ADMIN)
    db.session.refresh(sole_admin)
    assert sole_admin.active


def test_the_last_admin_cannot_leave_as_a_person(client, sole_admin):
    page = client.get("/admin/people")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    client.post(
        f"/admin/people/{sole_admin.person_id}/active",
        data={"active": "0", "confirmed": "1", "csrf_token": token},
    )
    db.session.refresh(sole_admin)
    assert sole_admin.active and sole_admin.person.active
    assert "last active administrator" in client.get("/admin/people").text


def test_removing_ones_own_admin_permission_asks_to_confirm(client, sole_admin):
    make_user(Permission.ADMIN)  # another admin, so the change is allowed at all
    url = f"/admin/accounts/{sole_admin.id}/edit"
    unconfirmed = post_form(client, url, _admin_data(sole_admin, permissions=["learner"]))
    assert_field_error(
        unconfirmed,
        "confirm_self_demotion",
        "You are removing your own admin permission: tick the box to confirm.",
    )
    db.session.refresh(sole_admin)
    assert Permission.ADMIN in sole_admin.permissions

    confirmed = post_form(
        client, url, _admin_data(sole_admin, permissions=["learner"], confirm_self_demotion="y")
    )
    assert confirmed.status_code == 302
    db.session.refresh(sole_admin)
    assert sole_admin.permissions == {Permission.LEARNER}


def test_another_admins_form_has_no_self_confirmation(client, sole_admin):
    other = make_user(Permission.ADMIN)
    page = client.get(f"/admin/accounts/{other.id}/edit").text
    assert "confirm_self_demotion" not in page
    assert "confirm_self_demotion" in client.get(f"/admin/accounts/{sole_admin.id}/edit").text
