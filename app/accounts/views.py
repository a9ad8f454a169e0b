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

from app.access import ADMIN, PUBLIC, SIGNED_IN, allow
from app.accounts import queries, services
from app.accounts.forms import (
    AccountEditForm,
    AccountForm,
    ChangePasswordForm,
    LoginForm,
    SetPasswordForm,
)
from app.accounts.models import Permission, User
from app.errors import DomainError
from app.extensions import db
from app.forms import ConfirmForm
from app.org.queries import person_for_account_form
from app.org.services import person_id_by_number
from app.viewutil import per_page, require_confirmation, run, safe_next

bp = Blueprint("accounts", __name__, template_folder="templates")

GENERIC_LOGIN_ERROR = "That email and password do not match an active account."


def _start_session(user) -> None:
    session.clear()  # a new session id on log-in: no fixation
    session.permanent = True
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
@allow(PUBLIC)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("org.home"))
    form = LoginForm()
    if form.validate_on_submit():
        outcome = services.authenticate(
            db.session(),
            email=form.email.data,
            password=form.password.data,
            max_failures=current_app.config["LOGIN_MAX_FAILURES"],
            lockout=current_app.config["LOGIN_LOCKOUT"],
        )
        db.session.commit()
        if outcome.user is not None:
            _start_session(outcome.user)
            return redirect(safe_next(request.args.get("next"), url_for("org.home")))
        form.password.errors.append(GENERIC_LOGIN_ERROR)
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@allow(SIGNED_IN)
def logout():
    services.close_login_session(db.session(), current_user.get_id())
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
        user = db.get_or_404(User, current_user.id)
        done, _ = run(
            lambda: services.change_password(
                db.session(),
                user=user,
                current=form.current_password.data,
                new=form.new_password.data,
            ),
            form,
        )
        if done:
            _start_session(user)
            flash("Password changed. Every other session of yours has been logged out.", "success")
            return redirect(url_for("org.home"))
    return render_template("accounts/change_password.html", form=form)


@bp.route("/account/set-password/<token>", methods=["GET", "POST"])
@allow(PUBLIC)
def set_password(token: str):
    if services.find_password_token(db.session(), token) is None:
        return render_template("accounts/set_password.html", form=None), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        done, user = run(
            lambda: services.use_password_token(
                db.session(), token=token, password=form.password.data
            ),
            form,
        )
        if done and user is not None:
            flash(f"Password set. Log in with {user.email}.", "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/set_password.html", form=form)


# --- account administration ---------------------------------------------------------------------


@bp.route("/admin/accounts")
@allow(ADMIN)
def accounts_list():
    q = request.args.get("q", "").strip()
    perm = request.args.get("permission", "")
    page = db.paginate(queries.accounts_query(q, perm), per_page=per_page(), error_out=False)
    return render_template(
        "accounts/accounts.html", page=page, q=q, permission=perm, confirm=ConfirmForm()
    )


def _link_page(user: User, token: str, created: bool):
    link = url_for("accounts.set_password", token=token, _external=True)
    return render_template(
        "accounts/account_link.html",
        user=user,
        link=link,
        created=created,
        ttl=current_app.config["SET_PASSWORD_TOKEN_TTL"],
    )


def _create_account(form: AccountForm) -> tuple[User, str]:
    person_id = person_id_by_number(db.session(), form.person.data, "person")
    if person_id is None:
        raise DomainError("Give the employee number of the person.", field="person")
    user = services.create_account(
        db.session(),
        person_id=person_id,
        email=form.email.data,
        permissions=set(form.permissions.data),
    )
    token = services.issue_password_token(
        db.session(), user=user, ttl=current_app.config["SET_PASSWORD_TOKEN_TTL"]
    )
    return user, token


@bp.route("/admin/accounts/new", methods=["GET", "POST"])
@allow(ADMIN)
def account_new():
    form = AccountForm()
    if request.method == "GET" and request.args.get("person"):
        person = person_for_account_form(db.session(), request.args.get("person", type=int))
        if person is not None:
            form.person.data, form.email.data = person.employee_number, person.email
            form.permissions.data = [Permission.LEARNER.value]
    if form.validate_on_submit():
        done, created = run(lambda: _create_account(form), form)
        if done and created is not None:
            return _link_page(*created, created=True)
    return render_template("accounts/account_form.html", form=form, user=None)


@bp.route("/admin/accounts/<int:user_id>/edit", methods=["GET", "POST"])
@allow(ADMIN)
def account_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    form = AccountEditForm(obj=user)
    own = user.id == current_user.id
    if not own:  # only an administrator editing their own account is asked to confirm
        del form.confirm_self_demotion
    if request.method == "GET":
        form.permissions.data = [p.value for p in user.permissions]
    if form.validate_on_submit():
        done, _ = run(
            lambda: services.update_account(
                db.session(),
                user=user,
                email=form.email.data,
                permissions=set(form.permissions.data),
                active=form.active.data,
                actor_id=current_user.id,
                confirmed=own and bool(form.confirm_self_demotion.data),
            ),
            form,
        )
        if done:
            flash(f"Account {user.email} saved.", "success")
            return redirect(url_for("accounts.accounts_list"))
    return render_template(
        "accounts/account_form.html", form=form, user=user, confirm=ConfirmForm()
    )


@bp.route("/admin/accounts/<int:user_id>/reset-link", methods=["POST"])
@allow(ADMIN)
def account_reset_link(user_id: int):
    user = db.get_or_404(User, user_id)
    require_confirmation()
    done, token = run(
        lambda: services.issue_password_token(
            db.session(), user=user, ttl=current_app.config["SET_PASSWORD_TOKEN_TTL"]
        )
    )
    return _link_page(user, token or "", created=False)


@bp.route("/admin/accounts/<int:user_id>/end-sessions", methods=["POST"])
@allow(ADMIN)
def account_end_sessions(user_id: int):
    user = db.get_or_404(User, user_id)
    require_confirmation()
    _, count = run(lambda: services.end_all_sessions(db.session(), user.id))
    flash(f"Ended {count} session(s) of {user.email}.", "success")
    return redirect(url_for("accounts.account_edit", user_id=user.id))
