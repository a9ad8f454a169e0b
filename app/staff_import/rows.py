"""Reading the rows of a mapped table: each row becomes a candidate person (names, email,
status, leaving date, unit, role, manager reference) with its own errors and warnings.
Pure with respect to the database: build_plan (plan.py) then checks the rows against each
other and against the organisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from app.dates import RANGE_TEXT, in_range
from app.emails import normalise_email
from app.staff_import.mapping import (
    DAY_FIRST,
    STATUS_ACTIVE,
    STATUS_IGNORE,
    STATUS_LEAVER,
    STATUS_MEANINGS,
    clean,
    normalise_header,
    parse_date,
    split_name,
    suggest_status,
)

CREATE = "__create__"  # value-map choice: create an org unit for this department
IGNORE = ""  # value-map choice: leave the field as it is
#: Where a created unit goes ("org_unit_parent" value map): at the top of the tree.
TOP = "__top__"

PERSON_FIELDS = ("first_name", "last_name", "email", "job_title", "org_unit", "manager", "active")


@dataclass(frozen=True)
class Issue:
    row: int
    column: str
    message: str
    error: bool = True  # False: a warning, the row is still applied


@dataclass
class Candidate:
    row: int
    employee_number: str
    first_name: str
    last_name: str
    email: str | None
    job_title: str | None
    unit: str | None  # org unit code, or CREATE:<name>
    #: (manager id, manager name) as the file gives them, ("", "") for "no manager";
    #: None when the file says nothing (the stored manager is kept).
    manager_ref: tuple[str, str] | None
    active: bool
    role_code: str | None
    manager_number: str | None = None  # resolved
    leaver: bool = False  # inactive because they left (status or end date), not "not started"
    #: The leaving date to store; only when ``leaving_date_given`` (the file's end-date
    #: column is mapped and the cell is empty or a readable date in range).
    leaving_date: date | None = None
    leaving_date_given: bool = False


@dataclass(frozen=True)
class Detail:
    """One field of a change as the preview shows it: "Org unit: Finance → Operations"
    (``old`` is None for a new person: "Org unit: Finance")."""

    label: str
    old: str | None
    new: str


@dataclass
class Change:
    row: int
    employee_number: str
    name: str
    fields: list[str]  # which fields change ("new" for a new person)
    details: list[Detail] = field(default_factory=list)


# --- reading rows -------------------------------------------------------------------------------


def _email(value: str) -> tuple[str | None, str | None]:
    value = clean(value).lower()
    if not value:
        return None, None
    try:
        return normalise_email(value), None
    except ValueError as exc:
        return None, f"{value!r} is not a valid email address ({exc})"


@dataclass
class _Row:
    """One data row seen through the column mapping."""

    number: int  # spreadsheet row number
    cells: list[str]
    col: dict[str, int]  # field key -> column index
    headers: list[str]

    def has(self, key: str) -> bool:
        return key in self.col

    def cell(self, key: str) -> str:
        return clean(self.cells[self.col[key]]) if key in self.col else ""

    def header(self, key: str) -> str:
        """The file's own name for the column, so messages point at what the admin sees."""
        return self.headers[self.col[key]] if key in self.col else key


def _names(r: _Row, issues: list[Issue]) -> tuple[str, str]:
    """First and last name; a full-name column fills in whichever of them is blank."""
    first, last = r.cell("first_name"), r.cell("last_name")
    if (not first or not last) and r.cell("full_name"):
        parts = split_name(r.cell("full_name"))
        if parts:
            first, last = first or parts[0], last or parts[1]
    where = r.header("full_name") if r.has("full_name") else r.header("last_name")
    if not first or not last:
        issues.append(Issue(r.number, where, "no first and last name"))
    elif max(len(first), len(last)) > LIMITS["first_name"]:
        issues.append(Issue(r.number, where, f"a name is over {LIMITS['first_name']} characters"))
    return first, last


def _row_email(r: _Row, issues: list[Issue]) -> str | None:
    """The normalised email; an invalid one is an error, a missing one only a warning."""
    if not r.has("email"):
        return None
    email, problem = _email(r.cell("email"))
    if problem:
        issues.append(Issue(r.number, r.header("email"), problem))
    elif email is None:
        issues.append(Issue(r.number, r.header("email"), "no email address", error=False))
    return email


def _status_meaning(r: _Row, status_map: dict[str, str], issues: list[Issue]) -> str:
    """The admin's meaning for the row's status value; a value the mapping does not know
    (a saved mapping meeting a new value) gets the suggested meaning and a warning."""
    status = r.cell("status")
    if not status:
        return STATUS_IGNORE
    meaning = status_map.get(status.lower())
    if meaning in STATUS_MEANINGS:
        return meaning
    meaning = suggest_status(status, r.header("status"))
    said = "ignored (active unless an end date says otherwise)"
    said = said if meaning == STATUS_IGNORE else f"treated as {meaning.replace('_', ' ')}"
    issues.append(
        Issue(
            r.number,
            r.header("status"),
            f"status {short(status)!r} is not in the mapping; {said}",
            error=False,
        )
    )
    return meaning


def _leaving_date(r: _Row, issues: list[Issue], order: str) -> tuple[date | None, bool]:
    """(the end date, whether the file gives one to store): an empty cell clears a stored
    date; a cell that is not a date, or a date outside the accepted range, is a warning
    and leaves the stored date as it is."""
    if not r.has("end_date"):
        return None, False
    value = r.cell("end_date")
    if not value:
        return None, True
    ended = parse_date(value, order)
    problem = (
        "is not a date"
        if ended is None
        else None
        if in_range(ended)
        else f"is not a date {RANGE_TEXT}"
    )
    if problem:
        issues.append(
            Issue(
                r.number,
                r.header("end_date"),
                f"{short(value)!r} {problem}; the end date is ignored",
                error=False,
            )
        )
        return None, False
    return ended, True


def _active(
    r: _Row, today: date, issues: list[Issue], status_map: dict[str, str], order: str
) -> tuple[bool, bool, date | None, bool]:
    """(active, leaver, leaving date, whether the file gives one): a leaver by status or by
    an end date on or before today (a later end date is stored, and the person stays
    active); not active either when the status says the person has not started yet.

    An end date that cannot be read, or is out of range, is a warning on the row (the status
    alone decides).
    """
    meaning = _status_meaning(r, status_map, issues)
    leaver = meaning == STATUS_LEAVER
    ended, given = _leaving_date(r, issues, order)
    if ended is not None and ended <= today:
        leaver = True
    active = not leaver and meaning in (STATUS_ACTIVE, STATUS_IGNORE)
    return active, leaver, ended, given


def _mapped(value_maps: dict[str, dict[str, str]], key: str, value: str | None) -> str:
    """The admin's value-map choice for a cell (matched ignoring case); IGNORE if none."""
    return value_maps.get(key, {}).get(value.lower(), IGNORE) if value else IGNORE


def _unit(value_maps: dict[str, dict[str, str]], dept: str) -> str | None:
    """The org unit code chosen for a department, CREATE:<department>, or None."""
    unit = _mapped(value_maps, "org_unit", dept)
    if unit == CREATE:
        return f"{CREATE}:{dept}"
    return unit or None


#: Manager values that mean "top of the tree": no manager, and no warning either.
NO_MANAGER = {
    "board",
    "boardofdirectors",
    "theboard",
    "none",
    "na",
    "nil",
    "self",
    "noone",
    "nomanager",
    "0",
    "",  # punctuation only: "-", "—", "?"
}


def _manager_ref(r: _Row) -> tuple[str, str] | None:
    """(manager id, manager name) from the row, resolved later; ("", "") for a value that
    means the top of the tree; None when the row says nothing about a manager."""
    number, name = r.cell("manager_id"), r.cell("manager_name")
    if not number and not name:
        return ("", "") if r.has("manager_id") or r.has("manager_name") else None
    own = {normalise_header(r.cell("employee_number"))}
    top = NO_MANAGER | own
    if normalise_header(number) in top:
        number = ""
    if normalise_header(name) in top:
        name = ""
    return (number, name)


#: Longest value a person field may hold, as the database columns allow.
LIMITS = {
    "employee_number": 32,
    "first_name": 80,
    "last_name": 80,
    "full_name": 161,
    "email": 254,
    "job_title": 120,
    "org_unit": 120,
    "manager_id": 32,
    "manager_name": 161,
    "status": 120,
    "end_date": 40,
}
SHOWN = 60  # characters of a value quoted in a message
CUT = 40  # characters of a value in the preview's list of changes
NOTHING = "—"


def short(value: str, limit: int = SHOWN) -> str:
    """A value cut for display, so one huge cell cannot make a huge page."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def yes(value: bool) -> str:
    return "yes" if value else "no"


def iso(value: date | None) -> str:
    return value.isoformat() if value else NOTHING


def starts(c: Candidate) -> str:
    if c.active:
        return "active"
    return "inactive (a leaver)" if c.leaver else "inactive (not started yet)"


def _too_long(r: _Row, issues: list[Issue]) -> bool:
    """Row errors for cells longer than their column allows; True when there was one."""
    found = False
    for key, limit in LIMITS.items():
        value = r.cell(key)
        if len(value) > limit:
            issues.append(
                Issue(
                    r.number,
                    r.header(key),
                    f"{short(value)!r} is {len(value):,} characters; the limit is {limit}",
                )
            )
            found = True
    return found


def candidate(
    row: list[str],
    number: int,
    col: dict[str, int],
    headers: list[str],
    value_maps: dict[str, dict[str, str]],
    today: date,
    issues: list[Issue],
    order: str = DAY_FIRST,
) -> Candidate | None:
    """Read one data row, appending its issues to ``issues``.

    Returns None when the row has an error (warnings alone still give a Candidate).
    """
    r = _Row(number, row, col, headers)
    if _too_long(r, issues):
        return None
    issues_before = len(issues)  # only this row's issues are looked at below
    employee_number = r.cell("employee_number")
    if not employee_number:
        issues.append(Issue(number, r.header("employee_number"), "no employee number"))
    first, last = _names(r, issues)
    email = _row_email(r, issues)
    active, leaver, ended, given = _active(r, today, issues, value_maps.get("status", {}), order)
    title = r.cell("job_title") or None
    role_code = _mapped(value_maps, "job_title", title)
    unit = _unit(value_maps, r.cell("org_unit"))
    manager_ref = _manager_ref(r)
    if any(i.error for i in issues[issues_before:]):
        return None
    return Candidate(
        number,
        employee_number,
        first,
        last,
        email,
        title,
        unit,
        manager_ref,
        active,
        role_code or None,
        leaver=leaver,
        leaving_date=ended,
        leaving_date_given=given,
    )
