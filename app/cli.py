"""Registers each domain's command-line group on the app."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.accounts.cli import accounts_cli
    from app.assessment.cli import assessment_cli
    from app.audit.cli import audit_cli
    from app.backup.cli import backup_command, restore_command
    from app.content.cli import content_cli
    from app.demo.cli import demo_cli
    from app.learning.cli import learning_cli
    from app.privacy.cli import privacy_cli
    from app.reports.cli import reports_cli
    from app.staff_import.cli import import_cli

    app.cli.add_command(accounts_cli)
    app.cli.add_command(assessment_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(content_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(import_cli)
    app.cli.add_command(learning_cli)
    app.cli.add_command(privacy_cli)
    app.cli.add_command(reports_cli)
    app.cli.add_command(restore_command)
