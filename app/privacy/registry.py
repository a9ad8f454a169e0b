"""The registry of personal-data providers, and the check that it covers every table.

A provider (one per domain, in ``providers/``) declares:

* ``owned``: the tables whose rows are about one person — table -> the column that says
  whose: a person or account column, or a foreign key to another owned table (an attempt's
  items belong to whoever the attempt belongs to);
* ``actions``: columns that record what a person did, or a link to them, in rows about
  something else (who published a framework version, who heads a unit) — (table, column)
  -> what it records. These are kept on erasure, pointing at the pseudonymised record, and
  counted in the person's download;
* ``kinds``: what its part of the download holds (kind -> a plain description);
* ``export``, ``erase`` and, where files are kept, ``files`` and ``discard_files``.

``coverage_problems`` walks the SQLAlchemy metadata: every column that names a person or
an account (``person_id``, ``user_id``, or a foreign key to ``people`` or ``users``), and
every foreign key to an owned table, must be declared by exactly one provider or listed in
``NOT_PERSONAL`` with a reason. A new table that names a person therefore fails the test
suite until somebody says how it is exported and erased.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import cast

from sqlalchemy import Column, CursorResult, Executable, MetaData, func, literal, select, union_all
from sqlalchemy.orm import Session

#: The tables that are the people and their accounts.
PERSON_TABLES = ("people", "users")
#: Column names that name a person or an account even without a foreign key.
PERSON_COLUMN_NAMES = ("person_id", "user_id")

#: Columns that name a person or an account but hold nothing about them: (table, column)
#: -> why.
_DERIVED_LINE = (
    "a copy of people.line_manager_id walked up the line, for indexed look-ups "
    "(app.org.lines): the org provider exports and erases the line manager it is made from, "
    "and the rows follow it"
)
NOT_PERSONAL: dict[tuple[str, str], str] = {
    ("reporting_lines", "manager_id"): _DERIVED_LINE,
    ("reporting_lines", "person_id"): _DERIVED_LINE,
}

Row = dict[str, object]
Rows = list[Row]


@dataclass(frozen=True)
class Subject:
    """Whose data: the person, their account (None without one), and the identifiers the
    record held when the work began (employee number, email addresses), so that a step may
    look for them after another step has replaced them."""

    person_id: int
    user_id: int | None
    identifiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pseudonym:
    """What an anonymised person is called: the first hex digits of a salted hash (HMAC-
    SHA256 with a secret salt) of their id. The same person always gets the same pseudonym
    under the same salt, so an interrupted anonymisation run again finishes the same way;
    without the salt it cannot be traced back."""

    key: str

    FIRST_NAME = "Former employee"
    PREFIX = "ANON-"

    @classmethod
    def of(cls, person_id: int, salt: str) -> Pseudonym:
        digest = hmac.new(salt.encode(), f"person:{person_id}".encode(), hashlib.sha256)
        return cls(digest.hexdigest()[:24])

    @classmethod
    def from_employee_number(cls, number: str) -> Pseudonym | None:
        """The pseudonym a record already carries (None for a record not anonymised)."""
        if number.startswith(cls.PREFIX) and len(number) == len(cls.PREFIX) + 24:
            return cls(number[len(cls.PREFIX) :])
        return None

    @property
    def tag(self) -> str:
        return self.key[:6]

    @property
    def last_name(self) -> str:
        return f"#{self.tag}"

    @property
    def name(self) -> str:
        return f"{self.FIRST_NAME} #{self.tag}"

    @property
    def employee_number(self) -> str:
        return f"{self.PREFIX}{self.key}"

    @property
    def email(self) -> str:
        """An address that can never be delivered (RFC 2606 reserves ``.invalid``)."""
        return f"anonymised-{self.key}@anonymised.invalid"


@dataclass(frozen=True)
class ExportFile:
    """A stored file that goes into the download: its name in the archive and on disk."""

    name: str
    path: Path


Exporter = Callable[[Session, Subject, datetime], dict[str, Rows]]
Eraser = Callable[[Session, Subject, Pseudonym], dict[str, int]]
FileLister = Callable[[Session, Subject, Path], list[ExportFile]]
FileDiscarder = Callable[[Session, Subject, Path], int]


def _no_files(_session: Session, _subject: Subject, _folder: Path) -> list[ExportFile]:
    return []


def _discard_nothing(_session: Session, _subject: Subject, _folder: Path) -> int:
    return 0


@dataclass(frozen=True)
class Provider:
    name: str
    owned: Mapping[str, str]
    actions: Mapping[tuple[str, str], str]
    kinds: Mapping[str, str]
    export: Exporter
    erase: Eraser
    files: FileLister = _no_files
    #: Deletes the person's stored files; run before the database is changed, so that an
    #: interrupted run leaves nothing on disk that no record points to any more.
    discard_files: FileDiscarder = _discard_nothing
    #: What erasure does to this provider's data, in a sentence (the confirmation page).
    erasure_text: str = ""


# --- plain values -------------------------------------------------------------------------


def plain(value: object) -> object:
    """A value as JSON holds it: dates and times in ISO 8601, enums by their value."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def row(**values: object) -> Row:
    return {k: plain(v) for k, v in values.items()}


def written(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE; how many rows it wrote (for what an erasure changed)."""
    result = session.execute(statement)
    return int(cast(CursorResult, result).rowcount or 0)


# --- what a person did: the action columns, counted -----------------------------------------


def _target_table(column: Column) -> str | None:
    for fk in column.foreign_keys:
        table = fk.target_fullname.split(".")[0]
        if table in PERSON_TABLES:
            return table
    if column.name == "person_id":
        return "people"
    if column.name == "user_id":
        return "users"
    return None


def activity(
    session: Session, subject: Subject, providers: Iterable[Provider], metadata: MetaData
) -> Rows:
    """How many rows of each action column name the person (one query for all)."""
    described: list[str] = []
    counts = []
    for provider in providers:
        for (table, column), what in provider.actions.items():
            col = metadata.tables[table].c[column]
            ident = subject.person_id if _target_table(col) == "people" else subject.user_id
            if ident is None:
                continue
            counts.append(
                select(literal(len(described)).label("i"), func.count().label("n"))
                .select_from(col.table)
                .where(col == ident)
            )
            described.append(what)
    if not counts:
        return []
    found = {i: n for i, n in session.execute(union_all(*counts)).all()}
    return [row(what=what, count=found[i]) for i, what in enumerate(described) if found.get(i)]


# --- the coverage check -------------------------------------------------------------------


def person_columns(metadata: MetaData) -> set[tuple[str, str]]:
    """Every (table, column) that names a person or an account."""
    return {
        (table.name, column.name)
        for table in metadata.tables.values()
        for column in table.columns
        if column.name in PERSON_COLUMN_NAMES or _target_table(column) is not None
    }


@dataclass
class _Declarations:
    """What the providers (and NOT_PERSONAL) declare, and the clashes among them."""

    #: (table, column) -> who declared it
    columns: dict[tuple[str, str], str]
    #: owned table -> the provider that owns it
    owned: dict[str, str]
    problems: list[str]


def _declarations(
    providers: Iterable[Provider], not_personal: Mapping[tuple[str, str], str]
) -> _Declarations:
    found = _Declarations({}, {}, [])

    def declare(key: tuple[str, str], by: str) -> None:
        if key in found.columns:
            found.problems.append(
                f"{key[0]}.{key[1]} is declared twice ({found.columns[key]}, {by})"
            )
        found.columns[key] = by

    for provider in providers:
        for table, column in provider.owned.items():
            if table in found.owned:
                found.problems.append(
                    f"{table} is owned twice ({found.owned[table]}, {provider.name})"
                )
            found.owned[table] = provider.name
            declare((table, column), provider.name)
        for key in provider.actions:
            declare(key, provider.name)
    for key, reason in not_personal.items():
        if not reason.strip():
            found.problems.append(f"{key[0]}.{key[1]} is declared not personal without a reason")
        declare(key, "NOT_PERSONAL")
    return found


def _children(metadata: MetaData, owned: Mapping[str, str]) -> set[tuple[str, str]]:
    """Every (table, column) outside the owned tables with a foreign key to one of them."""
    return {
        (table.name, column.name)
        for table in metadata.tables.values()
        if table.name not in owned
        for column in table.columns
        for fk in column.foreign_keys
        if fk.target_fullname.split(".")[0] in owned
    }


def coverage_problems(
    metadata: MetaData,
    providers: Iterable[Provider],
    not_personal: Mapping[tuple[str, str], str] = NOT_PERSONAL,
) -> list[str]:
    """What the providers fail to cover in ``metadata`` (empty when they cover it all)."""
    found = _declarations(providers, not_personal)
    declared, problems = found.columns, found.problems
    problems += [
        f"{table}.{column} is declared but no such column exists"
        for table, column in sorted(declared)
        if table not in metadata.tables or column not in metadata.tables[table].c
    ]
    problems += [
        f"{table} is owned by no provider"
        for table in PERSON_TABLES
        if table in metadata.tables and table not in found.owned
    ]
    naming = person_columns(metadata)
    problems += [
        f"{table}.{column} names a person or an account but no provider covers it "
        "(declare it in app/privacy/providers/, or in NOT_PERSONAL with a reason)"
        for table, column in sorted(naming - declared.keys())
    ]
    problems += [
        f"{table}.{column} points at a table whose rows are about a person, but no "
        "provider covers it"
        for table, column in sorted(_children(metadata, found.owned) - declared.keys() - naming)
    ]
    return problems
