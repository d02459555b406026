"""record digests: history events carry the digest of the state they leave; anchors cover the
violations' chains too and may be made hourly

Revision ID: 0011_record_digests
Revises: 0003_audit
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = "0011_record_digests"
down_revision = "0003_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("history_event") as batch:
        batch.add_column(sa.Column("state_digest", sa.LargeBinary(length=32), nullable=True))
    with op.batch_alter_table("history_anchor") as batch:
        batch.add_column(sa.Column("label", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("violation_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("violation_leaves", sa.LargeBinary(), nullable=True))
    # Anchors made before keep their digest: version 1 over matters only, labelled by their day.
    op.execute("UPDATE history_anchor SET label = CAST(day AS VARCHAR(16))")
    with op.batch_alter_table("history_anchor") as batch:
        batch.alter_column("label", existing_type=sa.String(length=16), nullable=False)
        batch.alter_column("version", existing_type=sa.Integer(), server_default=None)
        batch.alter_column("violation_count", existing_type=sa.Integer(), server_default=None)
        batch.drop_constraint("uq_history_anchor_day", type_="unique")
        batch.create_unique_constraint(batch.f("uq_history_anchor_label"), ["label"])
        batch.create_index(batch.f("ix_history_anchor_day"), ["day"])


def downgrade() -> None:
    with op.batch_alter_table("history_anchor") as batch:
        batch.drop_index(batch.f("ix_history_anchor_day"))
        batch.drop_constraint("uq_history_anchor_label", type_="unique")
        batch.create_unique_constraint("uq_history_anchor_day", ["day"])
        batch.drop_column("violation_leaves")
        batch.drop_column("violation_count")
        batch.drop_column("version")
        batch.drop_column("label")
    with op.batch_alter_table("history_event") as batch:
        batch.drop_column("state_digest")
