"""a person's leaving date: the last day of employment, from HR (stored by the staff import)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 15:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("leaving_date", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("people") as batch:
        batch.drop_column("leaving_date")
