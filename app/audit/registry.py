"""Which tables the audit trail follows, and how each one's columns are treated.

Tables are named, not imported: this package sits below every domain. A row written
through the session to a table listed here (an insert, an update of a recorded column, a
delete) becomes an audit event with the changed columns before and after; a table not
listed is not audited. When a domain adds a table that admins, trainers or managers edit,
add it here (and a test in tests/audit/ that its change is recorded).

Every column is recorded except:

* ``ignore``: bookkeeping (timestamps the row keeps itself, version counters, log-in
  counters). A change to these alone records nothing.
* ``only``: where given, the columns recorded (all others ignored): for tables that also
  hold fast-changing security state, kept out of the trail (the security log has it).
* secrets: a column whose name says it holds a hash, a secret or a token is recorded as
  changed, never with its value.

``personal``: the columns that are personal data. ``redact_person`` blanks them in the
events about a person when that person's data is erased. ``person``: where the row says
whose record it is (a column, or ``relationship.column`` when the row points at a record
that does), stored on the event so that the events about a person can be found.
``summarises``: the staff import's own records. A transaction that changes one of them and
other records too (an import batch applied: the people it writes) is one event: the batch's
own change with the number of rows written to each table.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Ignored in every table.
BOOKKEEPING = frozenset(
    {"created_at", "updated_at", "version", "version_id", "row_version", "lock_version"}
)
#: Parts of a column name that mark a secret: recorded as "(changed)", never the value.
SECRET_PARTS = ("password", "secret", "token", "totp", "recovery", "mfa")
SECRET_VALUE = "(changed)"


@dataclass(frozen=True)
class Audited:
    personal: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()
    only: frozenset[str] | None = None
    person: str | None = None
    summarises: bool = False

    def records(self, column: str) -> bool:
        if column in BOOKKEEPING or column in self.ignore:
            return False
        return self.only is None or column in self.only or is_secret(column)


def is_secret(column: str) -> bool:
    return any(part in column for part in SECRET_PARTS)


def _a(
    *,
    personal: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    only: tuple[str, ...] | None = None,
    person: str | None = None,
    summarises: bool = False,
) -> Audited:
    return Audited(
        frozenset(personal),
        frozenset(ignore),
        frozenset(only) if only is not None else None,
        person,
        summarises,
    )


_PLAIN = _a()

TABLES: dict[str, Audited] = {
    # org: people, units, offices, the role catalogue, role assignments
    "people": _a(
        personal=(
            "employee_number",
            "first_name",
            "last_name",
            "email",
            "job_title",
            "leaving_date",
        ),
        person="id",
    ),
    "org_units": _PLAIN,
    "offices": _PLAIN,
    "roles": _PLAIN,
    "role_assignments": _a(person="person_id"),
    # accounts: the account itself and its permissions (log-in counters and lock-outs are
    # security events, not audit events)
    "users": _a(
        personal=("email",),
        only=("email", "active", "person_id", "password_hash"),
        person="person_id",
    ),
    "user_permissions": _a(person="user.person_id"),
    "password_tokens": _a(only=("user_id", "expires_at"), person="user.person_id"),
    # framework: versions (drafts and publications) and their content
    "frameworks": _PLAIN,
    "framework_versions": _PLAIN,
    "proficiency_levels": _PLAIN,
    "evidence_caps": _PLAIN,
    "competency_groups": _PLAIN,
    "competencies": _PLAIN,
    "role_requirements": _PLAIN,
    "certificates": _PLAIN,
    # capability: evidence, managers' decisions and calibrations
    "evidence": _a(personal=("note", "link"), person="person_id"),
    "validation_decisions": _a(personal=("comment",), person="evidence.person_id"),
    "calibrations": _a(personal=("manager_comment", "rationale"), person="person_id"),
    # learning: paths and their versions, rules, enrolments, sessions, certificates
    "learning_paths": _PLAIN,
    "path_versions": _PLAIN,
    "path_audience": _PLAIN,
    "path_prerequisites": _PLAIN,
    "path_modules": _PLAIN,
    "module_evidence": _PLAIN,
    "enrolment_rules": _PLAIN,
    "enrolments": _a(person="person_id"),
    "module_completions": _a(person="enrolment.person_id"),
    "class_sessions": _PLAIN,
    "session_bookings": _a(person="person_id"),
    "completion_certificates": _a(personal=("learner_name",), person="person_id"),
    "external_certificates": _a(
        personal=("other_name", "number", "original_name", "review_reason"),
        ignore=("file_name",),
        person="person_id",
    ),
    # assessment: question banks, items, assessments
    "question_banks": _PLAIN,
    "bank_versions": _PLAIN,
    "bank_entries": _PLAIN,
    "bank_stimuli": _PLAIN,
    "assessment_items": _PLAIN,
    "item_versions": _PLAIN,
    "assessment_stimuli": _PLAIN,
    "stimulus_versions": _PLAIN,
    "assessments": _PLAIN,
    "assessment_sections": _PLAIN,
    "assessment_certifications": _PLAIN,
    # reports: the office-function coverage rules
    "office_functions": _PLAIN,
    "office_function_competencies": _PLAIN,
    "office_function_needs": _PLAIN,
    # staff imports: one event per batch applied, with its counts
    "import_batches": _a(
        only=(
            "filename",
            "size",
            "status",
            "full_sync",
            "skip_errors",
            "counts",
            "applied_at",
            "source",
            "uploaded_by_id",
        ),
        summarises=True,
    ),
    "import_mappings": _a(summarises=True),
}


def audited(table: str) -> Audited | None:
    return TABLES.get(table)
