"""Flask-Login wiring: the cookie carries a login-session token, checked on every request."""

from __future__ import annotations

from flask import Flask, current_app

from app.accounts.services import load_login_session
from app.extensions import db, login_manager


def init_login(app: Flask) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    # The login-session table already ends sessions on logout and password change;
    # "strong" also drops a session whose browser fingerprint changes mid-way.
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load(token: str):
        user = load_login_session(
            db.session(),
            token,
            idle=current_app.config["SESSION_IDLE_TIMEOUT"],
            absolute=current_app.config["PERMANENT_SESSION_LIFETIME"],
        )
        if db.session.dirty or db.session.deleted:
            db.session.commit()
        return user
