"""The migrations build, on an empty database of every backend, exactly the schema the models
describe; and they run down to nothing and back up again."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from app.extensions import db
from tests.conftest import BACKENDS, database_for, make_app


def schema_differences() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def table_names() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def current_revision() -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(app) -> str:
    script = ScriptDirectory.from_config(
        app.extensions["migrate"].migrate.get_config(app.extensions["migrate"].directory)
    )
    heads = script.get_heads()
    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    return heads[0]


@pytest.fixture(params=BACKENDS)
def empty_app(request, tmp_path_factory):
    """An app on a brand-new, empty database (not the suite's shared one)."""
    with database_for(request.param, tmp_path_factory) as url:
        app = make_app(url)
        with app.app_context():
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()


def test_upgrade_on_an_empty_database_matches_the_models(empty_app):
    assert table_names() == set()
    upgrade()
    assert current_revision() == head_revision(empty_app)
    assert table_names() == set(db.metadata.tables) | {"alembic_version"}
    differences = schema_differences()
    assert differences == [], "models and migrations disagree:\n" + "\n".join(
        map(repr, differences)
    )


def test_downgrade_to_base_then_upgrade_again(empty_app):
    upgrade()
    downgrade(revision="base")
    assert table_names() <= {"alembic_version"}
    assert current_revision() is None
    upgrade()
    assert current_revision() == head_revision(empty_app)
    assert schema_differences() == []


def test_comparison_notices_a_model_the_migrations_lack(empty_app):
    """The check above can fail: a table in the metadata but not in the database is seen."""
    upgrade()
    extra = sa.Table("not_migrated", db.metadata, sa.Column("id", sa.Integer, primary_key=True))
    try:
        differences = schema_differences()
    finally:
        db.metadata.remove(extra)
    assert [d[0] for d in differences] == ["add_table"]
    assert differences[0][1].name == "not_migrated"


def test_check_constraints_match_the_models(empty_app):
    """compare_metadata does not look at CHECK constraints, which guard every enum column:
    a value added to an enum in the models without a migration would be refused by the
    database. Compare their names, and the allowed values of each enum's check."""
    upgrade()
    inspector = sa.inspect(db.engine)
    for table in db.metadata.sorted_tables:
        in_db = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table.name)}
        in_models = {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)}
        assert set(in_db) == in_models, table.name
        for column in table.columns:
            if isinstance(column.type, sa.Enum) and column.type.create_constraint:
                name = f"ck_{table.name}_{column.type.name}"
                allowed = set(re.findall(r"'([^']*)'", in_db[name]))
                assert allowed == set(column.type.enums), f"{table.name}.{column.name}"
