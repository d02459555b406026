"""subsidies: 补贴去哪了 — households by door-plate code, published rosters and their entries

Revision ID: 0016_subsidies
Revises: 0001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_subsidies"
down_revision = "0001"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "subsidy_household",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("village_id", BIG_ID, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["village_id"], ["org_unit.id"], name=op.f("fk_subsidy_household_village_id_org_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_household")),
        sa.UniqueConstraint("village_id", "code", name=op.f("uq_subsidy_household_village_id_code")),
    )
    op.create_table(
        "subsidy_roster",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("village_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("total_fen", sa.Integer(), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_by", sa.String(length=64), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=True),
        sa.Column("replaced_by_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["replaced_by_id"], ["subsidy_roster.id"], name=op.f("fk_subsidy_roster_replaced_by_id_subsidy_roster")
        ),
        sa.ForeignKeyConstraint(["village_id"], ["org_unit.id"], name=op.f("fk_subsidy_roster_village_id_org_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_roster")),
    )
    with op.batch_alter_table("subsidy_roster", schema=None) as batch_op:
        batch_op.create_index("ix_subsidy_roster_village", ["village_id", "kind", "period"], unique=False)
    op.create_table(
        "subsidy_entry",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("roster_id", BIG_ID, nullable=False),
        sa.Column("household_id", BIG_ID, nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("recipient_name", sa.String(length=50), nullable=False),
        sa.Column("id_masked", sa.String(length=18), nullable=False),
        sa.Column("people", sa.Integer(), nullable=True),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.String(length=10), nullable=True),
        sa.Column("group_name", sa.String(length=50), nullable=True),
        sa.Column("check_digest", sa.String(length=64), nullable=False),
        sa.Column("instance_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"], ["subsidy_household.id"], name=op.f("fk_subsidy_entry_household_id_subsidy_household")
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["process_instance.id"],
            name=op.f("fk_subsidy_entry_instance_id_process_instance"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["roster_id"],
            ["subsidy_roster.id"],
            name=op.f("fk_subsidy_entry_roster_id_subsidy_roster"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_entry")),
    )
    with op.batch_alter_table("subsidy_entry", schema=None) as batch_op:
        batch_op.create_index("ix_subsidy_entry_household", ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_subsidy_entry_roster_id"), ["roster_id"], unique=False)
    op.create_table(
        "subsidy_lookup_attempt",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=True),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_lookup_attempt")),
    )
    with op.batch_alter_table("subsidy_lookup_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_subsidy_lookup_attempt_who", ["address", "at"], unique=False)
        batch_op.create_index("ix_subsidy_lookup_attempt_code", ["village_id", "code", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("subsidy_lookup_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_subsidy_lookup_attempt_code")
        batch_op.drop_index("ix_subsidy_lookup_attempt_who")
    op.drop_table("subsidy_lookup_attempt")
    with op.batch_alter_table("subsidy_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subsidy_entry_roster_id"))
        batch_op.drop_index("ix_subsidy_entry_household")
    op.drop_table("subsidy_entry")
    with op.batch_alter_table("subsidy_roster", schema=None) as batch_op:
        batch_op.drop_index("ix_subsidy_roster_village")
    op.drop_table("subsidy_roster")
    op.drop_table("subsidy_household")
