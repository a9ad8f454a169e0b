"""Forms for certificates of completion (revoking), external certificates (recording,
rejecting) and CPD. They shape input; the rules live in app.learning.certificates and
app.learning.external."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, DecimalField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.forms import date_in_range
from app.learning.uploads import ALLOWED_TEXT, MAX_TEXT


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        "Why it is revoked",
        validators=[DataRequired("Say why the certificate is revoked."), Length(max=1000)],
        description="Shown on the public verification page with the date of revoking.",
    )
    submit = SubmitField("Revoke the certificate")


class ExternalCertificateForm(FlaskForm):
    #: choices: the published catalogue, then "other" (set by the view)
    certificate = SelectField(
        "Certificate",
        validators=[DataRequired("Choose the certificate, or “Other” for one not listed.")],
        validate_choice=False,  # the use-case says which codes exist
    )
    other_name = StringField(
        "Name of the certificate",
        validators=[Optional(), Length(max=200)],
        description="Only for “Other”: the name as it is printed on the certificate.",
    )
    number = StringField(
        "Certificate number",
        validators=[Optional(), Length(max=100)],
        description="As printed on the certificate, if it has one.",
    )
    issued_on = DateField(
        "Date of issue",
        validators=[InputRequired("Give the date the certificate was issued."), date_in_range],
    )
    expires_on = DateField(
        "Expiry date",
        validators=[Optional(), date_in_range],
        description="Leave empty for a certificate awarded for life.",
    )
    file = FileField(
        "A copy of the certificate",
        render_kw={"accept": "application/pdf,image/png,image/jpeg,image/webp"},
        description=f"Optional: {ALLOWED_TEXT}, up to {MAX_TEXT}. Only you, your managers "
        "and the training specialists can open it.",
    )
    submit = SubmitField("Record the certificate")


class CpdForm(FlaskForm):
    activity = StringField(
        "Activity",
        validators=[DataRequired("Say what the activity was."), Length(max=200)],
        description="e.g. “PMO community of practice: benefits tracking session”.",
    )
    done_on = DateField(
        "Date", validators=[InputRequired("Give the date of the activity."), date_in_range]
    )
    hours = DecimalField(
        "Hours",
        places=2,
        validators=[InputRequired("Give the hours, e.g. 1.5.")],
        description="From 0.25 to 100.",
    )
    notes = TextAreaField(
        "What you took from it",
        validators=[Optional(), Length(max=2000)],
        description="Optional.",
    )
    submit = SubmitField("Log CPD")


class RejectForm(FlaskForm):
    reason = TextAreaField(
        "Why it is rejected",
        validators=[DataRequired("Say why the certificate is rejected."), Length(max=1000)],
        description="The learner reads this: say what would make it acceptable.",
    )
    submit = SubmitField("Reject")
