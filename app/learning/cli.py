"""`flask learning …`: the reminders command (run it daily from cron)."""

from __future__ import annotations

import sys
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from app import clock
from app.extensions import db
from app.learning import reminders
from app.learning.mail import Mail, Mailer, MailError, MailSettings, link_builder

learning_cli = AppGroup("learning", help="Learning paths: reminders by email.")


@learning_cli.command("remind")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Act as if today were this date (YYYY-MM-DD); for tests and catching up.",
)
@click.option("--dry-run", is_flag=True, help="List what would be sent; send and log nothing.")
def remind(today: datetime | None, dry_run: bool) -> None:
    """Email learners about due and overdue paths, sessions in the next two days and
    certificates expiring within 60 days, and managers a digest of their people's overdue
    learning. Safe to run as often as you like: each message is sent once (see the
    reminder log); a message the mail server did not accept is sent on the next run."""
    day = today.date() if today else clock.today()
    link = link_builder(current_app.url_map, current_app.config["PUBLIC_BASE_URL"])
    plan = reminders.plan(db.session(), today=day, link=link)
    db.session.rollback()  # the plan only read: end its transaction before the slow part
    click.echo(
        f"Reminders for {day.isoformat()}: {len(plan.reminders)} to send, "
        f"{plan.already_sent} sent on an earlier run, "
        f"{plan.skipped} {'person' if plan.skipped == 1 else 'people'} skipped "
        "(no account email)."
    )
    if dry_run:
        for reminder in plan.reminders:
            click.echo(f"  would send to {reminder.to}: {reminder.subject}")
        return
    if not plan.reminders:
        return
    sent, failed = _send(plan.reminders)
    unsent = len(plan.reminders) - sent
    click.echo(f"Sent {sent} message{'s' if sent != 1 else ''}.")
    if unsent:
        refused = f" ({failed} refused by the mail server)" if failed else ""
        click.echo(
            f"Error: {unsent} message{'s were' if unsent != 1 else ' was'} not sent"
            f"{refused}; the next run will try again.",
            err=True,
        )
        sys.exit(1)


def _send(planned: list[reminders.Reminder]) -> tuple[int, int]:
    """Send each message and log it as soon as the server accepts it (committed one by
    one, so a failure later in the run never loses the record of what went out).
    Returns (sent, refused)."""
    sent = refused = 0
    try:
        with Mailer(MailSettings.from_config(current_app.config)) as mailer:
            for reminder in planned:
                try:
                    mailer.send(Mail(reminder.to, reminder.subject, reminder.body))
                except MailError as error:
                    refused += 1
                    click.echo(f"Error: {error.message}", err=True)
                    if error.fatal:
                        break
                    continue
                reminders.record_sent(db.session(), reminder)
                db.session.commit()
                sent += 1
    except MailError as error:
        click.echo(f"Error: {error.message}", err=True)
    return sent, refused
