"""ledger: the village's collective accounts imported month by month (我们的钱包)

Revision ID: 0017_ledger
Revises: 0001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_ledger"
down_revision = "0001"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_import",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("income_fen", sa.BigInteger(), nullable=False),
        sa.Column("spending_fen", sa.BigInteger(), nullable=False),
        sa.Column("opening_fen", sa.BigInteger(), nullable=True),
        sa.Column("year_opening_fen", sa.BigInteger(), nullable=True),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replaces_id", BIG_ID, nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["village_id"], ["org_unit.id"], name=op.f("fk_ledger_import_village_id_org_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_import")),
    )
    op.create_index("ix_ledger_import_village_id_month", "ledger_import", ["village_id", "month"], unique=False)
    op.create_table(
        "ledger_line",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("import_id", BIG_ID, nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("voucher_no", sa.String(length=60), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("summary", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("income_fen", sa.BigInteger(), nullable=False),
        sa.Column("spending_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["ledger_import.id"], name=op.f("fk_ledger_line_import_id_ledger_import")
        ),
        sa.ForeignKeyConstraint(["village_id"], ["org_unit.id"], name=op.f("fk_ledger_line_village_id_org_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_line")),
    )
    op.create_index(op.f("ix_ledger_line_import_id"), "ledger_line", ["import_id"], unique=False)
    op.create_index("ix_ledger_line_village_id_day", "ledger_line", ["village_id", "day"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ledger_line_village_id_day", table_name="ledger_line")
    op.drop_index(op.f("ix_ledger_line_import_id"), table_name="ledger_line")
    op.drop_table("ledger_line")
    op.drop_index("ix_ledger_import_village_id_month", table_name="ledger_import")
    op.drop_table("ledger_import")
