"""Which column of an HR export holds which field: suggestions from header names, the
shape of a file (to reuse a saved mapping), and cleaning values the way exports need."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    synonyms: tuple[str, ...]
    help: str = ""


FIELDS = (
    Field(
        "employee_number",
        "Employee number",
        (
            "employeenumber",
            "employeeno",
            "employeeid",
            "empid",
            "empno",
            "empnumber",
            "staffid",
            "staffnumber",
            "staffno",
            "personnelnumber",
            "payrollnumber",
            "payrollid",
            "workerid",
            "id",
            "employee",
            "personid",
            "hrid",
        ),
        "Unique in the HR system; the key that matches people between imports.",
    ),
    Field(
        "first_name",
        "First name",
        ("firstname", "forename", "givenname", "first", "preferredname", "knownas"),
    ),
    Field("last_name", "Last name", ("lastname", "surname", "familyname", "last")),
    Field(
        "full_name",
        "Full name",
        ("name", "fullname", "employeename", "staffname", "displayname", "workername"),
        'One column with "First Last" or "Last, First".',
    ),
    Field(
        "email",
        "Email",
        (
            "email",
            "emailaddress",
            "workemail",
            "mail",
            "businessemail",
            "emailwork",
            "companyemail",
        ),
    ),
    Field(
        "org_unit",
        "Org unit (department)",
        (
            "department",
            "dept",
            "orgunit",
            "organisationunit",
            "organizationunit",
            "team",
            "division",
            "businessunit",
            "unit",
            "costcentre",
            "costcenter",
            "section",
        ),
    ),
    Field(
        "job_title",
        "Job title (role)",
        (
            "jobrole",
            "jobtitle",
            "position",
            "role",
            "title",
            "positiontitle",
            "job",
            "designation",
            "jobname",
        ),
    ),
    Field(
        "manager_id",
        "Line manager's employee number",
        (
            "managerid",
            "managerempid",
            "manageremployeenumber",
            "manageremployeeid",
            "linemanagerid",
            "managernumber",
            "reportstoid",
            "supervisorid",
            "managerno",
            "linemanagerno",
            "linemanagernumber",
        ),
    ),
    Field(
        "manager_name",
        "Line manager's name",
        (
            "managername",
            "manager",
            "linemanager",
            "linemanagername",
            "reportsto",
            "supervisor",
            "supervisorname",
        ),
    ),
    Field(
        "status",
        "Employment status",
        (
            "status",
            "employmentstatus",
            "employeestatus",
            "active",
            "attrition",
            "activestatus",
            "empstatus",
            "currentemployee",
        ),
    ),
    Field(
        "end_date",
        "Termination / leaving date",
        (
            "terminationdate",
            "leavingdate",
            "enddate",
            "leavedate",
            "dateofleaving",
            "dateofexit",
            "exitdate",
            "lastday",
            "lastworkingday",
            "termdate",
            "dateofdeparture",
            "dateoftermination",
            "termination",
            "terminated",
            "terminationdt",
            "dateterminated",
            "separationdate",
            "dateofseparation",
            "leftdate",
            "dateleft",
            "contractenddate",
            "employmentenddate",
            "actualterminationdate",
            "lastdayofwork",
        ),
    ),
)
FIELD_KEYS = tuple(f.key for f in FIELDS)
FIELD_BY_KEY = {f.key: f for f in FIELDS}


def normalise_header(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def shape_key(headers: list[str]) -> str:
    """Files with the same set of column names share a saved mapping."""
    names = sorted({normalise_header(h) for h in headers if normalise_header(h)})
    return hashlib.sha256("|".join(names).encode()).hexdigest()[:32]


def suggest_mapping(headers: list[str]) -> dict[str, str]:
    """{field key: header} for the columns whose names we recognise; others are ignored."""
    normalised = {h: normalise_header(h) for h in headers}
    out: dict[str, str] = {}
    taken: set[str] = set()
    for field in FIELDS:  # exact synonym first, in the order synonyms are listed
        for synonym in field.synonyms:
            match = next(
                (h for h, n in normalised.items() if n == synonym and h not in taken), None
            )
            if match:
                out[field.key] = match
                taken.add(match)
                break
    return out


def mapping_problems(mapping: dict[str, str], headers: list[str]) -> list[str]:
    """What stops a mapping from being usable, in words for the admin."""
    problems = []
    unknown = [h for h in mapping.values() if h not in headers]
    if unknown:
        problems.append("These columns are not in the file: " + ", ".join(unknown))
    if "employee_number" not in mapping:
        problems.append("Choose the column that holds the employee number.")
    has_split = "first_name" in mapping and "last_name" in mapping
    if not has_split and "full_name" not in mapping:
        problems.append("Choose a full-name column, or both first-name and last-name columns.")
    used = [h for h in mapping.values()]
    if len(used) != len(set(used)):
        problems.append("Each column can be used for one field only.")
    return problems


# --- cleaning values -----------------------------------------------------------------------------

INACTIVE_WORDS = {
    "terminated",
    "termination",
    "inactive",
    "leaver",
    "left",
    "former",
    "no",
    "n",
    "false",
    "0",
    "resigned",
    "retired",
    "dismissed",
    "ended",
    "exited",
    "withdrawn",
    "yes-left",
}
ACTIVE_WORDS = {
    "active",
    "current",
    "employed",
    "yes",
    "y",
    "true",
    "1",
    "onleave",
    "leaveofabsence",
    "maternityleave",
    "sabbatical",
    "probation",
    "permanent",
    "temporary",
    "fixedterm",
    "contractor",
}
#: IBM-style "Attrition" columns say Yes for a leaver.
ATTRITION_HEADERS = {"attrition"}

#: What a status value means for the import (the admin's choice per value).
STATUS_ACTIVE = "active"
STATUS_LEAVER = "leaver"
#: Not started yet: stored as inactive, not counted as a leaver (no log-in to take away).
STATUS_NOT_STARTED = "not_started"
STATUS_IGNORE = "ignore"  # as if the cell were empty: the end date alone decides
STATUS_CHOICES = (
    (STATUS_ACTIVE, "Active"),
    (STATUS_LEAVER, "Leaver (inactive, loses log-in)"),
    (STATUS_NOT_STARTED, "Not started yet (stored as inactive)"),
    (STATUS_IGNORE, "— ignore this value —"),
)
STATUS_MEANINGS = {key for key, _ in STATUS_CHOICES}
LEAVER_PARTS = ("terminat", "leaver", "left", "resign", "retire", "inactive", "ended", "dismiss")
ACTIVE_PHRASES = ("leaveofabsence", "onleave", "sabbatical", "maternity", "paternity", "parental")
NOT_STARTED_PHRASES = ("futurestart", "notstarted", "prehire", "newhire", "starter", "pending")


def suggest_status(value: str, header: str = "") -> str:
    """The suggested meaning of one status value: active, leaver, not_started or ignore.

    Phrasings count, not only exact words: anything containing "terminat", "leaver", "left",
    … is a leaver; leave of absence, on leave and sabbatical are active; a future start is
    "not started yet" (stored inactive until a later file says Active).
    """
    word = normalise_header(value)
    if not word:
        return STATUS_IGNORE
    exact = status_active(value, header)
    if normalise_header(header) in ATTRITION_HEADERS:
        return {True: STATUS_ACTIVE, False: STATUS_LEAVER}.get(exact, STATUS_IGNORE)  # type: ignore[arg-type]
    if any(p in word for p in ACTIVE_PHRASES):
        return STATUS_ACTIVE
    if any(p in word for p in NOT_STARTED_PHRASES):
        return STATUS_NOT_STARTED
    if word.startswith("inactive") or any(p in word for p in LEAVER_PARTS) or exact is False:
        return STATUS_LEAVER
    return STATUS_ACTIVE if exact else STATUS_IGNORE


# --- dates ---------------------------------------------------------------------------------------

DAY_FIRST = "dmy"
MONTH_FIRST = "mdy"
DATE_ORDERS = ((DAY_FIRST, "Day first (31/01/2025)"), (MONTH_FIRST, "Month first (01/31/2025)"))
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_NUMERIC = re.compile(
    r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"
)
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
EXCEL_EPOCH = date(1899, 12, 30)
TEXT_FORMATS = (
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %b %y",
)


def date_order(values: list[str]) -> str | None:
    """Day-first or month-first for a whole column, or None when its values cannot tell.

    Any first part above 12 settles day-first; any second part above 12 settles month-first.
    A column with both (or neither) cannot be settled: the admin chooses.
    """
    first_big = second_big = False
    for value in values:
        m = _NUMERIC.match(clean(value))
        if m:
            first_big = first_big or int(m.group(1)) > 12
            second_big = second_big or int(m.group(2)) > 12
    if first_big != second_big:
        return DAY_FIRST if first_big else MONTH_FIRST
    return None


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:  # 2-digit years: 00-69 are 2000s, as Excel reads them
        year += 2000 if year < 70 else 1900
    return year


def parse_date(value: str, order: str = DAY_FIRST) -> date | None:
    """A date as HR files write it: ISO, day- or month-first (by ``order``) with 2- or 4-digit
    years, "1 Mar 2024", or an Excel serial number. None when it is not a date."""
    value = clean(value)
    try:
        if m := _ISO.match(value):
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _NUMERIC.match(value):
            a, b = int(m.group(1)), int(m.group(2))
            day, month = (a, b) if order == DAY_FIRST else (b, a)
            return date(_year(m.group(3)), month, day)
        if _SERIAL.match(value):
            serial = int(float(value))
            return EXCEL_EPOCH + timedelta(days=serial) if 20000 <= serial <= 80000 else None
    except ValueError:
        return None
    for fmt in TEXT_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def clean(value: str) -> str:
    return " ".join(value.replace("\xa0", " ").split())


def split_name(full: str) -> tuple[str, str] | None:
    """ "Last, First" or "First Last" (the last word is the family name)."""
    full = clean(full)
    if not full:
        return None
    if "," in full:
        last, _, first = full.partition(",")
        first, last = clean(first), clean(last)
        return (first, last) if first and last else None
    parts = full.split(" ")
    if len(parts) < 2:
        return None
    return " ".join(parts[:-1]), parts[-1]


def status_active(value: str, header: str) -> bool | None:
    """True/False for a recognised employment status; None when the cell says nothing."""
    word = normalise_header(value)
    if not word:
        return None
    if normalise_header(header) in ATTRITION_HEADERS:
        return {"yes": False, "y": False, "no": True, "n": True}.get(word)
    if word in INACTIVE_WORDS:
        return False
    if word in ACTIVE_WORDS:
        return True
    return None
