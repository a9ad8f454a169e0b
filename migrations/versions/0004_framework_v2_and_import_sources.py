"""framework version 2 fields (scale notes, boundaries, certificate catalogue), role
aliases, the source of each role assignment, and the certificate behind evidence

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 14:05:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ASSIGNMENT_SOURCE = sa.Enum(
    "hand",
    "import",
    "rule",
    name="assignment_source",
    native_enum=False,
    create_constraint=True,
    length=16,
)


def upgrade():
    with op.batch_alter_table("roles") as batch:
        batch.add_column(sa.Column("aliases", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("role_assignments") as batch:
        batch.add_column(
            sa.Column("source", ASSIGNMENT_SOURCE, nullable=False, server_default="hand")
        )
    with op.batch_alter_table("proficiency_levels") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("competencies") as batch:
        batch.add_column(sa.Column("boundary", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("certificate_code", sa.String(length=16), nullable=True))
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("issuer", sa.String(length=120), nullable=False),
        sa.Column("expires", sa.Boolean(), nullable=False),
        sa.Column("max_level", sa.Integer(), nullable=False),
        sa.Column("evidences", sa.JSON(), nullable=False),
        sa.CheckConstraint("max_level BETWEEN 1 AND 5", name=op.f("ck_certificates_max_on_scale")),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["framework_versions.id"],
            name=op.f("fk_certificates_version_id_framework_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("version_id", "code", name="uq_certificates_code"),
    )
    with op.batch_alter_table("certificates") as batch:
        batch.create_index(batch.f("ix_certificates_version_id"), ["version_id"], unique=False)


def downgrade():
    with op.batch_alter_table("certificates") as batch:
        batch.drop_index(batch.f("ix_certificates_version_id"))
    op.drop_table("certificates")
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("certificate_code")
    with op.batch_alter_table("competencies") as batch:
        batch.drop_column("boundary")
    with op.batch_alter_table("proficiency_levels") as batch:
        batch.drop_column("note")
    with op.batch_alter_table("role_assignments") as batch:
        batch.drop_constraint("assignment_source", type_="check")
        batch.drop_column("source")
    with op.batch_alter_table("roles") as batch:
        batch.drop_column("aliases")
