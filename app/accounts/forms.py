from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, EqualTo, Length
from wtforms.widgets import CheckboxInput, ListWidget

from app.accounts.models import Permission
from app.accounts.passwords import MAX_LENGTH
from app.forms import VersionField, work_email


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    submit = SubmitField("Log in")


#: A code from the authenticator app (six digits) or a recovery code (ten characters).
CODE_DESCRIPTION = "The six digits your authenticator app shows now, or one of your recovery codes."


def _code_field(label: str = "Code from your authenticator app") -> StringField:
    return StringField(
        label,
        validators=[DataRequired("Type the code."), Length(max=32)],
        description=CODE_DESCRIPTION,
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "off"},
    )


class LoginCodeForm(FlaskForm):
    """The second step of a log-in with two-step log-in on."""

    code = _code_field()
    submit = SubmitField("Log in")


class ReauthForm(FlaskForm):
    """ "Confirm it's you" before a sensitive change; ``code`` is removed for accounts
    without two-step log-in."""

    password = PasswordField("Your password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    code = _code_field()
    submit = SubmitField("Confirm")


class EnrolForm(FlaskForm):
    """The first code from the app, proving it was set up."""

    code = StringField(
        "Code from the app",
        validators=[DataRequired("Type the six digits the app shows."), Length(max=16)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField("Turn on two-step log-in")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    #: Removed by the view for an account without two-step log-in.
    code = _code_field()
    new_password = PasswordField(
        "New password",
        validators=[DataRequired()],
        description="At least 12 characters; a passphrase works well.",
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("new_password", "The two passwords differ.")],
    )
    submit = SubmitField("Change password")


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[DataRequired()],
        description="At least 12 characters; a passphrase works well.",
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", "The two passwords differ.")],
    )
    submit = SubmitField("Set password")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


PERMISSION_CHOICES = [
    SelectChoice(Permission.LEARNER.value, "Learner — own profile, learning and gaps"),
    SelectChoice(Permission.MANAGER.value, "Manager — the people and units they manage"),
    SelectChoice(Permission.TRAINER.value, "Trainer — framework, learning paths, assessments"),
    SelectChoice(Permission.ADMIN.value, "Admin — people, organisation, accounts, imports"),
]


class AccountForm(FlaskForm):
    person = StringField(
        "Employee number",
        validators=[DataRequired(), Length(max=32)],
        description="The person this account belongs to.",
    )
    email = EmailField("Log-in email", validators=[DataRequired(), work_email, Length(max=254)])
    permissions = MultiCheckboxField(
        "Permissions",
        choices=PERMISSION_CHOICES,
        validators=[DataRequired("Tick at least one permission.")],
    )
    submit = SubmitField("Save")


class AccountEditForm(FlaskForm):
    email = EmailField("Log-in email", validators=[DataRequired(), work_email, Length(max=254)])
    permissions = MultiCheckboxField(
        "Permissions",
        choices=PERMISSION_CHOICES,
        validators=[DataRequired("Tick at least one permission.")],
    )
    active = BooleanField("Account active")
    confirm_self_demotion = BooleanField(
        "Yes, remove my own admin permission",
        description="Only asked when you take the admin permission from your own account: you "
        "lose the administration pages as soon as you save.",
    )
    row_version = VersionField()
    submit = SubmitField("Save")


__all__ = [
    "AccountEditForm",
    "AccountForm",
    "ChangePasswordForm",
    "EnrolForm",
    "LoginCodeForm",
    "LoginForm",
    "ReauthForm",
    "SetPasswordForm",
]
