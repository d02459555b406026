"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-21
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_table('definition_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('bpmn_xml', sa.Text(), nullable=False),
    sa.Column('forms', sa.JSON(), nullable=False),
    sa.Column('spec_json', sa.Text(), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('deployed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deployed_by', sa.String(length=64), nullable=True),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_definition_version')),
    sa.UniqueConstraint('key', 'content_hash', name=op.f('uq_definition_version_key_content_hash')),
    sa.UniqueConstraint('key', 'version', name=op.f('uq_definition_version_key_version'))
    )
    with op.batch_alter_table('definition_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_definition_version_key'), ['key'], unique=False)

    op.create_table('org_unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['org_unit.id'], name=op.f('fk_org_unit_parent_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_unit')),
    sa.UniqueConstraint('code', name=op.f('uq_org_unit_code'))
    )
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('username', name=op.f('uq_user_account_username'))
    )
    op.create_table('process_instance',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('definition_version_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('state', sa.LargeBinary(), nullable=False),
    sa.Column('history_seq', sa.Integer(), nullable=False),
    sa.Column('history_head', sa.LargeBinary(length=32), nullable=False),
    sa.Column('started_by', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['definition_version_id'], ['definition_version.id'], name=op.f('fk_process_instance_definition_version_id_definition_version')),
    sa.ForeignKeyConstraint(['village_id'], ['org_unit.id'], name=op.f('fk_process_instance_village_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_instance'))
    )
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_instance_definition_version_id'), ['definition_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_instance_village_id'), ['village_id'], unique=False)

    op.create_table('role_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_role_assignment_org_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_role_assignment_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_assignment')),
    sa.UniqueConstraint('user_id', 'role', 'org_unit_id', name=op.f('uq_role_assignment_user_id_role_org_unit_id'))
    )
    op.create_table('history_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('step_id', sa.String(length=100), nullable=True),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_history_event_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history_event')),
    sa.UniqueConstraint('instance_id', 'seq', name=op.f('uq_history_event_instance_id_seq'))
    )
    op.create_table('open_task',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('step_id', sa.String(length=100), nullable=False),
    sa.Column('step_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assignee', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_open_task_instance_id_process_instance'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_open_task_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_task'))
    )
    with op.batch_alter_table('open_task', schema=None) as batch_op:
        batch_op.create_index('ix_open_task_due', ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_open_task_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_open_task_scope', ['org_unit_id', 'role'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('open_task', schema=None) as batch_op:
        batch_op.drop_index('ix_open_task_scope')
        batch_op.drop_index(batch_op.f('ix_open_task_instance_id'))
        batch_op.drop_index('ix_open_task_due')

    op.drop_table('open_task')
    op.drop_table('history_event')
    op.drop_table('role_assignment')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_instance_village_id'))
        batch_op.drop_index(batch_op.f('ix_process_instance_definition_version_id'))

    op.drop_table('process_instance')
    op.drop_table('user_account')
    op.drop_table('org_unit')
    with op.batch_alter_table('definition_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definition_version_key'))

    op.drop_table('definition_version')
    op.drop_table('audit_log')
