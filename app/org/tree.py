"""Keeps the org-unit closure table (``OrgUnitPath``) in step with the tree.

Whenever a flush adds, re-parents or deletes an org unit, the table is rebuilt from the
parent links in one statement (a recursive query run once per change, not on every page
view). Org units are few and change rarely; reading a subtree is then an indexed lookup.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, event, insert, inspect, literal, select
from sqlalchemy.orm import Session, aliased

from app.org.models import OrgUnit, OrgUnitPath

_STALE = "org_unit_paths_stale"


def rebuild_unit_paths(connection: Connection) -> None:
    """Rewrite the closure table from ``org_units.parent_id``."""
    paths = select(
        OrgUnit.id.label("ancestor_id"),
        OrgUnit.id.label("descendant_id"),
        literal(0).label("depth"),
    ).cte("paths", recursive=True)
    child = aliased(OrgUnit)
    paths = paths.union_all(
        select(paths.c.ancestor_id, child.id, paths.c.depth + 1).where(
            child.parent_id == paths.c.descendant_id
        )
    )
    connection.execute(delete(OrgUnitPath))
    connection.execute(
        insert(OrgUnitPath).from_select(["ancestor_id", "descendant_id", "depth"], select(paths))
    )


def _touches_the_tree(session: Session) -> bool:
    if any(isinstance(o, OrgUnit) for o in (*session.new, *session.deleted)):
        return True
    return any(
        isinstance(o, OrgUnit) and inspect(o).attrs.parent_id.history.has_changes()
        for o in session.dirty
    )


@event.listens_for(Session, "after_flush")
def _note_tree_changes(session: Session, _context: Any) -> None:
    if _touches_the_tree(session):
        session.info[_STALE] = True


@event.listens_for(Session, "after_flush_postexec")
def _rebuild_after_tree_changes(session: Session, _context: Any) -> None:
    if session.info.pop(_STALE, False):
        rebuild_unit_paths(session.connection())
