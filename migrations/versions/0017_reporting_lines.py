"""reporting-line closure table: every (manager, person) pair down the line, for indexed
"a manager and everyone below them" look-ups (app.org.lines keeps it)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 05:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reporting_lines",
        sa.Column("manager_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["people.id"],
            name=op.f("fk_reporting_lines_manager_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_reporting_lines_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("manager_id", "person_id", name=op.f("pk_reporting_lines")),
    )
    with op.batch_alter_table("reporting_lines") as batch:
        batch.create_index(batch.f("ix_reporting_lines_person_id"), ["person_id"], unique=False)
    # The line as it stands: each person with themself, then with each manager above them.
    op.execute(
        """
        INSERT INTO reporting_lines (manager_id, person_id, depth)
        WITH RECURSIVE walk(person_id, manager_id, depth) AS (
            SELECT id, id, 0 FROM people
            UNION ALL
            SELECT walk.person_id, people.line_manager_id, walk.depth + 1
            FROM walk JOIN people ON people.id = walk.manager_id
            WHERE people.line_manager_id IS NOT NULL AND walk.depth < 64
        )
        SELECT manager_id, person_id, depth FROM walk
        """
    )


def downgrade():
    with op.batch_alter_table("reporting_lines") as batch:
        batch.drop_index(batch.f("ix_reporting_lines_person_id"))
    op.drop_table("reporting_lines")
