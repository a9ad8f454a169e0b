"""reports: maintained person-role distances

Each person's distance to each role's profile as it stands today (only the pairs that can
stand on a bench), and the dates those figures hold over: app/reports/models.py
(RoleDistance, RoleDistancePeriod) and app/reports/distances.py.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 21:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "role_distances",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("short_all", sa.Integer(), nullable=False),
        sa.Column("far_all", sa.Integer(), nullable=False),
        sa.Column("short_essential", sa.Integer(), nullable=False),
        sa.Column("far_essential", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_role_distances_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["roles.id"],
            name=op.f("fk_role_distances_role_id_roles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", "role_id", name=op.f("pk_role_distances")),
    )
    op.create_index(op.f("ix_role_distances_role_id"), "role_distances", ["role_id"], unique=False)
    op.create_table(
        "role_distance_periods",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_role_distance_periods_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_role_distance_periods")),
    )
    # Existing installs fill them with `flask reports refresh`; until then the bench is
    # computed on the fly, as for anyone without a period.


def downgrade():
    op.drop_table("role_distance_periods")
    op.drop_index(op.f("ix_role_distances_role_id"), table_name="role_distances")
    op.drop_table("role_distances")
