"""staff imports

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 12:33:19.849758

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("shape_key", sa.String(length=32), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "uploaded",
                "applied",
                "discarded",
                "failed",
                name="batch_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("value_maps", sa.JSON(), nullable=False),
        sa.Column("full_sync", sa.Boolean(), nullable=False),
        sa.Column("skip_errors", sa.Boolean(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("issues", sa.JSON(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_import_batches_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_batches_sha256"), ["sha256"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_import_batches_shape_key"), ["shape_key"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_import_batches_status"), ["status"], unique=False)

    op.create_table(
        "import_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shape_key", sa.String(length=32), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("value_maps", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_import_mappings_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_mappings")),
        sa.UniqueConstraint("shape_key", name=op.f("uq_import_mappings_shape_key")),
    )


def downgrade():
    op.drop_table("import_mappings")
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_batches_status"))
        batch_op.drop_index(batch_op.f("ix_import_batches_shape_key"))
        batch_op.drop_index(batch_op.f("ix_import_batches_sha256"))

    op.drop_table("import_batches")
