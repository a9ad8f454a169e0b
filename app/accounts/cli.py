"""`flask accounts …`: the first administrator of a new install, and recovery."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from app.accounts import services
from app.errors import DomainError
from app.extensions import db

accounts_cli = AppGroup("accounts", help="Administrator accounts: create one, grant permissions.")


def _stop(message: str) -> None:
    db.session.rollback()
    click.echo(message, err=True)
    sys.exit(1)


@accounts_cli.command("create-admin")
@click.argument("email")
@click.option("--first-name", default="", help="For a person not yet in the organisation.")
@click.option("--last-name", default="", help="For a person not yet in the organisation.")
@click.option("--employee-number", default="ADMIN-1", show_default=True)
@click.option(
    "--base-url",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="Where the site is served, to build the set-password link.",
)
def create_admin(
    email: str, first_name: str, last_name: str, employee_number: str, base_url: str
) -> None:
    """Give EMAIL an administrator account and print a one-time set-password link.

    The person with that email is used when they exist (an HR import may have brought
    them); otherwise they are created (the names are asked for when not given). An existing
    account gains the admin permission and is made active again: this is also the way back
    in when nobody can administer the site.
    """
    db_session = db.session()
    known = services.account_or_person_exists(db_session, email)
    if not known and not (first_name and last_name):
        first_name = first_name or click.prompt("First name")
        last_name = last_name or click.prompt("Last name")
    try:
        result = services.create_admin(
            db_session,
            email=email,
            first_name=first_name,
            last_name=last_name,
            employee_number=employee_number,
        )
        token = services.issue_password_token(
            db_session, user=result.user, ttl=current_app.config["SET_PASSWORD_TOKEN_TTL"]
        )
    except DomainError as error:
        _stop(f"Error: {error.message} Nothing was changed.")
        return
    db.session.commit()
    what = "created" if result.created_account else "now holds the admin permission"
    click.echo(f"Administrator account {result.user.email} {what}.")
    if result.created_person:
        click.echo(f"  (a person record was created: {result.user.person.full_name}).")
    hours = int(current_app.config["SET_PASSWORD_TOKEN_TTL"].total_seconds() // 3600)
    click.echo(f"Set the password within {hours} hours, once, at:")
    click.echo(f"  {base_url.rstrip('/')}/account/set-password/{token}")


@accounts_cli.command("grant")
@click.argument("email")
@click.argument("permission", type=click.Choice(["learner", "manager", "trainer", "admin"]))
def grant(email: str, permission: str) -> None:
    """Give the account EMAIL one more PERMISSION."""
    try:
        user = services.grant(db.session(), email=email, permission=permission)
    except DomainError as error:
        _stop(f"Error: {error.message}")
        return
    db.session.commit()
    held = ", ".join(sorted(p.value for p in user.permissions))
    click.echo(f"{user.email} now holds: {held}.")
