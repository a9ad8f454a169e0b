from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from app.access import PUBLIC, SIGNED_IN, allow
from app.accounts import services
from app.accounts.forms import ChangePasswordForm, LoginForm, SetPasswordForm
from app.errors import DomainError
from app.extensions import db
from app.viewutil import apply_domain_error, safe_next

bp = Blueprint("accounts", __name__)

GENERIC_LOGIN_ERROR = "That email and password do not match an active account."


def _start_session(user) -> None:
    session.clear()  # a new session id on log-in: no fixation
    session.permanent = True
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
@allow(PUBLIC)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        outcome = services.authenticate(
            db.session, email=form.email.data, password=form.password.data,
            max_failures=current_app.config["LOGIN_MAX_FAILURES"],
            lockout=current_app.config["LOGIN_LOCKOUT"],
        )
        db.session.commit()
        if outcome.user is not None:
            _start_session(outcome.user)
            return redirect(safe_next(request.args.get("next"), url_for("main.home")))
        form.password.errors.append(GENERIC_LOGIN_ERROR)
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@allow(SIGNED_IN)
def logout():
    services.close_login_session(db.session, current_user.get_id())
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    response = redirect(url_for("accounts.login"))
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.route("/account/password", methods=["GET", "POST"])
@allow(SIGNED_IN)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(db.session, user=current_user,
                                     current=form.current_password.data,
                                     new=form.new_password.data)
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            _start_session(current_user._get_current_object())
            flash("Password changed. Every other session of yours has been logged out.",
                  "success")
            return redirect(url_for("main.home"))
    return render_template("accounts/change_password.html", form=form)


@bp.route("/account/set-password/<token>", methods=["GET", "POST"])
@allow(PUBLIC)
def set_password(token: str):
    if services.find_password_token(db.session, token) is None:
        return render_template("accounts/set_password.html", form=None), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = services.use_password_token(db.session, token=token,
                                               password=form.password.data)
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(f"Password set. Log in with {user.email}.", "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/set_password.html", form=form)
