"""capability spans: each person's level and requirement per competency as dated spans,
kept current for the reports (app/reports/models.py)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 18:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "level_spans",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("competency_code", sa.String(length=16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_level_spans_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "person_id", "competency_code", "valid_from", name=op.f("pk_level_spans")
        ),
    )
    op.create_index(
        "ix_level_spans_code_from", "level_spans", ["competency_code", "valid_from"], unique=False
    )
    op.create_index(
        "ix_level_spans_cover",
        "level_spans",
        ["person_id", "competency_code", "valid_from", "valid_to", "level"],
        unique=False,
    )
    op.create_table(
        "requirement_spans",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("competency_code", sa.String(length=16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("essential", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_requirement_spans_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "person_id", "competency_code", "valid_from", name=op.f("pk_requirement_spans")
        ),
    )
    op.create_index(
        "ix_requirement_spans_code_from",
        "requirement_spans",
        ["competency_code", "valid_from"],
        unique=False,
    )
    op.create_index(
        "ix_requirement_spans_cover",
        "requirement_spans",
        ["person_id", "competency_code", "valid_from", "valid_to", "required", "essential"],
        unique=False,
    )
    # Existing installs fill them with `flask reports refresh` (README, upgrading).
    # The rules of the P3O function coverage report (curricula/office-functions.yaml).
    op.create_table(
        "office_functions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_functions")),
        sa.UniqueConstraint("code", name=op.f("uq_office_functions_code")),
    )
    op.create_table(
        "office_function_competencies",
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column("competency_code", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["function_id"],
            ["office_functions.id"],
            name=op.f("fk_office_function_competencies_function_id_office_functions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "function_id", "competency_code", name=op.f("pk_office_function_competencies")
        ),
    )
    op.create_table(
        "office_function_needs",
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column(
            "office_kind",
            sa.Enum(
                "portfolio",
                "programme",
                "project",
                "hub",
                "centre_of_excellence",
                name="office_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["function_id"],
            ["office_functions.id"],
            name=op.f("fk_office_function_needs_function_id_office_functions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "function_id", "office_kind", name=op.f("pk_office_function_needs")
        ),
    )


def downgrade():
    op.drop_table("office_function_needs")
    op.drop_table("office_function_competencies")
    op.drop_table("office_functions")
    op.drop_index("ix_requirement_spans_cover", table_name="requirement_spans")
    op.drop_index("ix_requirement_spans_code_from", table_name="requirement_spans")
    op.drop_table("requirement_spans")
    op.drop_index("ix_level_spans_cover", table_name="level_spans")
    op.drop_index("ix_level_spans_code_from", table_name="level_spans")
    op.drop_table("level_spans")
