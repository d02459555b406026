"""audit: history anchors and activity mappings

Revision ID: 0003_audit
Revises: 0001
Create Date: 2026-11-21
"""

from alembic import op
import sqlalchemy as sa


revision = "0003_audit"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "history_anchor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("instance_count", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.BigInteger(), nullable=False),
        sa.Column("changed_count", sa.Integer(), nullable=False),
        sa.Column("leaves", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history_anchor")),
        sa.UniqueConstraint("day", name=op.f("uq_history_anchor_day")),
        sa.UniqueConstraint("digest", name=op.f("uq_history_anchor_digest")),
    )
    op.create_table(
        "audit_activity_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_key", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("step_id", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_activity_mapping")),
        sa.UniqueConstraint("flow_key", "source", name=op.f("uq_audit_activity_mapping_flow_key_source")),
    )


def downgrade() -> None:
    op.drop_table("audit_activity_mapping")
    op.drop_table("history_anchor")
