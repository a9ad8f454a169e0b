"""record versions for edit forms (optimistic locking)

Each record several people may edit through a form gets ``row_version``, a counter that
starts at 1 (existing rows included) and goes up with every save, so that a save from a
form read at an older version is refused (``app.versioning``). Assessments have had theirs
since 0008.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 21:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = (
    "people",
    "org_units",
    "offices",
    "roles",
    "role_assignments",
    "users",
    "competencies",
    "proficiency_levels",
    "evidence_caps",
    "role_requirements",
    "certificates",
    "path_versions",
    "path_modules",
    "enrolment_rules",
)


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("row_version", sa.Integer(), nullable=False, server_default="1")
            )


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("row_version")
