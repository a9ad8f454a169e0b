"""`flask privacy retention` (for cron) and `flask privacy anonymise PERSON_ID`.

Both name people by id and pseudonym only, never by name: their output lands in logs.
"""

from __future__ import annotations

import sys
from datetime import date, datetime

import click
from flask import current_app
from flask.cli import AppGroup

from app import clock
from app.errors import DomainError
from app.extensions import db
from app.privacy import retention
from app.privacy.erasure import Anonymised, anonymise, salt_of

privacy_cli = AppGroup("privacy", help="Personal data: retention and anonymisation.")


def _anonymise(person_id: int, today: date) -> Anonymised:
    config = current_app.config
    return anonymise(
        db.session(),
        person_id=person_id,
        today=today,
        now=clock.now(),
        salt=salt_of(config),
        upload_folder=config["UPLOAD_FOLDER"],
    )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _outcome(outcome: Anonymised) -> str:
    if not outcome.changed:
        return f"already {outcome.pseudonym}; nothing left to change"
    return (
        f"now {outcome.pseudonym}: {_plural(sum(outcome.changes.values()), 'record')} "
        f"changed, {_plural(outcome.files_deleted, 'file')} deleted"
    )


@privacy_cli.command("retention")
@click.option("--dry-run", is_flag=True, help="Say what would be done; change nothing.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Apply the rule as on this day (default: today).",
)
def retention_command(dry_run: bool, today: datetime | None) -> None:
    """Anonymise leavers and delete staff import files past their retention periods."""
    config = current_app.config
    day = today.date() if today else clock.today()
    leavers_days = int(config["RETAIN_LEAVERS_DAYS"])
    files_days = int(config["RETAIN_HR_FILES_DAYS"])
    found = retention.due(db.session(), today=day, leavers_days=leavers_days, files_days=files_days)
    click.echo(
        f"Retention on {day:%Y-%m-%d}{' (dry run: nothing changed)' if dry_run else ''}: "
        f"leavers' records {leavers_days:,} days (left before "
        f"{found.leavers_cutoff:%Y-%m-%d}); staff import files {files_days:,} days "
        f"(uploaded before {found.files_cutoff:%Y-%m-%d})."
    )
    failures = _leavers(found, day, dry_run) + _files(found, dry_run)
    sys.exit(1 if failures else 0)


def _leavers(found: retention.Due, day: date, dry_run: bool) -> int:
    verb = "Would anonymise" if dry_run else "Anonymising"
    click.echo(f"{verb} {_plural(len(found.leavers), 'leaver')} past the period.")
    failures = 0
    for leaver in found.leavers:
        where = f"  person {leaver.person_id} (left {leaver.left_on:%Y-%m-%d})"
        if dry_run:
            click.echo(where)
            continue
        try:
            outcome = _anonymise(leaver.person_id, day)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            click.echo(f"{where}: not anonymised: {error.message}", err=True)
            failures += 1
            continue
        except Exception as error:  # one failure must not stop the others; rerun finishes
            db.session.rollback()
            current_app.logger.exception("anonymising person %s failed", leaver.person_id)
            click.echo(f"{where}: failed ({type(error).__name__}); run again", err=True)
            failures += 1
            continue
        click.echo(f"{where}: {_outcome(outcome)}")
    return failures


def _files(found: retention.Due, dry_run: bool) -> int:
    verb = "Would delete" if dry_run else "Deleting"
    click.echo(
        f"{verb} the files of {_plural(len(found.files), 'staff import')} past the period "
        "(their summaries stay)."
    )
    now = clock.now()
    for hr in found.files:
        note = ", never applied: discarded" if hr.open else ""
        click.echo(
            f"  batch {hr.batch_id} ({hr.size:,} bytes, uploaded {hr.uploaded_at:%Y-%m-%d}{note})"
        )
        if not dry_run:
            retention.delete_hr_file(db.session(), hr.batch_id, now)
    if not dry_run:
        db.session.commit()
    return 0


@privacy_cli.command("anonymise")
@click.argument("person_id", type=int)
@click.option("--yes", is_flag=True, help="Do it (without it, say what would be done).")
def anonymise_command(person_id: int, yes: bool) -> None:
    """Anonymise one leaver now (run it again to finish an interrupted run)."""
    if not yes:
        click.echo(
            f"This anonymises person {person_id} for good: names, email, employee number, "
            "free text and uploads are replaced or removed and the account closed. Run "
            "again with --yes to do it."
        )
        sys.exit(1)
    try:
        outcome = _anonymise(person_id, clock.today())
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        click.echo(f"Not anonymised: {error.message}", err=True)
        sys.exit(1)
    click.echo(f"Person {person_id}: {_outcome(outcome)}.")
