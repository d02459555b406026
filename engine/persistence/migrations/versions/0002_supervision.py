"""supervision: due timers, violations and their event chains, evidence, rule-set versions, notices

Revision ID: 0002_supervision
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa


revision = "0002_supervision"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rule_set_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_set_version')),
    sa.UniqueConstraint('scope', 'version', name=op.f('uq_rule_set_version_scope_version'))
    )
    op.create_table('supervision_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(length=2), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('deducted', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['village_id'], ['org_unit.id'], name=op.f('fk_supervision_notice_village_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_notice')),
    sa.UniqueConstraint('period', 'village_id', name=op.f('uq_supervision_notice_period_village_id'))
    )
    op.create_table('evidence',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('payee', sa.String(length=200), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('history_seq', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_evidence_instance_id_process_instance')),
    sa.ForeignKeyConstraint(['village_id'], ['org_unit.id'], name=op.f('fk_evidence_village_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_evidence_fingerprint'))
    )
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_reference'), ['reference'], unique=False)
        batch_op.create_index('ix_evidence_village_id_payee_at', ['village_id', 'payee', 'at'], unique=False)

    op.create_table('violation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=True),
    sa.Column('rule_version', sa.String(length=64), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('step_id', sa.String(length=100), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('responsible_role', sa.String(length=32), nullable=True),
    sa.Column('responsible_user', sa.String(length=64), nullable=True),
    sa.Column('owner_role', sa.String(length=32), nullable=True),
    sa.Column('owner_user', sa.String(length=64), nullable=True),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rectify_by', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('rectification_instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('event_seq', sa.Integer(), nullable=False),
    sa.Column('event_head', sa.LargeBinary(length=32), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_violation_instance_id_process_instance')),
    sa.ForeignKeyConstraint(['rectification_instance_id'], ['process_instance.id'], name=op.f('fk_violation_rectification_instance_id_process_instance')),
    sa.ForeignKeyConstraint(['village_id'], ['org_unit.id'], name=op.f('fk_violation_village_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violation')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_violation_dedup_key'))
    )
    with op.batch_alter_table('violation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_violation_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_violation_period'), ['period'], unique=False)
        batch_op.create_index(batch_op.f('ix_violation_rectification_instance_id'), ['rectification_instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_violation_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_violation_village_id'), ['village_id'], unique=False)

    op.create_table('supervision_timer',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fired', sa.Boolean(), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=24), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('violation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_supervision_timer_instance_id_process_instance')),
    sa.ForeignKeyConstraint(['violation_id'], ['violation.id'], name=op.f('fk_supervision_timer_violation_id_violation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_timer')),
    sa.UniqueConstraint('key', name=op.f('uq_supervision_timer_key'))
    )
    with op.batch_alter_table('supervision_timer', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_timer_fired_due_at', ['fired', 'due_at'], unique=False)

    op.create_table('violation_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('violation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
    sa.ForeignKeyConstraint(['violation_id'], ['violation.id'], name=op.f('fk_violation_event_violation_id_violation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violation_event')),
    sa.UniqueConstraint('violation_id', 'seq', name=op.f('uq_violation_event_violation_id_seq'))
    )


def downgrade() -> None:
    op.drop_table('violation_event')
    with op.batch_alter_table('supervision_timer', schema=None) as batch_op:
        batch_op.drop_index('ix_supervision_timer_fired_due_at')

    op.drop_table('supervision_timer')
    with op.batch_alter_table('violation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_violation_village_id'))
        batch_op.drop_index(batch_op.f('ix_violation_status'))
        batch_op.drop_index(batch_op.f('ix_violation_rectification_instance_id'))
        batch_op.drop_index(batch_op.f('ix_violation_period'))
        batch_op.drop_index(batch_op.f('ix_violation_instance_id'))

    op.drop_table('violation')
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_village_id_payee_at')
        batch_op.drop_index(batch_op.f('ix_evidence_reference'))
        batch_op.drop_index(batch_op.f('ix_evidence_instance_id'))

    op.drop_table('evidence')
    op.drop_table('supervision_notice')
    op.drop_table('rule_set_version')
