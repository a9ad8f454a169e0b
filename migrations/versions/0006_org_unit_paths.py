"""org-unit closure table: every (ancestor, descendant) pair, for indexed subtree look-ups;
an index that serves the people lists (active people in name order)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 13:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "org_unit_paths",
        sa.Column("ancestor_id", sa.Integer(), nullable=False),
        sa.Column("descendant_id", sa.Integer(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ancestor_id"],
            ["org_units.id"],
            name=op.f("fk_org_unit_paths_ancestor_id_org_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["descendant_id"],
            ["org_units.id"],
            name=op.f("fk_org_unit_paths_descendant_id_org_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ancestor_id", "descendant_id", name=op.f("pk_org_unit_paths")),
    )
    with op.batch_alter_table("org_unit_paths") as batch:
        batch.create_index(
            batch.f("ix_org_unit_paths_descendant_id"), ["descendant_id"], unique=False
        )
    with op.batch_alter_table("people") as batch:
        batch.create_index(
            "ix_people_active_name", ["active", "last_name", "first_name"], unique=False
        )
    # The tree as it stands: each unit with itself, then each unit with every one below it.
    op.execute(
        """
        INSERT INTO org_unit_paths (ancestor_id, descendant_id, depth)
        WITH RECURSIVE paths(ancestor_id, descendant_id, depth) AS (
            SELECT id, id, 0 FROM org_units
            UNION ALL
            SELECT paths.ancestor_id, org_units.id, paths.depth + 1
            FROM paths JOIN org_units ON org_units.parent_id = paths.descendant_id
        )
        SELECT ancestor_id, descendant_id, depth FROM paths
        """
    )


def downgrade():
    with op.batch_alter_table("people") as batch:
        batch.drop_index("ix_people_active_name")
    with op.batch_alter_table("org_unit_paths") as batch:
        batch.drop_index(batch.f("ix_org_unit_paths_descendant_id"))
    op.drop_table("org_unit_paths")
