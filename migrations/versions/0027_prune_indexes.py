"""Indexes the pruning of ended tracks and expired used action tokens reads: tracks.ended_at
and used_action_tokens.used_at

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 15:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tracks_ended_at'), ['ended_at'], unique=False)
    with op.batch_alter_table('used_action_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_action_tokens_used_at'), ['used_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('used_action_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_action_tokens_used_at'))
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracks_ended_at'))
