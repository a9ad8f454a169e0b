"""`flask demo build`: the demo organisation."""

from __future__ import annotations

import sys
import time

import click
from flask.cli import AppGroup

from app.errors import DomainError
from app.extensions import db

demo_cli = AppGroup("demo", help="The demo organisation.")


@demo_cli.command("build")
@click.option("--people", default=300, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--reset", is_flag=True, help="Replace an existing organisation.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) if people exist.")
def demo_build(people: int, seed: int, reset: bool, if_empty: bool):
    """Build the demo organisation and print one login per permission."""
    from app.demo.organisation import build_demo, clear_organisation, organisation_exists

    if if_empty and organisation_exists(db.session()):
        click.echo("Demo organisation already present; leaving it as it is.")
        return
    started = time.perf_counter()
    try:
        if reset:
            clear_organisation(db.session())
        report = build_demo(db.session(), people=people, seed=seed)
    except DomainError as exc:
        db.session.rollback()
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
    db.session.commit()
    elapsed = time.perf_counter() - started
    click.echo(
        f"Built Harbourside Group in {elapsed:.1f} s: {report.people} people, "
        f"{report.org_units} org units, {report.offices} offices, "
        f"{report.assignments} role assignments, {report.evidence} evidence records, "
        f"{report.pending} self-ratings awaiting validation, {report.calibrations} open "
        "calibrations."
    )
    learning = report.learning
    click.echo(
        f"Learning: {learning.enrolments} enrolments ({learning.completed} complete, "
        f"{learning.overdue} overdue), {learning.completions} modules completed, "
        f"{learning.sessions} sessions with {learning.bookings} bookings, "
        f"{learning.certificates} certificates of completion, {learning.external} external "
        "certificates."
    )
    attempts = report.assessment
    click.echo(
        f"Assessments: {attempts.attempts} finished attempts ({attempts.passed} passed) on "
        f"{attempts.assessments} assessments, {attempts.evidence} evidence records from passes."
    )
    click.echo(f"Demo logins (password for all: {report.password}):")
    for login in report.logins:
        click.echo(f"  {login.permissions:<18} {login.name:<18} {login.email}")
