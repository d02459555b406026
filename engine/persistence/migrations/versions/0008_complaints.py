"""complaints: the contacts 码上举报 reporters leave, kept out of the matters' histories

Revision ID: 0008_complaints
Revises: 0001
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = "0008_complaints"
down_revision = "0001"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "complaint_contact",
        sa.Column("instance_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("contact", sa.String(length=50), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["process_instance.id"],
            name=op.f("fk_complaint_contact_instance_id_process_instance"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", name=op.f("pk_complaint_contact")),
    )


def downgrade() -> None:
    op.drop_table("complaint_contact")
