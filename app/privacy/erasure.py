"""Anonymising a leaver: their names, email, employee number, free text and uploads are
replaced or removed and their account closed, while the person row stays under a
pseudonym, so that every count, report and item statistic gives the same figures.

Like Open edX's user retirement, it is linear and can be run again: every step writes
fixed values (the pseudonym comes from a salted hash of the person's id), so a run
interrupted anywhere is finished by running it again, and running it on a person already
anonymised changes nothing. The uploaded files are deleted first and the database changed
after, in the caller's one transaction: an interruption leaves at worst a record whose
file is already gone (the next run clears the record), never a file nobody points to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import Permission, User
from app.accounts.services import active_admins
from app.errors import DomainError
from app.learning.models import ExternalCertificate
from app.org.models import Person
from app.privacy.export import subject_of
from app.privacy.providers import PROVIDERS
from app.privacy.registry import Provider, Pseudonym


def is_leaver(person: Person, today: date) -> bool:
    """Inactive, or past their leaving date (the last day of employment)."""
    return not person.active or (person.leaving_date is not None and person.leaving_date < today)


def refusal(session: Session, person: Person, today: date) -> str | None:
    """Why the person may not be anonymised now (None: they may)."""
    if not is_leaver(person, today):
        return (
            "Not a leaver: only someone inactive, or whose leaving date has passed, can be "
            "anonymised."
        )
    user = session.scalar(select(User).where(User.person_id == person.id))
    if (
        user is not None
        and user.active
        and person.active
        and Permission.ADMIN in user.permissions
        and active_admins(session) <= 1
    ):
        return (
            "The last active administrator cannot be anonymised. Give another account the "
            "admin permission first."
        )
    return None


def salt_of(config: Mapping[str, object]) -> str:
    """The secret salt of pseudonyms (from the app's configuration): PMO_PRIVACY_SALT, else
    the site's secret key."""
    return str(config.get("PRIVACY_SALT") or config["SECRET_KEY"])


def pseudonym_for(person: Person, salt: str) -> Pseudonym:
    """The pseudonym the person has, or will have."""
    return Pseudonym.from_employee_number(person.employee_number) or Pseudonym.of(person.id, salt)


@dataclass(frozen=True)
class Anonymised:
    person_id: int
    pseudonym: str
    #: what was changed, by kind (a run on a person already anonymised: all zero)
    changes: dict[str, int]
    files_deleted: int
    #: False when the person had been anonymised before this run
    first_time: bool

    @property
    def changed(self) -> int:
        return sum(self.changes.values()) + self.files_deleted


def impact(
    session: Session, person: Person, providers: tuple[Provider, ...] = PROVIDERS
) -> list[str]:
    """What anonymising the person does, for the confirmation page."""
    uploads = session.scalar(
        select(func.count())
        .select_from(ExternalCertificate)
        .where(
            ExternalCertificate.person_id == person.id, ExternalCertificate.file_name.is_not(None)
        )
    )
    lines = [p.erasure_text for p in providers if p.erasure_text]
    if uploads:
        lines.insert(0, f"{uploads} uploaded file{'s' if uploads != 1 else ''} will be deleted.")
    return lines


def anonymise(
    session: Session,
    *,
    person_id: int,
    today: date,
    now: datetime,
    salt: str,
    upload_folder: str | Path,
    providers: tuple[Provider, ...] = PROVIDERS,
) -> Anonymised:
    """Anonymise a leaver (see the module's docstring). Raises DomainError for someone who
    is not a leaver, or the last active administrator. Flushes, never commits."""
    person = session.get(Person, person_id)
    if person is None:
        raise DomainError("There is no such person.")
    problem = refusal(session, person, today)
    if problem:
        raise DomainError(problem)
    subject = subject_of(session, person_id)
    pseudonym = pseudonym_for(person, salt)
    first_time = person.anonymised_at is None
    folder = Path(upload_folder)
    files = sum(p.discard_files(session, subject, folder) for p in providers)
    changes: dict[str, int] = {}
    for provider in providers:
        changes.update(provider.erase(session, subject, pseudonym))
    if first_time:
        person.anonymised_at = now
    session.flush()
    return Anonymised(person.id, pseudonym.name, changes, files, first_time)
