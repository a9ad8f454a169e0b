"""Small helpers shared by the views."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash
from flask_wtf import FlaskForm

from app.errors import DomainError


def safe_next(target: str | None, default: str) -> str:
    """A same-site path to go to after log-in; anything else falls back to ``default``."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def apply_domain_error(form: FlaskForm, error: DomainError) -> None:
    """Show a use-case's refusal at the field it concerns, else as a message on top."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "danger")
