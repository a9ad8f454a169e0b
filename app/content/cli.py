"""`flask content …`: check, load and export the shipped content files."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.content.files import ContentInvalid
from app.content.roles import load_roles
from app.extensions import db
from app.framework.versions import FRAMEWORK_CODE

content_cli = AppGroup("content", help="Check and load the shipped content (curricula/).")


def curricula_dir() -> Path:
    return Path(current_app.root_path).parent / "curricula"


def content_root() -> Path:
    return curricula_dir().parent


def _fail(errors) -> None:
    db.session.rollback()
    for error in errors:
        click.echo(str(error), err=True)
    click.echo(f"{len(errors)} error(s); nothing was loaded.", err=True)
    sys.exit(1)


FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@content_cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def content_check(paths: tuple[Path, ...]):
    """Check content files (default: everything under curricula/ and assessments/)."""
    from app.content.checks import check_files, content_files

    root = content_root()
    files = (
        content_files(*[p for p in paths if p.is_dir()]) + [p for p in paths if p.is_file()]
        if paths
        else content_files(root / "curricula", root / "assessments")
    )
    warnings: list = []
    errors = check_files(files, root, warnings)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    for error in errors:
        click.echo(str(error), err=True)
    if errors:
        click.echo(f"{len(errors)} error(s) in {len(files)} file(s).", err=True)
        sys.exit(1)
    click.echo(
        f"{len(files)} content file(s) checked: no errors"
        + (f", {len(warnings)} warning(s)." if warnings else ".")
    )


@content_cli.command("load")
@click.option("--roles", "roles_file", type=FILE, help="Role catalogue (curricula/roles.yaml).")
@click.option(
    "--framework",
    "framework_file",
    type=FILE,
    help="Competency framework (curricula/framework.yaml).",
)
@click.option(
    "--profiles", "profiles_file", type=FILE, help="Role profiles (curricula/role-profiles.yaml)."
)
@click.option(
    "--certificates",
    "certificates_file",
    type=FILE,
    help="Certificate catalogue (curricula/certificates.yaml).",
)
@click.option(
    "--office-functions",
    "office_functions_file",
    type=FILE,
    help="P3O office functions for the coverage report (curricula/office-functions.yaml).",
)
@click.option(
    "--learning",
    "learning_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of learning path files (curricula/learning).",
)
@click.option(
    "--assessments",
    "assessments_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of question banks, with the assessment definitions in definitions/ (assessments).",
)
def content_load(
    roles_file: Path | None,
    framework_file: Path | None,
    profiles_file: Path | None,
    certificates_file: Path | None,
    office_functions_file: Path | None,
    learning_dir: Path | None,
    assessments_dir: Path | None,
):
    """Load the role catalogue, framework, role profiles, certificate catalogue and learning
    paths; loading twice changes nothing."""
    from app.content.assessment_load import load_definitions
    from app.content.bank_load import load_banks
    from app.content.framework_load import load_framework
    from app.content.learning_load import load_paths
    from app.content.office_functions import load_office_functions

    roles_path = roles_file or curricula_dir() / "roles.yaml"
    framework_path = framework_file or curricula_dir() / "framework.yaml"
    profiles_path = profiles_file or curricula_dir() / "role-profiles.yaml"
    certificates_path = certificates_file or curricula_dir() / "certificates.yaml"
    functions_path = office_functions_file or curricula_dir() / "office-functions.yaml"
    try:
        roles = load_roles(db.session(), roles_path)
        framework = None
        if framework_path.exists() and profiles_path.exists():
            framework = load_framework(
                db.session(),
                framework_path,
                profiles_path,
                certificates_path=certificates_path if certificates_path.exists() else None,
            )
        functions = (
            load_office_functions(db.session(), functions_path)
            if framework and functions_path.exists()
            else None
        )
        learning_files = sorted((learning_dir or curricula_dir() / "learning").glob("*.yaml"))
        learning = (
            load_paths(db.session(), learning_files, content_root()) if learning_files else None
        )
        banks_dir = assessments_dir or content_root() / "assessments"
        banks = load_banks(db.session(), banks_dir) if banks_dir.is_dir() else None
        assessments = load_definitions(db.session(), banks_dir) if banks_dir.is_dir() else None
    except ContentInvalid as exc:
        _fail(exc.errors)
    db.session.commit()
    click.echo(f"Role catalogue ({roles_path.name}): {roles.summary()}.")
    for label, codes in (("created", roles.created), ("updated", roles.updated)):
        if codes:
            click.echo(f"  {label}: {', '.join(codes)}")
    if framework:
        click.echo(f"Competency framework ({framework_path.name}): {framework.summary()}.")
    if functions:
        click.echo(f"Office functions ({functions_path.name}): {functions.summary()}.")
    if learning:
        click.echo(f"Learning paths: {learning.summary()}.")
        for path in learning.paths:
            click.echo(f"  {path.summary()}")
    _echo_assessment_reports(banks, assessments)


def _echo_assessment_reports(banks, assessments) -> None:
    if banks:
        click.echo(f"Question banks: {banks.summary()}.")
    if assessments and assessments.outcomes:
        click.echo(f"Assessments: {assessments.summary()}.")
        for warning in assessments.warnings:
            click.echo(f"  warning: {warning}", err=True)


@content_cli.command("export")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write framework.yaml, role-profiles.yaml, certificates.yaml, "
    "office-functions.yaml and learning/*.yaml to.",
)
@click.option("--framework", "code", default=FRAMEWORK_CODE, show_default=True)
def content_export(out_dir: Path, code: str):
    """Write the published framework, its role profiles and certificate catalogue, and the
    published version of every learning path, back to content files."""
    from app.content.assessment_export import export_definitions
    from app.content.bank_export import export_banks
    from app.content.framework_export import export_certificates, export_documents
    from app.content.learning_export import export_paths
    from app.content.office_functions_export import export_office_functions
    from app.framework.versions import content_of, published_version

    version = published_version(db.session(), code)
    if version is None:
        click.echo(f"No published version of framework {code}.", err=True)
        sys.exit(1)
    content = content_of(db.session(), version)
    framework_text, profiles_text = export_documents(content)
    certificates_text = export_certificates(content)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "framework.yaml").write_text(framework_text, encoding="utf-8")
    (out_dir / "role-profiles.yaml").write_text(profiles_text, encoding="utf-8")
    if certificates_text is not None:
        (out_dir / "certificates.yaml").write_text(certificates_text, encoding="utf-8")
    click.echo(f"Exported {code} version {version.number} to {out_dir}.")
    functions_text = export_office_functions(db.session())
    if functions_text is not None:
        (out_dir / "office-functions.yaml").write_text(functions_text, encoding="utf-8")
        click.echo(f"Exported the office functions to {out_dir / 'office-functions.yaml'}.")
    paths = export_paths(db.session())
    if paths:
        (out_dir / "learning").mkdir(exist_ok=True)
        for name, text in paths.items():
            (out_dir / "learning" / name).write_text(text, encoding="utf-8")
        click.echo(f"Exported {len(paths)} learning path(s) to {out_dir / 'learning'}.")
    banks = export_banks(db.session(), out_dir / "assessments")
    if banks:
        click.echo(f"Exported {len(banks)} question bank(s) to {out_dir / 'assessments'}.")
    definitions = export_definitions(db.session(), out_dir / "assessments")
    if definitions:
        click.echo(f"Exported the assessments to {definitions}.")
