"""exactly-once state transitions

A self-rating is decided once: one validation decision (validation_decisions.evidence_id
unique), one calibration (calibrations.self_rating_id unique) and one manager rating
answering it (evidence.responds_to_id unique where set). Who applied a staff import
(import_batches.applied_by_id), set with the status by the conditional UPDATE that claims it.

Before this revision simultaneous decisions could record a self-rating's decision twice. The
later duplicates (same self-rating, higher id) are deleted before the unique indexes are
made: the first decision, calibration and manager rating stay.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 21:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: (table, column): the later rows of each group sharing ``column`` are duplicates.
DUPLICATES = [
    ("validation_decisions", "evidence_id"),
    ("calibrations", "self_rating_id"),
    ("evidence", "responds_to_id"),
]
WHERE_SET = "responds_to_id IS NOT NULL"


def _delete_duplicates(table: str, column: str) -> None:
    op.execute(
        f"DELETE FROM {table} WHERE {column} IS NOT NULL AND id NOT IN ("
        f"SELECT MIN(id) FROM {table} WHERE {column} IS NOT NULL GROUP BY {column})"
    )


def upgrade():
    for table, column in DUPLICATES:
        _delete_duplicates(table, column)

    with op.batch_alter_table("validation_decisions") as batch:
        batch.drop_index("ix_validation_decisions_evidence_id")
        batch.create_index("ix_validation_decisions_evidence_id", ["evidence_id"], unique=True)
    with op.batch_alter_table("calibrations") as batch:
        batch.drop_index("ix_calibrations_self_rating_id")
        batch.create_index("ix_calibrations_self_rating_id", ["self_rating_id"], unique=True)
    op.create_index(
        "uq_evidence_responds_to_id",
        "evidence",
        ["responds_to_id"],
        unique=True,
        sqlite_where=sa.text(WHERE_SET),
        postgresql_where=sa.text(WHERE_SET),
    )

    with op.batch_alter_table("import_batches") as batch:
        batch.add_column(sa.Column("applied_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_import_batches_applied_by_id_users", "users", ["applied_by_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("import_batches") as batch:
        batch.drop_constraint("fk_import_batches_applied_by_id_users", type_="foreignkey")
        batch.drop_column("applied_by_id")

    op.drop_index("uq_evidence_responds_to_id", table_name="evidence")
    with op.batch_alter_table("calibrations") as batch:
        batch.drop_index("ix_calibrations_self_rating_id")
        batch.create_index("ix_calibrations_self_rating_id", ["self_rating_id"], unique=False)
    with op.batch_alter_table("validation_decisions") as batch:
        batch.drop_index("ix_validation_decisions_evidence_id")
        batch.create_index("ix_validation_decisions_evidence_id", ["evidence_id"], unique=False)
