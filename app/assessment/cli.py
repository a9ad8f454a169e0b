"""`flask assessment …`: closing the attempts whose time is up (run it from cron, say every
minute; the pages also close an attempt lazily whenever it is read)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.assessment.attempts import close_overdue
from app.db import utcnow
from app.extensions import db

assessment_cli = AppGroup("assessment", help="Assessments: closing overdue attempts.")


@assessment_cli.command("close-overdue")
def close_overdue_command() -> None:
    """Close every attempt past its deadline plus grace: each is recorded as finished at
    its deadline and scored on the answers saved by then (a pass records its evidence).
    Safe to run as often as you like: an attempt is closed once."""
    closed = close_overdue(db.session(), utcnow())
    db.session.commit()
    passed = sum(1 for c in closed if c.attempt.passed)
    click.echo(
        f"Closed {len(closed)} overdue attempt{'' if len(closed) == 1 else 's'}"
        + (f" ({passed} passed)." if closed else ".")
    )
