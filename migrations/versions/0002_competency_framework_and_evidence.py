"""competency framework and evidence

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 12:24:13.546601

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "frameworks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_frameworks")),
        sa.UniqueConstraint("code", name=op.f("uq_frameworks_code")),
    )
    op.create_table(
        "framework_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "retired",
                name="version_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_framework_versions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["framework_id"],
            ["frameworks.id"],
            name=op.f("fk_framework_versions_framework_id_frameworks"),
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["users.id"],
            name=op.f("fk_framework_versions_published_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_framework_versions")),
        sa.UniqueConstraint("framework_id", "number", name="uq_framework_versions_number"),
    )
    with op.batch_alter_table("framework_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_framework_versions_framework_id"), ["framework_id"], unique=False
        )

    op.create_table(
        "competency_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["framework_versions.id"],
            name=op.f("fk_competency_groups_version_id_framework_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competency_groups")),
        sa.UniqueConstraint("version_id", "code", name="uq_competency_groups_code"),
    )
    with op.batch_alter_table("competency_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_competency_groups_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "evidence_caps",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "assessment",
                "module_completion",
                "external_certificate",
                "self_rating",
                "manager_rating",
                "assessor_observation",
                "prior_learning",
                name="evidence_source",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("max_level", sa.Integer(), nullable=False),
        sa.CheckConstraint("max_level BETWEEN 0 AND 5", name=op.f("ck_evidence_caps_cap_on_scale")),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["framework_versions.id"],
            name=op.f("fk_evidence_caps_version_id_framework_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "source", name=op.f("pk_evidence_caps")),
    )
    op.create_table(
        "proficiency_levels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("descriptor", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "level BETWEEN 0 AND 5", name=op.f("ck_proficiency_levels_level_on_scale")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["framework_versions.id"],
            name=op.f("fk_proficiency_levels_version_id_framework_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proficiency_levels")),
        sa.UniqueConstraint("version_id", "level", name="uq_proficiency_levels_level"),
    )
    with op.batch_alter_table("proficiency_levels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_proficiency_levels_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "competencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["competency_groups.id"],
            name=op.f("fk_competencies_group_id_competency_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["framework_versions.id"],
            name=op.f("fk_competencies_version_id_framework_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competencies")),
        sa.UniqueConstraint("version_id", "code", name="uq_competencies_code"),
    )
    with op.batch_alter_table("competencies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_competencies_group_id"), ["group_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_competencies_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("competency_id", sa.Integer(), nullable=False),
        sa.Column("competency_code", sa.String(length=16), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "assessment",
                "module_completion",
                "external_certificate",
                "self_rating",
                "manager_rating",
                "assessor_observation",
                "prior_learning",
                name="evidence_source",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("achieved_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("validated", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "accepted",
                "adjusted",
                "rejected",
                "in_calibration",
                "withdrawn",
                name="rating_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("responds_to_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "expires_on IS NULL OR expires_on >= achieved_on", name=op.f("ck_evidence_expiry_after")
        ),
        sa.CheckConstraint("level BETWEEN 0 AND 5", name=op.f("ck_evidence_level_on_scale")),
        sa.ForeignKeyConstraint(
            ["competency_id"],
            ["competencies.id"],
            name=op.f("fk_evidence_competency_id_competencies"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_evidence_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_evidence_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["responds_to_id"], ["evidence.id"], name=op.f("fk_evidence_responds_to_id_evidence")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_competency_id"), ["competency_id"], unique=False
        )
        batch_op.create_index(
            "ix_evidence_person_code", ["person_id", "competency_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_evidence_status"), ["status"], unique=False)

    op.create_table(
        "role_requirements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("competency_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("essential", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "level BETWEEN 1 AND 5", name=op.f("ck_role_requirements_level_on_scale")
        ),
        sa.ForeignKeyConstraint(
            ["competency_id"],
            ["competencies.id"],
            name=op.f("fk_role_requirements_competency_id_competencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_role_requirements_role_id_roles")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["framework_versions.id"],
            name=op.f("fk_role_requirements_version_id_framework_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_requirements")),
        sa.UniqueConstraint(
            "version_id", "role_id", "competency_id", name="uq_role_requirements_once"
        ),
    )
    with op.batch_alter_table("role_requirements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_role_requirements_competency_id"), ["competency_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_role_requirements_role_id"), ["role_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_role_requirements_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "calibrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("self_rating_id", sa.Integer(), nullable=False),
        sa.Column("self_level", sa.Integer(), nullable=False),
        sa.Column("manager_level", sa.Integer(), nullable=False),
        sa.Column("manager_comment", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "resolved",
                name="calibration_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("opened_by_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_level", sa.Integer(), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["opened_by_id"], ["users.id"], name=op.f("fk_calibrations_opened_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_calibrations_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["users.id"], name=op.f("fk_calibrations_resolved_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["self_rating_id"],
            ["evidence.id"],
            name=op.f("fk_calibrations_self_rating_id_evidence"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibrations")),
    )
    with op.batch_alter_table("calibrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calibrations_person_id"), ["person_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_calibrations_self_rating_id"), ["self_rating_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_calibrations_status"), ["status"], unique=False)

    op.create_table(
        "validation_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column(
            "decision",
            sa.Enum(
                "accept",
                "adjust",
                "reject",
                name="decision",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_validation_decisions_decided_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence.id"],
            name=op.f("fk_validation_decisions_evidence_id_evidence"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_decisions")),
    )
    with op.batch_alter_table("validation_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_validation_decisions_evidence_id"), ["evidence_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("validation_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_validation_decisions_evidence_id"))

    op.drop_table("validation_decisions")
    with op.batch_alter_table("calibrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calibrations_status"))
        batch_op.drop_index(batch_op.f("ix_calibrations_self_rating_id"))
        batch_op.drop_index(batch_op.f("ix_calibrations_person_id"))

    op.drop_table("calibrations")
    with op.batch_alter_table("role_requirements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_role_requirements_version_id"))
        batch_op.drop_index(batch_op.f("ix_role_requirements_role_id"))
        batch_op.drop_index(batch_op.f("ix_role_requirements_competency_id"))

    op.drop_table("role_requirements")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_status"))
        batch_op.drop_index("ix_evidence_person_code")
        batch_op.drop_index(batch_op.f("ix_evidence_competency_id"))

    op.drop_table("evidence")
    with op.batch_alter_table("competencies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_competencies_version_id"))
        batch_op.drop_index(batch_op.f("ix_competencies_group_id"))

    op.drop_table("competencies")
    with op.batch_alter_table("proficiency_levels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proficiency_levels_version_id"))

    op.drop_table("proficiency_levels")
    op.drop_table("evidence_caps")
    with op.batch_alter_table("competency_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_competency_groups_version_id"))

    op.drop_table("competency_groups")
    with op.batch_alter_table("framework_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_framework_versions_framework_id"))

    op.drop_table("framework_versions")
    op.drop_table("frameworks")
