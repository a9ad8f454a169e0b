"""PMO Pathways: the application factory."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Flask, Response, g, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException, RequestURITooLarge
from werkzeug.routing import IntegerConverter

from app import extensions, hardening
from app.config import Config
from app.db import MAX_ID
from app.extensions import bootstrap, csrf, login_manager, migrate


class RecordId(IntegerConverter):
    """``<int:…>`` in every route: a record id, at most the largest id the databases'
    integer keys hold, so that an oversized id is an honest 404, never a database error."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002  (werkzeug's name)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def create_app(config_class: type[Config] = Config, **overrides) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_mapping(config_class.load())
    app.config.update(overrides)
    # First: a production configuration that is unsafe stops here, before anything runs.
    hardening.init_app(app)
    app.url_map.converters["int"] = RecordId
    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from app import models  # noqa: F401  (every model registered on the metadata)
    from app.accounts.auth import init_login
    from app.audit.capture import install as install_audit_trail
    from app.audit.security import init_security_log

    # ``extensions.db``, not a bare ``db``: the package's submodule ``app.db`` (the model
    # helpers) would shadow that name here.
    extensions.db.init_app(app)
    migrate.init_app(app, extensions.db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    init_login(app)
    # After the models: the audit trail is written after the other before-commit work.
    install_audit_trail()
    init_security_log(app)
    with app.app_context():
        _configure_engine(app)


def _configure_engine(app: Flask) -> None:
    """SQLite: WAL, foreign keys on, a busy timeout, on every new connection."""
    from sqlalchemy import event

    from app.db import begin_writes_immediately

    engine = extensions.db.engine
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # Requests that write begin with BEGIN IMMEDIATE (see app.db).
    begin_writes_immediately(engine)


def register_blueprints(app: Flask) -> None:
    """One blueprint per domain, each named like its package."""
    from app.accounts.views import bp as accounts_bp
    from app.assessment.views import bp as assessment_bp
    from app.audit.views import bp as audit_bp
    from app.capability.views import bp as capability_bp
    from app.framework.views import bp as framework_bp
    from app.learning.views import bp as learning_bp
    from app.org.views import bp as org_bp
    from app.privacy.views import bp as privacy_bp
    from app.reports.views import bp as reports_bp
    from app.staff_import.views import bp as staff_import_bp

    for bp in (
        org_bp,
        accounts_bp,
        framework_bp,
        capability_bp,
        learning_bp,
        assessment_bp,
        reports_bp,
        staff_import_bp,
        audit_bp,
        privacy_bp,
    ):
        app.register_blueprint(bp)


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def register_request_hooks(app: Flask) -> None:
    """Before each request: the route's access rule, a request id, no NUL characters.
    After it: the security headers. For templates: navigation and two helpers."""
    from app.access import enforce_route_rule

    app.before_request(enforce_route_rule)
    app.before_request(_request_id)
    app.before_request(_audit_context)
    app.before_request(_refuse_nul_characters)
    app.before_request(_refuse_overlong_addresses)
    app.after_request(_security_headers)
    app.after_request(_stale_edit_conflict)
    register_template_helpers(app)


def _request_id() -> None:
    g.request_id = uuid.uuid4().hex[:12]


def _stale_edit_conflict(response: Response) -> Response:
    """An edit form sent back because its record changed since it was read (the stale-save
    notice, ``app.viewutil``) answers 409 Conflict, as a refused write should."""
    if g.get("stale_edit") and response.status_code == 200:
        response.status_code = 409
    return response


def _audit_context() -> None:
    """Changes this request makes are recorded as the signed-in user's (app.audit)."""
    from app.audit.capture import begin_request

    begin_request(
        actor_user_id=current_user.id if current_user.is_authenticated else None,
        request_id=g.request_id,
        client_address=request.remote_addr,
        endpoint=request.endpoint,
    )


def _refuse_nul_characters() -> None:
    """A NUL character is never real input and PostgreSQL text cannot hold it: refuse the
    request (400) before it reaches a query, rather than fail there with a 500."""
    for values in (request.args, request.form):
        if any("\x00" in k or "\x00" in v for k, v in values.items(multi=True)):
            raise BadRequest("The request contained a NUL character.")


#: Longer addresses are refused with the product's own page (gunicorn.conf.py lets up to
#: 8,190 characters through to here; beyond that the server answers by itself).
MAX_ADDRESS_LENGTH = 2000


def _refuse_overlong_addresses() -> None:
    """An address (path and query) this long is never a real page or search: say so plainly
    instead of running a query with it."""
    if len(request.full_path) > MAX_ADDRESS_LENGTH:
        raise RequestURITooLarge()


def _security_headers(response: Response) -> Response:
    h = response.headers
    h.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("X-Frame-Options", "DENY")
    if current_user.is_authenticated and request.endpoint not in ("static", "bootstrap.static"):
        h["Cache-Control"] = "no-store"
    return response


def register_template_helpers(app: Flask) -> None:
    from app.access import may_reach
    from app.navigation import navigation_for

    @app.context_processor
    def _navigation() -> dict[str, Any]:
        return {"navigation": navigation_for(current_user, request.endpoint)}

    @app.template_global()
    def may(endpoint: str) -> bool:
        """Whether the current user may reach ``endpoint`` (shows or hides links and buttons)."""
        return may_reach(current_user, endpoint)

    @app.template_global()
    def page_url(page: int) -> str:
        """The current list URL with its filters kept and another page number."""
        args: dict[str, Any] = {**request.args.to_dict(), "page": page}
        return url_for(request.endpoint or "org.home", **(request.view_args or {}), **args)


def register_errorhandlers(app: Flask) -> None:
    from sqlalchemy.orm.exc import StaleDataError

    from app.audit.security import security_event
    from app.versioning import STALE_MESSAGE, STALE_RETRY

    log = logging.getLogger("pmo_pathways")

    def render_error(status: int, title: str, message: str, incident: str | None = None):
        return render_template(
            "errors/error.html", status=status, title=title, message=message, incident=incident
        ), status

    @app.errorhandler(CSRFError)
    def _csrf(error):
        security_event("csrf_failure", outcome="refused", reason=error.description)
        return render_error(
            400,
            "Form expired",
            "This form was open too long or came from elsewhere. Go back, "
            "reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code == 403:
            security_event("forbidden", outcome="refused")
        texts = {
            403: (
                "Not yours to see",
                "You do not have access to this page. If you think you "
                "should, ask your PMO administrator.",
            ),
            404: (
                "Page not found",
                "There is nothing at this address. It may have moved, or the link may be mistyped.",
            ),
            413: hardening.too_large_text(),
            414: (
                "Address too long",
                "That address or search is longer than the site accepts. Shorten the search "
                "and try again.",
            ),
        }
        title, message = texts.get(error.code or 500, (error.name, error.description or ""))
        return render_error(error.code or 500, title, message)

    @app.errorhandler(StaleDataError)
    def _stale(error: StaleDataError):
        """A row someone else changed between this request's read and its write, where no
        form could say so (``app.versioning``): a plain answer, never a server error."""
        extensions.db.session.rollback()
        return render_error(
            409,
            "Changed by someone else",
            STALE_MESSAGE.format(what="What you were saving") + STALE_RETRY,
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        incident = uuid.uuid4().hex[:10]
        extensions.db.session.rollback()
        log.exception("incident %s on %s %s", incident, request.method, request.path)
        return render_error(
            500,
            "Something went wrong",
            "The page could not be shown. Nothing you sent was half-saved. If "
            "it happens again, quote the incident reference below.",
            incident,
        )

    @app.teardown_request
    def _forget_failed_session(exc):
        if exc is not None:
            session.modified = False


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)
