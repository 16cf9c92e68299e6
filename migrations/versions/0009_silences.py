"""silences, mute timings; alerts' silence reason; rules' and channels' mute timings

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 07:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('silences',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('matchers', sa.JSON(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_silences'))
    )
    with op.batch_alter_table('silences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_silences_ends_at'), ['ends_at'], unique=False)

    op.create_table('mute_timings',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('intervals', sa.JSON(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('date_ranges', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_mute_timings'))
    )
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mute_timings', sa.JSON(), nullable=True))
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('silence_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('mute_timing', sa.String(length=100), nullable=True))
    with op.batch_alter_table('notification_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel_mute_timings', sa.JSON(), nullable=True))
    counters = sa.table('counters', sa.column('name', sa.String), sa.column('value', sa.Integer))
    op.bulk_insert(counters, [{'name': 'silences', 'value': 0}])


def downgrade():
    op.execute("DELETE FROM counters WHERE name = 'silences'")
    # A silenced alert had no deliveries; without the status it would read as delivered.
    op.execute("UPDATE alerts SET status = 'dismissed' WHERE status = 'silenced'")
    with op.batch_alter_table('notification_settings', schema=None) as batch_op:
        batch_op.drop_column('channel_mute_timings')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('mute_timing')
        batch_op.drop_column('silence_id')
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.drop_column('mute_timings')
    op.drop_table('mute_timings')
    with op.batch_alter_table('silences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_silences_ends_at'))
    op.drop_table('silences')
