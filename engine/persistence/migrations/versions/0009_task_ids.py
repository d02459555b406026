"""task ids: open tasks get ids of their own; the engine's task id is kept beside them

Revision ID: 0009_task_ids
Revises: 0001
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = "0009_task_ids"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("open_task") as batch:
        batch.add_column(sa.Column("engine_task_id", sa.String(length=36), nullable=True))
    # Tasks opened before keep their id, which was the engine's.
    op.execute("UPDATE open_task SET engine_task_id = id")
    with op.batch_alter_table("open_task") as batch:
        batch.alter_column("engine_task_id", existing_type=sa.String(length=36), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("open_task") as batch:
        batch.drop_column("engine_task_id")
