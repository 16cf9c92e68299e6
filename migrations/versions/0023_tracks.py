"""Tracks (one object on one camera over time) and the rules' track criteria

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 10:40:00.000000

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

_RULE_COLUMNS = (
    ('min_dwell_seconds', sa.Integer()),
    ('dwell_zone_ids', sa.JSON()),
    ('zone_sequence', sa.JSON()),
    ('sequence_within_seconds', sa.Integer()),
    ('stationary_seconds', sa.Integer()),
    ('identities', sa.JSON()),
    ('exclude_identities', sa.JSON()),
    ('min_count', sa.Integer()),
)


def upgrade():
    op.create_table(
        'tracks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('camera_id', sa.String(length=255), nullable=False),
        sa.Column('track_id', sa.String(length=255), nullable=False),
        sa.Column('state', sa.JSON(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_tracks_event_id_events'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tracks')),
        sa.UniqueConstraint('camera_id', 'track_id', name='uq_tracks_camera_track'),
    )
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.create_index('ix_tracks_open', ['camera_id', 'ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tracks_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tracks_event_id'), ['event_id'], unique=False)
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        for name, kind in _RULE_COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))


def downgrade():
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        for name, _kind in reversed(_RULE_COLUMNS):
            batch_op.drop_column(name)
    op.drop_table('tracks')
