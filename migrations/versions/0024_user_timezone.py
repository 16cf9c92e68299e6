"""users.timezone (the pages' time zone per person); alerts.dismissed_from (what an undo restores)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 10:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dismissed_from', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('dismissed_from')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('timezone')
