"""`flask content check`: every content file under curricula/ (and assessments/) against its
schema and against the files it refers to."""

from __future__ import annotations

from pathlib import Path

from app.content.assessment_schema import (
    FOLDER,
    bank_references,
    check_assessment_contents,
    codes_in,
    module_link_errors,
    modules_of,
    read_bank_references,
    read_definition_contents,
    read_learning_files,
)
from app.content.bank_schema import check_bank_files
from app.content.certificates_schema import check_certificates
from app.content.files import ContentError, ContentFile, ContentInvalid, read_yaml
from app.content.framework_schema import check_framework, check_profiles
from app.content.learning_schema import check_learning_files
from app.content.office_functions import check_office_functions
from app.content.roles import check_roles
from app.framework.content import FrameworkContent
from app.framework.versions import FRAMEWORK_CODE

KNOWN_KINDS = (
    "role-catalogue",
    "competency-framework",
    "role-profiles",
    "certificate-catalogue",
    "learning-path",
    "question-bank",
    "assessment-set",
    "office-functions",
)


def content_files(*folders: Path) -> list[Path]:
    return sorted(
        p
        for folder in folders
        if folder.is_dir()
        for p in folder.rglob("*")
        if p.suffix in (".yaml", ".yml")
    )


def _read(path: Path, root: Path, errors: list[ContentError]) -> ContentFile | None:
    try:
        return read_yaml(path, str(path.relative_to(root)) if path.is_relative_to(root) else None)
    except ContentInvalid as exc:
        errors.extend(exc.errors)
        return None


def check_files(
    paths: list[Path], root: Path, warnings: list[ContentError] | None = None
) -> list[ContentError]:
    """All errors in ``paths``; an empty list means every file is sound. Doubts that do
    not make a file unusable are added to ``warnings`` when a list is given."""
    errors: list[ContentError] = []
    by_kind: dict[str, list[ContentFile]] = {}
    for path in paths:
        content = _read(path, root, errors)
        if content is None:
            continue
        kind = content.data.get("kind") if isinstance(content.data, dict) else None
        if kind not in KNOWN_KINDS:
            errors.append(
                content.error(
                    "kind", f"unknown kind {kind!r}; expected one of: " + ", ".join(KNOWN_KINDS)
                )
            )
            continue
        by_kind.setdefault(kind, []).append(content)
    role_codes = _collect(by_kind.get("role-catalogue", []), errors, _role_codes)
    frameworks: dict[str, FrameworkContent] = {}
    for content in by_kind.get("competency-framework", []):
        try:
            framework = check_framework(content)
            frameworks[framework.code] = framework
        except ContentInvalid as exc:
            errors.extend(exc.errors)
    for content in by_kind.get("role-profiles", []):
        named = _framework_of(content, frameworks, by_kind, errors)
        try:
            check_profiles(content, named, role_codes)
        except ContentInvalid as exc:
            errors.extend(exc.errors)
    certificate_codes: set[str] | None = None
    for content in by_kind.get("certificate-catalogue", []):
        named = _framework_of(content, frameworks, by_kind, errors)
        try:
            certificate_codes = (certificate_codes or set()) | {
                c["code"] for c in check_certificates(content, named)
            }
        except ContentInvalid as exc:
            errors.extend(exc.errors)
    errors += _check_office_functions(by_kind, frameworks)
    errors += check_learning_files(
        by_kind.get("learning-path", []),
        framework=frameworks.get(FRAMEWORK_CODE) or next(iter(frameworks.values()), None),
        role_codes=role_codes,
        certificate_codes=certificate_codes,
        folder=root / "curricula",
    )
    main = frameworks.get(FRAMEWORK_CODE) or next(iter(frameworks.values()), None)
    competencies = {c["code"] for g in main.groups for c in g["competencies"]} if main else None
    errors += _check_assessments(by_kind, root, competencies, warnings)
    return errors


def _check_assessments(by_kind, root: Path, competencies, warnings) -> list[ContentError]:
    """The bank files, then the assessment-set files against the banks and learning files
    checked alongside (or, when none are, those under assessments/ and curricula/learning/)."""
    errors: list[ContentError] = []
    banks = None
    try:
        banks = bank_references(check_bank_files(by_kind.get("question-bank", []), competencies))
    except ContentInvalid as exc:
        errors.extend(exc.errors)
    sets = by_kind.get("assessment-set", [])
    if sets:
        if not by_kind.get("question-bank"):
            banks = read_bank_references(root / "assessments", competencies)
        learning = by_kind.get("learning-path") or read_learning_files(
            root / "curricula" / "learning"
        )
        check = check_assessment_contents(
            sets, banks=banks, competencies=competencies, learning=learning
        )
        errors += check.errors
        if warnings is not None:
            warnings.extend(check.warnings)
    return errors + _module_link_errors(by_kind, root, sets)


def _check_office_functions(by_kind, frameworks) -> list[ContentError]:
    """The office functions files, against the framework each names."""
    errors: list[ContentError] = []
    for content in by_kind.get("office-functions", []):
        named = _framework_of(content, frameworks, by_kind, errors)
        try:
            check_office_functions(content, set(named.competency_codes()) if named else None)
        except ContentInvalid as exc:
            errors.extend(exc.errors)
    return errors


def _module_link_errors(by_kind, root: Path, sets: list[ContentFile]) -> list[ContentError]:
    """Learning modules (of the files checked) whose ``assessment:`` key names an
    assessment neither the files checked nor assessments/definitions/ define."""
    learning = by_kind.get("learning-path", [])
    shipped = read_definition_contents(root / "assessments" / FOLDER)
    if not learning or (not sets and shipped is None):
        return []
    return module_link_errors(modules_of(learning), codes_in(sets) | codes_in(shipped or []))


def _framework_of(content: ContentFile, frameworks, by_kind, errors) -> FrameworkContent | None:
    """The framework a file names (``framework:``); an error when no file has that code."""
    code = content.data.get("framework") if isinstance(content.data, dict) else None
    framework = frameworks.get(code)
    if framework is None and code not in _failed_framework_codes(by_kind):
        errors.append(content.error("framework", f"no framework file with code {code!r}"))
    return framework


def _failed_framework_codes(by_kind) -> set:
    return {c.data.get("code") for c in by_kind.get("competency-framework", [])}


def _role_codes(content: ContentFile) -> set[str]:
    return {str(r["code"]).strip().upper() for r in check_roles(content)}


def _collect(contents, errors, fn) -> set[str] | None:
    if not contents:
        return None
    out: set[str] = set()
    for content in contents:
        try:
            out |= fn(content)
        except ContentInvalid as exc:
            errors.extend(exc.errors)
    return out
