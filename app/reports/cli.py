"""`flask reports …`: rebuilding and checking the level and requirement spans the reports
read, and the role distances the bench report reads. All are safe to run at any time."""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from itertools import zip_longest

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.org.lines import line_differences, refresh_lines
from app.org.models import Person
from app.reports import distances
from app.reports.maintain import (
    Difference,
    differences,
    refresh_all,
    refresh_stale_distances,
    stale_distances,
)

reports_cli = AppGroup(
    "reports", help="Reports: the spans of levels and requirements, and the role distances."
)


@reports_cli.command("refresh")
def refresh_command() -> None:
    """Rewrite everyone's level and requirement spans from evidence, role assignments and
    framework versions, set-wise in SQL, and their role distances (as at today).

    Expiry needs no daily pass: a span already ends on the day after the evidence behind it
    expires, so the spans stay right without a nightly job. (The role distances, a cache
    the bench-strength report reads, stay right too; `flask reports distances` keeps them
    fast.) Every change made through the
    application keeps them current as it is made. Run this after upgrading to a release
    that adds or changes the spans, after restoring or editing data outside the
    application, or when `flask reports check` reports a difference. Safe to run at any
    time, from cron too."""
    started = time.perf_counter()
    refresh_lines(db.session().connection())
    people = refresh_all(db.session())
    db.session.commit()
    click.echo(
        f"Refreshed the reporting lines, and the spans and role distances of {people} people in "
        f"{time.perf_counter() - started:.1f} s."
    )


def _span(span: tuple | None) -> str:
    """One stored or expected span in words, e.g. 'RISK level 3 from 2025-01-01 onwards';
    or a role distance, or the period they hold over."""
    if span is None:
        return "nothing"
    if len(span) == 1:
        return str(span[0])
    if span[0] == "period":
        _, valid_from, valid_to = span
        until = f"to {valid_to - timedelta(days=1)}" if valid_to is not None else "onwards"
        return f"role distances holding from {valid_from} {until}"
    if len(span) == 5 and isinstance(span[1], int):
        role, short_all, far_all, short_essential, far_essential = span
        return (
            f"{role}: {short_all} competencies short ({far_all} by more than one level), "
            f"{short_essential} essential short ({far_essential} by more than one level)"
        )
    code, valid_from, valid_to, figure, *essential = span
    what = "required" if essential else "level"
    # Stored ends are exclusive; people read the last day.
    until = f"to {valid_to - timedelta(days=1)}" if valid_to is not None else "onwards"
    extra = " (essential)" if essential and essential[0] else ""
    return f"{code} {what} {figure}{extra} from {valid_from} {until}"


def _first_difference(d: Difference) -> tuple[tuple | None, tuple | None]:
    return next(pair for pair in zip_longest(d.stored, d.expected) if pair[0] != pair[1])


@reports_cli.command("check")
@click.option("--show", default=10, show_default=True, help="How many differences to list.")
def check_command(show: int) -> None:
    """Recompute every person's spans from scratch with the rule (in Python, independently
    of the SQL that writes them) and report any difference from the stored ones. Exits
    with status 1 when there is one, so that a monitoring job can alert on it."""
    session = db.session()
    missing, extra = line_differences(session.connection())
    if missing or extra:
        click.echo(
            f"The reporting lines kept for managers' reach differ from the line managers on "
            f"file: {missing} missing and {extra} extra (manager, person) rows. Run `flask "
            "reports refresh` to rewrite them."
        )
    found = differences(session)
    stale = stale_distances(session, distances.today())
    if stale:
        click.echo(
            f"The role distances of {stale} {'person' if stale == 1 else 'people'} do not "
            "hold today (levels lapsed since they were computed, or never computed): the "
            "bench report computes them as it runs (`flask reports distances` brings them "
            "up to date)."
        )
    if not found:
        db.session.rollback()
        if missing or extra:
            sys.exit(1)
        click.echo(
            "The spans and role distances match the evidence, roles and framework, and the "
            "reporting lines match the line managers: no differences."
        )
        return
    people = {d.person_id for d in found}
    tables = {
        t: sum(1 for d in found if d.table == t) for t in ("levels", "requirements", "distances")
    }
    names = dict(
        session.execute(
            select(Person.id, Person.employee_number).where(
                Person.id.in_([d.person_id for d in found[:show]])
            )
        ).all()
    )
    db.session.rollback()
    click.echo(
        f"The stored spans differ from the rule for {len(people)} "
        f"{'person' if len(people) == 1 else 'people'} "
        f"({len(found)} difference{'' if len(found) == 1 else 's'}: "
        f"{tables['levels']} in levels, {tables['requirements']} in requirements, "
        f"{tables['distances']} in role distances)."
    )
    for d in found[:show]:
        stored, expected = _first_difference(d)
        who = names.get(d.person_id, "no longer on file")
        click.echo(
            f"  person {d.person_id} ({who}), {d.table}: {len(d.stored)} spans stored, "
            f"{len(d.expected)} expected; first difference: stored {_span(stored)}, "
            f"expected {_span(expected)}"
        )
    if len(found) > show:
        click.echo(f"  … and {len(found) - show} more (--show to list more).")
    click.echo("Run `flask reports refresh` to rewrite them.")
    sys.exit(1)


@reports_cli.command("distances")
def distances_command() -> None:
    """Bring the role distances the bench-strength report reads up to today: the daily
    pass, for cron.

    Each person's distance to every role is kept for today and rewritten whenever their
    evidence changes, but a level also lapses with time alone when evidence expires; such
    a person is then computed as the report runs (the figures are the same, only slower)
    until this rewrites them, set-wise in SQL. Run it once a day, shortly after midnight."""
    started = time.perf_counter()
    people = refresh_stale_distances(db.session(), distances.today())
    db.session.commit()
    click.echo(
        f"Rewrote the role distances of {people} "
        f"{'person' if people == 1 else 'people'} in {time.perf_counter() - started:.1f} s."
    )
