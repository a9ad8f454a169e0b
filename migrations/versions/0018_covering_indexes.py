"""covering indexes for a manager's figures: a person's role assignments by kind and end
date, and a person's enrolments by status and due date, in place of the person-only indexes
they include

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 08:30:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("role_assignments") as batch:
        batch.create_index(
            "ix_role_assignments_person_kind_end", ["person_id", "kind", "end_date"], unique=False
        )
        batch.drop_index("ix_role_assignments_person_id")
    with op.batch_alter_table("enrolments") as batch:
        batch.create_index(
            "ix_enrolments_person_status_due", ["person_id", "status", "due_on"], unique=False
        )
        batch.drop_index("ix_enrolments_person_id")


def downgrade():
    with op.batch_alter_table("enrolments") as batch:
        batch.create_index("ix_enrolments_person_id", ["person_id"], unique=False)
        batch.drop_index("ix_enrolments_person_status_due")
    with op.batch_alter_table("role_assignments") as batch:
        batch.create_index("ix_role_assignments_person_id", ["person_id"], unique=False)
        batch.drop_index("ix_role_assignments_person_kind_end")
