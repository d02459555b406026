"""decisions: the village's register of passed decisions, and what payments and contracts count against them

Revision ID: 0010_decisions
Revises: 0001
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = "0010_decisions"
down_revision = "0001"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "decision",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("passed_on", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("instance_id", BIG_ID, nullable=True),
        sa.Column("step_id", sa.String(length=100), nullable=True),
        sa.Column("history_seq", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"], name=op.f("fk_decision_instance_id_process_instance")),
        sa.ForeignKeyConstraint(["village_id"], ["org_unit.id"], name=op.f("fk_decision_village_id_org_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
        sa.UniqueConstraint("village_id", "number", name=op.f("uq_decision_village_id_number")),
        sa.UniqueConstraint("village_id", "kind", "year", "seq", name=op.f("uq_decision_village_id_kind_year_seq")),
    )
    op.create_index(op.f("ix_decision_village_id"), "decision", ["village_id"])
    op.create_index(op.f("ix_decision_status"), "decision", ["status"])
    op.create_index(op.f("ix_decision_instance_id"), "decision", ["instance_id"])
    op.create_table(
        "decision_use",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("decision_id", BIG_ID, nullable=False),
        sa.Column("instance_id", BIG_ID, nullable=False),
        sa.Column("step_id", sa.String(length=100), nullable=False),
        sa.Column("stage", sa.String(length=12), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("history_seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_decision_use_decision_id_decision")),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"], name=op.f("fk_decision_use_instance_id_process_instance")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_use")),
        sa.UniqueConstraint("decision_id", "instance_id", "step_id", name=op.f("uq_decision_use_decision_id_instance_id_step_id")),
    )
    op.create_index(op.f("ix_decision_use_decision_id"), "decision_use", ["decision_id"])
    op.create_index(op.f("ix_decision_use_instance_id"), "decision_use", ["instance_id"])


def downgrade() -> None:
    op.drop_table("decision_use")
    op.drop_table("decision")
