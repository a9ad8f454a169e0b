"""Sending plain-text mail through SMTP, with the standard library only.

The settings come from the app's configuration (MAIL_SERVER, MAIL_PORT, MAIL_USERNAME,
MAIL_PASSWORD, MAIL_USE_TLS, MAIL_FROM); ``Mailer`` holds one connection for a run of the
reminders command and says plainly what went wrong when the server refuses.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from types import TracebackType

from werkzeug.routing import Map

TIMEOUT_SECONDS = 30


class MailError(Exception):
    """The mail server could not be reached, or refused a message. ``fatal`` means the
    connection is unusable, so the rest of the run cannot be sent either."""

    def __init__(self, message: str, *, fatal: bool = True):
        super().__init__(message)
        self.message = message
        self.fatal = fatal


@dataclass(frozen=True)
class MailSettings:
    server: str
    port: int
    username: str
    password: str
    use_tls: bool
    sender: str

    @classmethod
    def from_config(cls, config: Mapping) -> MailSettings:
        return cls(
            server=str(config.get("MAIL_SERVER") or ""),
            port=int(config.get("MAIL_PORT") or 25),
            username=str(config.get("MAIL_USERNAME") or ""),
            password=str(config.get("MAIL_PASSWORD") or ""),
            use_tls=bool(config.get("MAIL_USE_TLS")),
            sender=str(config.get("MAIL_FROM") or ""),
        )


@dataclass(frozen=True)
class Mail:
    """One plain-text message to one recipient."""

    to: str
    subject: str
    body: str


def compose(settings: MailSettings, mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.server or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body)
    return message


class Mailer:
    """An SMTP connection for a run: ``with Mailer(settings) as mailer: mailer.send(mail)``."""

    def __init__(self, settings: MailSettings):
        if not settings.server:
            raise MailError("No mail server is configured: set MAIL_SERVER (and MAIL_PORT).")
        if not settings.sender:
            raise MailError("No sender address is configured: set MAIL_FROM.")
        if settings.username and not settings.use_tls:
            raise MailError(
                "MAIL_USERNAME is set but MAIL_USE_TLS is not: the password is never sent "
                "over an unencrypted connection. Set MAIL_USE_TLS=1."
            )
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        s = self.settings
        where = f"{s.server}:{s.port}"
        try:
            smtp = smtplib.SMTP(s.server, s.port, timeout=TIMEOUT_SECONDS)
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"Could not connect to the mail server {where}: {error}") from error
        try:
            if s.use_tls:
                smtp.starttls(context=ssl.create_default_context())
            if s.username:
                smtp.login(s.username, s.password)
        except (OSError, smtplib.SMTPException) as error:
            smtp.close()
            raise MailError(f"The mail server {where} refused the session: {error}") from error
        self._smtp = smtp
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (OSError, smtplib.SMTPException):
            self._smtp.close()
        self._smtp = None

    def send(self, mail: Mail) -> None:
        """Send one message; MailError when it was not accepted (``fatal`` when the
        connection is gone too)."""
        if self._smtp is None:
            raise MailError("The mail connection is not open.")
        try:
            self._smtp.send_message(compose(self.settings, mail))
        except smtplib.SMTPRecipientsRefused as error:
            raise MailError(
                f"The mail server refused the recipient {mail.to}: {_reasons(error)}", fatal=False
            ) from error
        except smtplib.SMTPResponseException as error:
            reply = error.smtp_error
            if isinstance(reply, bytes):
                reply = reply.decode(errors="replace")
            raise MailError(
                f"The mail server did not accept the message to {mail.to}: "
                f"{error.smtp_code} {reply}".strip(),
                fatal=False,  # the server answered: the connection still serves the rest
            ) from error
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"Sending to {mail.to} failed: {error}") from error


def _reasons(error: smtplib.SMTPRecipientsRefused) -> str:
    parts = []
    for code, reply in error.recipients.values():
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        parts.append(f"{code} {text}")
    return "; ".join(parts)


def link_builder(url_map: Map, base_url: str) -> Callable[..., str]:
    """(endpoint, **values) -> an absolute link on the public site at ``base_url`` (the
    PUBLIC_BASE_URL setting), without a request: for mails and printed certificates.
    Raises werkzeug's BuildError (a LookupError) for an unknown endpoint."""
    adapter = url_map.bind("localhost")
    base = base_url.rstrip("/")

    def link(endpoint: str, **values: object) -> str:
        return base + adapter.build(endpoint, values)

    return link
