"""escalation (per rule, due time on the alert) and digests (settings, state, deliveries
that are about many alerts)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 10:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalate_after', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('escalation_targets', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('escalation_targets_sealed', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('escalate_min_severity', sa.String(length=10),
                                      nullable=True))
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalate_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_alerts_escalate_at'), ['escalate_at'],
                              unique=False)
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='alert',
                                      nullable=False))
        batch_op.add_column(sa.Column('payload', sa.JSON(), nullable=True))
        batch_op.alter_column('alert_id', existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table('notification_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digests', sa.JSON(), nullable=True))
    op.create_table('digest_state',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('covered_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_digest_state'))
    )
    with op.batch_alter_table('digest_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_state_next_due_at'), ['next_due_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('digest_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_state_next_due_at'))
    op.drop_table('digest_state')
    with op.batch_alter_table('notification_settings', schema=None) as batch_op:
        batch_op.drop_column('digests')
    # A digest's deliveries belong to no alert: they go with the column's NOT NULL.
    op.execute("DELETE FROM deliveries WHERE alert_id IS NULL")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.alter_column('alert_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('payload')
        batch_op.drop_column('kind')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_escalate_at'))
        batch_op.drop_column('escalate_at')
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.drop_column('escalate_min_severity')
        batch_op.drop_column('escalation_targets_sealed')
        batch_op.drop_column('escalation_targets')
        batch_op.drop_column('escalate_after')
