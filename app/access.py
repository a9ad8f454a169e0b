"""The one place that says who may see what.

Route level: every view declares its audience with ``@allow(...)``; a request to an
endpoint without a declaration is refused (deny by default), and the permission test
fails for it. Object level: ``visible_people`` and ``can_see_person`` decide which
people's records a user may read:

* learner — only their own person record;
* manager — the people in the subtrees of the org units they head, and their direct
  and indirect reports (plus themselves);
* trainer and admin — everyone (trainers author content and follow progress across
  the organisation; admins run it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import abort, current_app, request
from flask_login import current_user
from sqlalchemy import Select, literal, select
from sqlalchemy.orm import Session

from app.accounts.models import Permission
from app.extensions import login_manager
from app.org.models import Person
from app.org.queries import managed_people_ids

PUBLIC = "public"
SIGNED_IN = "signed-in"

LEARNER = Permission.LEARNER
MANAGER = Permission.MANAGER
TRAINER = Permission.TRAINER
ADMIN = Permission.ADMIN

#: Endpoints registered by extensions, which cannot carry the decorator.
EXTENSION_RULES: dict[str, frozenset[str]] = {
    "static": frozenset({PUBLIC}),
    "bootstrap.static": frozenset({PUBLIC}),
}

#: Permissions whose holders see every person's records.
SEES_EVERYONE = frozenset({TRAINER, ADMIN})


def allow(*audience: str) -> Callable:
    """Declare who may reach a view: PUBLIC, SIGNED_IN, or any of the given permissions."""
    if not audience:
        raise ValueError("allow() needs at least one audience")

    def mark(view: Callable) -> Callable:
        view.access_rule = frozenset(audience)  # type: ignore[attr-defined]
        return view

    return mark


def rule_for(endpoint: str) -> frozenset[str] | None:
    if endpoint in EXTENSION_RULES:
        return EXTENSION_RULES[endpoint]
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def may_reach(user, endpoint: str) -> bool:
    """Whether ``user`` may reach ``endpoint`` by its route rule (also drives the navigation)."""
    rule = rule_for(endpoint)
    if rule is None:
        return False
    if PUBLIC in rule:
        return True
    if not user.is_authenticated:
        return False
    return SIGNED_IN in rule or bool(rule & user.permissions)


def enforce_route_rule():
    """before_request hook: apply the endpoint's rule, refusing undeclared endpoints."""
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: let Flask answer 404/405
        return None
    rule = rule_for(endpoint)
    if rule is None:
        current_app.logger.error("endpoint %s has no access rule; refused", endpoint)
        abort(403)
    if PUBLIC in rule:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if SIGNED_IN in rule or rule & current_user.permissions:
        return None
    abort(403)


# --- object level -------------------------------------------------------------------------


def sees_everyone(user) -> bool:
    return bool(user.permissions & SEES_EVERYONE)


def visible_people(user) -> Select | None:
    """A SELECT of the person ids ``user`` may read, or None when they may read everyone."""
    if sees_everyone(user):
        return None
    if MANAGER in user.permissions:
        return select(managed_people_ids(user.person_id).subquery().c[0])
    return select(literal(user.person_id))


def manages(user) -> bool:
    return MANAGER in user.permissions


def can_see_person(session: Session, user, person_id: int) -> bool:
    if sees_everyone(user) or person_id == user.person_id:
        return True
    if not manages(user):
        return False
    scope = visible_people(user)
    if scope is None:
        return True
    found = session.scalar(select(literal(True)).where(literal(person_id).in_(scope)))
    return found is True


def get_person_or_refuse(session: Session, user, person_id: int) -> Person:
    """The person if ``user`` may read them. Anyone else gets 403 whether or not the record
    exists, so ids cannot be probed; those who see everyone get an honest 404."""
    if not can_see_person(session, user, person_id):
        abort(403)
    person = session.get(Person, person_id)
    if person is None:
        abort(404)
    return person


def can_validate_for(session: Session, user, person_id: int) -> bool:
    """Who may decide on a person's self-ratings and calibrations: an admin, or a manager
    whose reach includes the person — never the person themselves."""
    if person_id == user.person_id:
        return False
    if ADMIN in user.permissions:
        return True
    return manages(user) and can_see_person(session, user, person_id)


def validation_scope(user) -> Select | None:
    """The people whose ratings ``user`` may validate (None: everyone, for admins)."""
    if ADMIN in user.permissions:
        return None
    return visible_people(user) if manages(user) else select(literal(-1))


def any_of(user, permissions: Iterable[str]) -> bool:
    return bool(user.is_authenticated and user.permissions & frozenset(permissions))


__all__ = [
    "ADMIN",
    "LEARNER",
    "MANAGER",
    "PUBLIC",
    "SIGNED_IN",
    "TRAINER",
    "allow",
    "any_of",
    "can_see_person",
    "can_validate_for",
    "validation_scope",
    "enforce_route_rule",
    "get_person_or_refuse",
    "may_reach",
    "visible_people",
]
