"""trust: one pending self-rating per person and competency

Two self-ratings of the same competency sent together by one learner could both stay
pending on PostgreSQL (each withdrew the earlier ratings it could see, not the other's).
A partial unique index now holds one pending self-rating per person and competency
(``app.capability.services.record_self_rating`` also serialises them per person).

Existing duplicates are settled first the way the service settles them: the newest pending
self-rating (highest id) stays pending, the earlier ones become "withdrawn", as if the
learner had rated themselves again one after the other.

The retries of deadlocked or serialisation-failed requests (``app.db.RetryTransactions``)
need no schema change.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 01:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

PENDING_SELF_RATING = "source = 'self_rating' AND status = 'pending'"


def upgrade():
    op.execute(
        "UPDATE evidence SET status = 'withdrawn' "
        f"WHERE {PENDING_SELF_RATING} AND id NOT IN ("
        "SELECT MAX(id) FROM evidence "
        f"WHERE {PENDING_SELF_RATING} GROUP BY person_id, competency_code)"
    )
    op.create_index(
        "uq_evidence_pending_self_rating",
        "evidence",
        ["person_id", "competency_code"],
        unique=True,
        sqlite_where=sa.text(PENDING_SELF_RATING),
        postgresql_where=sa.text(PENDING_SELF_RATING),
    )


def downgrade():
    op.drop_index("uq_evidence_pending_self_rating", table_name="evidence")
