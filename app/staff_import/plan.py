"""From a mapped table to a plan: who is created, updated, unchanged or deactivated, and
every row error and warning. Nothing here writes to the database; apply.py does that.

Row numbers are spreadsheet row numbers (the header is row 1). A row with an error is never
applied; when the admin chooses to apply the valid rows, rows in error are skipped and
listed in the error report.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.org.models import (
    AssignmentKind,
    AssignmentSource,
    OrgUnit,
    Person,
    Role,
    RoleAssignment,
)
from app.staff_import.mapping import (
    DAY_FIRST,
    clean,
    date_order,
    normalise_header,
    split_name,
)
from app.staff_import.reading import Table
from app.staff_import.rows import (
    CREATE,
    CUT,
    NOTHING,
    TOP,
    Candidate,
    Change,
    Detail,
    Issue,
    candidate,
    iso,
    short,
    starts,
    yes,
)


@dataclass
class Plan:
    rows: int
    creates: list[Candidate] = field(default_factory=list)
    updates: list[tuple[Candidate, int, list[str]]] = field(default_factory=list)  # (c, id, fields)
    unchanged: int = 0
    deactivate: list[int] = field(default_factory=list)  # person ids
    role_adds: list[tuple[str, str]] = field(default_factory=list)  # (employee no, role code)
    #: import-made current assignments that a new role from the file replaces (ids)
    role_ends: list[int] = field(default_factory=list)
    new_units: list[str] = field(default_factory=list)  # names
    #: where each new unit goes: {name: parent unit code, or None for the top of the tree}
    new_unit_parents: dict[str, str | None] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)  # every valid row
    #: what the preview needs to name things: people as stored (by employee number),
    #: {unit code: name}, {role code: name}, and the roles each update ends (names)
    before: dict[str, _Existing] = field(default_factory=dict, repr=False)
    unit_names: dict[str, str] = field(default_factory=dict, repr=False)
    role_names: dict[str, str] = field(default_factory=dict, repr=False)
    ended_roles: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.error]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if not i.error]

    @property
    def error_rows(self) -> int:
        return len({i.row for i in self.errors})

    @property
    def leavers_to_deactivate(self) -> int:
        """People now active whom the file shows as leavers."""
        return sum(1 for _, _, fields in self.updates if "leaver" in fields)

    @property
    def leavers_to_create(self) -> int:
        """Leavers new to PMO Pathways: created as inactive."""
        return sum(1 for c in self.creates if c.leaver)

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "create": len(self.creates),
            "update": len(self.updates),
            "unchanged": self.unchanged,
            "deactivate": len(self.deactivate),
            "leavers": self.leavers_to_deactivate + self.leavers_to_create,
            "leavers_deactivate": self.leavers_to_deactivate,
            "leavers_create": self.leavers_to_create,
            "error_rows": self.error_rows,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "roles": len(self.role_adds),
            "roles_ended": len(self.role_ends),
            "new_units": len(self.new_units),
        }

    def changes_sample(self, limit: int = 50) -> list[Change]:
        """The first ``limit`` creates and updates, each with what it sets or changes
        (old → new), every value cut for display."""
        names = {c.employee_number: (c.first_name, c.last_name) for c in self.candidates}
        out = [
            Change(
                c.row,
                short(c.employee_number, CUT),
                short(f"{c.first_name} {c.last_name}", CUT),
                ["new"],
                self._new_details(c),
            )
            for c in self.creates[:limit]
        ]
        out += [
            Change(
                c.row,
                short(c.employee_number, CUT),
                short(f"{c.first_name} {c.last_name}", CUT),
                fields,
                self._update_details(c, fields, names),
            )
            for c, _, fields in self.updates[: max(0, limit - len(out))]
        ]
        return out

    def _unit_name(self, unit: str | None) -> str:
        if not unit:
            return NOTHING
        if unit.startswith(CREATE):
            return short(unit.split(":", 1)[1], CUT) + " (new)"
        return short(self.unit_names.get(unit, unit), CUT)

    def _person_name(self, number: str | None, names: dict[str, tuple[str, str]]) -> str:
        """A manager as "A. Bell": from the file when the row is there, else as stored."""
        if not number:
            return NOTHING
        stored = self.before.get(number)
        first, last = names.get(number) or (
            (stored.first_name, stored.last_name) if stored else ("", "")
        )
        return short(f"{first[:1]}. {last}", CUT) if last else short(number, CUT)

    def _new_details(self, c: Candidate) -> list[Detail]:
        out = [
            Detail("Org unit", None, self._unit_name(c.unit)),
            Detail("Role", None, self._role_name(c.role_code)),
            Detail("Starts", None, starts(c)),
        ]
        if c.leaving_date:
            out.append(Detail("Leaving date", None, c.leaving_date.isoformat()))
        return out

    def _role_name(self, code: str | None) -> str:
        return short(self.role_names[code], CUT) if code in self.role_names else "no role"

    def _update_details(
        self, c: Candidate, fields: list[str], names: dict[str, tuple[str, str]]
    ) -> list[Detail]:
        b = self.before[c.employee_number]
        out = []
        if "name" in fields:
            out.append(
                Detail(
                    "Name",
                    short(f"{b.first_name} {b.last_name}", CUT),
                    short(f"{c.first_name} {c.last_name}", CUT),
                )
            )
        if "email" in fields:
            out.append(Detail("Email", short(b.email or NOTHING, CUT), short(c.email or "", CUT)))
        if "job title" in fields:
            out.append(
                Detail(
                    "Job title", short(b.job_title or NOTHING, CUT), short(c.job_title or "", CUT)
                )
            )
        if "org unit" in fields:
            out.append(Detail("Org unit", self._unit_name(b.unit_code), self._unit_name(c.unit)))
        if "line manager" in fields:
            out.append(
                Detail(
                    "Line manager",
                    self._person_name(b.manager_number, names),
                    self._person_name(c.manager_number, names),
                )
            )
        if {"active", "leaver"} & set(fields):
            out.append(Detail("Active", yes(b.active), yes(c.active)))
        if "leaving date" in fields:
            out.append(Detail("Leaving date", iso(b.leaving_date), iso(c.leaving_date)))
        if "role" in fields:
            ended = self.ended_roles.get(c.employee_number) or []
            old = ", ".join(ended) if ended else NOTHING
            out.append(Detail("Role", short(old, CUT), self._role_name(c.role_code)))
        return out


@dataclass(frozen=True)
class Options:
    full_sync: bool = False
    actor_person_id: int | None = None  # never deactivated by a sync


# --- the plan -----------------------------------------------------------------------------------


@dataclass
class _Existing:
    id: int
    first_name: str
    last_name: str
    email: str | None
    job_title: str | None
    unit_code: str | None
    manager_number: str | None
    active: bool
    leaving_date: date | None


def _existing(session: Session) -> dict[str, _Existing]:
    units = dict(session.execute(select(OrgUnit.id, OrgUnit.code)).all())
    rows = session.execute(
        select(
            Person.id,
            Person.employee_number,
            Person.first_name,
            Person.last_name,
            Person.email,
            Person.job_title,
            Person.org_unit_id,
            Person.line_manager_id,
            Person.active,
            Person.leaving_date,
        )
    ).all()
    number_of = {r.id: r.employee_number for r in rows}
    return {
        r.employee_number: _Existing(
            r.id,
            r.first_name,
            r.last_name,
            r.email,
            r.job_title,
            units.get(r.org_unit_id),
            number_of.get(r.line_manager_id),
            r.active,
            r.leaving_date,
        )
        for r in rows
    }


def _name_key(first: str, last: str) -> str:
    return normalise_header(f"{first}{last}")


def _value_key(value: str) -> str:
    """A name as written in a manager column, as a key: "Last, First" or "First Last"."""
    parts = split_name(value) if "," in value else None
    return _name_key(*parts) if parts else normalise_header(value)


def _resolve_managers(
    cands: dict[str, Candidate],
    existing: dict[str, _Existing],
    issues: list[Issue],
    headers_for: dict[str, str],
    file_numbers: set[str],
) -> None:
    """Fill manager_number for each candidate: by employee number first, by name when the
    number matches no one. A manager who cannot be found (or who shares a name with
    someone else) is a warning: the person is imported without a line manager.
    """
    by_name: dict[str, set[str]] = defaultdict(set)
    for number, person in existing.items():
        by_name[_name_key(person.first_name, person.last_name)].add(number)
    for c in cands.values():
        by_name[_name_key(c.first_name, c.last_name)].add(c.employee_number)
    for c in cands.values():
        if c.manager_ref is None:
            continue
        number, name = c.manager_ref
        found: str | None = None
        if number and (number in file_numbers or number in existing):
            found = number
        elif name:
            matches = by_name.get(_value_key(name), set())
            if len(matches) > 1:
                issues.append(
                    Issue(
                        c.row,
                        headers_for["manager_name"],
                        f"{len(matches)} people are called {short(name)!r}; imported without "
                        "a manager (use the manager's employee number)",
                        error=False,
                    )
                )
            found = next(iter(matches)) if len(matches) == 1 else None
            if len(matches) > 1:
                c.manager_ref = ("", "")
                continue
        if found is None and (number or name):
            issues.append(
                Issue(
                    c.row,
                    headers_for["manager_name" if name else "manager_id"],
                    f"manager {short(name or number)!r} not found; imported without a manager",
                    error=False,
                )
            )
        c.manager_ref = (number, name) if found else ("", "")
        # Their own number or name: the top of the tree, no manager and no warning.
        c.manager_number = found if found != c.employee_number else None


def _duplicate_emails(
    cands: dict[str, Candidate], existing: dict[str, _Existing], header: str, issues: list[Issue]
) -> None:
    """Two people cannot share an email: a row whose email is already another person's (in
    PMO Pathways, or on an earlier row of the file) is an error naming that person's
    employee number. A stored email that the file gives its owner a new one for is free."""
    freed = {
        p.email
        for n, p in existing.items()
        if p.email and n in cands and cands[n].email and cands[n].email != p.email
    }
    owner = {p.email: n for n, p in existing.items() if p.email and p.email not in freed}
    for c in sorted(cands.values(), key=lambda c: c.row):
        if not c.email:
            continue
        other = owner.setdefault(c.email, c.employee_number)
        if other != c.employee_number:
            where = "" if other in existing else " on an earlier row"
            issues.append(
                Issue(
                    c.row,
                    header,
                    f"{short(c.email)!r} is already the email of employee {short(other)}"
                    f"{where}; two people cannot share an email",
                )
            )


def _cycles(cands: dict[str, Candidate], existing: dict[str, _Existing]) -> set[str]:
    """Employee numbers (of file rows) that sit on a loop in the manager chain."""

    def manager_of(number: str) -> str | None:
        if number in cands:
            return cands[number].manager_number
        person = existing.get(number)
        return person.manager_number if person else None

    on_loop: set[str] = set()
    done: set[str] = set()
    for start in cands:
        path: list[str] = []
        seen: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in done and node not in seen:
            seen[node] = len(path)
            path.append(node)
            node = manager_of(node)
        if node is not None and node in seen:
            on_loop.update(n for n in path[seen[node] :] if n in cands)
        done.update(path)
    return on_loop


def _settle_new_units(session: Session, cands) -> None:
    """One new unit per department mapped to CREATE, whatever the case of its spelling; a
    department that already has a unit of that name (made by an earlier import) uses it, so
    re-importing with the saved mapping creates nothing and moves nobody."""
    by_name: dict[str, str] = {}
    for code, name in session.execute(
        select(OrgUnit.code, OrgUnit.name).order_by(OrgUnit.active.desc(), OrgUnit.id)
    ):
        by_name.setdefault(name.lower(), code)
    spelling: dict[str, str] = {}
    for c in cands:
        if c.unit and c.unit.startswith(CREATE):
            name = c.unit.split(":", 1)[1]
            key = name.lower()
            c.unit = by_name.get(key) or f"{CREATE}:{spelling.setdefault(key, name)}"


def _parse_rows(
    table: Table,
    col: dict[str, int],
    value_maps: dict[str, dict[str, str]],
    today: date,
    issues: list[Issue],
) -> list[Candidate]:
    """A Candidate for every row without an error of its own, in file order."""
    parsed: list[Candidate] = []
    order = end_date_order(table, col, value_maps)
    for row, number in zip(table.rows, table.row_numbers, strict=True):
        cand = candidate(row, number, col, table.headers, value_maps, today, issues, order)
        if cand is not None:
            parsed.append(cand)
    return parsed


def end_date_order(table: Table, col: dict[str, int], value_maps: dict[str, dict[str, str]]) -> str:
    """Day- or month-first for the whole end-date column: what its values settle, else the
    admin's choice, else day-first. Never decided row by row."""
    if "end_date" not in col:
        return DAY_FIRST
    settled = date_order([row[col["end_date"]] for row in table.rows])
    return settled or value_maps.get("end_date", {}).get("order") or DAY_FIRST


def _duplicate_numbers(
    table: Table, col: dict[str, int], mapping: dict[str, str], issues: list[Issue]
) -> tuple[set[str], set[str]]:
    """Every employee number in the file (rows in error included), and the duplicated ones.

    Every occurrence of a duplicate is an error: nobody can tell which row is right.
    """
    seen: dict[str, list[int]] = defaultdict(list)
    for row, number in zip(table.rows, table.row_numbers, strict=True):
        key = clean(row[col["employee_number"]]) if "employee_number" in col else ""
        if key:
            seen[key].append(number)
    dupes = {k: rows for k, rows in seen.items() if len(rows) > 1}
    for key, rows in dupes.items():
        for r in rows:
            issues.append(
                Issue(
                    r,
                    mapping["employee_number"],
                    f"employee number {key!r} appears on rows " + ", ".join(map(str, rows)),
                )
            )
    return set(seen), set(dupes)


def _manager_column(c: Candidate, headers_for: dict[str, str]) -> str:
    """The column a manager problem is reported against: the one the manager came from."""
    if c.manager_ref and c.manager_ref[0] and "manager_id" in headers_for:
        return headers_for["manager_id"]
    return headers_for.get("manager_name") or headers_for.get("manager_id") or "manager"


def _report_loops(
    cands: dict[str, Candidate],
    existing: dict[str, _Existing],
    headers_for: dict[str, str],
    issues: list[Issue],
) -> None:
    for number in _cycles(cands, existing):
        c = cands[number]
        issues.append(
            Issue(
                c.row,
                _manager_column(c, headers_for),
                "the manager chain goes round in a loop through this person",
            )
        )


def _without_errors(
    cands: dict[str, Candidate],
    existing: dict[str, _Existing],
    headers_for: dict[str, str],
    issues: list[Issue],
) -> dict[str, Candidate]:
    """The candidates that can be applied, by employee number.

    A row whose manager is a new person on a row in error is still applied, without a
    manager and with a warning: a row is never refused because of its manager's row.
    """
    bad_rows = {i.row for i in issues if i.error}
    valid = {n: c for n, c in cands.items() if c.row not in bad_rows}
    for c in valid.values():
        if c.manager_number and c.manager_number not in valid and c.manager_number not in existing:
            issues.append(
                Issue(
                    c.row,
                    _manager_column(c, headers_for),
                    f"the manager ({short(c.manager_number)}) is on a row with errors; "
                    "imported without a manager",
                    error=False,
                )
            )
            c.manager_number = None
    return valid


def build_plan(
    session: Session,
    table: Table,
    mapping: dict[str, str],
    value_maps: dict[str, dict[str, str]],
    options: Options,
    today: date,
) -> Plan:
    """Plan the import of ``table`` under ``mapping`` and ``value_maps``; writes nothing.

    Issues come sorted by row, errors before warnings, then by column.
    """
    col = {
        key: table.headers.index(header)
        for key, header in mapping.items()
        if header in table.headers
    }
    plan = Plan(rows=len(table.rows))
    issues = plan.issues
    parsed = _parse_rows(table, col, value_maps, today, issues)
    file_numbers, dupes = _duplicate_numbers(table, col, mapping, issues)
    cands = {c.employee_number: c for c in parsed if c.employee_number not in dupes}
    _settle_new_units(session, cands.values())
    existing = _existing(session)
    _duplicate_emails(cands, existing, mapping.get("email", "email"), issues)
    headers_for: dict[str, str] = {
        k: mapping[k] for k in ("manager_id", "manager_name") if k in mapping
    }
    _resolve_managers(cands, existing, issues, headers_for, file_numbers)
    _report_loops(cands, existing, headers_for, issues)
    valid = _without_errors(cands, existing, headers_for, issues)
    issues.sort(key=lambda i: (i.row, not i.error, i.column))
    _compare(session, plan, valid, existing, options, file_numbers)
    plan.new_unit_parents = _new_unit_parents(
        session, plan.new_units, value_maps.get("org_unit_parent", {})
    )
    return plan


def single_root(session: Session) -> str | None:
    """The code of the one active unit at the top of the tree; None when there are several
    (or none)."""
    roots = session.scalars(
        select(OrgUnit.code).where(OrgUnit.parent_id.is_(None), OrgUnit.active.is_(True)).limit(2)
    ).all()
    return roots[0] if len(roots) == 1 else None


def _new_unit_parents(
    session: Session, names: list[str], chosen: dict[str, str]
) -> dict[str, str | None]:
    """Where each new unit goes: the admin's choice (saved with the mapping), else the top
    of the tree's one unit, else the top itself."""
    if not names:
        return {}
    default = single_root(session)
    out: dict[str, str | None] = {}
    for name in names:
        parent = chosen.get(name.lower()) or default
        out[name] = None if parent in (None, TOP) else parent
    return out


def _compare(
    session: Session,
    plan: Plan,
    valid: dict[str, Candidate],
    existing: dict[str, _Existing],
    options: Options,
    file_numbers: set[str],
) -> None:
    catalogue = session.execute(select(Role.id, Role.code, Role.name)).all()
    roles = {code: role_id for role_id, code, _ in catalogue}
    role_name_of = {role_id: name for role_id, _, name in catalogue}
    plan.role_names = {code: name for _, code, name in catalogue}
    plan.unit_names = dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all())
    plan.before = existing
    holding: set[tuple[int, int]] = set(
        session.execute(
            select(RoleAssignment.person_id, RoleAssignment.role_id).where(
                RoleAssignment.kind == AssignmentKind.CURRENT, RoleAssignment.end_date.is_(None)
            )
        ).all()
    )
    made_by_import: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for assignment_id, person_id, role_id in session.execute(
        select(RoleAssignment.id, RoleAssignment.person_id, RoleAssignment.role_id).where(
            RoleAssignment.kind == AssignmentKind.CURRENT,
            RoleAssignment.end_date.is_(None),
            RoleAssignment.source == AssignmentSource.IMPORT,
        )
    ):
        made_by_import[person_id].append((assignment_id, role_id))
    new_units: dict[str, None] = {}
    for c in sorted(valid.values(), key=lambda c: c.row):
        plan.candidates.append(c)
        if c.unit and c.unit.startswith(CREATE):
            new_units.setdefault(c.unit.split(":", 1)[1])
        role_code = c.role_code if c.role_code in roles else None
        role_new = role_code is not None
        before = existing.get(c.employee_number)
        if before is None:
            plan.creates.append(c)
        else:
            changed = _changed_fields(c, before)
            role_new = role_code is not None and (before.id, roles[role_code]) not in holding
            # A new role from the file ends the roles earlier imports gave; never hand-made ones.
            ends = (
                [
                    a
                    for a, role_id in made_by_import.get(before.id, [])
                    if role_id != roles[role_code]
                ]
                if role_code is not None
                else []
            )
            plan.role_ends += ends
            if ends:
                plan.ended_roles[c.employee_number] = [
                    role_name_of[role_id]
                    for a, role_id in made_by_import.get(before.id, [])
                    if a in ends
                ]
            if role_new or ends:
                changed.append("role")
            if changed:
                plan.updates.append((c, before.id, changed))
            else:
                plan.unchanged += 1
        if role_new and role_code is not None:
            plan.role_adds.append((c.employee_number, role_code))
    plan.new_units = list(new_units)
    if options.full_sync:
        # Anyone in the file, even on a row in error, is not a leaver.
        plan.deactivate = sorted(
            p.id
            for n, p in existing.items()
            if p.active and n not in file_numbers and p.id != options.actor_person_id
        )


def _changed_fields(c: Candidate, before: _Existing) -> list[str]:
    changed = []
    if (c.first_name, c.last_name) != (before.first_name, before.last_name):
        changed.append("name")
    if c.email and c.email != before.email:
        changed.append("email")
    if c.job_title and c.job_title != before.job_title:
        changed.append("job title")
    if c.unit and not c.unit.startswith(CREATE) and c.unit != before.unit_code:
        changed.append("org unit")
    if c.unit and c.unit.startswith(CREATE):
        changed.append("org unit")
    if c.manager_ref is not None and c.manager_number != before.manager_number:
        changed.append("line manager")
    if c.active != before.active:
        changed.append("active" if c.active else "leaver")
    if c.leaving_date_given and c.leaving_date != before.leaving_date:
        changed.append("leaving date")
    return changed
