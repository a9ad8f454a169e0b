"""assessments: question banks and their versions, items and their immutable versions,
scenarios and data packs (stimuli) and their versions, assessments with their sections and
certified levels, attempts with their drawn items and answers, and item statistics

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 15:24:25.322170

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "question_banks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_banks")),
        sa.UniqueConstraint("code", name=op.f("uq_question_banks_code")),
    )
    op.create_table(
        "assessment_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["question_banks.id"],
            name=op.f("fk_assessment_items_bank_id_question_banks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_items")),
        sa.UniqueConstraint("code", name=op.f("uq_assessment_items_code")),
    )
    with op.batch_alter_table("assessment_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessment_items_bank_id"), ["bank_id"], unique=False)

    op.create_table(
        "assessment_stimuli",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "scenario",
                "data_pack",
                name="stimulus_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["question_banks.id"],
            name=op.f("fk_assessment_stimuli_bank_id_question_banks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_stimuli")),
        sa.UniqueConstraint("code", name=op.f("uq_assessment_stimuli_code")),
    )
    with op.batch_alter_table("assessment_stimuli", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_stimuli_bank_id"), ["bank_id"], unique=False
        )

    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "retired",
                name="assessment_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("pass_percent", sa.Integer(), nullable=False),
        sa.Column("time_limit_minutes", sa.Integer(), nullable=True),
        sa.Column("grace_seconds", sa.Integer(), nullable=False),
        sa.Column("attempt_limit", sa.Integer(), nullable=True),
        sa.Column("wait_minutes", sa.Integer(), nullable=False),
        sa.Column("shuffle_items", sa.Boolean(), nullable=False),
        sa.Column("shuffle_options", sa.Boolean(), nullable=False),
        sa.Column(
            "feedback",
            sa.Enum(
                "none",
                "after_submission",
                "after_close",
                name="feedback_policy",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("opens_at", sa.DateTime(), nullable=True),
        sa.Column("closes_at", sa.DateTime(), nullable=True),
        sa.Column("module_code", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "attempt_limit IS NULL OR attempt_limit >= 1",
            name=op.f("ck_assessments_attempt_limit_positive"),
        ),
        sa.CheckConstraint(
            "grace_seconds BETWEEN 0 AND 600", name=op.f("ck_assessments_grace_in_range")
        ),
        sa.CheckConstraint(
            "opens_at IS NULL OR closes_at IS NULL OR closes_at > opens_at",
            name=op.f("ck_assessments_closes_after_opening"),
        ),
        sa.CheckConstraint(
            "pass_percent BETWEEN 0 AND 100", name=op.f("ck_assessments_pass_percent_in_range")
        ),
        sa.CheckConstraint(
            "time_limit_minutes IS NULL OR time_limit_minutes BETWEEN 1 AND 1440",
            name=op.f("ck_assessments_time_limit_in_range"),
        ),
        sa.CheckConstraint("wait_minutes >= 0", name=op.f("ck_assessments_wait_not_negative")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_assessments_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
        sa.UniqueConstraint("code", name=op.f("uq_assessments_code")),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessments_module_code"), ["module_code"], unique=False
        )

    op.create_table(
        "bank_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "retired",
                name="bank_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "format",
            sa.Enum(
                "foundation",
                "practitioner",
                "role",
                "knowledge-check",
                name="bank_format",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("original_work", sa.Boolean(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["question_banks.id"],
            name=op.f("fk_bank_versions_bank_id_question_banks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_bank_versions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"], ["users.id"], name=op.f("fk_bank_versions_published_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_versions")),
        sa.UniqueConstraint("bank_id", "number", name="uq_bank_versions_number"),
    )
    with op.batch_alter_table("bank_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_versions_bank_id"), ["bank_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bank_versions_status"), ["status"], unique=False)

    op.create_table(
        "stimulus_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stimulus_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_stimulus_versions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["stimulus_id"],
            ["assessment_stimuli.id"],
            name=op.f("fk_stimulus_versions_stimulus_id_assessment_stimuli"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stimulus_versions")),
        sa.UniqueConstraint("stimulus_id", "number", name="uq_stimulus_versions_number"),
    )
    with op.batch_alter_table("stimulus_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stimulus_versions_stimulus_id"), ["stimulus_id"], unique=False
        )

    op.create_table(
        "assessment_certifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("competency_code", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "level BETWEEN 1 AND 5", name=op.f("ck_assessment_certifications_level_on_scale")
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_assessment_certifications_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_certifications")),
        sa.UniqueConstraint(
            "assessment_id", "competency_code", name="uq_assessment_certifications_code"
        ),
    )
    with op.batch_alter_table("assessment_certifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_certifications_competency_code"),
            ["competency_code"],
            unique=False,
        )

    op.create_table(
        "assessment_sections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column(
            "unit",
            sa.Enum(
                "item",
                "scenario",
                name="draw_unit",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("unscored", sa.Integer(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("competencies", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "count BETWEEN 1 AND 500", name=op.f("ck_assessment_sections_count_in_range")
        ),
        sa.CheckConstraint(
            "unscored >= 0 AND unscored < count",
            name=op.f("ck_assessment_sections_unscored_in_range"),
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_assessment_sections_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["question_banks.id"],
            name=op.f("fk_assessment_sections_bank_id_question_banks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_sections")),
        sa.UniqueConstraint("assessment_id", "position", name="uq_assessment_sections_position"),
    )
    with op.batch_alter_table("assessment_sections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_sections_assessment_id"), ["assessment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_assessment_sections_bank_id"), ["bank_id"], unique=False
        )

    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "in_progress",
                "submitted",
                "timed_out",
                name="attempt_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("deadline", sa.DateTime(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("pass_percent", sa.Integer(), nullable=False),
        sa.Column("marks", sa.Integer(), nullable=True),
        sa.Column("max_marks", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("certified", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "deadline IS NULL OR deadline > started_at",
            name=op.f("ck_attempts_deadline_after_start"),
        ),
        sa.CheckConstraint(
            "marks IS NULL OR (max_marks IS NOT NULL AND marks BETWEEN 0 AND max_marks)",
            name=op.f("ck_attempts_marks_in_range"),
        ),
        sa.CheckConstraint("number >= 1", name=op.f("ck_attempts_number_positive")),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_attempts_assessment_id_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_attempts_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
        sa.UniqueConstraint(
            "person_id", "assessment_id", "number", name="uq_attempts_person_assessment_number"
        ),
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attempts_assessment_status", ["assessment_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_attempts_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_attempts_status_deadline", ["status", "deadline"], unique=False)

    op.create_table(
        "bank_stimuli",
        sa.Column("bank_version_id", sa.Integer(), nullable=False),
        sa.Column("stimulus_version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_version_id"],
            ["bank_versions.id"],
            name=op.f("fk_bank_stimuli_bank_version_id_bank_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stimulus_version_id"],
            ["stimulus_versions.id"],
            name=op.f("fk_bank_stimuli_stimulus_version_id_stimulus_versions"),
        ),
        sa.PrimaryKeyConstraint(
            "bank_version_id", "stimulus_version_id", name=op.f("pk_bank_stimuli")
        ),
        sa.UniqueConstraint("bank_version_id", "position", name="uq_bank_stimuli_position"),
    )
    with op.batch_alter_table("bank_stimuli", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bank_stimuli_stimulus_version_id"), ["stimulus_version_id"], unique=False
        )

    op.create_table(
        "item_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "single",
                "multiple",
                "true-false",
                "matching",
                "sequencing",
                "assertion-reason",
                name="item_type",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("topic", sa.String(length=16), nullable=False),
        sa.Column("competency_code", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("scenario_version_id", sa.Integer(), nullable=True),
        sa.Column("data_pack_version_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("level BETWEEN 1 AND 5", name=op.f("ck_item_versions_level_on_scale")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_item_versions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["data_pack_version_id"],
            ["stimulus_versions.id"],
            name=op.f("fk_item_versions_data_pack_version_id_stimulus_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["assessment_items.id"],
            name=op.f("fk_item_versions_item_id_assessment_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scenario_version_id"],
            ["stimulus_versions.id"],
            name=op.f("fk_item_versions_scenario_version_id_stimulus_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_versions")),
        sa.UniqueConstraint("item_id", "number", name="uq_item_versions_number"),
    )
    with op.batch_alter_table("item_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_item_versions_competency_level", ["competency_code", "level"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_item_versions_data_pack_version_id"),
            ["data_pack_version_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_item_versions_item_id"), ["item_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_item_versions_scenario_version_id"),
            ["scenario_version_id"],
            unique=False,
        )

    op.create_table(
        "attempt_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("section", sa.Integer(), nullable=False),
        sa.Column("item_version_id", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Boolean(), nullable=False),
        sa.Column("presentation", sa.JSON(), nullable=False),
        sa.Column("answer", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("marks", sa.Integer(), nullable=True),
        sa.Column("max_marks", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "marks IS NULL OR marks BETWEEN 0 AND max_marks",
            name=op.f("ck_attempt_items_marks_in_range"),
        ),
        sa.CheckConstraint("revision >= 0", name=op.f("ck_attempt_items_revision_not_negative")),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_attempt_items_attempt_id_attempts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_version_id"],
            ["item_versions.id"],
            name=op.f("fk_attempt_items_item_version_id_item_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempt_items")),
        sa.UniqueConstraint("attempt_id", "item_version_id", name="uq_attempt_items_item_version"),
        sa.UniqueConstraint("attempt_id", "position", name="uq_attempt_items_position"),
    )
    with op.batch_alter_table("attempt_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attempt_items_item_version_id"), ["item_version_id"], unique=False
        )

    op.create_table(
        "bank_entries",
        sa.Column("bank_version_id", sa.Integer(), nullable=False),
        sa.Column("item_version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_version_id"],
            ["bank_versions.id"],
            name=op.f("fk_bank_entries_bank_version_id_bank_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_version_id"],
            ["item_versions.id"],
            name=op.f("fk_bank_entries_item_version_id_item_versions"),
        ),
        sa.PrimaryKeyConstraint("bank_version_id", "item_version_id", name=op.f("pk_bank_entries")),
        sa.UniqueConstraint("bank_version_id", "position", name="uq_bank_entries_position"),
    )
    with op.batch_alter_table("bank_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bank_entries_item_version_id"), ["item_version_id"], unique=False
        )

    op.create_table(
        "item_statistics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("item_version_id", sa.Integer(), nullable=False),
        sa.Column("responses", sa.Integer(), nullable=False),
        sa.Column("facility", sa.Double(), nullable=True),
        sa.Column("discrimination", sa.Double(), nullable=True),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "responses >= 0", name=op.f("ck_item_statistics_responses_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_item_statistics_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_version_id"],
            ["item_versions.id"],
            name=op.f("fk_item_statistics_item_version_id_item_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_statistics")),
        sa.UniqueConstraint(
            "assessment_id", "item_version_id", name="uq_item_statistics_assessment_item"
        ),
    )
    with op.batch_alter_table("item_statistics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_item_statistics_item_version_id"), ["item_version_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("item_statistics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_statistics_item_version_id"))

    op.drop_table("item_statistics")
    with op.batch_alter_table("bank_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_entries_item_version_id"))

    op.drop_table("bank_entries")
    with op.batch_alter_table("attempt_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempt_items_item_version_id"))

    op.drop_table("attempt_items")
    with op.batch_alter_table("item_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_versions_scenario_version_id"))
        batch_op.drop_index(batch_op.f("ix_item_versions_item_id"))
        batch_op.drop_index(batch_op.f("ix_item_versions_data_pack_version_id"))
        batch_op.drop_index("ix_item_versions_competency_level")

    op.drop_table("item_versions")
    with op.batch_alter_table("bank_stimuli", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_stimuli_stimulus_version_id"))

    op.drop_table("bank_stimuli")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_attempts_status_deadline")
        batch_op.drop_index(batch_op.f("ix_attempts_person_id"))
        batch_op.drop_index("ix_attempts_assessment_status")

    op.drop_table("attempts")
    with op.batch_alter_table("assessment_sections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_sections_bank_id"))
        batch_op.drop_index(batch_op.f("ix_assessment_sections_assessment_id"))

    op.drop_table("assessment_sections")
    with op.batch_alter_table("assessment_certifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_certifications_competency_code"))

    op.drop_table("assessment_certifications")
    with op.batch_alter_table("stimulus_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stimulus_versions_stimulus_id"))

    op.drop_table("stimulus_versions")
    with op.batch_alter_table("bank_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_versions_status"))
        batch_op.drop_index(batch_op.f("ix_bank_versions_bank_id"))

    op.drop_table("bank_versions")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessments_module_code"))

    op.drop_table("assessments")
    with op.batch_alter_table("assessment_stimuli", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_stimuli_bank_id"))

    op.drop_table("assessment_stimuli")
    with op.batch_alter_table("assessment_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_items_bank_id"))

    op.drop_table("assessment_items")
    op.drop_table("question_banks")
