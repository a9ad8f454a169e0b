"""personal data export, erasure and retention

When a person's record was anonymised (people.anonymised_at), and when the retention rule
deleted a staff import's file (import_batches.file_deleted_at).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 21:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("anonymised_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("import_batches") as batch:
        batch.add_column(sa.Column("file_deleted_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("import_batches") as batch:
        batch.drop_column("file_deleted_at")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("anonymised_at")
