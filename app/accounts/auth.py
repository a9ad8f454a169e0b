"""Flask-Login wiring: the cookie carries a login-session token, checked on every request."""

from __future__ import annotations

from flask import Flask, current_app, request

from app.accounts.services import browser_fingerprint, load_login_session
from app.extensions import db, login_manager


def init_login(app: Flask) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    # Flask-Login's own "strong" protection does nothing for permanent sessions (it only
    # marks them not fresh), and every session here is permanent. The binding is done in
    # the login-session table instead: a session's cookie used from another browser (a
    # changed User-Agent) ends that session for everyone (load_login_session).
    login_manager.session_protection = None

    @login_manager.user_loader
    def _load(token: str):
        user = load_login_session(
            db.session(),
            token,
            idle=current_app.config["SESSION_IDLE_TIMEOUT"],
            absolute=current_app.config["PERMANENT_SESSION_LIFETIME"],
            fingerprint=browser_fingerprint(request.headers.get("User-Agent")),
        )
        if db.session.dirty or db.session.deleted:
            db.session.commit()
        return user
