"""Read-only queries for the import pages and the CLI: the history list, the catalogue
choices for value mapping, and the admin account an import is recorded under."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload

from app.accounts.models import Permission, User, UserPermission
from app.org.models import OrgUnit, Role
from app.org.queries import org_unit_choices
from app.staff_import.models import BatchStatus, ImportBatch


def history_query() -> Select:
    """Every batch, newest first, with who uploaded it (the file itself stays unloaded)."""
    return (
        select(ImportBatch)
        .options(joinedload(ImportBatch.uploaded_by).joinedload(User.person))
        .order_by(ImportBatch.uploaded_at.desc(), ImportBatch.id.desc())
    )


def value_choices(session: Session) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Active catalogue roles and org units as (code, label), for the value-mapping selects.
    Units come in tree order with indented names, as elsewhere in the admin area."""
    roles = [
        (code, f"{name} ({code})")
        for code, name in session.execute(
            select(Role.code, Role.name).where(Role.active.is_(True)).order_by(Role.name)
        )
    ]
    codes = dict(session.execute(select(OrgUnit.id, OrgUnit.code)).all())
    units = [(codes[unit_id], label) for unit_id, label in org_unit_choices(session)]
    return roles, units


def value_names(session: Session) -> dict[str, dict[str, str]]:
    """{"job_title": {role code: name}, "org_unit": {unit code: name}}, inactive ones too."""
    return {
        "job_title": dict(session.execute(select(Role.code, Role.name)).all()),
        "org_unit": dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all()),
    }


def admin_account(session: Session, email: str | None = None) -> User | None:
    """The active admin account with ``email``, or the first active admin (lowest id)."""
    stmt = (
        select(User)
        .join(UserPermission)
        .where(User.active.is_(True), UserPermission.permission == Permission.ADMIN)
    )
    if email:
        stmt = stmt.where(User.email == email.strip().lower())
    return session.scalars(stmt.order_by(User.id).limit(1)).first()


__all__ = ["admin_account", "history_query", "value_choices", "value_names"]


def import_attention(session: Session) -> tuple[int, int]:
    """(imports that failed, uploads still waiting to be mapped or applied), for the
    administrator's home page."""
    rows = dict(
        session.execute(
            select(ImportBatch.status, func.count())
            .where(ImportBatch.status.in_([BatchStatus.FAILED, BatchStatus.UPLOADED]))
            .group_by(ImportBatch.status)
        ).all()
    )
    return rows.get(BatchStatus.FAILED, 0), rows.get(BatchStatus.UPLOADED, 0)
