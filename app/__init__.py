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
    _postgres_without_jit(app)
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


def _postgres_without_jit(app: Flask) -> None:
    """PostgreSQL: JIT off for the app's connections. The app's statements are short
    OLTP reads that JIT compilation only slows (it compiled a team count for 0.3 s)."""
    uri = str(app.config.get("SQLALCHEMY_DATABASE_URI") or "")
    if not uri.startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    connect_args["options"] = f"{connect_args.get('options', '')} -c jit=off".strip()
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _configure_engine(app: Flask) -> None:
    """SQLite: WAL, foreign keys on, a busy timeout, on every new connection. PostgreSQL
    (psycopg): prepared statements kept across requests (``app.db.keep_prepared_statements``)."""
    from sqlalchemy import event

    from app.db import begin_writes_immediately, keep_prepared_statements

    engine = extensions.db.engine
    if engine.dialect.driver == "psycopg":
        keep_prepared_statements(engine)
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

    app.before_request(hardening.refused_by_the_server)
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
    # A request without a body (every plain GET) has no form: reading ``request.form``
    # would only build an empty one, on every page view (issue 9, point 10). With a length
    # or a content type it is read as before (and an oversized body refused, 413).
    has_body = request.content_length or request.environ.get("CONTENT_TYPE")
    for values in (request.args, request.form) if has_body else (request.args,):
        if any("\x00" in k or "\x00" in v for k, v in values.items(multi=True)):
            raise BadRequest("The request contained a NUL character.")


#: Longer addresses are refused with the product's own page (gunicorn.conf.py lets up to
#: 8,190 characters through to here; beyond that its worker asks for the same page).
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
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm.exc import StaleDataError

    from app.versioning import STALE_MESSAGE, STALE_RETRY

    log = logging.getLogger("pmo_pathways")

    def render_error(status: int, title: str, message: str, incident: str | None = None):
        """The product's error page. Every one carries an incident reference, logged on
        "pmo_pathways" with the status, method and path (a 500's with its traceback, by
        ``_unexpected``), so whoever a user quotes it to finds the request."""
        if incident is None:
            incident = _log_incident(log, status)
        g.incident, g.incident_logged = incident, True
        try:
            page = render_template(
                "errors/error.html", status=status, title=title, message=message, incident=incident
            )
        except SQLAlchemyError:
            # The database is unreachable (a restart, a read-only disk): the signed-in user
            # cannot be loaded for the page's header, so show it as to a visitor rather
            # than fail again into the server's bare page (tests/faults, J3).
            extensions.db.session.rollback()
            g._login_user = login_manager.anonymous_user()
            page = render_template(
                "errors/error.html", status=status, title=title, message=message, incident=incident
            )
        return page, status

    _register_http_errors(app, render_error)

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

    _register_incident_references(app, log)
    _register_database_conflicts(app, log, render_error, _unexpected)


def _register_http_errors(app: Flask, render_error) -> None:
    """An expired form (400) and the HTTP errors (403, 404, 405, 413, 414…): the product's
    page, in words, with an incident reference (``render_error``)."""
    from app.audit.security import security_event

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
            431: (
                "Request too large",
                "Your browser sent more with this request than the site accepts, most often "
                "too many or too large cookies. This site's cookies have been cleared: go to "
                "your home page and log in again. If this page comes back, clear this site's "
                "cookies in your browser's settings.",
            ),
        }
        title, message = texts.get(error.code or 500, (error.name, error.description or ""))
        return render_error(error.code or 500, title, message)


#: Answers that are a form's or a save's own outcome, explained on the page or to the script
#: that sent it (a stale save, a form sent back with its errors): not incidents.
EXPECTED_REFUSALS = frozenset({409, 422})


def _register_incident_references(app: Flask, log: logging.Logger) -> None:
    """Incident references for error answers the handlers above did not render."""
    from app.db import RETRY_WANTED

    @app.after_request
    def _incident_header(response: Response) -> Response:
        """Every error answer has an incident reference, logged, also those a view renders
        itself (the log-in page's 429): in the X-Incident-Id header, and on the page where
        its template shows ``incident_reference()``."""
        if (
            response.status_code >= 400
            and response.status_code not in EXPECTED_REFUSALS
            and not request.environ.get(RETRY_WANTED)
        ):
            if not g.get("incident_logged"):
                g.incident = _log_incident(log, response.status_code, g.get("incident"))
                g.incident_logged = True
            response.headers["X-Incident-Id"] = g.incident
        return response

    @app.template_global()
    def incident_reference() -> str:
        """This request's incident reference (made when first asked for, logged with the
        answer's status after the response): for a page a view renders with an error status
        itself, through ``errors/_incident.html``."""
        if "incident" not in g:
            g.incident = uuid.uuid4().hex[:10]
        return str(g.incident)


def _log_incident(log: logging.Logger, status: int, incident: str | None = None) -> str:
    """An incident reference (a new one unless given), logged with the request it answers."""
    incident = incident or uuid.uuid4().hex[:10]
    log.warning("incident %s: %s %s answered %s", incident, request.method, request.path, status)
    return incident


def _register_database_conflicts(app: Flask, log: logging.Logger, render_error, unexpected) -> None:
    """Deadlocks and serialisation failures (PostgreSQL): the request runs again, whole
    (``app.db.RetryTransactions``); a 503 with an incident reference when none succeeds."""
    from sqlalchemy.exc import DBAPIError

    from app.db import RetryTransactions, gave_up, may_retry, transient_conflict, want_retry

    app.wsgi_app = RetryTransactions(  # type: ignore[method-assign]
        app.wsgi_app,
        max_body=int(app.config.get("MAX_CONTENT_LENGTH") or 16 * 1024 * 1024),
        max_form=int(app.config.get("MAX_FORM_MEMORY_SIZE") or 500_000),
    )

    @app.errorhandler(DBAPIError)
    def _database(error: DBAPIError):
        """A deadlock or serialisation failure (PostgreSQL) rolls back and asks for the
        request to run again (``app.db.RetryTransactions``); when no attempt is left, a 503
        saying nothing was saved, with an incident reference. Any other database error is
        unexpected (500)."""
        if not transient_conflict(error):
            return unexpected(error)
        extensions.db.session.rollback()
        if may_retry(request.environ):
            want_retry(request.environ)
            return "", 503  # thrown away by RetryTransactions
        gave_up()
        incident = uuid.uuid4().hex[:10]
        log.error(
            "incident %s: %s %s lost a database conflict on every attempt (%s)",
            incident,
            request.method,
            request.path,
            type(getattr(error, "orig", error)).__name__,
        )
        return render_error(
            503,
            "Busy: please try again",
            "The site was busy with another change to the same records, and nothing you "
            "sent was saved. Try again in a moment; if it keeps happening, quote the "
            "incident reference below.",
            incident,
        )


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)
