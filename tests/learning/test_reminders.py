"""`flask learning remind` against a real SMTP server the tests start (aiosmtpd): who gets
which message, what it says and where it links; that a second run sends nothing; that a
message the server refuses is not logged and goes out on the next run; and that people
without an account are skipped and counted."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.accounts.models import Permission, User
from app.extensions import db
from app.learning.models import (
    Booking,
    BookingStatus,
    ClassSession,
    ExternalCertificate,
    ExternalStatus,
    ModuleType,
    ReminderLog,
)
from tests.factories import make_person, make_unit, make_user
from tests.learning.certificate_helpers import M, enrol, load_shipped, make_path

TODAY = date(2026, 3, 16)  # a Monday
BASE = "https://pathways.example.test"  # TestConfig's PUBLIC_BASE_URL
SENDER = "PMO Pathways <learning@harbourside.test>"


@dataclass
class Inbox:
    """The aiosmtpd handler: keeps what it accepts; refuses DATA for ``busy`` recipients."""

    messages: list[EmailMessage] = field(default_factory=list)
    busy: set[str] = field(default_factory=set)

    async def handle_DATA(self, server, session, envelope):
        if self.busy & set(envelope.rcpt_tos):
            return "451 4.3.0 Mailbox busy, try again later"
        message = message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["X-Envelope-To"] == address]

    def subjects(self) -> set[tuple[str, str]]:
        return {(m["X-Envelope-To"], m["Subject"]) for m in self.messages}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_FROM=SENDER)
    yield inbox
    controller.stop()


def remind(app, *extra: str):
    db.session.commit()
    return app.test_cli_runner().invoke(
        args=["learning", "remind", "--today", TODAY.isoformat(), *extra]
    )


@dataclass
class World:
    ana: object
    ben: object
    mo: object
    nobody: object
    due_soon: object
    overdue: object
    session_title: str
    cert: object


@pytest.fixture
def world(app, session):
    """Ana: a path due in 3 days, one 6 days overdue, one due in 20 days, a completed one
    long overdue. Ben: booked on a workshop tomorrow (and waitlisted, cancelled or booked
    later on others), a verified certificate expiring in 45 days (a pending one too).
    Nia: no account, an overdue path. Mo heads their unit and manages them."""
    load_shipped(session)
    unit = make_unit("Delivery")
    mo = make_person("Mo", "Manager", unit=unit)
    unit.head_id = mo.id
    ana = make_person("Ana", "Lopez", unit=unit)
    ben = make_person("Ben", "Carter", unit=unit)
    nia = make_person("Nia", "Noaccount", unit=unit)
    make_user(Permission.LEARNER, person=ana, email="ana@harbourside.test")
    make_user(Permission.LEARNER, person=ben, email="ben@harbourside.test")
    make_user(Permission.MANAGER, person=mo, email="mo@harbourside.test")
    # another manager, whose people have nothing overdue: no digest
    make_user(Permission.MANAGER, person=make_person("Max", unit=make_unit("Finance")))

    due_soon = enrol(ana, make_path(M(), M(), title="Risk registers"), due_on=TODAY + timedelta(3))
    overdue = enrol(
        ana,
        make_path(M(), M(), title="Benefits tracking"),
        done=[],
        due_on=TODAY - timedelta(6),
    )
    enrol(ana, make_path(title="Later path"), due_on=TODAY + timedelta(20))
    enrol(ana, make_path(title="Done path"), complete=True, due_on=TODAY - timedelta(30))
    enrol(nia, make_path(title="Nia's path"), due_on=TODAY - timedelta(2))

    workshop = make_path(M(ModuleType.WORKSHOP, title="Portfolio prioritisation workshop"))
    code = workshop.modules[0].code

    def sitting(days: int) -> ClassSession:
        start = datetime.combine(TODAY + timedelta(days), datetime.min.time(), UTC)
        s = ClassSession(
            path_id=workshop.path_id,
            module_code=code,
            starts_at=start + timedelta(hours=9, minutes=30),
            ends_at=start + timedelta(hours=12, minutes=30),
            location="Harbour House, room 4",
            capacity=12,
        )
        session.add(s)
        session.flush()
        return s

    tomorrow, later = sitting(1), sitting(5)
    session.add_all(
        [
            Booking(session_id=tomorrow.id, person_id=ben.id, status=BookingStatus.BOOKED),
            Booking(session_id=tomorrow.id, person_id=ana.id, status=BookingStatus.WAITLISTED),
            Booking(session_id=later.id, person_id=ana.id, status=BookingStatus.BOOKED),
        ]
    )
    cancelled = sitting(2)
    session.add(Booking(session_id=cancelled.id, person_id=mo.id, status=BookingStatus.CANCELLED))

    cert = ExternalCertificate(
        person_id=ben.id,
        certificate_code="PRINCE2-F",
        number="PC-123",
        issued_on=date(2023, 4, 30),
        expires_on=TODAY + timedelta(45),
        status=ExternalStatus.VERIFIED,
    )
    pending = ExternalCertificate(
        person_id=ana.id,
        certificate_code="P3O-F",
        issued_on=date(2023, 4, 30),
        expires_on=TODAY + timedelta(10),
        status=ExternalStatus.PENDING,
    )
    far = ExternalCertificate(
        person_id=ana.id,
        other_name="ITIL 4 Foundation",
        issued_on=date(2024, 1, 1),
        expires_on=TODAY + timedelta(90),
        status=ExternalStatus.VERIFIED,
    )
    session.add_all([cert, pending, far])
    session.commit()
    return World(ana, ben, mo, nia, due_soon, overdue, "Portfolio prioritisation workshop", cert)


def body(message: EmailMessage) -> str:
    assert message.get_content_type() == "text/plain"
    return message.get_content()


def links(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


def assert_links_back(app, text: str) -> None:
    found = links(text)
    assert found, "the message has no link"
    adapter = app.url_map.bind("pathways.example.test")
    for link in found:
        assert link.startswith(BASE + "/"), link
        adapter.match(urlsplit(link).path)  # a page of the app (raises NotFound otherwise)


def test_each_person_gets_the_reminders_due_and_a_second_run_sends_nothing(app, smtp, world):
    result = remind(app)
    assert result.exit_code == 0, result.output
    assert "5 to send" in result.output and "1 person skipped (no account email)" in result.output
    assert "Sent 5 messages." in result.output

    assert smtp.subjects() == {
        ("ana@harbourside.test", "Due in 3 days: Risk registers"),
        ("ana@harbourside.test", "Overdue: Benefits tracking (was due 10 Mar 2026)"),
        ("ben@harbourside.test", f"Reminder: {world.session_title} on Tue 17 Mar at 09:30"),
        ("ben@harbourside.test", "Your PRINCE2 Foundation certificate expires on 30 Apr 2026"),
        ("mo@harbourside.test", "Overdue learning in your team: 2 enrolments"),
    }
    for message in smtp.messages:
        assert message["From"] == SENDER
        assert_links_back(app, body(message))

    due, late = sorted(smtp.to("ana@harbourside.test"), key=lambda m: m["Subject"])
    assert "is due in 3 days, on Thursday 19 March 2026" in body(due)
    assert "completed 0 of 2 required modules" in body(due)
    assert f"{BASE}/learning/enrolments/{world.due_soon.id}" in links(body(due))
    assert f"{BASE}/learning/enrolments/{world.overdue.id}" in links(body(late))
    assert "What to do:" in body(due)
    assert "6 days overdue" in body(late) and "What to do:" in body(late)

    sitting, expiring = sorted(smtp.to("ben@harbourside.test"), key=lambda m: m["Subject"])
    assert "Place: Harbour House, room 4" in body(sitting)
    assert "09:30–12:30" in body(sitting) and "cancel your booking" in body(sitting)
    assert re.search(rf"^{BASE}/learning/sessions/\d+$", links(body(sitting))[0])
    assert "expires on Thursday 30 April 2026, in 45 days" in body(expiring)
    assert "number PC-123" in body(expiring) and "record the renewed certificate" in body(expiring)
    assert links(body(expiring)) == [f"{BASE}/learning/external"]

    (digest,) = smtp.to("mo@harbourside.test")
    text = body(digest)
    assert "Ana Lopez: Benefits tracking" in text and "6 days overdue" in text
    assert "Nia Noaccount: Nia's path" in text and "2 days overdue" in text
    assert "Risk registers" not in text  # not overdue yet
    assert links(text) == [f"{BASE}/learning/team"]

    logged = db.session.scalars(select(ReminderLog)).all()
    assert len(logged) == 5
    assert {(r.recipient, r.subject) for r in logged} == smtp.subjects()
    assert {r.kind for r in logged} == {"due-soon", "overdue", "session", "expiring", "digest"}

    again = remind(app)
    assert again.exit_code == 0, again.output
    assert "0 to send, 5 sent on an earlier run" in again.output
    assert len(smtp.messages) == 5
    assert len(db.session.scalars(select(ReminderLog)).all()) == 5


def test_overdue_reminders_repeat_weekly_and_due_soon_ones_once(app, smtp, world):
    assert remind(app).exit_code == 0
    smtp.messages.clear()
    next_day = app.test_cli_runner().invoke(args=["learning", "remind", "--today", "2026-03-17"])
    assert next_day.exit_code == 0, next_day.output
    assert smtp.messages == []  # same week, same due date, same booking

    next_week = app.test_cli_runner().invoke(args=["learning", "remind", "--today", "2026-03-23"])
    assert next_week.exit_code == 0, next_week.output
    assert smtp.subjects() == {
        ("ana@harbourside.test", "Overdue: Benefits tracking (was due 10 Mar 2026)"),
        ("ana@harbourside.test", "Overdue: Risk registers (was due 19 Mar 2026)"),
        ("mo@harbourside.test", "Overdue learning in your team: 3 enrolments"),
    }


def test_a_refused_message_is_not_logged_and_goes_out_on_the_next_run(app, smtp, world):
    smtp.busy = {"ben@harbourside.test"}
    result = remind(app)
    assert result.exit_code == 1
    assert "451" in result.output and "ben@harbourside.test" in result.output
    assert "2 messages were not sent" in result.output
    assert "the next run will try again" in result.output
    assert {to for to, _ in smtp.subjects()} == {"ana@harbourside.test", "mo@harbourside.test"}
    logged = {r.recipient for r in db.session.scalars(select(ReminderLog))}
    assert logged == {"ana@harbourside.test", "mo@harbourside.test"}

    smtp.busy.clear()
    smtp.messages.clear()
    retry = remind(app)
    assert retry.exit_code == 0, retry.output
    assert "2 to send, 3 sent on an earlier run" in retry.output
    assert {to for to, _ in smtp.subjects()} == {"ben@harbourside.test"}
    assert len(smtp.messages) == 2


def test_an_unreachable_server_sends_and_logs_nothing(app, world):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_FROM=SENDER)
    result = remind(app)
    assert result.exit_code == 1
    assert "Could not connect to the mail server 127.0.0.1:" in result.output
    assert "5 messages were not sent" in result.output
    assert db.session.scalars(select(ReminderLog)).all() == []


def test_without_mail_settings_the_command_says_so(app, world):
    app.config.update(MAIL_SERVER="")
    result = remind(app)
    assert result.exit_code == 1
    assert "No mail server is configured: set MAIL_SERVER" in result.output
    assert db.session.scalars(select(ReminderLog)).all() == []


def test_a_dry_run_lists_and_sends_nothing(app, smtp, world):
    result = remind(app, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would send to ben@harbourside.test: Your PRINCE2 Foundation" in result.output
    assert smtp.messages == []
    assert db.session.scalars(select(ReminderLog)).all() == []


def test_leavers_and_withdrawn_accounts_get_nothing(app, smtp, world):
    world.ana.active = False
    db.session.scalars(select(User).where(User.person_id == world.ben.id)).one().active = False
    result = remind(app)
    assert result.exit_code == 0, result.output
    # Ana has left: no reminders, and not in the digest; Ben's account is closed: skipped
    assert "2 people skipped" in result.output
    (digest,) = smtp.messages
    assert digest["X-Envelope-To"] == "mo@harbourside.test"
    assert "Ana Lopez" not in body(digest) and "Nia Noaccount" in body(digest)


def test_a_password_is_never_sent_without_tls(app, smtp, world):
    app.config.update(MAIL_USERNAME="pathways", MAIL_PASSWORD="secret", MAIL_USE_TLS=False)
    result = remind(app)
    assert result.exit_code == 1
    assert "Set MAIL_USE_TLS=1" in result.output
    assert smtp.messages == [] and db.session.scalars(select(ReminderLog)).all() == []
