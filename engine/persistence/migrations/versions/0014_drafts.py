"""drafts: what a cadre typed into a step's or a start form and has not submitted yet

Revision ID: 0014_drafts
Revises: 0001
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = "0014_drafts"
down_revision = "0001"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "task_draft",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("instance_id", BIG_ID, nullable=True),
        sa.Column("step_id", sa.String(length=100), nullable=True),
        sa.Column("flow_key", sa.String(length=100), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_draft")),
        sa.UniqueConstraint("username", "flow_key", name=op.f("uq_task_draft_username_flow_key")),
        sa.UniqueConstraint("username", "task_id", name=op.f("uq_task_draft_username_task_id")),
    )
    with op.batch_alter_table("task_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_draft_instance_id"), ["instance_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_task_draft_task_id"), ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("task_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_draft_task_id"))
        batch_op.drop_index(batch_op.f("ix_task_draft_instance_id"))
    op.drop_table("task_draft")
