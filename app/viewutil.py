"""Small helpers shared by the views of every domain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, render_template, request
from flask_sqlalchemy.pagination import Pagination
from flask_wtf import FlaskForm
from sqlalchemy import Select, func
from sqlalchemy.orm.exc import StaleDataError

from app.db import page_number
from app.errors import DomainError
from app.extensions import db
from app.forms import ConfirmForm, show_stale
from app.versioning import STALE_MESSAGE, STALE_RETRY, StaleEdit

T = TypeVar("T")


def safe_next(target: str | None, default: str) -> str:
    """A same-site path to go to after log-in; anything else falls back to ``default``."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def apply_domain_error(form: FlaskForm | None, error: DomainError, prefix: str = "") -> None:
    """Show a use-case's refusal at the field it concerns, else as a message on top."""
    if isinstance(error, StaleEdit) and form is not None:
        show_stale(form, error)  # the form as saved now, and what differs from what was sent
        g.stale_edit = True  # the page answers 409 Conflict (app/__init__.py)
        return
    field = getattr(form, error.field, None) if form is not None and error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(prefix + error.message, "danger")


def run(
    action: Callable[[], T], form: FlaskForm | None = None, prefix: str = ""
) -> tuple[bool, T | None]:
    """Run one use-case for a view: commit and return ``(True, result)``; or, when it refuses
    with a ``DomainError``, roll back, show the message at its form field (or as a flash) and
    return ``(False, None)``. ``prefix`` starts a flashed message (say whose record it was).
    The one place a view turns a domain error into a message. A record someone else changed
    meanwhile (``StaleDataError`` at the flush, see ``app.versioning``) is refused the same
    way, never a server error."""
    try:
        result = action()
        db.session.flush()
    except DomainError as error:
        db.session.rollback()
        apply_domain_error(form, error, prefix)
        return False, None
    except StaleDataError:
        db.session.rollback()
        flash(prefix + STALE_MESSAGE.format(what="This record") + STALE_RETRY, "danger")
        return False, None
    db.session.commit()
    return True, result


def require_confirmation() -> None:
    """Refuse (400) a state-changing POST that does not carry a valid confirm form."""
    if not ConfirmForm().validate_on_submit():
        abort(400)


def back_or(default: str) -> str:
    """Where a toggle button returns to: the page it was pressed on, when it is this site."""
    ref = request.referrer
    return ref if ref and ref.startswith(request.host_url) else default


def per_page() -> int:
    return int(current_app.config["PEOPLE_PER_PAGE"])


def count_of(stmt: Select) -> Select:
    """How many rows ``stmt`` gives (a list's statement: no GROUP BY, no DISTINCT). Only the
    count is selected, so the database may drop outer joins that add no rows."""
    return stmt.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)


class RowPagination(Pagination):
    """A page of a SELECT of columns (rows, not records): Flask-SQLAlchemy's own pagination
    returns only each row's first column."""

    def _query_items(self) -> list[Any]:
        select_ = self._query_args["select"]
        session = self._query_args["session"]
        return list(session.execute(select_.limit(self.per_page).offset(self._query_offset)))

    def _query_count(self) -> int:
        select_ = self._query_args["select"]
        session = self._query_args["session"]
        return int(session.execute(count_of(select_)).scalar() or 0)


def _selects_rows(stmt: Select) -> bool:
    """Whether ``stmt`` selects several columns (rows) rather than one mapped class."""
    return len(stmt.column_descriptions) > 1


def current_page() -> int:
    """The page number in the query string, bounded (app.db.page_number): an absurd page is
    the last allowed one, never an offset the database cannot hold."""
    return request.args.get("page", 1, type=page_number)


def paginate(
    stmt: Select,
    total: int | None = None,
    size: int | None = None,
    number: int | None = None,
    counter: Select | None = None,
) -> Pagination:
    """One page of ``stmt`` (page ``number``, else the one in the query string). The total
    is counted only when nobody knows it yet: a caller's summary may already have counted
    it, and a short first page is the whole list, so most lists cost one query, not two.
    ``counter``, when given, is a cheaper statement that counts the same rows."""
    size = size or per_page()
    if number is None:
        number = current_page()
    if _selects_rows(stmt):
        page: Pagination = RowPagination(
            select=stmt,
            session=db.session(),
            page=number,
            per_page=size,
            error_out=False,
            count=False,
        )
    else:
        page = db.paginate(stmt, page=number, per_page=size, error_out=False, count=False)
    if total is not None:
        page.total = total
    elif page.page == 1 and len(page.items) < size:
        page.total = len(page.items)
    else:
        page.total = db.session.scalar(counter if counter is not None else count_of(stmt)) or 0
    return page


@dataclass(frozen=True)
class Confirmation:
    """What a confirmation page says before a destructive or far-reaching action: what will
    happen (``message``, ``details`` such as the impact), and the form that does it."""

    title: str
    message: str
    action: str
    button: str
    back: str
    details: list[str] = field(default_factory=list)
    #: hidden fields the action needs besides ``confirmed`` (e.g. ``active=0``).
    fields: list[tuple[str, str]] = field(default_factory=list)
    danger: bool = True


def confirmed() -> bool:
    """Whether this POST came from a confirmation page (its ``confirmed`` field)."""
    return request.form.get("confirmed") == "1"


def confirmation_page(confirmation: Confirmation) -> str:
    """The page that asks before the action; it posts the same form with ``confirmed=1``.
    Works without script (the Content-Security-Policy forbids inline script)."""
    return render_template("confirm.html", confirmation=confirmation)
