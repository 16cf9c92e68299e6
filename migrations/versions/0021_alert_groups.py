"""notification grouping: alert_groups and their flushes, rules' grouping fields, the site
default, alerts' and deliveries' group references

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 10:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alert_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.String(length=36), nullable=True),
    sa.Column('rule_name', sa.String(length=255), nullable=False),
    sa.Column('group_key', sa.String(length=512), nullable=False),
    sa.Column('open_key', sa.String(length=600), nullable=True),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('timing', sa.JSON(), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('first_alert_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_alert_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_flush_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_flushed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('alert_count', sa.Integer(), nullable=False),
    sa.Column('flush_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rules.id'],
                            name=op.f('fk_alert_groups_rule_id_alert_rules'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_groups')),
    sa.UniqueConstraint('open_key', name=op.f('uq_alert_groups_open_key'))
    )
    with op.batch_alter_table('alert_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_groups_next_flush_at'), ['next_flush_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_alert_groups_rule_id'), ['rule_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_groups_status'), ['status'], unique=False)

    op.create_table('alert_group_flushes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('alert_ids', sa.JSON(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('truncated', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['alert_groups.id'],
                            name=op.f('fk_alert_group_flushes_group_id_alert_groups'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_group_flushes')),
    sa.UniqueConstraint('group_id', 'number', name='uq_alert_group_flushes_once')
    )

    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_by', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('group_wait', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('group_interval', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('repeat_interval', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('group_max_alerts', sa.Integer(), nullable=True))

    with op.batch_alter_table('notification_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grouping', sa.JSON(), nullable=True))

    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('group_flush', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_alerts_group_id'), ['group_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_alerts_group_id_alert_groups'),
                                    'alert_groups', ['group_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('group_flush', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_deliveries_group_id'), ['group_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_deliveries_group_id_alert_groups'),
                                    'alert_groups', ['group_id'], ['id'], ondelete='CASCADE')


def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_deliveries_group_id_alert_groups'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_deliveries_group_id'))
        batch_op.drop_column('group_flush')
        batch_op.drop_column('group_id')

    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_alerts_group_id_alert_groups'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_alerts_group_id'))
        batch_op.drop_column('group_flush')
        batch_op.drop_column('group_id')

    with op.batch_alter_table('notification_settings', schema=None) as batch_op:
        batch_op.drop_column('grouping')

    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.drop_column('group_max_alerts')
        batch_op.drop_column('repeat_interval')
        batch_op.drop_column('group_interval')
        batch_op.drop_column('group_wait')
        batch_op.drop_column('group_by')

    op.drop_table('alert_group_flushes')
    with op.batch_alter_table('alert_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_groups_status'))
        batch_op.drop_index(batch_op.f('ix_alert_groups_rule_id'))
        batch_op.drop_index(batch_op.f('ix_alert_groups_next_flush_at'))
    op.drop_table('alert_groups')
