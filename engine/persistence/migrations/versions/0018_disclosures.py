"""disclosures: 三务公开, each village's periodic disclosures with their digests and postings

Revision ID: 0018_disclosures
Revises: 0001
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = "0018_disclosures"
down_revision = "0001"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "disclosure",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("due_on", sa.String(length=10), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("prepared_by", sa.String(length=64), nullable=False),
        sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("posted_by", sa.String(length=64), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted_on", sa.String(length=10), nullable=True),
        sa.Column("places", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["village_id"], ["org_unit.id"], name=op.f("fk_disclosure_village_id_org_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure")),
        sa.UniqueConstraint(
            "village_id", "kind", "period", "revision", name=op.f("uq_disclosure_village_id_kind_period_revision")
        ),
    )
    with op.batch_alter_table("disclosure", schema=None) as batch_op:
        batch_op.create_index("ix_disclosure_village_id_period", ["village_id", "period"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("disclosure", schema=None) as batch_op:
        batch_op.drop_index("ix_disclosure_village_id_period")
    op.drop_table("disclosure")
