"""The accounts blueprint: log-in (password, then the code when two-step log-in is on),
log-out, the account's security page, re-authentication, set-password links, and account
administration."""

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from app import clock
from app.access import ADMIN, PUBLIC, SIGNED_IN, TRAINER, allow, rule_for
from app.accounts import devices, queries, services, signin, two_factor
from app.accounts.forms import (
    AccountEditForm,
    AccountForm,
    ChangePasswordForm,
    EnrolForm,
    LoginCodeForm,
    LoginForm,
    ReauthForm,
    SetPasswordForm,
)
from app.accounts.models import Permission, User
from app.accounts.sealing import Sealer
from app.accounts.throttle import describe_wait
from app.audit import security_event
from app.db import record_id
from app.errors import DomainError
from app.extensions import db
from app.forms import ConfirmForm
from app.org.queries import person_for_account_form
from app.org.services import person_id_by_number
from app.viewutil import current_page, per_page, require_confirmation, run, safe_next

bp = Blueprint("accounts", __name__, template_folder="templates")

GENERIC_LOGIN_ERROR = "That email and password do not match an active account."
WRONG_CODE = (
    "That code is not right, or was used already. Type the code your app shows now, or one "
    "of your recovery codes."
)
#: The session key holding a log-in that passed its password and waits for its code.
PENDING_CODE = "pending_two_factor"


def _start_session(user) -> None:
    session.clear()  # a new session id on log-in: no fixation
    session.permanent = True
    login_user(user)


# --- the pieces every log-in step needs -----------------------------------------------------------


def _now() -> datetime:
    return clock.now()


def _pepper() -> bytes:
    key = current_app.secret_key or ""
    return key.encode() if isinstance(key, str) else key


def _policies() -> signin.Policies:
    return signin.Policies.from_config(current_app.config)


def _sealer() -> Sealer:
    return Sealer(
        current_app.secret_key or "", current_app.config.get("SECRET_KEY_FALLBACKS") or ()
    )


def _fingerprint() -> str:
    return services.browser_fingerprint(request.headers.get("User-Agent"))


def _device_cookie() -> str:
    return devices.SECURE_COOKIE if current_app.config.get("PMO_HTTPS") else devices.COOKIE


def _device() -> devices.Device | None:
    return devices.read(
        request.cookies.get(_device_cookie()),
        secret_key=str(current_app.secret_key),
        fallbacks=current_app.config.get("SECRET_KEY_FALLBACKS") or (),
        max_age=current_app.config["KNOWN_DEVICE_LIFETIME"],
    )


def _client() -> signin.Client:
    return signin.Client(
        address=request.remote_addr or "unknown", device=_device(), pepper=_pepper()
    )


def _remember_device(response, user_id: int):
    """Mark this browser as one ``user_id`` logs in on (its own throttling counter)."""
    response.set_cookie(
        _device_cookie(),
        devices.remember(_device(), user_id, secret_key=str(current_app.secret_key)),
        max_age=int(current_app.config["KNOWN_DEVICE_LIFETIME"].total_seconds()),
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Lax",
        path="/",
    )
    return response


def _too_many(template: str, gate: signin.Gate, **context: Any):
    """The page again, answering 429 with Retry-After and the rule in words."""
    assert gate.refused_until is not None
    seconds = max(1, int(-(-(gate.refused_until - _now()).total_seconds() // 1)))
    security_event(
        "lockout",
        outcome="refused",
        user_id=gate.user_id,
        counter=gate.refused_by,
        until=gate.refused_until.isoformat(timespec="seconds"),
    )
    response = make_response(
        render_template(
            template,
            throttled={"by": gate.refused_by, "wait": describe_wait(seconds)},
            policies=_policies(),
            **context,
        ),
        429,
    )
    response.headers["Retry-After"] = str(seconds)
    return response


def recent_login_required(view: Callable) -> Callable:
    """Sensitive changes (permissions, two-step log-in) need the password (and code) given
    within REAUTH_WINDOW in this session, at log-in or on the "confirm it's you" page;
    otherwise that page is shown first and nothing is changed."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any):
        window = current_app.config["REAUTH_WINDOW"]
        if signin.authenticated_within(db.session(), current_user.get_id(), window, _now()):
            return view(*args, **kwargs)
        if request.method == "GET":
            back = request.full_path.rstrip("?")
        else:
            flash("Confirm it's you first: nothing was changed yet.", "warning")
            referrer = urlsplit(request.referrer or "")
            same_site = referrer.netloc in ("", request.host)
            back = referrer.path + (f"?{referrer.query}" if referrer.query else "")
            back = back if same_site else ""
        return redirect(
            url_for("accounts.reauthenticate", next=safe_next(back, url_for("accounts.security")))
        )

    return wrapped


# --- logging in ---------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@allow(PUBLIC)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("org.home"))
    form = LoginForm()
    if form.validate_on_submit():
        return _password_step(form)
    return render_template("accounts/login.html", form=form)


def _password_step(form: LoginForm):
    policies = _policies()
    gate = signin.open_password_attempt(
        db.session(), email=form.email.data, client=_client(), policies=policies, now=_now()
    )
    # Committed before the slow password check: every worker sees this attempt at once.
    db.session.commit()
    if gate.refused_until is not None:
        return _too_many("accounts/login.html", gate, form=form)
    result = signin.check_password(db.session(), gate=gate, password=form.password.data)
    target = safe_next(request.args.get("next"), url_for("org.home"))
    if result.user is None:
        signin.failed(db.session(), gate, _now())
        db.session.commit()
        security_event("login_failure", outcome="failure", user_id=gate.user_id)
        form.password.errors.append(GENERIC_LOGIN_ERROR)
        slowed = gate.failures >= policies.account.free
        return render_template("accounts/login.html", form=form, slowed=slowed, policies=policies)
    user_id = result.user.id
    if result.needs_code:
        db.session.commit()
        session[PENDING_CODE] = {
            "user": user_id,
            "at": _now().timestamp(),
            "known": gate.known_device,
            "next": target,
        }
        return redirect(url_for("accounts.login_code"))
    signin.finish_login(db.session(), user=result.user, fingerprint=_fingerprint(), now=_now())
    db.session.commit()
    security_event("login_success", outcome="success", user_id=user_id)
    _start_session(result.user)
    return _remember_device(redirect(target), user_id)


def _pending_code() -> dict | None:
    """The log-in waiting for its code, if it is recent enough."""
    pending = session.get(PENDING_CODE)
    if not isinstance(pending, dict) or not isinstance(pending.get("user"), int):
        return None
    age = _now().timestamp() - float(pending.get("at", 0))
    if not 0 <= age <= current_app.config["TWO_FACTOR_STEP_TIMEOUT"].total_seconds():
        session.pop(PENDING_CODE, None)
        return None
    return pending


@bp.route("/login/code", methods=["GET", "POST"])
@allow(PUBLIC)
def login_code():
    if current_user.is_authenticated:
        return redirect(url_for("org.home"))
    pending = _pending_code()
    if pending is None:
        flash("Log in with your email and password first.", "info")
        return redirect(url_for("accounts.login"))
    form = LoginCodeForm()
    if form.validate_on_submit():
        return _code_step(form, pending)
    return render_template("accounts/login_code.html", form=form)


def _code_step(form: LoginCodeForm, pending: dict):
    user_id = pending["user"]
    gate = signin.open_code_attempt(
        db.session(),
        user_id=user_id,
        known_device=bool(pending.get("known")),
        client=_client(),
        policies=_policies(),
        now=_now(),
    )
    db.session.commit()
    if gate.refused_until is not None:
        return _too_many("accounts/login_code.html", gate, form=form)
    kind = signin.check_code(
        db.session(), gate=gate, code=form.code.data, sealer=_sealer(), now=_now()
    )
    user = db.session.get(User, user_id) if kind else None
    if user is None or not user.active:
        signin.failed(db.session(), gate, _now())
        db.session.commit()
        security_event("two_factor_failure", outcome="failure", user_id=user_id)
        form.code.errors.append(WRONG_CODE)
        return render_template("accounts/login_code.html", form=form)
    signin.finish_login(db.session(), user=user, fingerprint=_fingerprint(), now=_now())
    db.session.commit()
    security_event("login_success", outcome="success", user_id=user_id, second_factor=kind)
    left = two_factor.status(db.session(), user_id).recovery_codes_left if kind == "recovery" else 0
    _start_session(user)
    if kind == "recovery":
        flash(
            f"You logged in with a recovery code; it will not work again. {left} left: make "
            "new ones on your account's security page if you are running short.",
            "warning",
        )
    return _remember_device(redirect(pending.get("next") or url_for("org.home")), user_id)


@bp.route("/logout", methods=["POST"])
@allow(SIGNED_IN)
def logout():
    user_id = current_user.id
    services.close_login_session(db.session(), current_user.get_id())
    db.session.commit()
    logout_user()
    session.clear()
    security_event("logout", outcome="success", user_id=user_id)
    flash("You are logged out.", "info")
    response = redirect(url_for("accounts.login"))
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


# --- the account's own security -------------------------------------------------------------------


@bp.route("/account/security")
@allow(SIGNED_IN)
def security():
    return render_template(
        "accounts/security.html",
        status=two_factor.status(db.session(), current_user.id),
        offered=two_factor.offered_to(current_user),
        known_device=bool((device := _device()) and device.knows(current_user.id)),
        confirm=ConfirmForm(),
    )


@bp.route("/account/confirm", methods=["GET", "POST"])
@allow(SIGNED_IN)
def reauthenticate():
    user_id = current_user.id
    form = ReauthForm()
    if not two_factor.is_enabled(db.session(), user_id):
        del form.code
    target = safe_next(request.args.get("next"), url_for("accounts.security"))
    if form.validate_on_submit():
        gate = signin.open_reauth_attempt(
            db.session(), user_id=user_id, pepper=_pepper(), policies=_policies(), now=_now()
        )
        db.session.commit()
        if gate.refused_until is not None:
            return _too_many("accounts/reauth.html", gate, form=form, target=target)
        code = form.code.data if "code" in form else None
        done, _ = run(
            lambda: signin.reauthenticate(
                db.session(),
                gate=gate,
                token=current_user.get_id(),
                password=form.password.data,
                code=code,
                sealer=_sealer(),
                now=_now(),
            ),
            form,
        )
        if done:
            return redirect(target)
        signin.failed(db.session(), gate, _now())
        db.session.commit()
        security_event("reauthentication_failure", outcome="failure", user_id=user_id)
    return render_template("accounts/reauth.html", form=form, target=target)


@bp.route("/account/password", methods=["GET", "POST"])
@allow(SIGNED_IN)
def change_password():
    user_id = current_user.id
    form = ChangePasswordForm()
    if not two_factor.is_enabled(db.session(), user_id):
        del form.code
    if form.validate_on_submit():
        gate = signin.open_reauth_attempt(
            db.session(), user_id=user_id, pepper=_pepper(), policies=_policies(), now=_now()
        )
        db.session.commit()
        if gate.refused_until is not None:
            return _too_many("accounts/change_password.html", gate, form=form)
        user = db.get_or_404(User, user_id)
        done, _ = run(lambda: _change_password(user, form, gate), form)
        if not done:
            if form.current_password.errors or form.errors.get("code"):
                signin.failed(db.session(), gate, _now())
            else:  # the password was right; the new one broke a rule: not a failure
                signin.succeeded(db.session(), gate)
            db.session.commit()
        if done:
            security_event("password_change", outcome="success", user_id=user_id)
            _start_session(user)
            flash("Password changed. Every other session of yours has been logged out.", "success")
            return redirect(url_for("org.home"))
    return render_template("accounts/change_password.html", form=form)


def _change_password(user: User, form: ChangePasswordForm, gate: signin.Gate) -> str:
    token = services.change_password(
        db.session(),
        user=user,
        current=form.current_password.data,
        new=form.new_password.data,
        code=form.code.data if "code" in form else None,
        sealer=_sealer(),
        fingerprint=_fingerprint(),
    )
    signin.succeeded(db.session(), gate)
    return token


@bp.route("/account/set-password/<token>", methods=["GET", "POST"])
@allow(PUBLIC)
def set_password(token: str):
    if services.find_password_token(db.session(), token) is None:
        return render_template("accounts/set_password.html", form=None), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        done, user = run(
            lambda: services.use_password_token(
                db.session(), token=token, password=form.password.data, pepper=_pepper()
            ),
            form,
        )
        if done and user is not None:
            security_event("password_change", outcome="success", user_id=user.id, via="link")
            flash(f"Password set. Log in with {user.email}.", "success")
            # Whoever holds the link is the owner: this browser is known from now on.
            return _remember_device(redirect(url_for("accounts.login")), user.id)
    return render_template("accounts/set_password.html", form=form)


# --- two-step log-in ------------------------------------------------------------------------------

#: What a user who must set up two-step log-in still reaches: the page saying so, the
#: set-up itself (and the "confirm it's you" page it may ask for first) and log-out.
#: Public endpoints (log-in, set-password links, files) are everyone's anyway.
ENROLMENT_FLOW = frozenset(
    {
        "accounts.two_factor_required",
        "accounts.two_factor_setup",
        "accounts.two_factor_confirm",
        "accounts.reauthenticate",
        "accounts.logout",
    }
)
TWO_STEP_REQUIRED = (
    "Set up two-step log-in first: your account's permissions require it. Open "
    "/account/two-factor/required in a browser."
)


def _required() -> frozenset[Permission]:
    return two_factor.required_permissions(current_app.config.get("PMO_TWO_STEP_REQUIRED_FOR"))


@bp.before_app_request
def require_two_step():
    """Every request of a signed-in user who must use two-step log-in (PMO_TWO_STEP_
    REQUIRED_FOR) and has not set it up: a page is sent to the set-up; anything else gets
    403 saying why. Runs for the whole app; the login session loads on the first use of
    ``current_user`` here, so an ended session is simply not signed in."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in ENROLMENT_FLOW:
        return None  # no route (404/405), or the way out of here
    rule = rule_for(endpoint)
    if rule is not None and PUBLIC in rule:
        return None
    required = _required()
    if not required or not current_user.is_authenticated:
        return None
    if not two_factor.must_enrol(db.session(), current_user, required):
        return None
    accept = request.accept_mimetypes
    if not request.is_json and (not accept or accept.accept_html):
        return redirect(
            url_for("accounts.two_factor_required"), 302 if request.method == "GET" else 303
        )
    if request.is_json or accept.best_match(["application/json", "text/plain"]) == (
        "application/json"
    ):
        return jsonify(error=TWO_STEP_REQUIRED), 403
    return make_response(TWO_STEP_REQUIRED, 403, {"Content-Type": "text/plain; charset=utf-8"})


@bp.route("/account/two-factor/required")
@allow(SIGNED_IN)
def two_factor_required():
    required = _required()
    if not two_factor.must_enrol(db.session(), current_user, required):
        return redirect(url_for("accounts.security"))
    return render_template(
        "accounts/two_factor_required.html",
        status=two_factor.status(db.session(), current_user.id),
        held=sorted(p.value for p in current_user.permissions & required),
        confirm=ConfirmForm(),
    )


@bp.route("/account/two-factor/setup", methods=["GET", "POST"])
@allow(ADMIN, TRAINER)
@recent_login_required
def two_factor_setup():
    if request.method == "POST":
        require_confirmation()
        done, _ = run(lambda: two_factor.begin(db.session(), user=current_user, sealer=_sealer()))
        return redirect(url_for("accounts.two_factor_setup" if done else "accounts.security"))
    return _enrolment_page(EnrolForm())


def _enrolment_page(form: EnrolForm):
    enrolment = two_factor.pending_enrolment(db.session(), user=current_user, sealer=_sealer())
    if enrolment is None:
        return redirect(url_for("accounts.security"))
    qr = Markup(two_factor.qr_code(enrolment.uri))  # noqa: S704  (drawn here, no user text)
    return render_template("accounts/two_factor_setup.html", form=form, enrolment=enrolment, qr=qr)


@bp.route("/account/two-factor/confirm", methods=["POST"])
@allow(ADMIN, TRAINER)
@recent_login_required
def two_factor_confirm():
    form = EnrolForm()
    if form.validate_on_submit():
        user_id = current_user.id
        done, codes = run(
            lambda: two_factor.confirm(
                db.session(), user=current_user, code=form.code.data, sealer=_sealer(), now=_now()
            ),
            form,
        )
        if done and codes:
            security_event(
                "two_factor_change", outcome="success", user_id=user_id, change="enabled"
            )
            return render_template("accounts/recovery_codes.html", codes=codes, first=True)
    return _enrolment_page(form)


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
@allow(SIGNED_IN)
@recent_login_required
def two_factor_recovery_codes():
    require_confirmation()
    user_id = current_user.id
    done, codes = run(lambda: two_factor.new_recovery_codes(db.session(), user_id=user_id))
    if not done or not codes:
        return redirect(url_for("accounts.security"))
    security_event("two_factor_change", outcome="success", user_id=user_id, change="recovery_codes")
    return render_template("accounts/recovery_codes.html", codes=codes, first=False)


@bp.route("/account/two-factor/disable", methods=["POST"])
@allow(SIGNED_IN)
@recent_login_required
def two_factor_disable():
    require_confirmation()
    user_id = current_user.id
    _, had = run(lambda: two_factor.turn_off(db.session(), user_id=user_id))
    if had:
        security_event("two_factor_change", outcome="success", user_id=user_id, change="disabled")
        flash("Two-step log-in is off: you log in with your password alone.", "success")
    return redirect(url_for("accounts.security"))


# --- account administration ---------------------------------------------------------------------


@bp.route("/admin/accounts")
@allow(ADMIN)
def accounts_list():
    q = request.args.get("q", "").strip()
    perm = request.args.get("permission", "")
    page = db.paginate(
        queries.accounts_query(q, perm), page=current_page(), per_page=per_page(), error_out=False
    )
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
@recent_login_required
def account_new():
    form = AccountForm()
    if request.method == "GET" and request.args.get("person"):
        person = person_for_account_form(db.session(), request.args.get("person", type=record_id))
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
@recent_login_required
def account_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    form = AccountEditForm(data=services.account_values(user))
    own = user.id == current_user.id
    if not own:  # only an administrator editing their own account is asked to confirm
        del form.confirm_self_demotion
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
                seen=form.row_version.data,
            ),
            form,
        )
        if done:
            flash(f"Account {user.email} saved.", "success")
            return redirect(url_for("accounts.accounts_list"))
    return render_template(
        "accounts/account_form.html",
        form=form,
        user=user,
        confirm=ConfirmForm(),
        two_factor_on=two_factor.is_enabled(db.session(), user.id),
    )


@bp.route("/admin/accounts/<int:user_id>/reset-link", methods=["POST"])
@allow(ADMIN)
@recent_login_required
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


@bp.route("/admin/accounts/<int:user_id>/two-factor/reset", methods=["POST"])
@allow(ADMIN)
@recent_login_required
def account_two_factor_reset(user_id: int):
    """For a user who lost their authenticator and their recovery codes: they log in with
    their password alone until they set it up again."""
    user = db.get_or_404(User, user_id)
    require_confirmation()
    _, had = run(lambda: two_factor.turn_off(db.session(), user_id=user.id))
    if had:
        security_event("two_factor_change", outcome="success", user_id=user.id, change="reset")
        flash(
            f"Two-step log-in of {user.email} is reset: they log in with their password alone "
            "until they set it up again.",
            "success",
        )
    else:
        flash(f"{user.email} had no two-step log-in to reset.", "info")
    return redirect(url_for("accounts.account_edit", user_id=user.id))
