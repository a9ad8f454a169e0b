"""`flask reports …`: rebuilding and checking the level and requirement spans the reports
read. Both are safe to run at any time; `refresh` suits a nightly cron job."""

from __future__ import annotations

import sys
import time
from itertools import zip_longest

import click
from flask.cli import AppGroup

from app.extensions import db
from app.reports.maintain import differences, refresh_all

reports_cli = AppGroup("reports", help="Reports: the spans of levels and requirements.")


@reports_cli.command("refresh")
def refresh_command() -> None:
    """Rewrite everyone's level and requirement spans from evidence, role assignments and
    framework versions. Expiry needs no nightly pass (a span already ends on the day after
    its evidence expires); run this after upgrading, or after changing data outside the
    product."""
    started = time.perf_counter()
    people = refresh_all(db.session())
    db.session.commit()
    click.echo(f"Refreshed the spans of {people} people in {time.perf_counter() - started:.1f} s.")


@reports_cli.command("check")
@click.option("--show", default=10, help="How many differences to print.")
def check_command(show: int) -> None:
    """Recompute every span from scratch with the rule and report any difference from the
    stored ones (exit status 1 when there is one)."""
    found = differences(db.session())
    db.session.rollback()
    if not found:
        click.echo("The spans match the evidence: no differences.")
        return
    click.echo(
        f"{len(found)} difference{'' if len(found) == 1 else 's'} "
        "between the stored spans and the rule:"
    )
    for d in found[:show]:
        first = next(pair for pair in zip_longest(d.stored, d.expected) if pair[0] != pair[1])
        click.echo(
            f"  person {d.person_id}, {d.table}: {len(d.stored)} spans stored, "
            f"{len(d.expected)} expected; first difference: stored {first[0]}, "
            f"expected {first[1]}"
        )
    click.echo("Run `flask reports refresh` to rewrite them.")
    sys.exit(1)
