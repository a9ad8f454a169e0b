"""`flask audit verify`: walk the trail's hash chain and report the first broken event."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.audit.chain import verify
from app.extensions import db

audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Check every event of the audit trail against the hash chain, from the first.

    Exits 0 when it verifies (events whose personal data was erased are listed as
    redacted), 1 naming the first event that was changed or deleted outside the
    application, so that a monitoring job can alert on it."""
    verdict = verify(db.session.connection())
    db.session.rollback()
    if not verdict.ok:
        click.echo(f"The audit trail does not verify: {verdict.problem}.")
        click.echo(f"{verdict.checked} event(s) before it chain correctly.")
        sys.exit(1)
    redacted = ""
    if verdict.redacted:
        shown = ", ".join(f"#{i}" for i in verdict.redacted[:20])
        more = f" and {len(verdict.redacted) - 20} more" if len(verdict.redacted) > 20 else ""
        redacted = f"; {len(verdict.redacted)} redacted by an erasure ({shown}{more})"
    click.echo(f"The audit trail verifies: {verdict.checked} event(s) chain correctly{redacted}.")
