"""Which column of an HR export holds which field: suggestions from header names, the
shape of a file (to reuse a saved mapping), and cleaning values the way exports need."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime


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

DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%Y/%m/%d",
    "%d %b %Y",
    "%d %B %Y",
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%y",
)


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


def parse_date(value: str) -> date | None:
    value = clean(value)
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


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
