"""Rules get a push priority, a sound and notification templates; the notification settings
the site's default templates

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 10:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.String(length=10), nullable=False,
                                      server_default='normal'))
        batch_op.add_column(sa.Column('sound', sa.String(length=20), nullable=False,
                                      server_default='default'))
        batch_op.add_column(sa.Column('templates', sa.JSON(), nullable=True))
    with op.batch_alter_table('notification_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('templates', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('notification_settings', schema=None) as batch_op:
        batch_op.drop_column('templates')
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.drop_column('templates')
        batch_op.drop_column('sound')
        batch_op.drop_column('priority')
