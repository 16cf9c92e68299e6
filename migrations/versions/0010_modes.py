"""arming modes: the modes, their history of changes, the mode schedule; rules' modes

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-06 07:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('modes',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_modes'))
    )
    op.create_table('mode_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('mode', sa.String(length=40), nullable=False),
    sa.Column('previous', sa.String(length=40), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scheduled_key', sa.String(length=80), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mode_changes')),
    sa.UniqueConstraint('scheduled_key', name=op.f('uq_mode_changes_scheduled_key'))
    )
    with op.batch_alter_table('mode_changes', schema=None) as batch_op:
        batch_op.create_index('ix_mode_changes_at_id', ['at', 'id'], unique=False)
    op.create_table('mode_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('schedule', sa.JSON(), nullable=True),
    sa.Column('applied_through', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mode_settings'))
    )
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('modes', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.drop_column('modes')
    op.drop_table('mode_settings')
    with op.batch_alter_table('mode_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_mode_changes_at_id')
    op.drop_table('mode_changes')
    op.drop_table('modes')
