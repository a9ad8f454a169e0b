"""The registry of personal-data providers covers every table that names a person (Moodle's
Privacy API, RELIABILITY.md I1): a new table with a person or account column, or a child
of a table about a person, fails here until a provider covers it or it is declared to hold
no personal data, with a reason."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, Text

from app import models  # noqa: F401  (every model on the metadata)
from app.extensions import Model
from app.privacy.providers import PROVIDERS
from app.privacy.registry import NOT_PERSONAL, coverage_problems, person_columns


def test_every_table_that_names_a_person_is_covered():
    problems = coverage_problems(Model.metadata, PROVIDERS)
    assert problems == [], "\n".join(problems)
    # and the check looks at something: every person and account column of the schema
    assert len(person_columns(Model.metadata)) >= 40


def _metadata_with(*tables: tuple[str, list[Column]]) -> MetaData:
    metadata = MetaData()
    for table in Model.metadata.sorted_tables:
        table.to_metadata(metadata)
    for name, columns in tables:
        Table(name, metadata, Column("id", Integer, primary_key=True), *columns)
    return metadata


def test_a_new_table_naming_a_person_fails_until_it_is_declared():
    metadata = _metadata_with(
        ("coaching_notes", [Column("coach_id", ForeignKey("people.id")), Column("body", Text)])
    )
    problems = coverage_problems(metadata, PROVIDERS)
    assert len(problems) == 1 and problems[0].startswith("coaching_notes.coach_id names a person")
    declared = {("coaching_notes", "coach_id"): "the coach's id only; the notes are drafts"}
    assert coverage_problems(metadata, PROVIDERS, {**NOT_PERSONAL, **declared}) == []
    blank = {("coaching_notes", "coach_id"): " "}
    assert "without a reason" in coverage_problems(metadata, PROVIDERS, blank)[0]


def test_a_column_named_for_a_person_counts_without_a_foreign_key():
    metadata = _metadata_with(("login_history", [Column("user_id", Integer)]))
    assert coverage_problems(metadata, PROVIDERS)[0].startswith("login_history.user_id")


def test_a_child_of_a_table_about_a_person_fails_until_it_is_declared():
    metadata = _metadata_with(
        ("attempt_comments", [Column("attempt_id", ForeignKey("attempts.id")), Column("t", Text)])
    )
    problems = coverage_problems(metadata, PROVIDERS)
    assert problems == [
        "attempt_comments.attempt_id points at a table whose rows are about a person, but no "
        "provider covers it"
    ]


def test_a_declaration_of_a_column_that_does_not_exist_fails():
    metadata = _metadata_with(("notes", [Column("text", String(10))]))
    stale = {("notes", "person_id"): "gone"}
    assert "no such column" in coverage_problems(metadata, PROVIDERS, stale)[0]


def test_each_column_is_declared_once():
    twice = {("evidence", "person_id"): "declared by capability already"}
    problems = coverage_problems(Model.metadata, PROVIDERS, {**NOT_PERSONAL, **twice})
    assert problems == ["evidence.person_id is declared twice (capability, NOT_PERSONAL)"]


def test_every_provider_describes_what_its_download_holds():
    kinds = [kind for p in PROVIDERS for kind in p.kinds]
    assert len(kinds) == len(set(kinds))
    for provider in PROVIDERS:
        assert all(text.strip() for text in provider.kinds.values()), provider.name
        assert all(text.strip() for text in provider.actions.values()), provider.name
