"""public: receipt codes of matters and the rate limit of public reports

Revision ID: 0005_public
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa


revision = "0005_public"
down_revision = "0001"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "public_receipt",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("instance_id", BIG_ID, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["process_instance.id"],
            name=op.f("fk_public_receipt_instance_id_process_instance"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_receipt")),
        sa.UniqueConstraint("code", name=op.f("uq_public_receipt_code")),
        sa.UniqueConstraint("instance_id", name=op.f("uq_public_receipt_instance_id")),
    )
    op.create_table(
        "public_report_attempt",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_report_attempt")),
    )
    op.create_index("ix_public_report_attempt_who", "public_report_attempt", ["address", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_public_report_attempt_who", table_name="public_report_attempt")
    op.drop_table("public_report_attempt")
    op.drop_table("public_receipt")
