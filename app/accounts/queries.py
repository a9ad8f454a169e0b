"""Reads for the account pages."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload

from app.accounts.models import Permission, User
from app.org.models import Person


def accounts_query(q: str = "", permission: str = "") -> Select:
    """Accounts with their person, by name; ``q`` searches email and name (% and _ literal);
    ``permission`` keeps the holders of one permission."""
    stmt = select(User).join(User.person).options(joinedload(User.person))
    needle = q.strip().lower()
    if needle:
        full_name = func.lower(Person.first_name + " " + Person.last_name)
        stmt = stmt.where(
            or_(
                func.lower(User.email).contains(needle, autoescape=True),
                full_name.contains(needle, autoescape=True),
            )
        )
    if permission in {p.value for p in Permission}:
        stmt = stmt.where(User.permission_rows.any(permission=Permission(permission)))
    return stmt.order_by(Person.last_name, Person.first_name)
