"""learning paths: versions, modules, prerequisites and audience, enrolment rules,
enrolments and module completions, classroom sessions and bookings, certificates of
completion, external certificates, CPD records and the reminder log

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 15:01:11.626665

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "learning_paths",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_paths")),
        sa.UniqueConstraint("code", name=op.f("uq_learning_paths_code")),
    )
    op.create_table(
        "reminder_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("recipient", sa.String(length=255), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_reminder_log_person_id_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_log")),
        sa.UniqueConstraint("key", name=op.f("uq_reminder_log_key")),
    )
    with op.batch_alter_table("reminder_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_log_person_id"), ["person_id"], unique=False)

    op.create_table(
        "class_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path_id", sa.Integer(), nullable=False),
        sa.Column("module_code", sa.String(length=16), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("trainer_id", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("attendance_recorded_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "capacity BETWEEN 1 AND 500", name=op.f("ck_class_sessions_capacity_in_range")
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_class_sessions_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_class_sessions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["path_id"],
            ["learning_paths.id"],
            name=op.f("fk_class_sessions_path_id_learning_paths"),
        ),
        sa.ForeignKeyConstraint(
            ["trainer_id"], ["users.id"], name=op.f("fk_class_sessions_trainer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_class_sessions")),
    )
    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_class_sessions_module", ["path_id", "module_code", "starts_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_class_sessions_starts_at"), ["starts_at"], unique=False
        )

    op.create_table(
        "enrolment_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("due_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "due_days BETWEEN 1 AND 730", name=op.f("ck_enrolment_rules_due_days_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_enrolment_rules_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["path_id"],
            ["learning_paths.id"],
            name=op.f("fk_enrolment_rules_path_id_learning_paths"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_enrolment_rules_role_id_roles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_rules")),
        sa.UniqueConstraint("path_id", "role_id", name="uq_enrolment_rules_path_role"),
    )
    with op.batch_alter_table("enrolment_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolment_rules_role_id"), ["role_id"], unique=False)

    op.create_table(
        "path_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "retired",
                name="path_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("open_enrolment", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_path_versions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["path_id"],
            ["learning_paths.id"],
            name=op.f("fk_path_versions_path_id_learning_paths"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"], ["users.id"], name=op.f("fk_path_versions_published_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_path_versions")),
        sa.UniqueConstraint("path_id", "number", name="uq_path_versions_number"),
    )
    with op.batch_alter_table("path_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_path_versions_path_id"), ["path_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_path_versions_status"), ["status"], unique=False)

    op.create_table(
        "enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("path_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "completed",
                "withdrawn",
                name="enrolment_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.Enum(
                "hand",
                "rule",
                "self",
                name="enrolment_source",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(), nullable=False),
        sa.Column("enrolled_by_id", sa.Integer(), nullable=True),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrolled_by_id"], ["users.id"], name=op.f("fk_enrolments_enrolled_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["path_id"], ["learning_paths.id"], name=op.f("fk_enrolments_path_id_learning_paths")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_enrolments_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["enrolment_rules.id"],
            name=op.f("fk_enrolments_rule_id_enrolment_rules"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["path_versions.id"],
            name=op.f("fk_enrolments_version_id_path_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
        sa.UniqueConstraint("person_id", "path_id", name="uq_enrolments_person_path"),
    )
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolments_path_id"), ["path_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrolments_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_enrolments_status_due", ["status", "due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrolments_version_id"), ["version_id"], unique=False)

    op.create_table(
        "path_audience",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_path_audience_role_id_roles")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["path_versions.id"],
            name=op.f("fk_path_audience_version_id_path_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "role_id", name=op.f("pk_path_audience")),
    )
    with op.batch_alter_table("path_audience", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_path_audience_role_id"), ["role_id"], unique=False)

    op.create_table(
        "path_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_path_changes_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["path_id"],
            ["learning_paths.id"],
            name=op.f("fk_path_changes_path_id_learning_paths"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["path_versions.id"],
            name=op.f("fk_path_changes_version_id_path_versions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_path_changes")),
    )
    with op.batch_alter_table("path_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_path_changes_path_id"), ["path_id"], unique=False)

    op.create_table(
        "path_modules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "e-learning",
                "reading",
                "classroom",
                "workshop",
                "on-the-job",
                "assessment",
                name="module_type",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("optional", sa.Boolean(), nullable=False),
        sa.Column("requires", sa.JSON(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("lesson", sa.Text(), nullable=False),
        sa.Column("assessment_code", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "minutes BETWEEN 1 AND 2400", name=op.f("ck_path_modules_minutes_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["path_versions.id"],
            name=op.f("fk_path_modules_version_id_path_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_path_modules")),
        sa.UniqueConstraint("version_id", "code", name="uq_path_modules_code"),
    )
    with op.batch_alter_table("path_modules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_path_modules_code"), ["code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_path_modules_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "path_prerequisites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("alternative_set", sa.Integer(), nullable=False),
        sa.Column("path_code", sa.String(length=12), nullable=True),
        sa.Column("certificate_code", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            "(path_code IS NULL) <> (certificate_code IS NULL)",
            name=op.f("ck_path_prerequisites_path_or_certificate"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["path_versions.id"],
            name=op.f("fk_path_prerequisites_version_id_path_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_path_prerequisites")),
    )
    with op.batch_alter_table("path_prerequisites", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_path_prerequisites_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "session_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "booked",
                "waitlisted",
                "cancelled",
                name="booking_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("booked_at", sa.DateTime(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_session_bookings_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["class_sessions.id"],
            name=op.f("fk_session_bookings_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_bookings")),
        sa.UniqueConstraint("session_id", "person_id", name="uq_bookings_once"),
    )
    with op.batch_alter_table("session_bookings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_bookings_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "completion_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("learner_name", sa.String(length=200), nullable=False),
        sa.Column("path_code", sa.String(length=12), nullable=False),
        sa.Column("path_title", sa.String(length=200), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("competencies", sa.JSON(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=False),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.id"],
            name=op.f("fk_completion_certificates_enrolment_id_enrolments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_completion_certificates_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"],
            ["users.id"],
            name=op.f("fk_completion_certificates_revoked_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_completion_certificates")),
        sa.UniqueConstraint("code", name=op.f("uq_completion_certificates_code")),
        sa.UniqueConstraint("enrolment_id", name=op.f("uq_completion_certificates_enrolment_id")),
    )
    with op.batch_alter_table("completion_certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_completion_certificates_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "module_completions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("module_code", sa.String(length=16), nullable=False),
        sa.Column(
            "method",
            sa.Enum(
                "self",
                "attendance",
                "sign_off",
                "assessment",
                name="completion_method",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(), nullable=False),
        sa.Column("reflection", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.id"],
            name=op.f("fk_module_completions_enrolment_id_enrolments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["path_modules.id"],
            name=op.f("fk_module_completions_module_id_path_modules"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_module_completions_recorded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_module_completions")),
        sa.UniqueConstraint("enrolment_id", "module_code", name="uq_module_completions_once"),
    )
    with op.batch_alter_table("module_completions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_module_completions_module_id"), ["module_id"], unique=False
        )

    op.create_table(
        "module_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("competency_code", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.CheckConstraint("level BETWEEN 1 AND 5", name=op.f("ck_module_evidence_level_on_scale")),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["path_modules.id"],
            name=op.f("fk_module_evidence_module_id_path_modules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_module_evidence")),
        sa.UniqueConstraint("module_id", "competency_code", name="uq_module_evidence_code"),
    )
    with op.batch_alter_table("module_evidence", schema=None) as batch_op:
        batch_op.create_index(
            "ix_module_evidence_code_level", ["competency_code", "level"], unique=False
        )

    op.create_table(
        "external_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("certificate_code", sa.String(length=16), nullable=True),
        sa.Column("other_name", sa.String(length=200), nullable=True),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("file_name", sa.String(length=80), nullable=True),
        sa.Column("file_type", sa.String(length=40), nullable=True),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("file_size", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "verified",
                "rejected",
                name="external_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("review_reason", sa.Text(), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(certificate_code IS NULL) <> (other_name IS NULL)",
            name=op.f("ck_external_certificates_catalogue_or_other"),
        ),
        sa.CheckConstraint(
            "expires_on IS NULL OR expires_on >= issued_on",
            name=op.f("ck_external_certificates_expiry_after"),
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence.id"],
            name=op.f("fk_external_certificates_evidence_id_evidence"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_external_certificates_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["users.id"],
            name=op.f("fk_external_certificates_reviewed_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_certificates")),
    )
    with op.batch_alter_table("external_certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_external_certificates_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            "ix_external_certificates_status", ["status", "submitted_at"], unique=False
        )

    op.create_table(
        "cpd_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("activity", sa.String(length=200), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "minutes BETWEEN 1 AND 6000", name=op.f("ck_cpd_records_minutes_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["external_certificates.id"],
            name=op.f("fk_cpd_records_certificate_id_external_certificates"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_cpd_records_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cpd_records")),
    )
    with op.batch_alter_table("cpd_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cpd_records_person_id"), ["person_id"], unique=False)


def downgrade():
    with op.batch_alter_table("cpd_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cpd_records_person_id"))

    op.drop_table("cpd_records")
    with op.batch_alter_table("external_certificates", schema=None) as batch_op:
        batch_op.drop_index("ix_external_certificates_status")
        batch_op.drop_index(batch_op.f("ix_external_certificates_person_id"))

    op.drop_table("external_certificates")
    with op.batch_alter_table("module_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_module_evidence_code_level")

    op.drop_table("module_evidence")
    with op.batch_alter_table("module_completions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_module_completions_module_id"))

    op.drop_table("module_completions")
    with op.batch_alter_table("completion_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_completion_certificates_person_id"))

    op.drop_table("completion_certificates")
    with op.batch_alter_table("session_bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_bookings_person_id"))

    op.drop_table("session_bookings")
    with op.batch_alter_table("path_prerequisites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_path_prerequisites_version_id"))

    op.drop_table("path_prerequisites")
    with op.batch_alter_table("path_modules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_path_modules_version_id"))
        batch_op.drop_index(batch_op.f("ix_path_modules_code"))

    op.drop_table("path_modules")
    with op.batch_alter_table("path_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_path_changes_path_id"))

    op.drop_table("path_changes")
    with op.batch_alter_table("path_audience", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_path_audience_role_id"))

    op.drop_table("path_audience")
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolments_version_id"))
        batch_op.drop_index("ix_enrolments_status_due")
        batch_op.drop_index(batch_op.f("ix_enrolments_person_id"))
        batch_op.drop_index(batch_op.f("ix_enrolments_path_id"))

    op.drop_table("enrolments")
    with op.batch_alter_table("path_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_path_versions_status"))
        batch_op.drop_index(batch_op.f("ix_path_versions_path_id"))

    op.drop_table("path_versions")
    with op.batch_alter_table("enrolment_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_rules_role_id"))

    op.drop_table("enrolment_rules")
    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_class_sessions_starts_at"))
        batch_op.drop_index("ix_class_sessions_module")

    op.drop_table("class_sessions")
    with op.batch_alter_table("reminder_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_log_person_id"))

    op.drop_table("reminder_log")
    op.drop_table("learning_paths")
