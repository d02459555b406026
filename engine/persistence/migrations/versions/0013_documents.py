"""documents: numbered notices and supervision orders (预警通知书, 整改通知书, 三色督查令), their
number counters, and the talks (约谈, 提醒谈话) supervisors hold

Revision ID: 0013_documents
Revises: 0002_supervision
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = "0013_documents"
down_revision = "0002_supervision"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notice_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["org_unit.id"], name=op.f("fk_notice_counter_unit_id_org_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_counter")),
        sa.UniqueConstraint("unit_id", "kind", "year", name=op.f("uq_notice_counter_unit_id_kind_year")),
    )
    op.create_table(
        "supervision_document",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=120), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("issuer_unit_id", sa.Integer(), nullable=False),
        sa.Column("issuer_role", sa.String(length=32), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("violation_id", BIG_ID, nullable=True),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("colour", sa.String(length=8), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("template_version", sa.String(length=64), nullable=False),
        sa.Column("check_url", sa.String(length=300), nullable=False),
        sa.Column("rectify_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_by", sa.String(length=100), nullable=True),
        sa.Column("receipt_recorded_by", sa.String(length=64), nullable=True),
        sa.Column("receipt_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["issuer_unit_id"], ["org_unit.id"], name=op.f("fk_supervision_document_issuer_unit_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["supervision_notice.id"], name=op.f("fk_supervision_document_notice_id_supervision_notice")
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["org_unit.id"], name=op.f("fk_supervision_document_village_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["violation_id"], ["violation.id"], name=op.f("fk_supervision_document_violation_id_violation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_document")),
        sa.UniqueConstraint(
            "issuer_unit_id", "kind", "year", "seq", name=op.f("uq_supervision_document_issuer_unit_id_kind_year_seq")
        ),
        sa.UniqueConstraint("notice_id", name=op.f("uq_supervision_document_notice_id")),
    )
    op.create_index(op.f("ix_supervision_document_number"), "supervision_document", ["number"])
    op.create_index(op.f("ix_supervision_document_village_id"), "supervision_document", ["village_id"])
    op.create_index(op.f("ix_supervision_document_violation_id"), "supervision_document", ["violation_id"])
    op.create_table(
        "supervision_talk",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("violation_id", BIG_ID, nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.String(length=10), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("present", sa.JSON(), nullable=False),
        sa.Column("subject_name", sa.String(length=100), nullable=False),
        sa.Column("subject_office", sa.String(length=100), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("follow_up_on", sa.String(length=10), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["org_unit.id"], name=op.f("fk_supervision_talk_unit_id_org_unit")),
        sa.ForeignKeyConstraint(["village_id"], ["org_unit.id"], name=op.f("fk_supervision_talk_village_id_org_unit")),
        sa.ForeignKeyConstraint(
            ["violation_id"], ["violation.id"], name=op.f("fk_supervision_talk_violation_id_violation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_talk")),
    )
    op.create_index(op.f("ix_supervision_talk_village_id"), "supervision_talk", ["village_id"])
    op.create_index(op.f("ix_supervision_talk_violation_id"), "supervision_talk", ["violation_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_supervision_talk_violation_id"), table_name="supervision_talk")
    op.drop_index(op.f("ix_supervision_talk_village_id"), table_name="supervision_talk")
    op.drop_table("supervision_talk")
    op.drop_index(op.f("ix_supervision_document_violation_id"), table_name="supervision_document")
    op.drop_index(op.f("ix_supervision_document_village_id"), table_name="supervision_document")
    op.drop_index(op.f("ix_supervision_document_number"), table_name="supervision_document")
    op.drop_table("supervision_document")
    op.drop_table("notice_counter")
