"""sessions: a session generation and a must-change-password flag per user; login failures per address

Revision ID: 0006_sessions
Revises: 0001
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa


revision = "0006_sessions"
down_revision = "0001"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), server_default="0", nullable=False))
    op.create_table(
        "login_address_failure",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_address_failure")),
    )
    op.create_index("ix_login_address_failure_address", "login_address_failure", ["address", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_login_address_failure_address", table_name="login_address_failure")
    op.drop_table("login_address_failure")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("session_generation")
