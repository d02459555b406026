"""workspace: attachments, approval operations, API tokens, login attempts, idempotency keys

Revision ID: 0004_workspace
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_workspace'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_key',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('operation', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_key')),
    sa.UniqueConstraint('username', 'key', name=op.f('uq_idempotency_key_username_key'))
    )
    op.create_table('login_attempt',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempt'))
    )
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempt_who', ['username', 'address', 'at'], unique=False)

    op.create_table('staged_upload',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('bpmn', sa.LargeBinary(), nullable=False),
    sa.Column('forms', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staged_upload'))
    )
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_api_token_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    op.create_table('added_approval',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('step_id', sa.String(length=100), nullable=False),
    sa.Column('position', sa.String(length=8), nullable=False),
    sa.Column('approver', sa.String(length=64), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('parked', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_added_approval_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_added_approval'))
    )
    with op.batch_alter_table('added_approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_added_approval_approver'), ['approver'], unique=False)
        batch_op.create_index(batch_op.f('ix_added_approval_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_added_approval_task_id'), ['task_id'], unique=False)

    op.create_table('attachment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('step_id', sa.String(length=100), nullable=True),
    sa.Column('slot', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_attachment_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index('ix_attachment_instance', ['instance_id', 'sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_uploaded_by'), ['uploaded_by'], unique=False)

    op.create_table('matter_copy',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recipient', sa.String(length=64), nullable=False),
    sa.Column('sent_by', sa.String(length=64), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_matter_copy_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matter_copy'))
    )
    with op.batch_alter_table('matter_copy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matter_copy_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_matter_copy_recipient'), ['recipient'], unique=False)

    op.create_table('task_reminder',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('step_id', sa.String(length=100), nullable=False),
    sa.Column('sent_by', sa.String(length=64), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_task_reminder_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_reminder'))
    )
    with op.batch_alter_table('task_reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_reminder_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_reminder_task_id'), ['task_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('task_reminder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_reminder_task_id'))
        batch_op.drop_index(batch_op.f('ix_task_reminder_instance_id'))

    op.drop_table('task_reminder')
    with op.batch_alter_table('matter_copy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matter_copy_recipient'))
        batch_op.drop_index(batch_op.f('ix_matter_copy_instance_id'))

    op.drop_table('matter_copy')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_uploaded_by'))
        batch_op.drop_index('ix_attachment_instance')

    op.drop_table('attachment')
    with op.batch_alter_table('added_approval', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_added_approval_task_id'))
        batch_op.drop_index(batch_op.f('ix_added_approval_instance_id'))
        batch_op.drop_index(batch_op.f('ix_added_approval_approver'))

    op.drop_table('added_approval')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))

    op.drop_table('api_token')
    op.drop_table('staged_upload')
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempt_who')

    op.drop_table('login_attempt')
    op.drop_table('idempotency_key')
