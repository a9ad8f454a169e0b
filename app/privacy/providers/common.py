"""Helpers the providers share."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.org.models import Person


def user_names(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Account id -> the name of its person (one query): who recorded or decided a thing."""
    ids = sorted({i for i in user_ids if i is not None})
    if not ids:
        return {}
    rows = session.execute(
        select(User.id, Person.first_name, Person.last_name)
        .join(Person, Person.id == User.person_id)
        .where(User.id.in_(ids))
    ).all()
    return {i: f"{first} {last}" for i, first, last in rows}
